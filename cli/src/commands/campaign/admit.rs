//! `snm campaign admit`: the operator admits applicants in stages, the next K in application order
//! or a chosen list, into the campaign's admission list.

use std::path::PathBuf;

use alloy::primitives::Address;
use serde::Serialize;
use snm_sdk::rewards::{AdmissionList, Admitted, ApplicationBook, Campaign};

use crate::{
    campaign::CampaignError,
    error::CliError,
    output::Frame,
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

/// A stage admitted.
#[derive(Debug, Serialize)]
struct AdmitReport {
    stage: u32,
    from: u64,
    /// The accounts this run admitted.
    admitted: Vec<Admitted>,
    /// Admitted in all, this stage and earlier ones.
    admitted_in_all: usize,
    /// Applicants not admitted yet.
    waiting: usize,
}

impl std::fmt::Display for AdmitReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "stage {}: admitted {} from {} ({} admitted in all, {} waiting)",
            self.stage,
            plural(self.admitted.len(), "account"),
            self.from,
            self.admitted_in_all,
            self.waiting
        )?;
        let mut table = Table::new(&[("account", Align::Left), ("IPs", Align::Left)]);
        for entry in &self.admitted {
            let ips: Vec<String> = entry.ips.iter().map(ToString::to_string).collect();
            table.row([entry.account.to_string(), ips.join(" ")]);
        }
        write!(f, "{table}")
    }
}

/// Admits and writes the admission list.
pub(super) async fn run(args: Args, frame: Frame) -> Result<(), CliError> {
    Ok(frame.emit(&admit(args)?)?)
}

fn admit(args: Args) -> Result<AdmitReport, CampaignError> {
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
    Ok(AdmitReport {
        stage: args.stage,
        from,
        admitted_in_all: list.admitted.len(),
        waiting: book.applications().len() - list.admitted.len(),
        admitted,
    })
}
