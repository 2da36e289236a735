//! `snm`: the command line of the SNM marketplace.
//!
//! ```text
//! snm devnet --deployment-out devnet.json
//! snm wallet new alice
//! snm --json customer buy --term 2h --budget "200 SNM" --cores 4 --image ghcr.io/acme/proxy:1.2 --account alice
//! snm campaign compute --campaign campaign.toml --reports week1.csv --out rounds/
//! ```

use std::{io::IsTerminal, process::ExitCode};

use clap::{CommandFactory, Parser, Subcommand, ValueEnum, error::ErrorKind};
use snm_cli::{
    chain::ChainArgs,
    commands::{agent, campaign, customer, deploy, devnet, market, oracle, supplier, wallet},
    error::CliError,
    exit::Kind,
    output::Frame,
};

/// The SNM compute marketplace from the command line.
#[derive(Debug, Parser)]
#[command(name = "snm", version, after_help = EXIT_CODES)]
struct Cli {
    /// Prints exactly one JSON document on stdout (JSON lines for `customer wait` and `agent run`),
    /// errors as JSON on stderr.
    #[arg(long, global = true)]
    json: bool,
    /// How logs (on stderr, filtered by RUST_LOG) are written.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// The chain options, accepted before the subcommand as well as after it: clap hands what is
    /// given here to the command's own copy (each command reads its own).
    #[command(flatten)]
    _chain: ChainArgs,
    #[command(subcommand)]
    role: Role,
}

const EXIT_CODES: &str = "Exit codes: 0 done, 1 failed, 2 usage or bad value, 3 refused by the chain, \
4 RPC/network, 5 not found, 6 deployment does not match the node, 7 wallet (key, password), 8 timeout.";

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// A local chain with every contract deployed and funded accounts, until Ctrl-C.
    Devnet(devnet::Args),
    /// Deploys every contract from the account and writes `deployments/<chain id>.json`.
    Deploy(deploy::Args),
    /// Encrypted keystores: new, import, list, address.
    #[command(subcommand)]
    Wallet(wallet::Command),
    /// The order book and the deals (read-only).
    #[command(subcommand)]
    Market(market::Command),
    /// What a customer does: buy compute, fund, follow and close deals.
    #[command(subcommand)]
    Customer(customer::Command),
    /// What a supplier does: workers, asks, earnings.
    #[command(subcommand)]
    Supplier(supplier::Command),
    /// A reward campaign round by round: compute, publish, claim, status.
    #[command(subcommand)]
    Campaign(campaign::Command),
    /// The SNM/USD price oracle.
    #[command(subcommand)]
    Oracle(oracle::Command),
    /// The supplier agent: `snm agent run --config FILE`.
    #[command(subcommand)]
    Agent(agent::Command),
    /// Prints a shell completion script: `snm completions bash > /etc/bash_completion.d/snm`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
    init_logs(cli.log_format);
    let frame = Frame::new(cli.json);
    let result: Result<(), CliError> = match cli.role {
        Role::Devnet(args) => devnet::run(&args, frame).await,
        Role::Deploy(args) => deploy::run(&args, frame).await,
        Role::Wallet(command) => command.run(frame).await,
        Role::Market(command) => command.run(frame).await,
        Role::Customer(command) => command.run(frame).await,
        Role::Supplier(command) => command.run(frame).await,
        Role::Oracle(command) => command.run(frame).await,
        Role::Agent(command) => command.run(frame).await,
        Role::Campaign(command) => command.run(frame).await,
        Role::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "snm", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => error.report(frame),
    }
}

/// A command line clap refused: help and version as clap prints them, anything else as a usage
/// error in the run's frame (JSON when `--json` is among the arguments).
fn usage(error: &clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            Kind::Usage.exit_code()
        } else {
            ExitCode::SUCCESS
        };
    }
    let json = std::env::args().any(|arg| arg == "--json");
    let rendered = error.render().to_string();
    let message = rendered
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("bad command line")
        .trim_start_matches("error: ")
        .to_owned();
    Frame::new(json).report_error(Kind::Usage, &message, Some("see `snm <command> --help`"))
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
