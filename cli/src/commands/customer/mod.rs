//! `snm customer`: what a customer does.

pub mod buy;

use clap::Subcommand;

use crate::purchase::PurchaseError;

/// `snm customer`: buy compute.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Buys compute: the cheapest asks meeting the requirements within the budget, on distinct
    /// machines, and prints the deals.
    Buy(Box<buy::Args>),
}

impl Command {
    /// Runs the command.
    pub async fn run(self) -> Result<(), PurchaseError> {
        match self {
            Self::Buy(args) => buy::run(*args).await,
        }
    }
}
