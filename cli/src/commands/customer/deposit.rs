//! `snm customer deposit AMOUNT`: moves SNM from the wallet into the customer's free balance in
//! the market (approving the market first when its allowance falls short).

use std::fmt;

use serde::Serialize;
use snm_sdk::{Customer, units::Snm};

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Deposits SNM into the market.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How much, e.g. `100 SNM`.
    #[arg(allow_hyphen_values = true)]
    amount: Snm,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
struct Report {
    deposited: Snm,
    free_balance: Snm,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "deposited {}; free balance {}", self.deposited, self.free_balance)
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let customer = Customer::new(args.chain.connect().await?);
    let free_balance = customer.deposit(args.amount).await?;
    Ok(frame.emit(&Report { deposited: args.amount, free_balance })?)
}
