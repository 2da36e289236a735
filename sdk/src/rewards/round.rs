//! Tallying usage into a round: unique IPs, conflicts, cumulative amounts, the tree, and the
//! round file that the next round starts from.

use std::{
    fs,
    io::{BufWriter, Write},
    net::{IpAddr, Ipv6Addr},
    path::{Path, PathBuf},
    sync::mpsc,
};

use alloy::primitives::{
    Address, B256,
    map::{HashMap, HashSet},
};
use serde::{Deserialize, Serialize};

use super::{
    campaign::Campaign,
    error::{InputReason, Location, RewardsError},
    merkle::StandardMerkleTree,
    usage::{UsageReader, UsageRecord},
};
use crate::units::{Bytes, Snm};

/// The `format` string of a round file.
pub const ROUND_FORMAT: &str = "snm-rewards-round-v1";

/// One account's reward: what it owns over the whole campaign and what this round adds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountReward {
    /// The payout account (the leaf's `account`).
    pub account: Address,
    /// Unique IPs owned over the campaign.
    pub ips: u64,
    /// Traffic counted over the campaign (on owned IPs only).
    #[serde(with = "dec::bytes")]
    pub bytes: Bytes,
    /// Cumulative amount over all rounds (the leaf's `cumulativeAmount`), in wei.
    #[serde(rename = "cumulative_wei", with = "dec::snm")]
    pub cumulative: Snm,
    /// IPs first counted in this round.
    pub round_ips: u64,
    /// Traffic counted in this round.
    #[serde(with = "dec::bytes")]
    pub round_bytes: Bytes,
    /// What this round adds to the cumulative amount, in wei.
    #[serde(rename = "round_wei", with = "dec::snm")]
    pub round_amount: Snm,
}

/// Which account owns an IP, and since which round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpOwner {
    /// The worker IP.
    pub ip: IpAddr,
    /// The account it counts for.
    pub owner: Address,
    /// The round in which it was first counted.
    pub round: u64,
}

/// Why the owner of a conflicting IP won.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictRule {
    /// The IP was already counted for the owner in an earlier round.
    EarlierRound,
    /// The owner's earliest record for the IP starts earlier.
    EarlierPeriodStart,
    /// Both earliest records start at the same second; the lower address wins.
    LowerAddress,
}

/// An IP reported by an account other than its owner in this round: that account's records for
/// the IP are excluded, IP reward and bytes alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conflict {
    /// The contested IP.
    pub ip: IpAddr,
    /// The account the IP counts for.
    pub owner: Address,
    /// The owner's earliest period start for the IP in this round, if it reported it this round.
    pub owner_first_start: Option<u64>,
    /// The account whose records are excluded.
    pub excluded: Address,
    /// The excluded account's earliest period start for the IP.
    pub excluded_first_start: u64,
    /// Its traffic on the IP, not paid.
    #[serde(with = "dec::bytes")]
    pub excluded_bytes: Bytes,
    /// How many of its records were excluded.
    pub excluded_records: u64,
    /// Why the owner won.
    pub rule: ConflictRule,
}

/// A computed round: everything the publish and claim steps consume.
#[derive(Clone, Debug)]
pub struct Round {
    campaign: Campaign,
    number: u64,
    previous_root: Option<B256>,
    records: u64,
    accounts: Vec<AccountReward>,
    ips: Vec<IpOwner>,
    conflicts: Vec<Conflict>,
    total: Snm,
    round_total: Snm,
    tree: StandardMerkleTree,
}

/// The files a round is written to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundFiles {
    /// `round-<N>.json`: the round file (amounts, owners, conflicts, root, totals); the next
    /// round's input.
    pub round: PathBuf,
    /// `round-<N>.merkle.json`: OpenZeppelin's `standard-v1` dump of the tree.
    pub merkle: PathBuf,
}

impl Round {
    /// The campaign.
    pub fn campaign(&self) -> &Campaign {
        &self.campaign
    }
    /// The round number (1 for the first).
    pub fn number(&self) -> u64 {
        self.number
    }
    /// The previous round's root, if any.
    pub fn previous_root(&self) -> Option<B256> {
        self.previous_root
    }
    /// Usage records read in this round.
    pub fn records(&self) -> u64 {
        self.records
    }
    /// Every account owning at least one IP, sorted by address.
    pub fn accounts(&self) -> &[AccountReward] {
        &self.accounts
    }
    /// The reward of `account`, if it has one.
    pub fn account(&self, account: Address) -> Option<&AccountReward> {
        self.accounts.binary_search_by_key(&account, |a| a.account).ok().map(|k| &self.accounts[k])
    }
    /// Every counted IP and its owner, sorted by IP.
    pub fn ips(&self) -> &[IpOwner] {
        &self.ips
    }
    /// This round's conflicts, sorted by IP then excluded account.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }
    /// The Merkle root of `(account, cumulative)` over every account with a non-zero amount.
    pub fn root(&self) -> B256 {
        self.tree.root()
    }
    /// The sum of cumulative amounts: what the distributor must have received in total.
    pub fn total(&self) -> Snm {
        self.total
    }
    /// What this round adds to the total: what the operator funds for this round.
    pub fn round_total(&self) -> Snm {
        self.round_total
    }
    /// The tree.
    pub fn tree(&self) -> &StandardMerkleTree {
        &self.tree
    }
    /// `account`'s cumulative amount and proof, if it can claim.
    pub fn claim(&self, account: Address) -> Option<(Snm, Vec<B256>)> {
        Some((self.tree.amount(account)?, self.tree.proof(account)?))
    }

