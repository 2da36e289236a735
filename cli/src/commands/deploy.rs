//! `snm deploy`: deploys the token (unless `--token`), the oracle, the market and the reward
//! distributor from the account, which owns them, and writes `deployments/<chain id>.json` (or
//! `--out FILE`). Commit that file and `snm` finds the contracts of that chain with `--rpc` alone.

use std::{fmt, path::PathBuf, time::Duration};

use alloy::{primitives::Address, providers::Provider};
use serde::Serialize;
use snm_sdk::{
    Deployment, Operator,
    operator::DeployConfig,
    provider,
    tx::TxOptions,
    units::{SnmPerUsd, parse_duration},
};

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Deploys the marketplace.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An existing SNM token (default: a new one minting its supply to the account).
    #[arg(long)]
    token: Option<Address>,
    /// The oracle's first rate, SNM per USD.
    #[arg(long, default_value = "100")]
    snm_per_usd: SnmPerUsd,
    /// How long a rate stays usable.
    #[arg(long, value_parser = parse_duration, default_value = "1h")]
    oracle_max_age: Duration,
    /// Seconds a deposit must cover at opening.
    #[arg(long, value_parser = parse_duration, default_value = "1h")]
    min_runway: Duration,
    /// How long a proposed reward root waits before it can be accepted.
    #[arg(long, value_parser = parse_duration, default_value = "1d")]
    reward_delay: Duration,
    /// Where to write the deployment (default `deployments/<chain id>.json`).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
struct Report {
    deployment: Deployment,
    file: PathBuf,
    owner: Address,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.deployment;
        writeln!(f, "deployed by {} on chain {}", self.owner, d.chain_id.unwrap_or_default())?;
        writeln!(f, "token        {}", d.token)?;
        writeln!(f, "oracle       {}", d.oracle)?;
        writeln!(f, "market       {}", d.market)?;
        if let Some(distributor) = d.distributor {
            writeln!(f, "distributor  {distributor}")?;
        }
        writeln!(f, "written to {}", self.file.display())
    }
}

/// Runs `snm deploy`.
pub async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let signer = args.chain.signer()?;
    let owner = signer.address();
    let provider = provider::connect_http(args.chain.url()?, signer, &TxOptions::default());
    let chain_id = provider.get_chain_id().await.map_err(snm_sdk::Error::from)?;
    let config = DeployConfig {
        token: args.token,
        snm_per_usd: args.snm_per_usd,
        oracle_max_age: args.oracle_max_age,
        min_runway: args.min_runway,
        reward_delay: args.reward_delay,
        ..DeployConfig::default()
    };
    let operator = Operator::deploy(provider, owner, &config).await?;
    let mut deployment = *operator.deployment();
    deployment.chain_id = Some(chain_id);
    let file = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("deployments/{chain_id}.json")));
    if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| CliError::File { path: dir.to_owned(), source })?;
    }
    deployment.write_file(&file).map_err(|e| CliError::Sdk(e.into()))?;
    Ok(frame.emit(&Report { deployment, file, owner })?)
}
