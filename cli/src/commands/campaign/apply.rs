//! `snm campaign apply`: a supplier's master applies for a campaign with its workers and their IPs,
//! signed (EIP-712) by the master's key, into the operator's applications file or to the operator's
//! endpoint (`snm campaign serve`).

use std::{net::IpAddr, path::PathBuf};

use alloy::primitives::Address;
use snm_sdk::rewards::{Application, ApplicationBook, WorkerIp, submit_application};

use serde::Serialize;

use crate::{campaign::CampaignError, chain::ChainArgs, error::CliError, output::Frame, units::plural};

/// An application submitted.
#[derive(Debug, Serialize)]
struct Applied {
    account: Address,
    campaign_id: String,
    workers: usize,
    /// Its 1-based position in application order.
    position: usize,
    /// The applications file it was written to (without `--to`).
    #[serde(skip_serializing_if = "Option::is_none")]
    applications: Option<PathBuf>,
    /// The endpoint that accepted it (with `--to`).
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = match (&self.endpoint, &self.applications) {
            (Some(url), _) => format!("accepted by {url}"),
            (None, Some(file)) => format!("in {}", file.display()),
            (None, None) => String::new(),
        };
        writeln!(
            f,
            "{} applied for {} with {} (application {} {place})",
            self.account,
            self.campaign_id,
            plural(self.workers, "worker"),
            self.position,
        )
    }
}

/// The campaign, the workers, and where the operator collects applications.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["applications", "to"])))]
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
    applications: Option<PathBuf>,
    /// The operator's endpoint (`snm campaign serve`), as http://HOST:PORT: the application is
    /// sent there, and accepted or refused with the reason.
    #[arg(long, value_parser = parse_endpoint)]
    to: Option<String>,
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

fn parse_endpoint(text: &str) -> Result<String, String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(text.to_owned()),
        _ => Err(CampaignError::BadEndpoint(text.to_owned()).to_string()),
    }
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
    let count = application.workers.len();
    let (position, applications, endpoint) = match (args.to, args.applications) {
        (Some(url), _) => {
            let receipt = submit_application(&url, &application).await.map_err(CampaignError::from)?;
            (receipt.position, None, Some(url))
        }
        (None, Some(file)) => {
            let mut book = ApplicationBook::open(&file, &args.campaign_id).map_err(CampaignError::from)?;
            book.submit(application).map_err(CampaignError::from)?;
            (book.applications().len(), Some(file), None)
        }
        (None, None) => {
            return Err(CliError::Usage {
                message: "apply needs --applications FILE or --to URL (the operator's endpoint)".into(),
            });
        }
    };
    Ok(frame.emit(&Applied {
        account: signer.address(),
        campaign_id: args.campaign_id,
        workers: count,
        position,
        applications,
        endpoint,
    })?)
}
