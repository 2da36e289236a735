//! `snm-agent`: a supplier's agent against any RPC endpoint. It keeps the asks of its
//! configuration open, starts each deal's workload on the worker it rented (the metered
//! `snm-proxy` by default, or any command such as `docker run …`), announces where it serves,
//! stops it when the deal closes, writes the traffic to a usage report for the reward campaign,
//! settles and withdraws. Kill it and start it again: it resumes from its state file without
//! missing or repeating a deal (see the `snm_agent` library).
//!
//! ```text
//! # each machine's key asks once to join the master:
//! SNM_KEY=<worker key> snm-agent --deployment deployments/31337.local.json register --master <master>
//! # then the master runs the agent:
//! SNM_KEY=<master key> snm-agent --deployment deployments/31337.local.json run --config agent.toml
//! ```
//!
//! A runtime command whose program is a bare name found next to this program (such as
//! `snm-proxy`, built in the same workspace) runs that file.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use clap::{Args, Parser, Subcommand};
use snm_agent::{
    AgentConfig, DealFeed, DockerRuntime, ProcessRuntime, Runtime, SupplierAgent, heads::ChainHeads,
    publishing_config::PublishMode,
};
use snm_sdk::{
    Client, Deployment, Supplier,
    events::default_confirmations,
    provider::{self, NonceLayer, RequestCounter},
    tx::TxOptions,
};

