//! Tallying usage records into a round: each record checked against the campaign and counted
//! once, each IP counted once per campaign for its owner, conflicts settled, every account's
//! traffic summed, then the amounts and the tree.

use std::{
    net::{IpAddr, Ipv6Addr},
    path::{Path, PathBuf},
    sync::mpsc,
};

use alloy::primitives::{
    Address, B256,
    map::{HashMap, HashSet},
};

use super::{
    admission::AdmissionList,
    campaign::Campaign,
    error::RewardsError,
    fingerprints::Fingerprints,
    input_error::{InputReason, Location},
    merkle::StandardMerkleTree,
    round::{
        AccountReward, Conflict, ConflictRule, Exclusion, ExclusionReason, IpOwner, Participation,
        PreviousRound, Round, leaves,
    },
    two_sided::Discrepancy,
    usage::{FileIdentity, UsageFormat, UsageReader, UsageRecord},
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
    claims: Claims,
}

/// An IP's claimants: the first kept in place, since almost every IP has one (no allocation per
/// IP, nothing to follow when the round is settled or freed).
#[derive(Debug, Default)]
struct Claims {
    first: Option<Claim>,
    more: Vec<Claim>,
}

impl Claims {
    fn iter(&self) -> impl Iterator<Item = &Claim> {
        self.first.iter().chain(&self.more)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Claim> {
        self.first.iter_mut().chain(&mut self.more)
    }

    /// Counts a record of `account` starting at `start` with `bytes`.
    fn add(&mut self, account: u32, start: u64, bytes: u128) -> Result<(), InputReason> {
        if let Some(claim) = self.iter_mut().find(|c| c.account == account) {
            claim.first_start = claim.first_start.min(start);
            claim.bytes = claim.bytes.checked_add(bytes).ok_or(InputReason::BytesOverflow)?;
            claim.records += 1;
            return Ok(());
        }
        self.push(Claim { account, first_start: start, bytes, records: 1 });
        Ok(())
    }

    fn push(&mut self, claim: Claim) {
        match self.first {
            None => self.first = Some(claim),
            Some(_) => self.more.push(claim),
        }
    }
}

#[derive(Debug)]
struct AccountState {
    address: Address,
    prior_ips: u64,
    prior_bytes: u128,
    prior_cumulative: Snm,
}

/// Accumulates usage records for one round. Memory grows with distinct accounts, IPs and
/// (IP, account) pairs, and by about 9 to 14 bytes per record (its fingerprint that refuses a record read
/// twice).
///
/// **What is counted.** Every record must pass [`Campaign::check_record`] (no zero address, a
/// worker IP the campaign counts, no more traffic than its line carries in the period); a record
/// identical to one read before (same account, IP, bytes and period, in any file) and a file read
/// before (under any name: [`Tally::read`] of a reader from [`UsageReader::open`]) are refused.
/// Each refusal is a [`RewardsError::Input`] naming the file, the line and the reason.
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
    /// The files read so far, the name each was read under and its format.
    files: Vec<(FileIdentity, PathBuf, UsageFormat)>,
    /// The records read so far, to refuse one read twice.
    fingerprints: Fingerprints,
    /// Who is admitted, and what was not counted for want of admission (campaigns with admission).
    admission: Option<AdmissionState>,
    /// Customers' figures by deal, and the deals listed (campaigns with `traffic_tolerance`).
    two_sided: Option<TwoSidedState>,
}

/// A deal: its supplier's account slot, worker IP key and period start.
type DealKey = (u32, u128, u64);

/// Customers' figures of the deals they bought, and the deals whose figures differ.
#[derive(Debug, Default)]
struct TwoSidedState {
    /// The customer's bytes of each deal, and whether a supplier's record matched it.
    customer: HashMap<DealKey, (u128, bool)>,
    /// (deal, supplier's bytes, customer's bytes, paid bytes) of the deals listed so far.
    listed: Vec<(DealKey, Option<u128>, Option<u128>, u128)>,
}

