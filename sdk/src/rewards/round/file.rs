//! The round file (`round-N.json`) and the Merkle dump beside it: written atomically, read back
//! and checked, either to publish a round ([`Round::load`]) or to start the next one
//! ([`PreviousRound::load`]).

use std::{
    fs,
    io::{BufWriter, Write},
    net::IpAddr,
    path::Path,
};

use alloy::primitives::{
    Address, B256,
    map::{HashMap, HashSet},
};
use serde::{Deserialize, Serialize};

use super::{AccountReward, Conflict, IpOwner, Round, RoundFiles, dec, leaves};
use crate::{
    rewards::{
        campaign::Campaign,
        error::{Location, RewardsError},
        merkle::StandardMerkleTree,
    },
    units::Snm,
};

/// The `format` string of a round file.
pub const ROUND_FORMAT: &str = "snm-rewards-round-v1";

impl Round {
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
