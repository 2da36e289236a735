//! `snm oracle`: the SNM/USD price oracle.

mod report;

use clap::Subcommand;

use crate::{error::CliError, output::Frame};

/// `snm oracle`: report the rate.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reports a new SNM/USD rate (an authorised reporter's account), e.g. `100` SNM per USD.
    Report(report::Args),
}

impl Command {
    /// Runs the command.
    pub async fn run(self, frame: Frame) -> Result<(), CliError> {
        match self {
            Self::Report(args) => report::run(&args, frame).await,
        }
    }
}
