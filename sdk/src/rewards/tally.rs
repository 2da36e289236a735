//! Tallying usage records into a round: each IP counted once per campaign for its owner,
//! conflicts settled, every account's traffic summed, then the amounts and the tree.

use std::{
    net::{IpAddr, Ipv6Addr},
    path::Path,
    sync::mpsc,
};

use alloy::primitives::{Address, B256, map::HashMap};

use super::{
    campaign::Campaign,
    error::{InputReason, Location, RewardsError},
    merkle::StandardMerkleTree,
    round::{AccountReward, Conflict, ConflictRule, IpOwner, PreviousRound, Round, leaves},
    usage::{UsageReader, UsageRecord},
};
use crate::units::{Bytes, Snm};

/// One account's traffic on one IP in this round.
#[derive(Clone, Copy, Debug)]
struct Claim {
    account: u32,
    first_start: u64,
    bytes: u128,
    records: u64,
}

#[derive(Debug, Default)]
struct IpState {
    /// Owner and round from an earlier round.
    prior: Option<(u32, u64)>,
    /// This round's claimants (usually one).
    claims: Vec<Claim>,
}

#[derive(Debug)]
struct AccountState {
    address: Address,
    prior_ips: u64,
    prior_bytes: u128,
    prior_cumulative: Snm,
}

/// Accumulates usage records for one round. Memory grows with distinct accounts, IPs and
/// (IP, account) pairs, never with the number of records.
///
/// **Unique IPs and conflicts.** An IP counts once per campaign, for one account (its owner):
/// 1. an IP counted in an earlier round keeps its owner;
/// 2. otherwise, among the accounts reporting it this round, the owner is the one whose earliest
///    record for the IP has the earliest `period_start`, ties going to the lower address.
///
/// Every other account reporting the IP has all its records for that IP excluded (no IP reward,
/// no bytes) and is listed in [`Round::conflicts`] with the owner, both earliest starts and the
/// excluded bytes.
///
/// **Amounts.** An account's cumulative amount is `ips × snm_per_ip + floor(bytes × usd_per_tb ×
/// snm_per_usd / 10^30)` over its owned IPs and their traffic for the whole campaign (see
/// [`Campaign::reward`]): rounded down once per account, never per record or per round. A
/// round's amount is the difference from the previous cumulative amount.
#[derive(Debug)]
pub struct Tally {
    campaign: Campaign,
    number: u64,
    previous_root: Option<B256>,
    records: u64,
    accounts: Accounts,
    ips: HashMap<u128, IpState>,
}

/// Accounts by first appearance, with an index to find them.
#[derive(Debug, Default)]
struct Accounts {
    index: HashMap<Address, u32>,
    list: Vec<AccountState>,
}

impl Accounts {
    /// The slot of `address`, created on first sight.
    fn slot(&mut self, address: Address) -> u32 {
        let next = self.list.len() as u32;
        let index = *self.index.entry(address).or_insert(next);
        if index == next {
            self.list.push(AccountState {
                address,
                prior_ips: 0,
                prior_bytes: 0,
                prior_cumulative: Snm::ZERO,
            });
        }
        index
    }
}

/// A record whose account has been given its slot (what the parsing thread hands the tally).
#[derive(Clone, Copy, Debug)]
struct Resolved {
    line: u64,
    account: u32,
    ip: u128,
    bytes: u128,
    start: u64,
}

fn ip_key(ip: IpAddr) -> u128 {
    match ip.to_canonical() {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn ip_from_key(key: u128) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(key)).to_canonical()
}