/// A campaign's admission list and online times, by IP key and account slot, and the records it
/// excluded.
#[derive(Debug, Default)]
struct AdmissionState {
    /// Admitted IPs: account slot and admission time.
    ips: HashMap<u128, (u32, u64)>,
    /// Online seconds since admission, by IP.
    online: HashMap<u128, u64>,
    /// Admitted accounts, in admission order.
    accounts: Vec<AdmittedAccount>,
    /// Records not counted: (IP, account, reason) to (records, bytes).
    excluded: HashMap<(u128, u32, ExclusionReason), (u64, u128)>,
}

#[derive(Debug)]
struct AdmittedAccount {
    slot: u32,
    stage: u32,
    from: u64,
    ips: Vec<u128>,
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
    end: u64,
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
            files: Vec::new(),
            fingerprints: Fingerprints::default(),
            admission: None,
            two_sided: None,
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

    /// Counts from now on only records of admitted IPs, by their admitted account, starting at or
    /// after their admission time; `online` gives each admitted IP's online seconds (for
    /// `min_online`). Called before any record is added.
    pub(super) fn admit(&mut self, list: &AdmissionList, online: HashMap<IpAddr, u64>) {
        let mut state = AdmissionState::default();
        for admitted in &list.admitted {
            let slot = self.accounts.slot(admitted.account);
            let ips: Vec<u128> = admitted.ips.iter().map(|ip| ip_key(*ip)).collect();
            for &key in &ips {
                state.ips.insert(key, (slot, admitted.admitted_from));
            }
            state.accounts.push(AdmittedAccount {
                slot,
                stage: admitted.stage,
                from: admitted.admitted_from,
                ips,
            });
        }
        state.online = online.into_iter().map(|(ip, seconds)| (ip_key(ip), seconds)).collect();
        self.admission = Some(state);
    }

    /// Checks traffic from both sides from now on: `figures` are the customers' records (a deal is
    /// its account, IP and period start; a customer's records of one deal add up). Called before
    /// any record is added.
    pub(super) fn customer_figures(&mut self, figures: &[UsageRecord]) {
        let mut state = TwoSidedState::default();
        for record in figures {
            let key = (self.accounts.slot(record.account), ip_key(record.ip), record.period.start);
            let entry = state.customer.entry(key).or_insert((0, false));
            entry.0 = entry.0.saturating_add(record.bytes.get());
        }
        self.two_sided = Some(state);
    }

    /// The round being tallied.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Records added so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Adds one record, checked against the campaign ([`Campaign::check_record`]) and against the
    /// records added before (a record counts once); `at` names its file and line for the error.
    pub fn add(&mut self, record: &UsageRecord, at: impl FnOnce() -> Location) -> Result<(), RewardsError> {
        let added = self.campaign.check_record(record).and_then(|()| {
            let account = self.accounts.slot(record.account);
            self.add_resolved(Resolved {
                line: 0,
                account,
                ip: ip_key(record.ip),
                bytes: record.bytes.get(),
                start: record.period.start,
                end: record.period.end,
            })
        });
        added.map_err(|reason| RewardsError::Input { at: at(), reason })
    }

    fn add_resolved(&mut self, r: Resolved) -> Result<(), InputReason> {
        if !self.fingerprints.insert(r.ip, r.account, r.start, r.end, r.bytes) {
            // Where the first one was is found again by `first_reading`, off the hot path.
            return Err(InputReason::DuplicateRecord { first: None });
        }
        if let Some(admission) = &mut self.admission {
            let excluded = match admission.ips.get(&r.ip) {
                None => Some(ExclusionReason::NotAdmitted),
                Some(&(account, _)) if account != r.account => Some(ExclusionReason::OtherAccount),
                Some(&(_, from)) if r.start < from => Some(ExclusionReason::BeforeAdmission),
                Some(_) => None,
            };
            if let Some(reason) = excluded {
                let entry = admission.excluded.entry((r.ip, r.account, reason)).or_default();
                entry.0 += 1;
                entry.1 = entry.1.checked_add(r.bytes).ok_or(InputReason::BytesOverflow)?;
                self.records += 1;
                return Ok(());
            }
        }
        let mut r = r;
        if let Some(two_sided) = &mut self.two_sided {
            let key = (r.account, r.ip, r.start);
            let paid = match two_sided.customer.get_mut(&key) {
                // A deal's customer figure pays one supplier record: a second one is
                // supplier-only.
                Some((customer, matched)) if !*matched => {
                    *matched = true;
                    let paid = r.bytes.min(*customer);
                    if self.campaign.traffic_tolerance.is_some_and(|t| t.exceeded(r.bytes, *customer)) {
                        two_sided.listed.push((key, Some(r.bytes), Some(*customer), paid));
                    }
                    paid
                }
                _ => {
                    let paid = if self.campaign.supplier_only_traffic.is_paid() { r.bytes } else { 0 };
                    two_sided.listed.push((key, Some(r.bytes), None, paid));
                    paid
                }
            };
            r.bytes = paid;
        }
        self.ips.entry(r.ip).or_default().claims.add(r.account, r.start, r.bytes)?;
        self.records += 1;
        Ok(())
    }

