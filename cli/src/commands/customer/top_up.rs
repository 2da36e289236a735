//! `snm customer top-up DEAL AMOUNT`: adds SNM from the wallet to a running deal's deposit.

use std::fmt;

use serde::Serialize;
use snm_sdk::{Customer, market::DealId, units::Snm};

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Tops a deal up.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The deal.
    deal: u64,
    /// How much, e.g. `50 SNM`.
    #[arg(allow_hyphen_values = true)]
    amount: Snm,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
struct Report {
    deal: DealId,
    added: Snm,
    deposit: Snm,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "deal {}: added {}; deposit {}", self.deal, self.added, self.deposit)
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let customer = Customer::new(args.chain.connect().await?);
    let deal = DealId(args.deal);
    // An unknown deal is said as such, before any token moves.
    customer.market().deal(deal).await?.ok_or(snm_sdk::Error::DealNotFound(deal))?;
    let deposit = customer.top_up_from_wallet(deal, args.amount).await?;
    Ok(frame.emit(&Report { deal, added: args.amount, deposit })?)
}
