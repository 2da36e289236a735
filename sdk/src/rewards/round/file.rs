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

use super::{AccountReward, Conflict, Discrepancy, Exclusion, IpOwner, Round, RoundFiles, dec, leaves};
use crate::{
    rewards::{campaign::Campaign, error::RewardsError, input_error::Location, merkle::StandardMerkleTree},
    units::Snm,
};

/// The `format` string of a round file.
pub const ROUND_FORMAT: &str = "snm-rewards-round-v1";

impl Round {
    /// Reads a round file written by [`Round::write`] back as a round, for publishing it: checked
    /// as [`PreviousRound::load`] checks a previous round (sums, amounts, IP owners, root), against
    /// the campaign the file names, whose rules are checked too. A file that does not add up is a
    /// [`RewardsError::Round`] naming it and the reason. It blocks (it reads the file and rebuilds
    /// the tree): see [`compute_round`](crate::rewards::compute_round) for async code.
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
            exclusions: file.exclusions,
            discrepancies: file.discrepancies,
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
    /// file is never overwritten. It blocks (it formats the dump on every core and syncs both
    /// files): see [`compute_round`](crate::rewards::compute_round) for async code.
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
            exclusions: self.exclusions.clone(),
            discrepancies: self.discrepancies.clone(),
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
/// A campaign with admission adds `participation` to accounts and `exclusions` (`ip`, `account`,
/// `reason`, `records`, `bytes`); without admission neither appears. A campaign with
/// `traffic_tolerance` adds `discrepancies` (`account`, `ip`, `period_start`, `supplier_bytes`,
/// `customer_bytes`, `paid_bytes`), left out when empty.
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    exclusions: Vec<Exclusion>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    discrepancies: Vec<Discrepancy>,
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
    /// equal to the sums, and the root equal to the tree rebuilt from the amounts. It blocks, as
    /// [`Round::load`] does.
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
        // With admission an account is listed with no IP (admitted, not yet paid for one) or with
        // traffic on IPs that have not met `min_online` yet.
        if ips != account.ips || round_ips != account.round_ips || (ips == 0 && !campaign.admission) {
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::{Value, json};

    use super::*;
    use crate::{
        rewards::{
            Tally,
            usage::{Period, UsageRecord},
        },
        units::{Bytes, SnmPerUsd},
    };

    /// Operation A, counting the private IPs (`10.0.0.x`) these tests use.
    fn campaign() -> Campaign {
        Campaign { allow_private_ips: true, ..Campaign::operation_a(SnmPerUsd::from_whole(25)) }
    }

    fn who(k: u8) -> Address {
        Address::repeat_byte(k)
    }

    /// A round 1 of A (two IPs, 1 TB), B (one IP, 2 TB) and C (excluded from B's IP).
    fn round() -> Result<Round, RewardsError> {
        let mut tally = Tally::new(campaign(), None);
        for (account, ip, tb, start) in [
            (0xa, "10.0.0.1", 1, 10),
            (0xa, "10.0.0.2", 0, 10),
            (0xb, "10.0.0.3", 2, 10),
            (0xc, "10.0.0.3", 4, 20),
        ] {
            let ip = ip.parse().map_err(|_| RewardsError::NothingToDistribute)?;
            let record = UsageRecord {
                account: who(account),
                ip,
                bytes: Bytes::from_tb(tb),
                // A day: a 10 Gbit/s line carries 108 TB in it.
                period: Period { start, end: start + 86_399 },
            };
            tally.add(&record, || Location::file("r.csv"))?;
        }
        tally.finish()
    }

    /// A fresh directory for one test's files.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("snm-round-file-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn a_written_round_reads_back_as_the_same_round() -> Result<(), RewardsError> {
        let dir = scratch("round-trip");
        let round = round()?;
        let files = round.write(&dir)?;
        assert_eq!(files, Round::files_in(&dir, 1));
        assert_eq!(entries(&dir), ["round-1.json", "round-1.merkle.json"], "no temporary file is left");

        let back = Round::load(&files.round)?;
        assert_eq!((back.number(), back.root(), back.previous_root()), (1, round.root(), None));
        assert_eq!(
            (back.total(), back.round_total(), back.records()),
            (round.total(), round.round_total(), 4)
        );
        assert_eq!(back.campaign(), round.campaign());
        assert_eq!(back.accounts(), round.accounts());
        assert_eq!(back.ips(), round.ips());
        assert_eq!(back.conflicts(), round.conflicts());
        assert_eq!(back.conflicts().len(), 1);
        assert_eq!(back.tree(), round.tree());
        assert_eq!(StandardMerkleTree::load_dump(&files.merkle)?, *round.tree());

        let previous = PreviousRound::load(&files.round, &campaign())?;
        assert_eq!((previous.number(), previous.root(), previous.total()), (1, round.root(), round.total()));
        assert_eq!((previous.accounts(), previous.ips()), (round.accounts(), round.ips()));
        fs::remove_dir_all(&dir).map_err(|e| RewardsError::io(&dir, e))
    }

    #[test]
    fn a_round_is_never_overwritten_and_a_refused_write_leaves_nothing() -> Result<(), RewardsError> {
        let dir = scratch("overwrite");
        let round = round()?;
        let files = round.write(&dir)?;
        let before = fs::read(&files.round).map_err(|e| RewardsError::io(&files.round, e))?;
        let err = round.write(&dir).expect_err("round 1 exists");
        assert!(matches!(&err, RewardsError::OutputExists { file } if *file == files.round), "{err}");
        assert_eq!(fs::read(&files.round).map_err(|e| RewardsError::io(&files.round, e))?, before);

        // Only the dump is there: refused too, and no round file appears.
        let other = scratch("overwrite-dump");
        fs::create_dir_all(&other).map_err(|e| RewardsError::io(&other, e))?;
        fs::write(other.join("round-1.merkle.json"), b"{}").map_err(|e| RewardsError::io(&other, e))?;
        assert!(matches!(round.write(&other), Err(RewardsError::OutputExists { .. })));
        assert_eq!(entries(&other), ["round-1.merkle.json"]);
        for dir in [dir, other] {
            fs::remove_dir_all(&dir).map_err(|e| RewardsError::io(&dir, e))?;
        }
        Ok(())
    }

