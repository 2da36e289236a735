//! `snm supplier`: what a supplier does: link machines (workers) to the payout account (master),
//! place and cancel asks, see and withdraw earnings.
//!
//! ```text
//! snm supplier worker request --master 0xMASTER --account worker1   # on the machine
//! snm supplier worker confirm 0xWORKER --account master              # the master accepts it
//! snm supplier ask place --worker 0xWORKER --price "1.2 USD/h" --cores 4 --ram 16GiB --account master
//! snm supplier ask place --signed --worker 0xWORKER --price "1.1 USD/h" --indexer URL --account master  # no gas
//! snm supplier ask list --account master
//! snm supplier earnings --account master
//! snm supplier withdraw --all --account master
//! snm supplier usage --config agent.toml                          # per deal: bytes, runtime, container
//! ```

mod ask;
mod claim;
mod doctor;
mod earnings;
mod init;
mod signed_ask;
mod usage;
mod withdraw;
mod worker;

use clap::Subcommand;

use crate::{error::CliError, output::Frame};

/// `snm supplier`: workers, asks, earnings.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Links machines to the master: request (the worker's account), confirm or remove (the
    /// master's).
    #[command(subcommand)]
    Worker(worker::Command),
    /// The master's asks: place (on chain, or signed off chain with `--signed`), cancel, list,
    /// publish a signed ask file.
    #[command(subcommand)]
    Ask(ask::Command),
    /// The master's earnings in the market, ready to withdraw.
    Earnings(earnings::Args),
    /// Withdraws earnings to the master's wallet.
    Withdraw(withdraw::Args),
    /// Claims the account's reward of a campaign round from its proofs file.
    Claim(claim::Args),
    /// Onboards a supplier: master and worker accounts, the worker linked, the IP and port
    /// checked, an agent configuration written.
    Init(Box<init::Args>),
    /// Checks the setup: RPC, chain id, contract code, account and gas, worker links, runtime,
    /// agent state; each line ok or FAIL with the fix.
    Doctor(doctor::Args),
    /// Each deal the agent served: bytes in and out, runtime, container, state (from the agent's
    /// state file and meters).
    Usage(usage::Args),
}

impl Command {
    /// Runs the command.
    pub async fn run(self, frame: Frame) -> Result<(), CliError> {
        match self {
            Self::Worker(command) => command.run(frame).await,
            Self::Ask(command) => command.run(frame).await,
            Self::Earnings(args) => earnings::run(&args, frame).await,
            Self::Withdraw(args) => withdraw::run(&args, frame).await,
            Self::Claim(args) => claim::run(&args, frame).await,
            Self::Doctor(args) => doctor::run(&args, frame).await,
            Self::Init(args) => init::run(&args, frame).await,
            Self::Usage(args) => usage::run(&args, frame),
        }
    }
}
