//! `snm customer wait DEAL [--timeout T]`: follows a deal until its supplier announces where the
//! workload serves, or the deal closes. Each change is a line (a JSON line with `--json`):
//! `waiting`, then `endpoint` or `closed`. Waiting longer than `--timeout` fails with exit code 8.

use std::{fmt, time::Duration};

use serde::Serialize;
use snm_sdk::{
    market::{CloseReason, DealId},
    units::{format_duration, parse_duration},
};

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// How often the deal is read again: a block or two on most chains.
const POLL: Duration = Duration::from_millis(500);

/// Follows a deal until its endpoint is announced or it closes.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The deal.
    deal: u64,
    /// The longest to wait (`90s`, `5m`).
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    timeout: Duration,
    #[command(flatten)]
    chain: ChainArgs,
}

/// One step of a deal followed.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
enum Step {
    /// Running, no endpoint yet.
    Waiting { deal: DealId },
    /// The supplier announced where the workload serves.
    Endpoint { deal: DealId, endpoint: String },
    /// The deal closed.
    Closed { deal: DealId, reason: CloseReason },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Waiting { deal } => write!(f, "deal {deal}: waiting for its endpoint"),
            Self::Endpoint { deal, endpoint } => write!(f, "deal {deal} serves at {endpoint}"),
            Self::Closed { deal, reason } => write!(f, "deal {deal}: {reason}"),
        }
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let client = args.chain.connect_read_only().await?;
    let market = client.market();
    let deal = DealId(args.deal);
    let deadline = tokio::time::Instant::now() + args.timeout;
    let spinner = frame.spinner(format!("waiting for deal {deal}'s endpoint"));
    let mut announced_waiting = false;
    let outcome = loop {
        let stored = market.deal(deal).await?.ok_or(snm_sdk::Error::DealNotFound(deal))?;
        if let Some(endpoint) = market.endpoint(deal).await? {
            break Step::Endpoint { deal, endpoint };
        }
        if let Some(reason) = stored.closed {
            break Step::Closed { deal, reason };
        }
        if !announced_waiting {
            announced_waiting = true;
            if spinner.is_none() {
                frame.event(&Step::Waiting { deal })?;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            if let Some(bar) = &spinner {
                bar.finish_and_clear();
            }
            return Err(CliError::Timeout {
                message: format!(
                    "deal {deal}: no endpoint announced within {}",
                    format_duration(args.timeout)
                ),
            });
        }
        tokio::time::sleep(POLL).await;
    };
    if let Some(bar) = &spinner {
        bar.finish_and_clear();
    }
    tracing::info!(%deal, "done waiting");
    Ok(frame.event(&outcome)?)
}