    /// The round file as JSON, changed by `change`, written pretty (one key per line) to `path`.
    fn tampered(file: &Value, path: &Path, change: impl FnOnce(&mut Value)) -> Result<(), RewardsError> {
        let mut file = file.clone();
        change(&mut file);
        let text = serde_json::to_string_pretty(&file).map_err(|e| RewardsError::io(path, e.into()))?;
        fs::write(path, text).map_err(|e| RewardsError::io(path, e))
    }

    /// One way to spoil a round file.
    type Change = Box<dyn FnOnce(&mut Value)>;

    /// Adds `by` to the decimal string at `value`.
    fn add(value: &mut Value, by: i128) {
        let n: i128 = value.as_str().and_then(|s| s.parse().ok()).expect("a decimal string");
        *value = json!((n + by).to_string());
    }

    #[test]
    fn a_round_file_that_does_not_add_up_is_refused_with_its_file_and_reason() -> Result<(), RewardsError> {
        let dir = scratch("refused");
        let files = round()?.write(&dir)?;
        let file: Value =
            serde_json::from_slice(&fs::read(&files.round).map_err(|e| RewardsError::io(&dir, e))?)
                .map_err(|e| RewardsError::io(&dir, e.into()))?;
        let unknown = who(0xd).to_string();
        let cases: Vec<(&str, Change)> = vec![
            ("format `v0` is not `snm-rewards-round-v1`", Box::new(|f| f["format"] = json!("v0"))),
            (
                "is for campaign `operation-a` (60 SNM",
                Box::new(|f| f["campaign"]["snm_per_ip"] = json!("60 SNM")),
            ),
            ("round numbers start at 1", Box::new(|f| f["round"] = json!(0))),
            ("IP 10.0.0.1 is listed twice", Box::new(|f| f["ips"][1]["ip"] = json!("10.0.0.1"))),
            ("is not in canonical form", Box::new(|f| f["ips"][0]["ip"] = json!("::ffff:10.0.0.1"))),
            ("has round 2 outside 1..=1", Box::new(|f| f["ips"][0]["round"] = json!(2))),
            (
                "accounts are not sorted and unique",
                Box::new(|f| f["accounts"].as_array_mut().expect("accounts").reverse()),
            ),
            ("lists 3 IPs (2 this round) but owns 2", Box::new(|f| f["accounts"][0]["ips"] = json!(3))),
            (
                "cumulative 200000000000000000001 wei, but 2 IPs",
                Box::new(|f| add(&mut f["accounts"][0]["cumulative_wei"], 1)),
            ),
            ("this round's figures exceed", Box::new(|f| add(&mut f["accounts"][0]["round_bytes"], 1))),
            (
                "is not among the accounts",
                Box::new(move |f| {
                    let extra = json!({"ip": "10.0.0.9", "owner": unknown, "round": 1});
                    f["ips"].as_array_mut().expect("ips").push(extra);
                }),
            ),
            ("total_wei is", Box::new(|f| add(&mut f["total_wei"], 1))),
            ("round_total_wei is", Box::new(|f| add(&mut f["round_total_wei"], -1))),
            ("root is 0x00", Box::new(|f| f["root"] = json!(B256::ZERO))),
            ("unknown field `note`", Box::new(|f| f["accounts"][1]["note"] = json!(1))),
            (
                "`-5`: it is negative; expected a decimal amount of wei",
                Box::new(|f| f["total_wei"] = json!("-5")),
            ),
        ];
        let path = dir.join("round-1.json");
        for (needle, change) in cases {
            tampered(&file, &path, change)?;
            let err = PreviousRound::load(&path, &campaign()).expect_err(needle);
            let shown = err.to_string();
            let RewardsError::Previous { at, reason } = err else { panic!("{needle}: wrong error {shown}") };
            assert_eq!(at.file, path);
            assert!(reason.contains(needle), "{shown} should say {needle}");
            assert!(shown.starts_with(&format!("{}", path.display())), "{shown}");
            // A JSON error names its line (the file is one key per line).
            if needle.starts_with("unknown") || needle.starts_with("`-5`") {
                assert!(at.line.is_some_and(|line| line > 1), "{shown}");
            }
            // Read back for publishing, the same file is refused as a round.
            assert!(matches!(Round::load(&path), Err(RewardsError::Round { .. })), "{needle}");
        }
        fs::remove_dir_all(&dir).map_err(|e| RewardsError::io(&dir, e))
    }

    #[test]
    fn a_round_read_back_is_checked_against_the_campaign_it_names() -> Result<(), RewardsError> {
        let dir = scratch("campaign");
        let files = round()?.write(&dir)?;
        let text = fs::read_to_string(&files.round).map_err(|e| RewardsError::io(&dir, e))?;
        fs::write(&files.round, text.replace("\"operation-a\"", "\"Operation A!\""))
            .map_err(|e| RewardsError::io(&dir, e))?;
        let err = Round::load(&files.round).expect_err("a bad campaign id");
        assert!(
            matches!(&err, RewardsError::Round { reason, .. } if reason.starts_with("its campaign: id")),
            "{err}"
        );
        fs::remove_dir_all(&dir).map_err(|e| RewardsError::io(&dir, e))
    }
}