impl Tally {
    /// Starts round 1 of `campaign`, or the round after `previous`.
    pub fn new(campaign: Campaign, previous: Option<PreviousRound>) -> Self {
        let mut tally = Self {
            campaign,
            number: 1,
            previous_root: None,
            records: 0,
            accounts: Accounts::default(),
            ips: HashMap::default(),
        };
        if let Some(previous) = previous {
            tally.number = previous.number() + 1;
            tally.previous_root = Some(previous.root());
            tally.accounts.list.reserve(previous.accounts().len());
            for account in previous.accounts() {
                let index = tally.accounts.slot(account.account);
                let state = &mut tally.accounts.list[index as usize];
                state.prior_ips = account.ips;
                state.prior_bytes = account.bytes.get();
                state.prior_cumulative = account.cumulative;
            }
            tally.ips.reserve(previous.ips().len());
            for ip in previous.ips() {
                let owner = tally.accounts.slot(ip.owner);
                tally.ips.entry(ip_key(ip.ip)).or_default().prior = Some((owner, ip.round));
            }
        }
        tally
    }

    /// The round being tallied.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Records added so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Adds one record; `at` names its file and line for the (overflow) error.
    pub fn add(&mut self, record: &UsageRecord, at: impl FnOnce() -> Location) -> Result<(), RewardsError> {
        let account = self.accounts.slot(record.account);
        self.add_resolved(account, ip_key(record.ip), record.bytes.get(), record.period.start, at)
    }

    fn add_resolved(
        &mut self,
        account: u32,
        ip: u128,
        bytes: u128,
        start: u64,
        at: impl FnOnce() -> Location,
    ) -> Result<(), RewardsError> {
        let state = self.ips.entry(ip).or_default();
        match state.claims.iter_mut().find(|c| c.account == account) {
            Some(claim) => {
                claim.first_start = claim.first_start.min(start);
                claim.bytes = claim
                    .bytes
                    .checked_add(bytes)
                    .ok_or_else(|| RewardsError::Input { at: at(), reason: InputReason::BytesOverflow })?;
                claim.records += 1;
            }
            None => state.claims.push(Claim { account, first_start: start, bytes, records: 1 }),
        }
        self.records += 1;
        Ok(())
    }

