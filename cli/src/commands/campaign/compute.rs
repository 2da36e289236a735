//! `snm campaign compute`: a round from usage reports, no chain needed.

use std::path::PathBuf;

use serde::Serialize;
use snm_sdk::rewards::RoundInputs;

use crate::{campaign, error::CliError, output::Frame};

/// What `snm --json campaign compute` prints: the files written and the round as its file holds
/// it (format `snm-rewards-round-v1`, amounts as decimal strings of wei).
#[derive(Debug, Serialize)]
struct ComputeReport {
    round_file: PathBuf,
    merkle_file: PathBuf,
    round: serde_json::Value,
}

/// The campaign's rules, the reports, the previous round, and where to write.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The campaign's rules (TOML: id, name, snm_per_ip, usd_per_tb, snm_per_usd; optionally
    /// max_line_rate, "10 Gbit/s" by default, and allow_private_ips, false by default).
    #[arg(long)]
    campaign: PathBuf,
    /// Usage reports: `.csv` (header `account,ip,bytes,period_start,period_end`) or `.jsonl`.
    #[arg(long, required = true, num_args = 1..)]
    reports: Vec<PathBuf>,
    /// The admission list (JSON, from `snm campaign admit`): required by a campaign with
    /// `admission = true`, refused otherwise.
    #[arg(long)]
    admission: Option<PathBuf>,
    /// Availability records (JSON lines, written by the agents): every file of the campaign so
    /// far, for a campaign with `min_online`.
    #[arg(long, num_args = 1..)]
    availability: Vec<PathBuf>,
    /// Customers' usage reports of the round, each signed in `<report>.sig`: for a campaign with
    /// `traffic_tolerance` (a deal both report is paid on the smaller figure).
    #[arg(long, num_args = 1..)]
    customer_reports: Vec<PathBuf>,
    /// The previous round's file (round-N.json); none for round 1.
    #[arg(long)]
    previous: Option<PathBuf>,
    /// Where to write the round's files (created if needed; existing rounds are never
    /// overwritten).
    #[arg(long)]
    out: PathBuf,
}

/// Computes the round, writes its files and prints it. The engine blocks (it reads every report
/// and hashes the tree on every core), so it runs on a blocking thread, off the runtime's workers;
/// a panic there is passed on as it is.
pub(super) async fn run(args: Args, frame: Frame) -> Result<(), CliError> {
    let (round, files) = tokio::task::spawn_blocking(move || {
        let inputs = RoundInputs {
            reports: args.reports,
            admission: args.admission,
            availability: args.availability,
            customer_reports: args.customer_reports,
        };
        campaign::compute(&args.campaign, &inputs, args.previous.as_deref(), &args.out)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
    frame.print(campaign::round_text(&round));
    frame.say(format!("wrote {} and {}", files.round.display(), files.merkle.display()));
    if frame.is_json() {
        let text = std::fs::read_to_string(&files.round)
            .map_err(|source| CliError::File { path: files.round.clone(), source })?;
        let round = serde_json::from_str(&text)
            .map_err(|e| CliError::File { path: files.round.clone(), source: e.into() })?;
        frame.emit_json(&ComputeReport { round_file: files.round, merkle_file: files.merkle, round })?;
    }
    Ok(())
}
