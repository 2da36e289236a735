//! `snm customer close DEAL [--blacklist]`: closes a deal (the customer may at any time); the
//! unused deposit comes back to the free balance; `--blacklist` refuses the supplier from now on.

use std::fmt;

use serde::Serialize;
use snm_sdk::{
    Customer,
    market::{DealClosed, DealId},
};

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Closes a deal.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The deal.
    deal: u64,
    /// Also blacklists the supplier's master.
    #[arg(long)]
    blacklist: bool,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct Report(DealClosed);

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let closed = &self.0;
        writeln!(
            f,
            "deal {} closed: paid {}, refunded {}{}",
            closed.id,
            closed.paid,
            closed.refund,
            if closed.blacklisted { ", supplier blacklisted" } else { "" }
        )
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let customer = Customer::new(args.chain.connect().await?);
    let deal = DealId(args.deal);
    customer.market().deal(deal).await?.ok_or(snm_sdk::Error::DealNotFound(deal))?;
    let closed = customer.market().close_deal(deal, args.blacklist).await?;
    Ok(frame.emit(&Report(closed))?)
}
