//! `snm supplier claim --proofs FILE`: the master's reward of a campaign round, from the proofs
//! file the operator publishes (`round-N.merkle.json`, as `snm campaign compute` writes it).

use std::path::PathBuf;

use crate::{chain::ChainArgs, error::CliError, output::Frame, reward_claim};

/// Claims the account's reward.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The accepted round's proofs (`round-N.merkle.json`).
    #[arg(long)]
    proofs: PathBuf,
    #[command(flatten)]
    chain: ChainArgs,
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let claimed = reward_claim::claim_own(&args.chain, &args.proofs).await?;
    Ok(frame.emit(&claimed)?)
}
