//! `snm campaign admit`: the operator admits applicants in stages, the next K in application order
//! or a chosen list, into the campaign's admission list.

use std::path::PathBuf;

use alloy::primitives::Address;
use snm_sdk::rewards::{AdmissionList, ApplicationBook, Campaign};

use crate::{
    campaign::CampaignError,
    table::{Align, Table},
    units::plural,
};

/// The campaign, its applications and admission list, the stage and who.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The campaign's rules (TOML); its id names the applications and the admission list.
    #[arg(long)]
    campaign: PathBuf,
    /// The applications file (JSON lines, from `snm campaign apply`).
    #[arg(long)]
    applications: PathBuf,
    /// The admission list (JSON), created if missing and rewritten in place.
    #[arg(long)]
    admission: PathBuf,
    /// The stage (1, 2, …; never below the last one).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    stage: u32,
    /// Admits the next K applicants not admitted yet, in application order.
    #[arg(long, conflicts_with = "accounts")]
    count: Option<usize>,
    /// Admits these applicants (comma-separated addresses).
    #[arg(long, value_delimiter = ',')]
    accounts: Vec<Address>,
    /// From when they earn, unix seconds (now by default).
    #[arg(long)]
    from: Option<u64>,
}

/// Admits and writes the admission list.
pub(super) async fn run(args: Args) -> Result<(), CampaignError> {
    let campaign = Campaign::from_toml_file(&args.campaign)?;
    let book = ApplicationBook::open(&args.applications, &campaign.id)?;
    let mut list = AdmissionList::load_or_new(&args.admission, &campaign.id)?;
    let from = args.from.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    });
    let admitted = match (args.count, args.accounts.is_empty()) {
        (Some(count), _) => list.admit_next(&book, args.stage, count, from)?,
        (None, false) => list.admit_chosen(&book, args.stage, &args.accounts, from)?,
        (None, true) => return Err(CampaignError::NothingToAdmit),
    };
    list.write(&args.admission)?;
    println!(
        "stage {}: admitted {} from {from} ({} admitted in all, {} waiting)",
        args.stage,
        plural(admitted.len(), "account"),
        list.admitted.len(),
        book.applications().len() - list.admitted.len()
    );
    let mut table = Table::new(&[("account", Align::Left), ("IPs", Align::Left)]);
    for entry in &admitted {
        let ips: Vec<String> = entry.ips.iter().map(ToString::to_string).collect();
        table.row([entry.account.to_string(), ips.join(" ")]);
    }
    print!("{table}");
    Ok(())
}
