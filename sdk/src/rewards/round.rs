//! A computed round: what it pays each account and why (IP owners, conflicts), its totals and
//! tree; [`compute_round`](super::compute_round) makes one from usage reports, and its file is in [`file`].

mod file;

use std::{net::IpAddr, path::PathBuf};

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

pub use file::{PreviousRound, ROUND_FORMAT};

use super::{campaign::Campaign, merkle::StandardMerkleTree, two_sided::Discrepancy};
use crate::units::{Bytes, Snm};

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
    /// Where the account stands in a campaign with admission (`None`, and left out of the round
    /// file, otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participation: Option<Participation>,
}

/// An admitted account's standing: its stage, IPs and online time (campaigns with admission).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participation {
    /// The stage that admitted it.
    pub stage: u32,
    /// From when its IPs earn, unix seconds.
    pub admitted_from: u64,
    /// Its admitted IPs.
    pub ips_admitted: u64,
    /// Its admitted IPs available for at least the campaign's `min_online` (with no `min_online`:
    /// available at all), in the availability records given to this round.
    pub ips_online: u64,
    /// Seconds its admitted IPs were available since admission, summed over its IPs.
    pub online_seconds: u64,
}

/// Why records were not counted in a campaign with admission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// The IP is on no admitted account's list.
    NotAdmitted,
    /// The IP is admitted for another account.
    OtherAccount,
    /// The record starts before the IP's admission time.
    BeforeAdmission,
}

/// Records of one IP and account not counted in this round, and why (campaigns with admission).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    /// The IP.
    pub ip: IpAddr,
    /// The account that reported it.
    pub account: Address,
    /// Why its records were not counted.
    pub reason: ExclusionReason,
    /// How many records.
    pub records: u64,
    /// Their traffic, not paid.
    #[serde(with = "dec::bytes")]
    pub bytes: Bytes,
}

/// What a round is computed from, beyond the campaign and the previous round.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundInputs {
    /// Usage reports (`.csv`, `.jsonl`, `.ndjson`).
    pub reports: Vec<PathBuf>,
    /// The admission list: required by, and only allowed for, a campaign with `admission = true`.
    pub admission: Option<PathBuf>,
    /// Availability records (JSON lines, [`AvailabilityRecord`](super::AvailabilityRecord)):
    /// every file of the campaign so far, each round (periods seen twice count once).
    pub availability: Vec<PathBuf>,
    /// Customers' usage reports of this round, each signed in `<report>.sig`
    /// ([`ReportSignature`](super::ReportSignature)): required by, and only allowed for, a
    /// campaign with `traffic_tolerance`.
    pub customer_reports: Vec<PathBuf>,
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
    pub(super) campaign: Campaign,
    pub(super) number: u64,
    pub(super) previous_root: Option<B256>,
    pub(super) records: u64,
    pub(super) accounts: Vec<AccountReward>,
    pub(super) ips: Vec<IpOwner>,
    pub(super) conflicts: Vec<Conflict>,
    pub(super) exclusions: Vec<Exclusion>,
    pub(super) discrepancies: Vec<Discrepancy>,
    pub(super) total: Snm,
    pub(super) round_total: Snm,
    pub(super) tree: StandardMerkleTree,
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
    /// Records not counted for want of admission, by IP, account and reason (empty without
    /// admission).
    pub fn exclusions(&self) -> &[Exclusion] {
        &self.exclusions
    }
    /// Deals whose supplier's and customer's figures differ by more than the campaign's
    /// tolerance, or that one side only reported, sorted by account, IP and period start (empty
    /// without `traffic_tolerance`).
    pub fn discrepancies(&self) -> &[Discrepancy] {
        &self.discrepancies
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
}

/// The tree's values: every account with a non-zero cumulative amount.
pub(super) fn leaves(accounts: &[AccountReward]) -> Vec<(Address, Snm)> {
    accounts.iter().filter(|a| !a.cumulative.wei().is_zero()).map(|a| (a.account, a.cumulative)).collect()
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
