//! The reward engine: turns usage reports into a campaign round that a `RewardDistributor`
//! publishes (root and total) and suppliers claim from (cumulative amount and proof).
//!
//! ```text
//! campaign.toml ─┐
//! reports (.csv / .jsonl, streamed) ─┼─> Tally ─> Round ─> round-N.json + round-N.merkle.json
//! round-(N-1).json (checked) ─┘
//! ```
//!
//! - [`Campaign`]: the rules, from TOML (amount per unique IP, USD per TB, the fixed SNM/USD rate),
//!   and what records it accepts ([`Campaign::check_record`]: no zero address, worker IPs by
//!   [`AddressClass`](crate::net::AddressClass), no more traffic than a [`LineRate`] carries in the record's period).
//! - [`UsageReader`]: streams CSV or JSON-lines reports; see [`usage`] for the exact columns.
//! - [`Tally`]: counts each IP once per campaign and settles conflicts (rule on [`Tally`]).
//! - [`Round`]: per-account amounts for the round and cumulative, the root, the total, the
//!   conflicts; [`Round::claim`] gives an account's amount and proof; [`Round::write`] writes the
//!   round file and OpenZeppelin's `standard-v1` Merkle dump, atomically.
//! - [`PreviousRound`]: a round file read back and checked (sums, amounts, root) for the next round.
//! - [`StandardMerkleTree`]: OpenZeppelin's tree, bit for bit; [`RewardClaim`]: an account's
//!   amount and proof from it, as the distributor's claims take them; [`RewardMultiProof`]: one
//!   OpenZeppelin multiproof for many accounts (the distributor's `claimMultiproof`), and
//!   [`StandardMerkleTree::sweep_batches`] to pay every account in runs of neighbouring leaves.
//!
//! - Campaigns with admission: [`Application`] (EIP-712, signed by the master) collected in an
//!   [`ApplicationBook`], admitted in stages into an [`AdmissionList`]; agents'
//!   [`AvailabilityRecord`]s give online time for `min_online`; [`compute_round_with`] takes them
//!   ([`RoundInputs`]), and customers' signed reports ([`ReportSignature`]) for a campaign checking
//!   traffic from both sides ([`Discrepancy`]). sdk/REWARDS.md has every rule.
//!
//! Money is exact: amounts are [`Snm`](crate::units::Snm) (wei), prices
//! [`Usd`](crate::units::Usd) scaled by 10^18, traffic [`Bytes`](crate::units::Bytes) with
//! 1 TB = 10^12 bytes. An account's cumulative amount is rounded down once, on its whole traffic
//! (see [`Campaign::reward`]). Any bad input is a [`RewardsError`] naming the file, line and reason,
//! and nothing is written.
//!
//! **The `rewards` feature** (on by default) brings the engine: everything above. Without it this
//! module keeps what claiming needs: [`RewardClaim`], [`RewardMultiProof`] (with
//! [`MultiProofError`]) and the hashes of [`merkle`], so a client that only claims builds without
//! the engine and its dependencies (rayon, toml).
//!
//! **The engine blocks.** It is synchronous: [`compute_round`], [`Round::write`], [`Round::load`],
//! [`PreviousRound::load`], [`StandardMerkleTree::build`] and [`StandardMerkleTree::load_dump`]
//! read or write files and hash on every core of rayon's global pool (`RAYON_NUM_THREADS` sets its
//! size), seconds for a million accounts. In async code run them on a blocking thread
//! (`tokio::task::spawn_blocking`, as [`compute_round`] shows), never on the runtime's workers.
//!
//! One concern per file: `campaign` (rules), `usage` (reports), `screen` (what a campaign accepts
//! of a record), `tally` (counting, duplicates and conflicts),
//! `round` (the computed round) and `round::file` (its file, written and checked), `merkle::hash`,
//! `merkle::claim` (the claim data, always built), `merkle::tree`, `merkle::multiproof` and
//! `merkle::dump`, and `error`.
//!
//! ```no_run
//! # fn demo() -> Result<(), snm_sdk::rewards::RewardsError> {
//! use snm_sdk::rewards::{Campaign, compute_round};
//! use std::path::{Path, PathBuf};
//!
//! let campaign = Campaign::from_toml_file(Path::new("campaign.toml"))?;
//! let round = compute_round(&campaign, Some(Path::new("out/round-1.json")), &[PathBuf::from("week2.csv")])?;
//! println!("round {} root {} total {}", round.number(), round.root(), round.total());
//! round.write(Path::new("out"))?;
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "rewards")]
mod admission;
#[cfg(feature = "rewards")]
mod admission_error;
#[cfg(feature = "rewards")]
mod application;
#[cfg(feature = "rewards")]
mod application_endpoint;
#[cfg(feature = "rewards")]
mod applications;
pub mod availability;
#[cfg(feature = "rewards")]
mod campaign;
#[cfg(feature = "rewards")]
mod compute;
#[cfg(feature = "rewards")]
mod customer_report;
#[cfg(feature = "rewards")]
mod error;
#[cfg(feature = "rewards")]
mod fingerprints;
#[cfg(feature = "rewards")]
mod input_error;
#[cfg(feature = "rewards")]
mod line_rate;
pub mod merkle;
#[cfg(feature = "rewards")]
mod participation;
#[cfg(feature = "rewards")]
mod round;
#[cfg(feature = "rewards")]
mod screen;
#[cfg(feature = "rewards")]
mod tally;
#[cfg(feature = "rewards")]
mod two_sided;
#[cfg(feature = "rewards")]
pub mod usage;

#[cfg(feature = "rewards")]
pub use admission::{ADMISSION_FORMAT, AdmissionList, Admitted};
#[cfg(feature = "rewards")]
pub use admission_error::ApplicationError;
#[cfg(feature = "rewards")]
pub use application::{APPLICATION_DOMAIN, Application, CampaignApplication, WorkerIp};
#[cfg(feature = "rewards")]
pub use application_endpoint::{
    APPLICATIONS_PATH, ApplicationList, ApplicationReceipt, ApplicationRefusal, EndpointError, RefusalReason,
    applications_url, list_applications, submit_application,
};
#[cfg(feature = "rewards")]
pub use applications::ApplicationBook;
pub use availability::{AvailabilityRecord, OnlineTime, OnlineTimeError, WorkerState};
#[cfg(feature = "rewards")]
pub use campaign::Campaign;
#[cfg(feature = "rewards")]
pub use compute::{compute_round, compute_round_with};
#[cfg(feature = "rewards")]
pub use customer_report::{usage_csv, write_customer_report};
#[cfg(feature = "rewards")]
pub use error::RewardsError;
#[cfg(feature = "rewards")]
pub use input_error::{InputReason, Location};
#[cfg(feature = "rewards")]
pub use line_rate::{LineExcess, LineRate};
#[cfg(feature = "rewards")]
pub use merkle::StandardMerkleTree;
pub use merkle::{MultiProofError, RewardClaim, RewardMultiProof};
#[cfg(feature = "rewards")]
pub use round::{
    AccountReward, Conflict, ConflictRule, Exclusion, ExclusionReason, IpOwner, Participation, PreviousRound,
    ROUND_FORMAT, Round, RoundFiles, RoundInputs,
};
#[cfg(feature = "rewards")]
pub use tally::Tally;
#[cfg(feature = "rewards")]
pub use two_sided::{Discrepancy, ReportSignature, SupplierOnly, Tolerance, ToleranceError, signature_path};
#[cfg(feature = "rewards")]
pub use usage::{CSV_HEADER, Period, UsageFormat, UsageReader, UsageRecord};