#[derive(Debug, Parser)]
#[command(about = "A supplier's agent: asks, workloads, metering, settlement")]
struct Cli {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent of the master whose key is `--key` / `SNM_KEY`, until Ctrl-C or SIGTERM.
    Run {
        /// The agent's configuration file (TOML, see `snm_agent::config`).
        #[arg(long)]
        config: PathBuf,
    },
    /// As the worker whose key is `--key` / `SNM_KEY`, ask to join `master` (the agent confirms).
    Register {
        /// The master (payout account) to join.
        #[arg(long)]
        master: Address,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run { config } => run(&cli.chain, config).await,
        Command::Register { master } => register(&cli.chain, *master).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("snm-agent: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn register(chain: &ChainArgs, master: Address) -> anyhow::Result<()> {
    let worker = chain.connect().await?;
    if worker.market().master_of(worker.sender()).await? == Some(master) {
        println!("worker {} already belongs to {master}", worker.sender());
        return Ok(());
    }
    worker.market().request_worker(master).await?;
    println!("worker {} asked to join {master}; its agent confirms it when it starts", worker.sender());
    Ok(())
}

async fn run(chain: &ChainArgs, config_path: &std::path::Path) -> anyhow::Result<()> {
    let mut config = AgentConfig::from_file(config_path)?;
    // A bare program name built next to this one (such as `snm-proxy`) runs that file.
    if let Some(program) = config.command.first_mut()
        && !program.contains('/')
        && let Some(beside) = beside_this_program(program)
    {
        *program = beside.display().to_string();
    }
    let client = chain.connect().await?;
    let supplier = match (chain.confirmations, config.confirmations) {
        (None, Some(confirmations)) => Supplier::new(client.with_confirmations(confirmations)),
        _ => Supplier::new(client),
    };
    let asks_go = match (&config.publishing.publish, &config.publishing.indexer) {
        (PublishMode::Signed, Some(indexer)) => format!("signed to {indexer}"),
        _ => "on chain".to_owned(),
    };
    println!(
        "agent of master {} on market {}: {} worker(s), {} ask(s) {asks_go}, state in {}",
        supplier.master(),
        supplier.client().deployment().market,
        config.workers.len(),
        config.asks.len(),
        config.state.display()
    );
    // Over WebSocket the node pushes each new block: the agent reads the chain when one came
    // rather than every round.
    let feed = provider::is_ws(&chain.rpc).then(|| {
        let heads =
            ChainHeads::follow(chain.rpc.clone(), RequestCounter::new(), config.poll_every, config.retry_max);
        DealFeed::following(supplier.market().clone(), config.poll_every, heads)
    });
    match config.docker.clone() {
        Some(docker) => {
            let market = supplier.client().deployment().market;
            let runtime = DockerRuntime::connect(docker, market, config.workload_dir.clone()).await?;
            serve(supplier, config, runtime, feed, &chain.key).await
        }
        None => {
            let runtime = ProcessRuntime::new(config.command.clone(), config.workload_dir.clone())?;
            serve(supplier, config, runtime, feed, &chain.key).await
        }
    }
}

/// Runs the agent with `runtime` until a stop signal, reading its deals from `feed` if there is
/// one; `master_key` signs its asks when they are published signed.
async fn serve<R: Runtime>(
    supplier: Supplier<DynProvider>,
    config: AgentConfig,
    runtime: R,
    feed: Option<DealFeed<DynProvider>>,
    master_key: &PrivateKeySigner,
) -> anyhow::Result<()> {
    let (agent, events) = match &feed {
        Some(feed) => SupplierAgent::start_in(supplier, config, runtime, feed).await?,
        None => SupplierAgent::start(supplier, config, runtime).await?,
    };
    // The master's key signs the asks when they are published signed (`publish = "signed"`).
    let mut agent = agent.with_ask_signer(Arc::new(master_key.clone()))?;
    for event in &events {
        println!("{event}");
    }
    let resumed = agent.state().deals.values().filter(|d| d.is_open()).count();
    println!("resuming from block {} with {resumed} open deal(s)", agent.state().cursor.block);
    agent.run(stop_signal(), |event| println!("{event}")).await;
    println!("stopped; workloads keep running and the next start adopts them");
    Ok(())
}

/// Where the marketplace is and who acts: `--rpc`, `--deployment` (or `--market`), `--key`, each
/// also read from its environment variable.
#[derive(Clone, Debug, Args)]
struct ChainArgs {
    /// JSON-RPC endpoint of the chain: http(s)://, or ws(s):// to follow new blocks as the node
    /// pushes them (`eth_subscribe`) instead of polling for them.
    #[arg(long, env = "SNM_RPC", default_value = "http://127.0.0.1:8545")]
    rpc: alloy::transports::http::reqwest::Url,
    /// Deployment file: the JSON `contracts/script/Deploy.s.sol` or the devnet writes.
    #[arg(long, env = "SNM_DEPLOYMENT", conflicts_with = "market")]
    deployment: Option<PathBuf>,
    /// The market's address, when there is no deployment file (token and oracle are read from it).
    #[arg(long, env = "SNM_MARKET")]
    market: Option<Address>,
    /// Private key of the acting account (hex): the master's for `run`, the worker's for
    /// `register`. Prefer the environment variable to the command line.
    #[arg(long, env = "SNM_KEY", hide_env_values = true)]
    key: PrivateKeySigner,
    /// How deep a block must be before the agent reads its events (default: the configuration's
    /// `confirmations`, else 0 on a devnet's chain id 31337 and 3 elsewhere; a deeper
    /// reorganisation is still rolled back).
    #[arg(long, env = "SNM_CONFIRMATIONS")]
    confirmations: Option<u64>,
}

impl ChainArgs {
    /// A client acting as `--key`'s account, once the node is known to serve the deployment's
    /// chain and contracts.
    async fn connect(&self) -> anyhow::Result<Client<DynProvider>> {
        let sender = self.key.address();
        let options = TxOptions::default();
        let provider = if provider::is_ws(&self.rpc) {
            let nonces = NonceLayer::remember_for(options.receipt_timeout);
            provider::connect_ws(self.rpc.clone(), self.key.clone(), &options, &nonces).await?
        } else {
            provider::connect_http(self.rpc.clone(), self.key.clone(), &options)
        };
        let deployment = match (&self.deployment, self.market) {
            (Some(path), _) => Deployment::from_file(path)?,
            (None, Some(market)) => Deployment::discover(&provider, market, None).await?,
            (None, None) => anyhow::bail!(
                "where is the market? pass --deployment <file> (or SNM_DEPLOYMENT) or --market <address>"
            ),
        };
        deployment.verify(&provider).await?;
        let chain_id = provider.get_chain_id().await?;
        let confirmations = self.confirmations.unwrap_or(default_confirmations(chain_id));
        Ok(Client::new(provider, deployment, sender).with_confirmations(confirmations))
    }
}

/// Completes on SIGTERM or Ctrl-C: when the agent should stop.
async fn stop_signal() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// A program built next to this one (such as `snm-proxy` beside `snm-agent`), if it is there.
fn beside_this_program(name: &str) -> Option<PathBuf> {
    let candidate = std::env::current_exe().ok()?.parent()?.join(name);
    candidate.is_file().then_some(candidate)
}
