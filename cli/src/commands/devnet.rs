//! `snm devnet`: a local chain (anvil) with every contract deployed and funded accounts, in the
//! foreground until Ctrl-C or SIGTERM. It prints the RPC URL, the deployment file it wrote and the
//! funded accounts with their keys (one JSON document with `--json`), so that everything else
//! can be tried on one machine:
//!
//! ```text
//! snm devnet --port 8545 --deployment-out devnet.json
//! export SNM_RPC=http://127.0.0.1:8545 SNM_DEPLOYMENT=devnet.json
//! ```

use std::{fmt, path::PathBuf};

use alloy::primitives::Address;
use serde::Serialize;
use snm_sdk::{
    Deployment,
    devnet::{Devnet, DevnetConfig},
    units::Snm,
};

use crate::{error::CliError, output::Frame};

/// Starts a local chain with the marketplace deployed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port at 127.0.0.1 (default: a free one).
    #[arg(long)]
    port: Option<u16>,
    /// Where to write the deployment file.
    #[arg(long, default_value = "devnet-deployment.json")]
    deployment_out: PathBuf,
    /// How many funded accounts (account 0 deployed everything and reports the oracle's rate).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    accounts: u32,
}

/// What a running devnet offers.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Its JSON-RPC endpoint.
    pub rpc: String,
    /// Its chain id.
    pub chain_id: u64,
    /// The deployment file written.
    pub deployment_file: PathBuf,
    /// The contracts.
    pub deployment: Deployment,
    /// The funded accounts, the operator first.
    pub accounts: Vec<FundedAccount>,
}

/// A funded account of the devnet.
#[derive(Debug, Serialize)]
pub struct FundedAccount {
    /// Its address.
    pub address: Address,
    /// Its private key (a devnet's: public knowledge).
    pub private_key: String,
    /// Its SNM.
    pub snm: Snm,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "devnet (chain {}) at {}", self.chain_id, self.rpc)?;
        writeln!(f, "deployment written to {}", self.deployment_file.display())?;
        writeln!(f, "accounts (account 0 is the operator):")?;
        for (index, account) in self.accounts.iter().enumerate() {
            writeln!(f, "  {index:>2}  {}  {}  {}", account.address, account.private_key, account.snm)?;
        }
        writeln!(f, "export SNM_RPC={} SNM_DEPLOYMENT={}", self.rpc, self.deployment_file.display())?;
        writeln!(f, "Ctrl-C stops it.")
    }
}

/// Runs the devnet until Ctrl-C or SIGTERM.
pub async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    if let Some(port) = args.port {
        port_is_free(port)?;
    }
    let config = DevnetConfig { accounts: args.accounts, port: args.port, ..DevnetConfig::default() };
    let devnet = Devnet::start_with(config).await?;
    devnet.deployment().write_file(&args.deployment_out).map_err(|e| CliError::Sdk(e.into()))?;
    let mut accounts = Vec::new();
    for (index, address) in devnet.accounts().into_iter().enumerate() {
        let signer = devnet.signer(index)?;
        accounts.push(FundedAccount {
            address,
            private_key: format!("0x{}", alloy::hex::encode(signer.to_bytes())),
            snm: devnet.snm_balance(address).await?,
        });
    }
    let report = Report {
        // The loopback address, not `localhost`: nothing to resolve.
        rpc: format!("http://127.0.0.1:{}", devnet.endpoint().port().unwrap_or(8545)),
        chain_id: devnet.chain_id(),
        deployment_file: args.deployment_out.clone(),
        deployment: *devnet.deployment(),
        accounts,
    };
    frame.emit(&report)?;
    tracing::info!(rpc = %report.rpc, "devnet running");
    crate::signal::stop().await;
    tracing::info!("devnet stopping");
    drop(devnet);
    Ok(())
}

/// Fails at once when `port` is taken: anvil would not say so, and the devnet would wait for a
/// node that never starts. (Something may still take the port between this check and anvil's
/// start; anvil then fails and the devnet reports it.)
fn port_is_free(port: u16) -> Result<(), CliError> {
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => {
            drop(listener);
            Ok(())
        }
        Err(error) => Err(CliError::Usage {
            message: format!(
                "--port {port}: 127.0.0.1:{port} cannot be used ({error}); pass a free port, or no --port for any free one"
            ),
        }),
    }
}
