//! `supplier_agent`: a supplier's agent against any RPC endpoint. It keeps the asks of its
//! configuration open, starts each deal's workload on the worker it rented (the metered `proxy` by
//! default, or any command such as `docker run …`), announces where it serves, stops it when the
//! deal closes, writes the traffic to a usage report for the reward campaign, settles and
//! withdraws. Kill it and start it again: it resumes from its state file without missing or
//! repeating a deal (see `snm_sdk::agent`).
//!
//! ```text
//! # each machine's key asks once to join the master:
//! SNM_KEY=<worker key> supplier_agent --deployment deployments/31337.local.json register --master <master>
//! # then the master runs the agent:
//! SNM_KEY=<master key> supplier_agent --deployment deployments/31337.local.json run --config agent.toml
//! ```
//!
//! A runtime command whose program is a bare name found next to this program (such as `proxy`,
//! built with the examples) runs that file.

use std::{path::PathBuf, process::ExitCode};

use alloy::primitives::Address;
use clap::{Parser, Subcommand};
use snm_examples::cli::{ChainArgs, beside_this_program, stop_signal};
use snm_sdk::{
    Error, Supplier,
    agent::{AgentConfig, ProcessRuntime, SupplierAgent},
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
        /// The agent's configuration file (TOML, see `snm_sdk::agent::config`).
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
            eprintln!("supplier_agent: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn register(chain: &ChainArgs, master: Address) -> Result<(), Error> {
    let worker = chain.connect().await?;
    if worker.master_of(worker.sender()).await? == Some(master) {
        println!("worker {} already belongs to {master}", worker.sender());
        return Ok(());
    }
    worker.request_worker(master).await?;
    println!("worker {} asked to join {master}; its agent confirms it when it starts", worker.sender());
    Ok(())
}

async fn run(chain: &ChainArgs, config_path: &std::path::Path) -> Result<(), Error> {
    let mut config = AgentConfig::from_file(config_path)?;
    // A bare program name built next to this one (such as `proxy`) runs that file.
    if let Some(program) = config.command.first_mut()
        && !program.contains('/')
        && let Some(beside) = beside_this_program(program)
    {
        *program = beside.display().to_string();
    }
    let runtime = ProcessRuntime::new(config.command.clone(), config.workload_dir.clone())?;
    let supplier = Supplier::new(chain.connect().await?);
    println!(
        "agent of master {} on market {}: {} worker(s), {} ask(s), state in {}",
        supplier.master(),
        supplier.deployment().market,
        config.workers.len(),
        config.asks.len(),
        config.state.display()
    );
    let (mut agent, events) = SupplierAgent::start(supplier, config, runtime).await?;
    for event in &events {
        println!("{event}");
    }
    let resumed = agent.state().deals.values().filter(|d| d.is_open()).count();
    println!("resuming from block {} with {resumed} open deal(s)", agent.state().cursor.block);
    agent.run(stop_signal(), |event| println!("{event}")).await;
    println!("stopped; workloads keep running and the next start adopts them");
    Ok(())
}