    /// Reads every record of `reader` into the tally. With two or more cores, one thread parses
    /// while this one tallies (batches of records pass between them, so memory stays bounded).
    pub fn read<R: std::io::BufRead + Send>(
        &mut self,
        reader: &mut UsageReader<R>,
    ) -> Result<(), RewardsError> {
        const BATCH: usize = 4096;
        if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            while let Some(record) = reader.next_record()? {
                let line = reader.line();
                self.add(&record, || Location::line(reader.file(), line))?;
            }
            return Ok(());
        }
        let file = reader.file().to_owned();
        // The parsing thread also resolves accounts to slots, which balances the two threads.
        let mut accounts = std::mem::take(&mut self.accounts);
        let (tallied, parsed) = std::thread::scope(|scope| {
            let (to_tally, batches) = mpsc::sync_channel::<Vec<Resolved>>(8);
            let (recycle, spare) = mpsc::channel::<Vec<Resolved>>();
            let accounts = &mut accounts;
            let parser = scope.spawn(move || -> Result<(), RewardsError> {
                let mut batch = Vec::with_capacity(BATCH);
                while let Some(record) = reader.next_record()? {
                    batch.push(Resolved {
                        line: reader.line(),
                        account: accounts.slot(record.account),
                        ip: ip_key(record.ip),
                        bytes: record.bytes.get(),
                        start: record.period.start,
                    });
                    if batch.len() == BATCH {
                        if to_tally.send(batch).is_err() {
                            return Ok(()); // the tally stopped on an error of its own
                        }
                        batch = spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    }
                }
                if !batch.is_empty() {
                    let _ = to_tally.send(batch);
                }
                Ok(())
            });
            let mut tallied = Ok(());
            'batches: for mut batch in batches {
                for r in batch.drain(..) {
                    if let Err(e) =
                        self.add_resolved(r.account, r.ip, r.bytes, r.start, || Location::line(&file, r.line))
                    {
                        tallied = Err(e);
                        break 'batches;
                    }
                }
                let _ = recycle.send(batch);
            }
            (tallied, parser.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        });
        self.accounts = accounts;
        // A tally error is on an earlier line than any parse error (the parser had got further).
        tallied.and(parsed)
    }

    /// Reads a report file (format from its extension).
    pub fn read_file(&mut self, path: &Path) -> Result<(), RewardsError> {
        self.read(&mut UsageReader::open(path, None)?)
    }

    /// Settles IP ownership and conflicts, computes every amount and builds the tree.
    pub fn finish(self) -> Result<Round, RewardsError> {
        let n = self.accounts.list.len();
        let mut new_ips = vec![0u64; n];
        let mut round_bytes = vec![0u128; n];
        let mut ips = Vec::with_capacity(self.ips.len());
        let mut conflicts = Vec::new();
        let address = |k: u32| self.accounts.list[k as usize].address;
        for (key, state) in &self.ips {
            let ip = ip_from_key(*key);
            let (owner, since, rule, owner_start) = match state.prior {
                Some((owner, round)) => (
                    owner,
                    round,
                    ConflictRule::EarlierRound,
                    state.claims.iter().find(|c| c.account == owner).map(|c| c.first_start),
                ),
                None => {
                    let Some(first) = state.claims.iter().min_by_key(|c| (c.first_start, address(c.account)))
                    else {
                        continue;
                    };
                    new_ips[first.account as usize] += 1;
                    (first.account, self.number, ConflictRule::EarlierPeriodStart, Some(first.first_start))
                }
            };
            ips.push(IpOwner { ip, owner: address(owner), round: since });
            for claim in &state.claims {
                if claim.account == owner {
                    let total = &mut round_bytes[owner as usize];
                    *total = total.checked_add(claim.bytes).ok_or(RewardsError::Overflow("account bytes"))?;
                    continue;
                }
                let rule = match (rule, owner_start) {
                    (ConflictRule::EarlierRound, _) => ConflictRule::EarlierRound,
                    (_, Some(start)) if start == claim.first_start => ConflictRule::LowerAddress,
                    _ => ConflictRule::EarlierPeriodStart,
                };
                conflicts.push(Conflict {
                    ip,
                    owner: address(owner),
                    owner_first_start: owner_start,
                    excluded: address(claim.account),
                    excluded_first_start: claim.first_start,
                    excluded_bytes: Bytes::new(claim.bytes),
                    excluded_records: claim.records,
                    rule,
                });
            }
        }
        ips.sort_unstable_by_key(|o| ip_key(o.ip));
        conflicts.sort_unstable_by_key(|a| (ip_key(a.ip), a.excluded));

        let mut accounts = Vec::with_capacity(n);
        let (mut total, mut round_total) = (Snm::ZERO, Snm::ZERO);
        for (k, state) in self.accounts.list.iter().enumerate() {
            let owned = state.prior_ips + new_ips[k];
            if owned == 0 {
                continue;
            }
            let bytes = Bytes::new(
                state
                    .prior_bytes
                    .checked_add(round_bytes[k])
                    .ok_or(RewardsError::Overflow("account bytes"))?,
            );
            let cumulative = self.campaign.reward(owned, bytes)?;
            let round_amount = cumulative
                .checked_sub(state.prior_cumulative)
                .ok_or(RewardsError::Overflow("round amount"))?;
            total = total.checked_add(cumulative).ok_or(RewardsError::Overflow("total"))?;
            round_total = round_total.checked_add(round_amount).ok_or(RewardsError::Overflow("total"))?;
            accounts.push(AccountReward {
                account: state.address,
                ips: owned,
                bytes,
                cumulative,
                round_ips: new_ips[k],
                round_bytes: Bytes::new(round_bytes[k]),
                round_amount,
            });
        }
        accounts.sort_unstable_by_key(|a| a.account);
        let tree = StandardMerkleTree::build(leaves(&accounts))?;
        Ok(Round {
            campaign: self.campaign,
            number: self.number,
            previous_root: self.previous_root,
            records: self.records,
            accounts,
            ips,
            conflicts,
            total,
            round_total,
            tree,
        })
    }
}
