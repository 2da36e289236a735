//! `snm supplier withdraw AMOUNT | --all`: earnings to the master's wallet.

use std::fmt;

use serde::Serialize;
use snm_sdk::units::Snm;

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Withdraws earnings.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How much, e.g. `40 SNM`.
    #[arg(allow_hyphen_values = true, required_unless_present = "all", conflicts_with = "all")]
    amount: Option<Snm>,
    /// Everything earned so far.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
struct Report {
    withdrawn: Snm,
    earnings_left: Snm,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "withdrew {}; {} earnings left", self.withdrawn, self.earnings_left)
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let client = args.chain.connect().await?;
    let escrow = client.escrow();
    let withdrawn = match args.amount {
        Some(amount) => {
            escrow.withdraw_earnings(amount).await?;
            amount
        }
        None => escrow.withdraw_all_earnings().await?,
    };
    let earnings_left = escrow.earnings(client.sender()).await?;
    Ok(frame.emit(&Report { withdrawn, earnings_left })?)
}
