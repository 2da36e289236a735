//! `snm customer withdraw AMOUNT | --all`: takes SNM from the free balance back to the wallet.

use std::fmt;

use serde::Serialize;
use snm_sdk::{Customer, units::Snm};

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Withdraws from the free balance.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How much, e.g. `40 SNM`.
    #[arg(allow_hyphen_values = true, required_unless_present = "all", conflicts_with = "all")]
    amount: Option<Snm>,
    /// The whole free balance.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
struct Report {
    withdrawn: Snm,
    free_balance: Snm,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "withdrew {}; free balance {}", self.withdrawn, self.free_balance)
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let customer = Customer::new(args.chain.connect().await?);
    let amount = match args.amount {
        Some(amount) => amount,
        None => customer.escrow().free_balance(customer.sender()).await?,
    };
    if amount == Snm::ZERO {
        let free_balance = customer.escrow().free_balance(customer.sender()).await?;
        return Ok(frame.emit(&Report { withdrawn: Snm::ZERO, free_balance })?);
    }
    let free_balance = customer.escrow().withdraw(amount).await?;
    Ok(frame.emit(&Report { withdrawn: amount, free_balance })?)
}
