//! `snm`: the command line of the SNM marketplace.
//!
//! ```text
//! snm customer buy --term 2h --budget "200 SNM" --cores 4 --image ghcr.io/acme/proxy:1.2 --count 3
//! snm campaign compute --campaign campaign.toml --reports week1.csv --out rounds/
//! snm campaign publish --round rounds/round-1.json --accept
//! ```

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use snm_cli::commands::{campaign, customer};

/// The SNM compute marketplace from the command line.
#[derive(Debug, Parser)]
#[command(name = "snm", version)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// What a customer does: buy compute.
    #[command(subcommand)]
    Customer(customer::Command),
    /// A reward campaign round by round: compute, publish, claim, status.
    #[command(subcommand)]
    Campaign(campaign::Command),
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().role {
        Role::Customer(command) => command.run().await.map_err(|e| e.to_string()),
        Role::Campaign(command) => command.run().await.map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("snm: {message}");
            ExitCode::FAILURE
        }
    }
}
