//! `snm supplier usage [--config agent.toml]`: each deal the agent served, with the traffic its
//! workload carried (in and out, for containers), how long it ran, its container and where it is,
//! read from the agent's state file and meters (the agent may run or not; the chain is not asked).
//!
//! ```text
//! snm supplier usage --config agent.toml
//! snm --json supplier usage --config agent.toml
//! ```

use std::{
    fmt,
    path::PathBuf,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::Serialize;
use snm_agent::{
    AgentConfig, AgentState,
    deal_usage::{DealUsage, deal_usage},
};
use snm_sdk::units::{Bytes, format_duration};

use crate::{
    error::CliError,
    output::Frame,
    table::{Align, Table},
};

/// Shows each deal's traffic, runtime, container and state.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The agent's configuration (its state file and workload directory are read).
    #[arg(long, default_value = "agent.toml")]
    config: PathBuf,
}

/// What `snm --json supplier usage` prints.
#[derive(Debug, Serialize)]
struct UsageReport {
    /// The agent's state file.
    state: PathBuf,
    /// Every deal, by id.
    deals: Vec<DealUsage>,
}

fn bytes_text(bytes: Option<Bytes>) -> String {
    bytes.map_or_else(|| "-".to_owned(), |b| b.get().to_string())
}

impl fmt::Display for UsageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.deals.is_empty() {
            return writeln!(f, "no deal in {}", self.state.display());
        }
        let mut table = Table::new(&[
            ("deal", Align::Right),
            ("state", Align::Left),
            ("bytes in", Align::Right),
            ("bytes out", Align::Right),
            ("bytes", Align::Right),
            ("runtime", Align::Right),
            ("container", Align::Left),
            ("image", Align::Left),
        ]);
        for deal in &self.deals {
            table.row([
                deal.deal.to_string(),
                deal.stage.to_string(),
                bytes_text(deal.bytes_in),
                bytes_text(deal.bytes_out),
                deal.bytes.get().to_string(),
                format_duration(Duration::from_secs(deal.runtime_seconds)),
                deal.container.as_deref().map_or("-", |id| &id[..id.len().min(12)]).to_owned(),
                deal.image.clone(),
            ]);
        }
        write!(f, "{table}")
    }
}

pub(super) fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let config = AgentConfig::from_file(&args.config)
        .map_err(|error| CliError::Usage { message: format!("{}: {error}", args.config.display()) })?;
    let text = std::fs::read(&config.state)
        .map_err(|source| CliError::File { path: config.state.clone(), source })?;
    let state: AgentState = serde_json::from_slice(&text).map_err(|error| CliError::Usage {
        message: format!("{}: not an agent state file: {error}", config.state.display()),
    })?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let deals = deal_usage(&state, &config.workload_dir, now);
    Ok(frame.emit(&UsageReport { state: config.state, deals })?)
}
