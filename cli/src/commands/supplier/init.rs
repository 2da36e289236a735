//! `snm supplier init`: a new supplier's onboarding in one command, as Operation A's suppliers
//! did it by hand: the master (payout) and worker (machine) accounts, found in the keystores or
//! created, the worker's request to join and the master's confirmation, a check that the
//! machine's public IP and port answer, an agent configuration written, and the next step.
//!
//! ```text
//! snm supplier init --master acme --worker box1 --ip 203.0.113.7 --port 3128 --price "0.36 USD/h" --cores 2 --ram 4GiB
//! ```

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use serde::Serialize;
use snm_sdk::units::{Bytes, UsdPerHour};

use crate::{
    chain::ChainArgs,
    error::CliError,
    output::Frame,
    wallet::{Keystores, WalletError},
};

/// How long the IP and port check waits for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Onboards a supplier.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The master account's name (the payout account), created when missing.
    #[arg(long)]
    master: String,
    /// The worker account's name (this machine's key), created when missing.
    #[arg(long)]
    worker: String,
    /// The machine's public IP, where customers reach the workload.
    #[arg(long)]
    ip: IpAddr,
    /// A port that answers at that IP (the check connects to it).
    #[arg(long)]
    port: u16,
    /// The price per hour of the ask the agent keeps open.
    #[arg(long, default_value = "0.36 USD/h")]
    price: UsdPerHour,
    /// CPU cores offered.
    #[arg(long, default_value_t = 1)]
    cores: u64,
    /// Memory offered.
    #[arg(long, default_value = "1GiB")]
    ram: Bytes,
    /// Where to write the agent's configuration.
    #[arg(long, default_value = "agent.toml")]
    out: PathBuf,
    #[command(flatten)]
    chain: ChainArgs,
}

/// What the onboarding did.
#[derive(Debug, Serialize)]
struct Report {
    master: Address,
    worker: Address,
    steps: Vec<String>,
    config: PathBuf,
    next: String,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "ok  {step}")?;
        }
        writeln!(f, "next: {}", self.next)
    }
}

/// Runs the onboarding.
pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let spinner = frame.spinner("onboarding");
    let stores = args.chain.keystores()?;
    let mut steps = Vec::new();
    let master = account(&stores, &args.chain, &args.master, &mut steps)?;
    let worker = account(&stores, &args.chain, &args.worker, &mut steps)?;

    let worker_client = args.chain.connect_with(worker.clone()).await?;
    let market = worker_client.market();
    if market.master_of(worker.address()).await? == Some(master.address()) {
        steps.push(format!("worker {} already belongs to master {}", worker.address(), master.address()));
    } else {
        if market.pending_master_of(worker.address()).await? != Some(master.address()) {
            market.request_worker(master.address()).await?;
            steps.push(format!("worker {} asked to join master {}", worker.address(), master.address()));
        }
        args.chain.connect_with(master.clone()).await?.market().confirm_worker(worker.address()).await?;
        steps.push(format!("master {} confirmed worker {}", master.address(), worker.address()));
    }

    let endpoint = SocketAddr::new(args.ip, args.port);
    match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(endpoint)).await {
        Ok(Ok(_)) => steps.push(format!("{endpoint} answers")),
        Ok(Err(error)) => return Err(unreachable(endpoint, &error.to_string())),
        Err(_) => return Err(unreachable(endpoint, "no answer within 5 s")),
    }

    write_config(args, worker.address())?;
    steps.push(format!("agent configuration written to {}", args.out.display()));
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    let next = format!("snm agent run --config {} --account {}", args.out.display(), args.master);
    Ok(frame.emit(&Report {
        master: master.address(),
        worker: worker.address(),
        steps,
        config: args.out.clone(),
        next,
    })?)
}

fn unreachable(endpoint: SocketAddr, why: &str) -> CliError {
    CliError::Check {
        message: format!(
            "{endpoint} does not answer ({why}): customers could not reach the workload; open the port \
             (firewall, port forwarding) and run init again"
        ),
    }
}

/// The account `name`: unlocked when its keystore exists, else created with a new key.
fn account(
    stores: &Keystores,
    chain: &ChainArgs,
    name: &str,
    steps: &mut Vec<String>,
) -> Result<PrivateKeySigner, CliError> {
    match stores.account(name) {
        Ok(_) => {
            let password = chain.password().read(&format!("password of account `{name}`: "), false)?;
            let signer = stores.unlock(name, &password)?;
            steps.push(format!("account {name} ({}) found", signer.address()));
            Ok(signer)
        }
        Err(WalletError::NotFound { .. }) => {
            let password = chain.password().read(&format!("new password for `{name}`: "), true)?;
            let signer = PrivateKeySigner::random();
            stores.create(name, &signer, &password)?;
            steps.push(format!("account {name} ({}) created: fund it with ether for gas", signer.address()));
            Ok(signer)
        }
        Err(error) => Err(error.into()),
    }
}

fn write_config(args: &Args, worker: Address) -> Result<(), CliError> {
    let dir = args.out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let text = format!(
        r#"# Written by `snm supplier init`; every key is documented in agent/src/config.rs.
state = "snm-agent/state.json"
usage_report = "snm-agent/usage.csv"
poll_every = "1s"
settle_every = "10m"
retry_max = "2m"

[runtime]
command = ["snm-proxy", "--listen", "{{ip}}:{port}", "--stats", "{{stats}}", "--deal", "{{deal}}", "--auth-hash", "{{config_hash}}"]
dir = "snm-agent/workloads"

[[worker]]
address = "{worker}"
ip = "{ip}"

[[ask]]
worker = "{worker}"
price = "{price}"
cpu_milli_cores = {milli}
ram_mib = {ram_mib}
flags = "PUBLIC_IP | INCOMING"
"#,
        port = args.port,
        ip = args.ip,
        price = args.price,
        milli = args.cores.saturating_mul(1000),
        ram_mib = args.ram.get() / (1 << 20),
    );
    std::fs::create_dir_all(dir).map_err(|source| CliError::File { path: dir.to_owned(), source })?;
    std::fs::write(&args.out, text).map_err(|source| CliError::File { path: args.out.clone(), source })
}
