//! `snm supplier worker request|confirm|remove`: a worker (one machine's account) asks to join a
//! master; the master confirms it, or removes it (the master keeps its deals).

use std::fmt;

use alloy::primitives::Address;
use clap::Subcommand;
use serde::Serialize;

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Links a worker to its master.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// As the worker's account: asks to join `--master`.
    Request {
        /// The master (payout account) to join.
        #[arg(long)]
        master: Address,
        #[command(flatten)]
        chain: ChainArgs,
    },
    /// As the master's account: confirms a worker that asked to join.
    Confirm {
        /// The worker's address.
        worker: Address,
        #[command(flatten)]
        chain: ChainArgs,
    },
    /// As the master's account: removes a worker.
    Remove {
        /// The worker's address.
        worker: Address,
        #[command(flatten)]
        chain: ChainArgs,
    },
}

/// A worker's link to its master after the command.
#[derive(Debug, Serialize)]
struct Report {
    worker: Address,
    master: Option<Address>,
    pending_master: Option<Address>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.master, self.pending_master) {
            (Some(master), _) => writeln!(f, "worker {} belongs to master {master}", self.worker),
            (None, Some(pending)) => writeln!(
                f,
                "worker {} asked to join master {pending}; the master confirms with `snm supplier worker confirm {}`",
                self.worker, self.worker
            ),
            (None, None) => writeln!(f, "worker {} belongs to no master", self.worker),
        }
    }
}

impl Command {
    /// Runs the command.
    pub(super) async fn run(self, frame: Frame) -> Result<(), CliError> {
        let (client, worker) = match &self {
            Self::Request { master, chain } => {
                let client = chain.connect().await?;
                let worker = client.sender();
                let market = client.market();
                if market.master_of(worker).await? != Some(*master) {
                    market.request_worker(*master).await?;
                }
                (client, worker)
            }
            Self::Confirm { worker, chain } => {
                let client = chain.connect().await?;
                let market = client.market();
                if market.master_of(*worker).await? != Some(client.sender()) {
                    market.confirm_worker(*worker).await?;
                }
                (client, *worker)
            }
            Self::Remove { worker, chain } => {
                let client = chain.connect().await?;
                client.market().remove_worker(*worker, client.sender()).await?;
                (client, *worker)
            }
        };
        let market = client.market();
        let (master, pending_master) =
            tokio::try_join!(market.master_of(worker), market.pending_master_of(worker))?;
        Ok(frame.emit(&Report { worker, master, pending_master })?)
    }
}