    /// Reads every record of `reader` into the tally, each checked as [`Tally::add`] checks it. A
    /// reader from [`UsageReader::open`] of a file read before, under any name, is refused. With
    /// two or more cores, one thread parses and checks while this one tallies (batches of records
    /// pass between them, so memory stays bounded). The parser is a thread of its own, not a task
    /// of rayon's pool: the two loops wait on each other's channel, which a pool worker must never
    /// do.
    pub fn read<R: std::io::BufRead + Send>(
        &mut self,
        reader: &mut UsageReader<R>,
    ) -> Result<(), RewardsError> {
        if let Some(identity) = reader.identity() {
            if let Some((_, first, _)) = self.files.iter().find(|(seen, ..)| seen == identity) {
                return Err(RewardsError::Input {
                    at: Location::file(reader.file()),
                    reason: InputReason::DuplicateFile { first: first.clone() },
                });
            }
            self.files.push((identity.clone(), reader.file().to_owned(), reader.format()));
        }
        if let Some(size) = reader.identity().and_then(|_| std::fs::metadata(reader.file()).ok()) {
            // A record takes 90 bytes or more as CSV, more as JSON.
            self.fingerprints.reserve(usize::try_from(size.len() / 96).unwrap_or(0));
        }
        match self.read_records(reader) {
            Err(RewardsError::Input { at, reason: InputReason::DuplicateRecord { first: None } })
                if reader.identity().is_some() =>
            {
                let first = self.first_reading(&at);
                Err(RewardsError::Input { at, reason: InputReason::DuplicateRecord { first } })
            }
            other => other,
        }
    }

