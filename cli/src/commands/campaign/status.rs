//! `snm campaign status`: the distributor's roots and totals (no key needed); with `--account`,
//! where one participant stands from the campaign's files (no chain needed).

use std::path::PathBuf;

use alloy::primitives::Address;
use snm_sdk::rewards::{AdmissionList, ApplicationBook, Campaign, Round};

use crate::{
    campaign::{self, CampaignError},
    campaign_standing::AccountStanding,
    chain::ChainArgs,
    error::CliError,
    output::Frame,
};

/// Which chain and contracts; or which account, from which files.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    chain: ChainArgs,
    /// The campaign's rules (TOML): with it, the status is where `--account` (an address, or a
    /// keystore's name) stands (applied, admitted at stage N, online hours, bytes, earned), read
    /// from the files below instead of the distributor's state.
    #[arg(long, requires = "account")]
    campaign: Option<PathBuf>,
    /// The applications file, with --account.
    #[arg(long, requires = "account")]
    applications: Option<PathBuf>,
    /// The admission list, with --account.
    #[arg(long, requires = "account")]
    admission: Option<PathBuf>,
    /// The latest round file (round-N.json), with --account.
    #[arg(long, requires = "account")]
    round: Option<PathBuf>,
}

/// Prints the distributor's state, or the account's standing.
pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    if let (Some(account), Some(campaign)) = (&args.chain.account, &args.campaign) {
        let account = participant(&args.chain, account)?;
        let campaign = Campaign::from_toml_file(campaign).map_err(CampaignError::from)?;
        let book = args
            .applications
            .as_deref()
            .map(|p| ApplicationBook::open(p, &campaign.id))
            .transpose()
            .map_err(CampaignError::from)?;
        let admission = args
            .admission
            .as_deref()
            .map(|p| AdmissionList::load(p, &campaign.id))
            .transpose()
            .map_err(CampaignError::from)?;
        let round = args.round.as_deref().map(Round::load).transpose().map_err(CampaignError::from)?;
        return Ok(frame.emit(&AccountStanding::gather(
            account,
            book.as_ref(),
            admission.as_ref(),
            round.as_ref(),
        ))?);
    }
    let client = args.chain.connect_read_only().await?;
    Ok(frame.emit(&campaign::status(&campaign::distributor(&client)?).await?)?)
}

/// The participant `--account` names: an address as typed, or the address of the keystore of
/// that name (read without its password).
fn participant(chain: &ChainArgs, account: &str) -> Result<Address, CampaignError> {
    if let Ok(address) = account.parse::<Address>() {
        return Ok(address);
    }
    let keystore = chain
        .keystores()
        .and_then(|stores| stores.account(account))
        .map_err(|error| CampaignError::Wallet(Box::new(error)))?;
    keystore.address.ok_or_else(|| CampaignError::NoAddress { account: account.to_owned() })
}
