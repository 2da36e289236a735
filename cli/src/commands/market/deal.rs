//! `snm market deal ID`: one deal as stored, with the endpoint its supplier announced.

use std::fmt;

use serde::Serialize;
use snm_sdk::market::{Deal, DealId};

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Shows one deal.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The deal's id.
    id: u64,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
struct Report {
    deal: Deal,
    endpoint: Option<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let deal = &self.deal;
        writeln!(f, "deal      {}", deal.id)?;
        writeln!(f, "customer  {}", deal.customer)?;
        writeln!(f, "master    {}", deal.master)?;
        writeln!(f, "worker    {}", deal.worker)?;
        writeln!(f, "price     {}", deal.price.to_per_hour())?;
        writeln!(f, "deposit   {}", deal.deposit)?;
        match deal.end_time {
            Some(end) => writeln!(f, "ends      block time {end}")?,
            None => writeln!(f, "ends      open-ended (spot)")?,
        }
        writeln!(f, "settled   until block time {}", deal.settled_until)?;
        match deal.closed {
            Some(reason) => writeln!(f, "state     {reason}")?,
            None => writeln!(f, "state     active")?,
        }
        writeln!(f, "endpoint  {}", self.endpoint.as_deref().unwrap_or("(none announced)"))
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let client = args.chain.connect_read_only().await?;
    let id = DealId(args.id);
    let market = client.market();
    let deal = market.deal(id).await?.ok_or_else(|| CliError::NotFound { what: format!("no deal {id}") })?;
    let endpoint = market.endpoint(id).await?;
    Ok(frame.emit(&Report { deal, endpoint })?)
}