    fn read_records<R: std::io::BufRead + Send>(
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
        // The parsing thread also checks records and resolves accounts to slots, which balances
        // the two threads.
        let mut accounts = std::mem::take(&mut self.accounts);
        let campaign = self.campaign.clone();
        let (tallied, parsed) = std::thread::scope(|scope| {
            let (to_tally, batches) = mpsc::sync_channel::<Vec<Resolved>>(8);
            let (recycle, spare) = mpsc::channel::<Vec<Resolved>>();
            let accounts = &mut accounts;
            let parser = scope.spawn(move || -> Result<(), RewardsError> {
                let mut batch = Vec::with_capacity(BATCH);
                while let Some(record) = reader.next_record()? {
                    campaign.check_record(&record).map_err(|reason| RewardsError::Input {
                        at: Location::line(reader.file(), reader.line()),
                        reason,
                    })?;
                    batch.push(Resolved {
                        line: reader.line(),
                        account: accounts.slot(record.account),
                        ip: ip_key(record.ip),
                        bytes: record.bytes.get(),
                        start: record.period.start,
                        end: record.period.end,
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
                    if let Err(reason) = self.add_resolved(r) {
                        tallied = Err(RewardsError::Input { at: Location::line(&file, r.line), reason });
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

    /// Reads a report file (format from its extension), as [`Tally::read`] does; a file read
    /// before, under any name, is refused.
    pub fn read_file(&mut self, path: &Path) -> Result<(), RewardsError> {
        self.read(&mut UsageReader::open(path, None)?)
    }

    /// Where the record at `at`, the last line of the last file read, was first read: the files
    /// read so far are read again up to it. Only a refusal pays this, so that the hot path keeps
    /// a fingerprint per record and no location. `None` when the files changed meanwhile.
    fn first_reading(&self, at: &Location) -> Option<Location> {
        let (_, path, format) = self.files.last()?;
        let line = at.line?;
        let mut current = UsageReader::open(path, Some(*format)).ok()?;
        let target = loop {
            let record = current.next_record().ok()??;
            if current.line() == line {
                break record;
            }
        };
        for (_, file, format) in &self.files {
            let mut reader = UsageReader::open(file, Some(*format)).ok()?;
            while let Some(record) = reader.next_record().ok()? {
                if file == path && reader.line() >= line {
                    break;
                }
                if record == target {
                    return Some(Location::line(file, reader.line()));
                }
            }
        }
        None
    }

    /// Settles IP ownership and conflicts, computes every amount and builds the tree.
    pub fn finish(mut self) -> Result<Round, RewardsError> {
        let participating = self.participating();
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
                    if participating.as_ref().is_some_and(|p| !p.contains(key)) {
                        // Admitted, not yet online for `min_online`: its traffic pays, the IP not
                        // yet (with admission, only the admitted account has claims).
                        let total = &mut round_bytes[first.account as usize];
                        *total =
                            total.checked_add(first.bytes).ok_or(RewardsError::Overflow("account bytes"))?;
                        continue;
                    }
                    new_ips[first.account as usize] += 1;
                    (first.account, self.number, ConflictRule::EarlierPeriodStart, Some(first.first_start))
                }
            };
            ips.push(IpOwner { ip, owner: address(owner), round: since });
            for claim in state.claims.iter() {
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

        let (standing, exclusions) = self.standing();
        let discrepancies = self.discrepancies();
        let mut accounts = Vec::with_capacity(n);
        let (mut total, mut round_total) = (Snm::ZERO, Snm::ZERO);
        for (k, state) in self.accounts.list.iter().enumerate() {
            let owned = state.prior_ips + new_ips[k];
            let participation = standing.get(&(k as u32)).cloned();
            if owned == 0 && participation.is_none() && state.prior_bytes == 0 && round_bytes[k] == 0 {
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
                participation,
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
            exclusions,
            discrepancies,
            total,
            round_total,
            tree,
        })
    }

    /// The deals listed (figures apart by more than the tolerance, or reported by one side only),
    /// sorted by account, IP and period start.
    fn discrepancies(&self) -> Vec<Discrepancy> {
        let Some(two_sided) = &self.two_sided else { return Vec::new() };
        let customer_only = two_sided
            .customer
            .iter()
            .filter(|(_, (_, matched))| !matched)
            .map(|(key, (bytes, _))| (*key, None, Some(*bytes), 0));
        let mut list: Vec<Discrepancy> = two_sided
            .listed
            .iter()
            .copied()
            .chain(customer_only)
            .map(|((account, ip, start), supplier, customer, paid)| Discrepancy {
                account: self.accounts.list[account as usize].address,
                ip: ip_from_key(ip),
                period_start: start,
                supplier_bytes: supplier.map(Bytes::new),
                customer_bytes: customer.map(Bytes::new),
                paid_bytes: Bytes::new(paid),
            })
            .collect();
        list.sort_unstable_by_key(|d| (d.account, ip_key(d.ip), d.period_start, d.supplier_bytes));
        list
    }

    /// With `min_online`: the admitted IPs online at least that long, each given a claim of its
    /// admitted account (of no traffic when it reported none) so that it counts.
    fn participating(&mut self) -> Option<HashSet<u128>> {
        let min = self.campaign.min_online?.secs();
        let admission = self.admission.as_ref()?;
        let set: HashSet<u128> = admission
            .ips
            .keys()
            .filter(|ip| admission.online.get(*ip).copied().unwrap_or(0) >= min)
            .copied()
            .collect();
        for ip in &set {
            let Some(&(account, from)) = admission.ips.get(ip) else { continue };
            let state = self.ips.entry(*ip).or_default();
            if !state.claims.iter().any(|c| c.account == account) {
                state.claims.push(Claim { account, first_start: from, bytes: 0, records: 0 });
            }
        }
        Some(set)
    }

    /// Every admitted account's standing, by slot, and the exclusions, sorted by IP, account and
    /// reason (both empty without admission).
    fn standing(&self) -> (HashMap<u32, Participation>, Vec<Exclusion>) {
        let Some(admission) = &self.admission else { return Default::default() };
        let min = self.campaign.min_online.map_or(1, |m| m.secs().max(1));
        let mut standing = HashMap::default();
        for admitted in &admission.accounts {
            let online: Vec<u64> =
                admitted.ips.iter().map(|ip| admission.online.get(ip).copied().unwrap_or(0)).collect();
            standing.insert(
                admitted.slot,
                Participation {
                    stage: admitted.stage,
                    admitted_from: admitted.from,
                    ips_admitted: admitted.ips.len() as u64,
                    ips_online: online.iter().filter(|&&s| s >= min).count() as u64,
                    online_seconds: online.iter().fold(0u64, |sum, s| sum.saturating_add(*s)),
                },
            );
        }
        let mut exclusions: Vec<Exclusion> = admission
            .excluded
            .iter()
            .map(|(&(ip, account, reason), &(records, bytes))| Exclusion {
                ip: ip_from_key(ip),
                account: self.accounts.list[account as usize].address,
                reason,
                records,
                bytes: Bytes::new(bytes),
            })
            .collect();
        exclusions.sort_unstable_by_key(|e| (ip_key(e.ip), e.account, e.reason));
        (standing, exclusions)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use alloy::primitives::U256;

    use super::*;
    use crate::{
        rewards::{
            line_rate::LineRate,
            merkle::verify,
            usage::{CSV_HEADER, Period, UsageFormat},
        },
        units::{SnmPerUsd, Usd},
    };

    /// Operation A at 25 SNM/USD: 50 SNM per IP, and 1 TB = $4 = 100 SNM; counting the private IPs (`10.0.x.y`) these tests use.
    fn campaign() -> Campaign {
        Campaign { allow_private_ips: true, ..Campaign::operation_a(SnmPerUsd::from_whole(25)) }
    }

    fn who(k: u8) -> Address {
        Address::repeat_byte(k)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an IP")
    }

    /// A day's record (a 10 Gbit/s line carries 108 TB in it).
    fn record(account: u8, at: &str, bytes: Bytes, start: u64) -> UsageRecord {
        UsageRecord {
            account: who(account),
            ip: ip(at),
            bytes,
            period: Period { start, end: start + 86_399 },
        }
    }

    /// The round of `records`, added one by one (line `k + 1` for record `k`).
    fn round_of(
        campaign: Campaign,
        previous: Option<PreviousRound>,
        records: &[UsageRecord],
    ) -> Result<Round, RewardsError> {
        let mut tally = Tally::new(campaign, previous);
        for (k, r) in records.iter().enumerate() {
            tally.add(r, || Location::line("r.csv", k as u64 + 1))?;
        }
        tally.finish()
    }

    /// A fresh directory for one test's files.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("snm-tally-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn owners(round: &Round) -> Vec<(IpAddr, Address, u64)> {
        round.ips().iter().map(|o| (o.ip, o.owner, o.round)).collect()
    }

    #[test]
    fn each_ip_counts_once_for_its_account_and_traffic_sums_per_account() -> Result<(), RewardsError> {
        let half = Bytes::new(Bytes::PER_TB / 2);
        let round = round_of(
            campaign(),
            None,
            &[
                record(0xa, "10.0.0.1", Bytes::from_tb(1), 100),
                record(0xa, "10.0.0.1", half, 200),
                record(0xa, "::ffff:10.0.0.1", Bytes::ZERO, 300), // the same IPv4 address
                record(0xa, "10.0.0.2", half, 100),
                record(0xb, "2001:db8::3", Bytes::from_tb(3), 100),
            ],
        )?;
        assert_eq!((round.number(), round.records(), round.previous_root()), (1, 5, None));
        // A: 2 IPs and 2 TB = 100 + 200 SNM; B: 1 IP and 3 TB = 50 + 300 SNM.
        let a = round.account(who(0xa)).expect("A is paid");
        assert_eq!((a.ips, a.bytes, a.cumulative), (2, Bytes::from_tb(2), Snm::from_whole(300)));
        assert_eq!(
            (a.round_ips, a.round_bytes, a.round_amount),
            (2, Bytes::from_tb(2), Snm::from_whole(300))
        );
        let b = round.account(who(0xb)).expect("B is paid");
        assert_eq!((b.ips, b.bytes, b.cumulative), (1, Bytes::from_tb(3), Snm::from_whole(350)));
        assert_eq!(round.accounts().len(), 2);
        assert_eq!(
            owners(&round),
            vec![
                (ip("10.0.0.1"), who(0xa), 1),
                (ip("10.0.0.2"), who(0xa), 1),
                (ip("2001:db8::3"), who(0xb), 1)
            ],
            "IPv4 first, each once, sorted"
        );
        assert!(round.conflicts().is_empty());
        assert_eq!((round.total(), round.round_total()), (Snm::from_whole(650), Snm::from_whole(650)));
        for account in [who(0xa), who(0xb)] {
            let (amount, proof) = round.claim(account).expect("a leaf");
            assert!(verify(round.root(), account, amount, &proof));
        }
        assert_eq!(round.claim(who(0xc)), None);
        Ok(())
    }

    #[test]
    fn a_contested_ip_goes_to_the_earliest_start_then_the_lower_address() -> Result<(), RewardsError> {
        let round = round_of(
            campaign(),
            None,
            &[
                // 10.0.0.1: A's earliest record (50) is earlier than B's (100), though listed later.
                record(0xb, "10.0.0.1", Bytes::from_tb(1), 100),
                record(0xa, "10.0.0.1", Bytes::from_tb(1), 300),
                record(0xb, "10.0.0.1", Bytes::from_tb(2), 400),
                record(0xa, "10.0.0.1", Bytes::from_tb(1), 50),
                // 10.0.0.2: the same start; the lower address (A) wins.
                record(0xb, "10.0.0.2", Bytes::from_tb(1), 100),
                record(0xa, "10.0.0.2", Bytes::ZERO, 100),
                // 10.0.0.3: C reports only an IP B owns; C gets nothing.
                record(0xb, "10.0.0.3", Bytes::ZERO, 10),
                record(0xc, "10.0.0.3", Bytes::from_tb(5), 20),
            ],
        )?;
        let conflicts: Vec<_> = round
            .conflicts()
            .iter()
            .map(|c| (c.ip, c.owner, c.owner_first_start, c.excluded, c.excluded_first_start, c.rule))
            .collect();
        assert_eq!(
            conflicts,
            vec![
                (ip("10.0.0.1"), who(0xa), Some(50), who(0xb), 100, ConflictRule::EarlierPeriodStart),
                (ip("10.0.0.2"), who(0xa), Some(100), who(0xb), 100, ConflictRule::LowerAddress),
                (ip("10.0.0.3"), who(0xb), Some(10), who(0xc), 20, ConflictRule::EarlierPeriodStart),
            ]
        );
        let excluded: Vec<_> =
            round.conflicts().iter().map(|c| (c.excluded_bytes, c.excluded_records)).collect();
        assert_eq!(excluded, vec![(Bytes::from_tb(3), 2), (Bytes::from_tb(1), 1), (Bytes::from_tb(5), 1)]);
        // A: 2 IPs, its own 2 TB on 10.0.0.1; B: 1 IP, nothing on it; C: no IP, no account, no leaf.
        let a = round.account(who(0xa)).expect("A is paid");
        assert_eq!((a.ips, a.bytes, a.cumulative), (2, Bytes::from_tb(2), Snm::from_whole(300)));
        let b = round.account(who(0xb)).expect("B is paid");
        assert_eq!((b.ips, b.bytes, b.cumulative), (1, Bytes::ZERO, Snm::from_whole(50)));
        assert!(round.account(who(0xc)).is_none() && round.claim(who(0xc)).is_none());
        Ok(())
    }

    #[test]
    fn the_next_round_keeps_earlier_owners_and_pays_the_difference() -> Result<(), RewardsError> {
        let dir = scratch("next");
        let first = round_of(
            campaign(),
            None,
            &[
                record(0xa, "10.0.0.1", Bytes::from_tb(1), 500),
                record(0xb, "10.0.0.2", Bytes::from_tb(1), 500),
            ],
        )?;
        let files = first.write(&dir)?;
        let previous = PreviousRound::load(&files.round, &campaign())?;
        let second = round_of(
            campaign(),
            Some(previous),
            &[
                // B reports A's IP with an earlier start than A ever did: A keeps it.
                record(0xb, "10.0.0.1", Bytes::from_tb(7), 1),
                record(0xa, "10.0.0.1", Bytes::from_tb(2), 900),
                // B does not report its 10.0.0.2 this round; C does, earlier than B ever did: B keeps it.
                record(0xc, "10.0.0.2", Bytes::from_tb(1), 1),
                record(0xa, "10.0.0.3", Bytes::ZERO, 900),
            ],
        )?;
        assert_eq!((second.number(), second.previous_root()), (2, Some(first.root())));
        let conflicts: Vec<_> = second
            .conflicts()
            .iter()
            .map(|c| (c.ip, c.owner, c.owner_first_start, c.excluded, c.rule))
            .collect();
        assert_eq!(
            conflicts,
            vec![
                (ip("10.0.0.1"), who(0xa), Some(900), who(0xb), ConflictRule::EarlierRound),
                (ip("10.0.0.2"), who(0xb), None, who(0xc), ConflictRule::EarlierRound),
            ]
        );
        assert_eq!(
            owners(&second),
            vec![(ip("10.0.0.1"), who(0xa), 1), (ip("10.0.0.2"), who(0xb), 1), (ip("10.0.0.3"), who(0xa), 2)]
        );
        // A: 2 IPs (one new) and 3 TB over both rounds: 400 SNM cumulative, 250 this round.
        let a = second.account(who(0xa)).expect("A is paid");
        assert_eq!((a.ips, a.bytes, a.cumulative), (2, Bytes::from_tb(3), Snm::from_whole(400)));
        assert_eq!(
            (a.round_ips, a.round_bytes, a.round_amount),
            (1, Bytes::from_tb(2), Snm::from_whole(250))
        );
        // B reported nothing it owns: its amount carries over, nothing added.
        let b = second.account(who(0xb)).expect("B keeps its leaf");
        assert_eq!(
            (b.ips, b.cumulative, b.round_ips, b.round_amount),
            (1, Snm::from_whole(150), 0, Snm::ZERO)
        );
        assert_eq!((second.total(), second.round_total()), (Snm::from_whole(550), Snm::from_whole(250)));
        std::fs::remove_dir_all(&dir).map_err(|e| RewardsError::io(&dir, e))
    }

    #[test]
    fn traffic_is_rounded_down_once_over_every_round() -> Result<(), RewardsError> {
        // 1 TB pays 0.6 wei: 2 TB in each of two rounds is 1.2 wei then 2.4 wei cumulative.
        let mut campaign = campaign();
        campaign.usd_per_tb = Usd::from_scaled(U256::from(2));
        campaign.snm_per_usd = "0.3 SNM/USD".parse().expect("a rate");
        let dir = scratch("rounding");
        let traffic = |start| {
            vec![
                record(0xa, "10.0.0.1", Bytes::from_tb(1), start),
                record(0xa, "10.0.0.1", Bytes::from_tb(1), start + 86_400),
            ]
        };
        let first = round_of(campaign.clone(), None, &traffic(1))?;
        let per_ip = Snm::from_whole(50);
        let wei = |n: u64| per_ip.checked_add(Snm::from_wei(U256::from(n))).expect("small");
        assert_eq!(
            first.account(who(0xa)).map(|a| a.cumulative),
            Some(wei(1)),
            "floor(1.2), not 2 × floor(0.6)"
        );
        let files = first.write(&dir)?;
        let second =
            round_of(campaign.clone(), Some(PreviousRound::load(&files.round, &campaign)?), &traffic(2))?;
        let a = second.account(who(0xa)).expect("A is paid");
        assert_eq!(
            (a.cumulative, a.round_amount),
            (wei(2), Snm::from_wei(U256::from(1))),
            "floor(2.4) − floor(1.2)"
        );
        std::fs::remove_dir_all(&dir).map_err(|e| RewardsError::io(&dir, e))
    }

    /// `records` CSV lines over 1,000 IPs and 50 accounts, one line in 7 from another account than
    /// the IP's usual one.
    fn csv(records: u64) -> String {
        let mut text = format!("{CSV_HEADER}\n");
        for k in 0..records {
            let at = k * 7919 % 1000;
            let account = if k % 7 == 0 { (k / 7) % 50 } else { at % 50 };
            let line = format!(
                "{},10.0.{}.{},{},{},{}\n",
                who(account as u8 + 1),
                at / 256,
                at % 256,
                k * 100_003,
                k % 97,
                k % 97 + 5
            );
            text.push_str(&line);
        }
        text
    }

    #[test]
    fn reading_on_two_threads_tallies_as_adding_each_record() -> Result<(), RewardsError> {
        // 20,000 records: several batches pass between the parsing and the tallying thread.
        let text = csv(20_000);
        let mut read = Tally::new(campaign(), None);
        read.read(&mut UsageReader::new(text.as_bytes(), UsageFormat::Csv, "mem.csv"))?;
        let mut added = Tally::new(campaign(), None);
        for record in UsageReader::new(text.as_bytes(), UsageFormat::Csv, "mem.csv") {
            added.add(&record?, || Location::file("mem.csv"))?;
        }
        let (read, added) = (read.finish()?, added.finish()?);
        assert_eq!(read.records(), 20_000);
        assert_eq!(read.records(), added.records());
        assert_eq!(read.accounts(), added.accounts());
        assert_eq!(read.ips(), added.ips());
        assert_eq!(read.conflicts(), added.conflicts());
        assert!(!read.conflicts().is_empty());
        assert_eq!((read.root(), read.total()), (added.root(), added.total()));
        Ok(())
    }

    #[test]
    fn a_bad_line_stops_the_read_with_its_file_and_line() {
        let mut text = csv(9_000);
        text.push_str(&format!("{},10.0.0.300,1,1,2\n", who(1)));
        text.push_str(csv(10).replace(CSV_HEADER, "").trim_start());
        let mut tally = Tally::new(campaign(), None);
        let err = tally
            .read(&mut UsageReader::new(text.as_bytes(), UsageFormat::Csv, "reports/w.csv"))
            .expect_err("a bad IP");
        assert_eq!(err.to_string(), "reports/w.csv:9002: `10.0.0.300` is not an IP address");
        assert!(
            matches!(err, RewardsError::Input { reason: InputReason::BadIp(_), at } if at.line == Some(9_002))
        );
    }

    #[test]
    fn bytes_that_overflow_name_their_line() {
        // The fastest line there is, over the longest period: about 4.3e37 bytes a record, so that
        // the ninth record of one IP and account overflows 128 bits (3.4e38).
        let campaign = Campaign { max_line_rate: LineRate::from_bits_per_second(u64::MAX), ..campaign() };
        let most = campaign.max_line_rate.bytes_in(u64::MAX).get();
        let line = |k: u128| format!("{},10.0.0.1,{},0,{}\n", who(1), most - k, u64::MAX);
        let text = format!("{CSV_HEADER}\n{}", (0..9).map(line).collect::<String>());
        let mut tally = Tally::new(campaign.clone(), None);
        let err = tally
            .read(&mut UsageReader::new(text.as_bytes(), UsageFormat::Csv, "w.csv"))
            .expect_err("overflow");
        assert!(
            matches!(&err, RewardsError::Input { reason: InputReason::BytesOverflow, at } if *at == Location::line("w.csv", 10)),
            "{err}"
        );
        let mut tally = Tally::new(campaign, None);
        let huge = |k: u128| UsageRecord {
            bytes: Bytes::new(most - k),
            period: Period { start: 0, end: u64::MAX },
            ..record(1, "10.0.0.1", Bytes::ZERO, 0)
        };
        for k in 0..8 {
            tally.add(&huge(k), || Location::line("x.csv", 1)).expect("fits");
        }
        let err = tally.add(&huge(8), || Location::line("x.csv", 2)).expect_err("overflow");
        assert_eq!(err.to_string(), "x.csv:2: byte total overflows");
    }

    #[test]
    fn a_round_without_records_has_nothing_to_distribute() {
        assert!(matches!(Tally::new(campaign(), None).finish(), Err(RewardsError::NothingToDistribute)));
    }
}
