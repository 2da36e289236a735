//! `snm campaign apply`: a supplier's master applies for a campaign with its workers and their IPs,
//! signed (EIP-712) by the master's key, into the operator's applications file.

use std::{net::IpAddr, path::PathBuf};

use alloy::primitives::Address;
use snm_sdk::rewards::{Application, ApplicationBook, WorkerIp};

use serde::Serialize;

use crate::{campaign::CampaignError, chain::ChainArgs, error::CliError, output::Frame, units::plural};

/// An application submitted.
#[derive(Debug, Serialize)]
struct Applied {
    account: Address,
    campaign_id: String,
    workers: usize,
    /// Its 1-based position in the applications file.
    position: usize,
    applications: PathBuf,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} applied for {} with {} (application {} in {})",
            self.account,
            self.campaign_id,
            plural(self.workers, "worker"),
            self.position,
            self.applications.display()
        )
    }
}

/// The campaign, the workers, and where the operator collects applications.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    chain: ChainArgs,
    /// The campaign's id (its `id` in the campaign file, e.g. operation-a).
    #[arg(long = "campaign-id")]
    campaign_id: String,
    /// A worker and its public IP, as ADDRESS=IP; once per worker.
    #[arg(long = "worker", required = true, value_parser = parse_worker)]
    workers: Vec<WorkerIp>,
    /// The operator's applications file (JSON lines): the application is checked against it and
    /// appended, or refused with the reason.
    #[arg(long)]
    applications: PathBuf,
    /// The application's time, unix seconds (now by default).
    #[arg(long)]
    time: Option<u64>,
}

fn parse_worker(text: &str) -> Result<WorkerIp, String> {
    let bad = || CampaignError::BadWorker(text.to_owned()).to_string();
    let (worker, ip) = text.split_once('=').ok_or_else(bad)?;
    let worker: Address = worker.trim().parse().map_err(|_| bad())?;
    let ip: IpAddr = ip.trim().parse().map_err(|_| bad())?;
    Ok(WorkerIp { worker, ip: ip.to_canonical() })
}

/// Signs the application with the key and submits it to the applications file.
pub(super) async fn run(args: Args, frame: Frame) -> Result<(), CliError> {
    let signer = args.chain.signer()?;
    let time = args.time.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    });
    let application = Application::sign(&signer, &args.campaign_id, args.workers, time)
        .await
        .map_err(CampaignError::from)?;
    let mut book =
        ApplicationBook::open(&args.applications, &args.campaign_id).map_err(CampaignError::from)?;
    let count = application.workers.len();
    book.submit(application).map_err(CampaignError::from)?;
    Ok(frame.emit(&Applied {
        account: signer.address(),
        campaign_id: args.campaign_id,
        workers: count,
        position: book.applications().len(),
        applications: args.applications,
    })?)
}