    /// Reads a round file written by [`Round::write`] back as a round, for publishing it: checked
    /// as [`PreviousRound::load`] checks a previous round (sums, amounts, IP owners, root), against
    /// the campaign the file names, whose rules are checked too. A file that does not add up is a
    /// [`RewardsError::Round`] naming it and the reason.
    pub fn load(path: &Path) -> Result<Self, RewardsError> {
        let (file, tree) = read_round_file(path, None, |at, reason| RewardsError::Round { at, reason })?;
        Ok(Self {
            campaign: file.campaign,
            number: file.round,
            previous_root: file.previous_root,
            records: file.records,
            accounts: file.accounts,
            ips: file.ips,
            conflicts: file.conflicts,
            total: file.total_wei,
            round_total: file.round_total_wei,
            tree,
        })
    }

    /// The file names of round `number` in `dir`.
    pub fn files_in(dir: &Path, number: u64) -> RoundFiles {
        RoundFiles {
            round: dir.join(format!("round-{number}.json")),
            merkle: dir.join(format!("round-{number}.merkle.json")),
        }
    }

    /// Writes the round file and the Merkle dump into `dir` (created if needed). Both are written
    /// to temporary files first and renamed at the end, the round file last; an existing round
    /// file is never overwritten.
    pub fn write(&self, dir: &Path) -> Result<RoundFiles, RewardsError> {
        fs::create_dir_all(dir).map_err(|e| RewardsError::io(dir, e))?;
        let files = Self::files_in(dir, self.number);
        for file in [&files.round, &files.merkle] {
            if file.exists() {
                return Err(RewardsError::OutputExists { file: file.clone() });
            }
        }
        let temp = |file: &Path| file.with_extension(format!("json.tmp-{}", std::process::id()));
        let (round_tmp, merkle_tmp) = (temp(&files.round), temp(&files.merkle));
        let result = (|| {
            write_file(&merkle_tmp, |out| self.tree.write_dump(out))?;
            write_file(&round_tmp, |out| {
                serde_json::to_writer(&mut *out, &self.to_file()).map_err(std::io::Error::other)?;
                out.write_all(b"\n")
            })?;
            fs::rename(&merkle_tmp, &files.merkle).map_err(|e| RewardsError::io(&files.merkle, e))?;
            fs::rename(&round_tmp, &files.round).map_err(|e| RewardsError::io(&files.round, e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&merkle_tmp);
            let _ = fs::remove_file(&round_tmp);
        }
        result.map(|()| files)
    }

    /// The round file's contents.
    fn to_file(&self) -> RoundFile {
        RoundFile {
            format: ROUND_FORMAT.to_owned(),
            campaign: self.campaign.clone(),
            round: self.number,
            root: self.root(),
            previous_root: self.previous_root,
            total_wei: self.total,
            round_total_wei: self.round_total,
            records: self.records,
            accounts: self.accounts.clone(),
            ips: self.ips.clone(),
            conflicts: self.conflicts.clone(),
        }
    }
}

fn write_file(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<fs::File>) -> std::io::Result<()>,
) -> Result<(), RewardsError> {
    let file = fs::File::create(path).map_err(|e| RewardsError::io(path, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    body(&mut out).and_then(|()| out.flush()).map_err(|e| RewardsError::io(path, e))?;
    out.get_ref().sync_all().map_err(|e| RewardsError::io(path, e))
}

/// The round file: written by [`Round::write`], read back by [`PreviousRound::load`].
///
/// JSON object with keys `format` (`"snm-rewards-round-v1"`), `campaign` (the campaign's rules, as
/// in the TOML file), `round`, `root`, `previous_root` (or null), `total_wei`, `round_total_wei`,
/// `records`, `accounts` (sorted by address: `account`, `ips`, `bytes`, `cumulative_wei`,
/// `round_ips`, `round_bytes`, `round_wei`), `ips` (sorted by IP: `ip`, `owner`, `round`) and
/// `conflicts` (`ip`, `owner`, `owner_first_start`, `excluded`, `excluded_first_start`,
/// `excluded_bytes`, `excluded_records`, `rule`). Amounts and byte counts are decimal strings.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoundFile {
    format: String,
    campaign: Campaign,
    round: u64,
    root: B256,
    previous_root: Option<B256>,
    #[serde(with = "dec::snm")]
    total_wei: Snm,
    #[serde(with = "dec::snm")]
    round_total_wei: Snm,
    records: u64,
    accounts: Vec<AccountReward>,
    ips: Vec<IpOwner>,
    conflicts: Vec<Conflict>,
}

/// A previous round, loaded and checked: its sums, its per-account amounts and its root all add up.
#[derive(Clone, Debug)]
pub struct PreviousRound {
    number: u64,
    root: B256,
    total: Snm,
    accounts: Vec<AccountReward>,
    ips: Vec<IpOwner>,
}

impl PreviousRound {
    /// The round number.
    pub fn number(&self) -> u64 {
        self.number
    }
    /// Its root.
    pub fn root(&self) -> B256 {
        self.root
    }
    /// Its total.
    pub fn total(&self) -> Snm {
        self.total
    }
    /// Its accounts.
    pub fn accounts(&self) -> &[AccountReward] {
        &self.accounts
    }
    /// Its IP owners.
    pub fn ips(&self) -> &[IpOwner] {
        &self.ips
    }

    /// Loads `path` and checks it against `campaign`: same rules, every cumulative amount equal to
    /// the campaign's reward for its IPs and bytes, IP ownership matching the counts, the totals
    /// equal to the sums, and the root equal to the tree rebuilt from the amounts.
    pub fn load(path: &Path, campaign: &Campaign) -> Result<Self, RewardsError> {
        let (parsed, _) =
            read_round_file(path, Some(campaign), |at, reason| RewardsError::Previous { at, reason })?;
        Ok(Self {
            number: parsed.round,
            root: parsed.root,
            total: parsed.total_wei,
            accounts: parsed.accounts,
            ips: parsed.ips,
        })
    }
}

/// Reads a round file and checks that it adds up (see [`PreviousRound::load`]), against `campaign`
/// or, when `None`, against the campaign the file names (checked too); `error` makes the error of
/// a file that does not. Returns the file and the tree rebuilt from its amounts.
fn read_round_file(
    path: &Path,
    campaign: Option<&Campaign>,
    error: fn(Location, String) -> RewardsError,
) -> Result<(RoundFile, StandardMerkleTree), RewardsError> {
    let file = fs::File::open(path).map_err(|e| RewardsError::io(path, e))?;
    let parsed: RoundFile = serde_json::from_reader(std::io::BufReader::with_capacity(1 << 20, file))
        .map_err(|e| error(Location::line(path, e.line() as u64), e.to_string()))?;
    let bad = |reason: String| error(Location::file(path), reason);
    if parsed.format != ROUND_FORMAT {
        return Err(bad(format!("format `{}` is not `{ROUND_FORMAT}`", parsed.format)));
    }
    let campaign = match campaign {
        Some(campaign) => campaign,
        None => {
            parsed.campaign.check().map_err(|reason| bad(format!("its campaign: {reason}")))?;
            &parsed.campaign
        }
    };
    if !parsed.campaign.same_rules(campaign) {
        return Err(bad(format!(
            "it is for campaign `{}` ({}, {}, {}), not `{}` ({}, {}, {})",
            parsed.campaign.id,
            parsed.campaign.snm_per_ip,
            parsed.campaign.usd_per_tb,
            parsed.campaign.snm_per_usd,
            campaign.id,
            campaign.snm_per_ip,
            campaign.usd_per_tb,
            campaign.snm_per_usd
        )));
    }
    if parsed.round == 0 {
        return Err(bad("round numbers start at 1".into()));
    }
    let mut owned: HashMap<Address, (u64, u64)> =
        HashMap::with_capacity_and_hasher(parsed.accounts.len(), Default::default());
    let mut seen_ips: HashSet<IpAddr> =
        HashSet::with_capacity_and_hasher(parsed.ips.len(), Default::default());
    for ip in &parsed.ips {
        if !seen_ips.insert(ip.ip) {
            return Err(bad(format!("IP {} is listed twice", ip.ip)));
        }
        if ip.ip.to_canonical() != ip.ip {
            return Err(bad(format!("IP {} is not in canonical form", ip.ip)));
        }
        if ip.round == 0 || ip.round > parsed.round {
            return Err(bad(format!("IP {} has round {} outside 1..={}", ip.ip, ip.round, parsed.round)));
        }
        let entry = owned.entry(ip.owner).or_default();
        entry.0 += 1;
        entry.1 += u64::from(ip.round == parsed.round);
    }
    let (mut total, mut round_total) = (Snm::ZERO, Snm::ZERO);
    for (k, account) in parsed.accounts.iter().enumerate() {
        if k > 0 && parsed.accounts[k - 1].account >= account.account {
            return Err(bad(format!("accounts are not sorted and unique at {}", account.account)));
        }
        let (ips, round_ips) = owned.remove(&account.account).unwrap_or_default();
        if ips != account.ips || round_ips != account.round_ips || ips == 0 {
            return Err(bad(format!(
                "{} lists {} IPs ({} this round) but owns {ips} ({round_ips} this round)",
                account.account, account.ips, account.round_ips
            )));
        }
        let expected = campaign.reward(account.ips, account.bytes)?;
        if expected != account.cumulative {
            return Err(bad(format!(
                "{}: cumulative {} wei, but {} IPs and {} pay {} wei",
                account.account,
                account.cumulative.wei(),
                account.ips,
                account.bytes,
                expected.wei()
            )));
        }
        if account.round_amount > account.cumulative || account.round_bytes > account.bytes {
            return Err(bad(format!("{}: this round's figures exceed the cumulative ones", account.account)));
        }
        total = total.checked_add(account.cumulative).ok_or(RewardsError::Overflow("total"))?;
        round_total = round_total.checked_add(account.round_amount).ok_or(RewardsError::Overflow("total"))?;
    }
    if let Some((owner, _)) = owned.into_iter().next() {
        return Err(bad(format!("IP owner {owner} is not among the accounts")));
    }
    if total != parsed.total_wei {
        return Err(bad(format!(
            "total_wei is {} but the accounts sum to {}",
            parsed.total_wei.wei(),
            total.wei()
        )));
    }
    if round_total != parsed.round_total_wei {
        return Err(bad(format!(
            "round_total_wei is {} but the accounts' round amounts sum to {}",
            parsed.round_total_wei.wei(),
            round_total.wei()
        )));
    }
    let tree = StandardMerkleTree::build(leaves(&parsed.accounts)).map_err(|e| bad(e.to_string()))?;
    if tree.root() != parsed.root {
        return Err(bad(format!("root is {} but the amounts give {}", parsed.root, tree.root())));
    }
    Ok((parsed, tree))
}

fn leaves(accounts: &[AccountReward]) -> Vec<(Address, Snm)> {
    accounts.iter().filter(|a| !a.cumulative.wei().is_zero()).map(|a| (a.account, a.cumulative)).collect()
}

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
            tally.number = previous.number + 1;
            tally.previous_root = Some(previous.root);
            tally.accounts.list.reserve(previous.accounts.len());
            for account in &previous.accounts {
                let index = tally.accounts.slot(account.account);
                let state = &mut tally.accounts.list[index as usize];
                state.prior_ips = account.ips;
                state.prior_bytes = account.bytes.get();
                state.prior_cumulative = account.cumulative;
            }
            tally.ips.reserve(previous.ips.len());
            for ip in &previous.ips {
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

/// Computes a round: loads and checks `previous` (if any) against `campaign`, reads every report
/// (format from the extension) and settles the round. Nothing is written.
pub fn compute_round(
    campaign: &Campaign,
    previous: Option<&Path>,
    reports: &[PathBuf],
) -> Result<Round, RewardsError> {
    let previous = previous.map(|path| PreviousRound::load(path, campaign)).transpose()?;
    let mut tally = Tally::new(campaign.clone(), previous);
    for report in reports {
        tally.read_file(report)?;
    }
    tally.finish()
}

/// Decimal-string serde for amounts and byte counts (JSON numbers lose precision above 2^53).
mod dec {
    pub(super) mod snm {
        use crate::units::{Snm, fixed};
        use serde::{Deserialize, Deserializer, Serializer, de::Error};

        pub(crate) fn serialize<S: Serializer>(value: &Snm, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(&value.wei())
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Snm, D::Error> {
            let text = String::deserialize(deserializer)?;
            fixed::parse(&text, 0)
                .map(Snm::from_wei)
                .map_err(|e| D::Error::custom(e.expecting("a decimal amount of wei")))
        }
    }

    pub(super) mod bytes {
        use crate::units::{Bytes, fixed};
        use serde::{Deserialize, Deserializer, Serializer, de::Error};

        pub(crate) fn serialize<S: Serializer>(value: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(&value.get())
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
            let text = String::deserialize(deserializer)?;
            fixed::parse_u128(&text, 0)
                .map(Bytes::new)
                .map_err(|e| D::Error::custom(e.expecting("a decimal number of bytes")))
        }
    }
}
