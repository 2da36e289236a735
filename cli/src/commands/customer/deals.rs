//! `snm customer deals`: the account's own deals.

use crate::{chain::ChainArgs, commands::market::DealList, error::CliError, output::Frame};

/// Lists the account's deals.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    chain: ChainArgs,
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    if !args.chain.has_account() {
        return Err(CliError::Usage { message: "whose deals? pass --account NAME (SNM_ACCOUNT)".into() });
    }
    let client = args.chain.connect_read_only().await?;
    let deals = client.market().deals_of(client.sender()).await?;
    Ok(frame.emit(&DealList { deals })?)
}
