//! `snm campaign`: runs a reward campaign such as SONM's "Operation A" (50 SNM per unique supplier
//! IP plus $4 per TB of customer traffic, at a fixed SNM/USD rate) from usage reports to tokens in
//! the suppliers' accounts.
//!
//! 1. `compute` runs the SDK's reward engine on the reports (CSV or JSON lines; no chain needed),
//!    after the previous round's file if any, writes `round-N.json` and `round-N.merkle.json`, and
//!    prints every account's IPs, traffic, this round's amount and the cumulative one, the
//!    conflicts (an IP reported by several accounts), the total and the Merkle root. A malformed
//!    report, a record the campaign does not accept (the zero address, an IP no worker has, a
//!    loopback or private IP without `allow_private_ips = true`, more traffic than a
//!    `max_line_rate` line carries in the record's period), a record or a file given twice, or a
//!    previous round that does not add up stops it with the engine's error (file, line, reason),
//!    and nothing is written.
//! 2. `publish` (the operator's key) checks the round file and its dump again, funds the reward
//!    distributor with what the round adds beyond what was funded, proposes the root with its total
//!    and the URI of the proofs, and with `--accept` waits out the distributor's delay (showing
//!    what is left) and accepts it. Run again, it resumes: a proposed root is accepted, an accepted
//!    one reported.
//! 3. `claim` (any key) claims the key's own account from the dump; `--all` claims for every
//!    account in it (the key pays the gas, each account is paid to itself), skipping accounts with
//!    nothing left to claim: it sweeps the accounts in tree order, each batch a run of neighbouring
//!    leaves sent as one OpenZeppelin multiproof (`claimMultiproof`: siblings shared by the batch
//!    are sent once), or with `--claim-many` as `claimMany` (one proof per account), and prints
//!    what each was paid and the gas, per batch and per account.
//! 4. `status` shows the distributor's accepted and pending roots, funded and claimed totals;
//!    `status --account A` where a participant stands from the campaign's files.
//! 5. For a campaign with `admission = true`: `apply` (a master's signed application, into the
//!    applications file or with `--to` to the operator's endpoint that `serve` runs) and `admit
//!    --stage N --count K` (or `--accounts`), then `compute --admission … --availability …`.
//!
//! ```text
//! snm campaign compute --campaign campaign.toml --reports week1.csv week1b.jsonl --out rounds/
//! export SNM_RPC=http://127.0.0.1:8545 SNM_DEPLOYMENT=deployment.json
//! SNM_KEY=$OPERATOR_KEY snm campaign publish --round rounds/round-1.json --accept
//! SNM_KEY=$SUPPLIER_KEY snm campaign claim --dump rounds/round-1.merkle.json
//! SNM_KEY=$ANY_KEY snm campaign claim --dump rounds/round-1.merkle.json --all
//! snm campaign status
//! snm campaign compute --campaign campaign.toml --reports week2.csv --previous rounds/round-1.json --out rounds/
//! ```

mod admit;
mod apply;
mod claim;
mod compute;
mod publish;
mod serve;
mod status;

use clap::Subcommand;

use crate::{error::CliError, output::Frame};

/// `snm campaign`: computes, publishes and claims the rounds of a reward campaign.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Computes a round from usage reports (no chain needed) and writes round-N.json and
    /// round-N.merkle.json.
    Compute(Box<compute::Args>),
    /// Publishes a computed round (the operator's key): funds what it adds, proposes its root and,
    /// with --accept, accepts it once the delay has passed.
    Publish(publish::Args),
    /// Claims rewards from a round's Merkle dump: the key's own account, or every account with --all.
    Claim(claim::Args),
    /// The distributor's accepted and pending roots, funded and claimed totals (no key needed);
    /// with --account, where that participant stands (applied, stage, online hours, bytes, earned).
    Status(Box<status::Args>),
    /// Applies for a campaign with the key's account (the master) and its workers' IPs, signed.
    Apply(Box<apply::Args>),
    /// Admits applicants at a stage: the next --count in application order, or --accounts.
    Admit(Box<admit::Args>),
    /// The operator's application endpoint: checks and stores applications posted to it.
    Serve(Box<serve::Args>),
}

impl Command {
    /// Runs the command: text for people, or with `--json` one JSON document.
    pub async fn run(self, frame: Frame) -> Result<(), CliError> {
        match self {
            Self::Compute(args) => compute::run(*args, frame).await,
            Self::Publish(args) => publish::run(args, frame).await,
            Self::Claim(args) => claim::run(args, frame).await,
            Self::Status(args) => status::run(&args, frame).await,
            Self::Apply(args) => apply::run(*args, frame).await,
            Self::Admit(args) => admit::run(*args, frame).await,
            Self::Serve(args) => serve::run(*args, frame).await,
        }
    }
}
