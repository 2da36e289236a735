//! `snm market deals --customer A | --master A`: the deals of a customer or of a master.

use alloy::primitives::Address;

use super::DealList;
use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Lists deals.
#[derive(Debug, clap::Args)]
#[group(id = "party", required = true, multiple = false)]
pub struct Args {
    /// The customer whose deals to list.
    #[arg(long, group = "party")]
    customer: Option<Address>,
    /// The master (supplier) whose deals to list.
    #[arg(long, group = "party")]
    master: Option<Address>,
    #[command(flatten)]
    chain: ChainArgs,
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let client = args.chain.connect_read_only().await?;
    let market = client.market();
    let deals = match (args.customer, args.master) {
        (Some(customer), _) => market.deals_of(customer).await?,
        (None, Some(master)) => market.deals_of_master(master).await?,
        (None, None) => return Err(CliError::Usage { message: "pass --customer or --master".into() }),
    };
    Ok(frame.emit(&DealList { deals })?)
}
