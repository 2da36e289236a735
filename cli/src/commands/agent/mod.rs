//! `snm agent`: the supplier agent (the `snm-agent` program).

mod run;

use clap::Subcommand;

use crate::{error::CliError, output::Frame};

/// `snm agent`: run the supplier agent.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the supplier agent of the account (the master) with a configuration file, until Ctrl-C
    /// or SIGTERM: `snm-agent` found next to `snm`, given the key in its environment.
    Run(run::Args),
}

impl Command {
    /// Runs the command.
    pub async fn run(self, frame: Frame) -> Result<(), CliError> {
        match self {
            Self::Run(args) => run::run(&args, frame).await,
        }
    }
}
