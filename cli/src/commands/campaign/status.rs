//! `snm campaign status`: the distributor's roots and totals (no key needed).

use crate::{
    campaign::{self, CampaignError},
    chain::ChainArgs,
};

/// Which chain and contracts.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    chain: ChainArgs,
}

/// Prints the distributor's state.
pub(super) async fn run(args: &Args) -> Result<(), CampaignError> {
    let client = args.chain.connect_read_only().await?;
    print!("{}", campaign::status(&campaign::distributor(&client)?).await?);
    Ok(())
}
