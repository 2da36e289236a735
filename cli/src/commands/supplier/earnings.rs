//! `snm supplier earnings`: what the master can withdraw now, and its settled deals' worth.

use std::fmt;

use alloy::primitives::Address;
use serde::Serialize;
use snm_sdk::units::Snm;

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Shows the master's earnings.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Another master's earnings (default: the account's).
    #[arg(long)]
    master: Option<Address>,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
struct Report {
    master: Address,
    earnings: Snm,
    wallet: Snm,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "master {}: {} earned in the market, {} in the wallet",
            self.master, self.earnings, self.wallet
        )
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    if args.master.is_none() && !args.chain.has_account() {
        return Err(CliError::Usage {
            message: "whose earnings? pass --account NAME or --master ADDRESS".into(),
        });
    }
    let client = args.chain.connect_read_only().await?;
    let master = args.master.unwrap_or(client.sender());
    let (escrow, token) = (client.escrow(), client.token());
    let (earnings, wallet) = tokio::try_join!(escrow.earnings(master), token.balance(master))?;
    Ok(frame.emit(&Report { master, earnings, wallet })?)
}
