//! `snm customer`: what a customer does: buy compute, fund and follow deals, close them, report
//! the traffic it counted.

mod bid;
pub mod buy;
mod close;
mod deals;
mod deposit;
pub mod report;
mod runway;
mod top_up;
mod wait;
mod withdraw;

use clap::Subcommand;

use crate::{error::CliError, output::Frame};

/// `snm customer`: buy compute and look after the deals.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Buys compute: the cheapest asks meeting the requirements within the budget, on distinct
    /// machines, and prints the deals.
    Buy(Box<buy::Args>),
    /// Places a bid: what is needed, the highest price, the deposit locked when it is matched.
    Bid(Box<bid::Args>),
    /// Deposits SNM from the wallet into the free balance in the market.
    Deposit(deposit::Args),
    /// Withdraws SNM from the free balance back to the wallet.
    Withdraw(withdraw::Args),
    /// Follows a deal until its endpoint is announced or it closes (JSON lines with --json).
    Wait(wait::Args),
    /// Adds SNM from the wallet to a running deal's deposit.
    TopUp(top_up::Args),
    /// How long a deal's deposit lasts at the current rate.
    Runway(runway::Args),
    /// Closes a deal; --blacklist also refuses its supplier from now on.
    Close(close::Args),
    /// The account's deals.
    Deals(deals::Args),
    /// Writes the customer's own usage report of its deals from the traffic it metered, signed.
    Report(report::Args),
}

impl Command {
    /// Runs the command.
    pub async fn run(self, frame: Frame) -> Result<(), CliError> {
        match self {
            Self::Buy(args) => Ok(buy::run(*args, frame).await?),
            Self::Bid(args) => bid::run(&args, frame).await,
            Self::Deposit(args) => deposit::run(&args, frame).await,
            Self::Withdraw(args) => withdraw::run(&args, frame).await,
            Self::Wait(args) => wait::run(&args, frame).await,
            Self::TopUp(args) => top_up::run(&args, frame).await,
            Self::Runway(args) => runway::run(&args, frame).await,
            Self::Close(args) => close::run(&args, frame).await,
            Self::Deals(args) => deals::run(&args, frame).await,
            Self::Report(args) => report::run(&args, frame).await,
        }
    }
}
