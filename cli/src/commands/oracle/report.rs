//! `snm oracle report RATE`: reports SNM per USD as an authorised reporter.

use std::fmt;

use serde::Serialize;
use snm_sdk::units::SnmPerUsd;

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Reports a new SNM/USD rate.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// SNM per USD, e.g. `100` or `95.5`.
    #[arg(allow_hyphen_values = true)]
    rate: SnmPerUsd,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
struct Report {
    rate: SnmPerUsd,
    reported_at: u64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rate reported: {} (block time {})", self.rate, self.reported_at)
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let client = args.chain.connect().await?;
    let oracle = client.oracle();
    oracle.report(args.rate).await?;
    let rate = oracle.rate().await?;
    Ok(frame.emit(&Report { rate: rate.snm_per_usd, reported_at: rate.updated_at })?)
}
