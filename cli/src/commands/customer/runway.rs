//! `snm customer runway DEAL`: how long a deal's deposit lasts at the current rate.

use snm_sdk::{Customer, market::DealId};

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Shows a deal's runway.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The deal.
    deal: u64,
    #[command(flatten)]
    chain: ChainArgs,
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let customer = Customer::new(args.chain.connect_read_only().await?);
    let runway = customer.runway(DealId(args.deal)).await?;
    Ok(frame.emit(&Line(runway))?)
}

/// A value whose text is its `Display` and a newline.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
struct Line<T>(T);

impl<T: std::fmt::Display> std::fmt::Display for Line<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.0)
    }
}
