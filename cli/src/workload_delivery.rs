//! A customer's workload configuration (`snm customer buy --env-file FILE --secret-file FILE
//! --arg ARG`): read before anything is bought (its keccak-256 is the bid's `configHash`), then,
//! once each deal is open and its supplier's agent announced where it takes the configuration
//! (`config+http://…#x25519=<key>`), signed with the customer's key, sealed to the agent's key
//! for the deal and delivered (see `snm_sdk::workload_config`, `snm_sdk::workload_seal` and
//! `docs/DOCKER_RUNTIME.md`). The agent starts the container only
//! with a configuration signed by the deal's customer that hashes to the deal's `configHash`, and
//! then announces the container's own endpoint.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{providers::DynProvider, signers::local::PrivateKeySigner};
use snm_sdk::{
    Customer,
    market::DealId,
    units::format_duration,
    workload_config::{
        SignedWorkloadConfig, WorkloadConfig, WorkloadConfigError, deliver, is_config_endpoint,
    },
};

use crate::output::Frame;

/// How often the deal's endpoint is read again while waiting: a block or two on most chains.
const POLL: Duration = Duration::from_millis(250);

/// How long a purchase with a configuration waits for each agent when `--wait-endpoint` is not
/// given: the configuration must reach it before anything runs.
pub const DEFAULT_DELIVERY_WAIT: Duration = Duration::from_secs(300);

/// The options of a workload configuration.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ConfigArgs {
    /// The workload's environment: a file of `NAME=value` lines (`#` comments). Its hash (with the
    /// secrets and arguments) becomes the deal's `configHash`; the file itself goes only to the
    /// deal's agent, signed, once the deal is open.
    #[arg(long, value_name = "FILE", conflicts_with = "secret")]
    pub env_file: Option<PathBuf>,
    /// Secrets for the workload, in the env file format: given to the container as environment
    /// variables, never on chain nor in the agent's log.
    #[arg(long, value_name = "FILE", conflicts_with = "secret")]
    pub secret_file: Option<PathBuf>,
    /// An argument replacing the image's command (repeat it for several, in order).
    #[arg(long = "arg", value_name = "ARG", conflicts_with = "secret", allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// A configuration could not be read or delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A file of the configuration cannot be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file of the configuration is not in the env file format.
    #[error("{}: {source}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The line at fault.
        #[source]
        source: WorkloadConfigError,
    },
    /// Signing or posting the configuration failed, or the agent refused it.
    #[error("deal {deal}: {source}")]
    Deliver {
        /// The deal.
        deal: DealId,
        /// Why.
        #[source]
        source: WorkloadConfigError,
    },
    /// The supplier announced a workload endpoint without asking for the configuration: its
    /// agent takes none (the workload runs without it).
    #[error(
        "deal {deal}: the supplier announced `{endpoint}` without asking for the configuration: its agent \
         takes none (close the deal with `snm customer close {deal}`)"
    )]
    NotAsked {
        /// The deal.
        deal: DealId,
        /// What it announced.
        endpoint: String,
    },
    /// The agent did not ask for the configuration, or did not start the workload, in time.
    #[error("deal {deal}: {what} within {}", format_duration(*waited))]
    Timeout {
        /// The deal.
        deal: DealId,
        /// What did not happen.
        what: &'static str,
        /// How long was waited.
        waited: Duration,
    },
    /// Reading the chain failed.
    #[error("deal {deal}: reading its endpoint: {source}")]
    Chain {
        /// The deal.
        deal: DealId,
        /// Why (boxed: the SDK's error is large).
        #[source]
        source: Box<snm_sdk::Error>,
    },
}

impl DeliveryError {
    /// Whether the error is the customer's input (a file), found before anything was sent.
    pub fn is_input(&self) -> bool {
        matches!(self, Self::Read { .. } | Self::Format { .. })
    }
}

impl ConfigArgs {
    /// The configuration the options give, `None` when none of them is used.
    pub fn load(&self) -> Result<Option<WorkloadConfig>, DeliveryError> {
        if self.env_file.is_none() && self.secret_file.is_none() && self.args.is_empty() {
            return Ok(None);
        }
        let mut config = WorkloadConfig::default();
        if let Some(path) = &self.env_file {
            config.env = read_env_file(path)?.env;
        }
        if let Some(path) = &self.secret_file {
            config.secrets = read_env_file(path)?.env;
        }
        Ok(Some(config.args(self.args.iter().cloned())))
    }
}

fn read_env_file(path: &Path) -> Result<WorkloadConfig, DeliveryError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| DeliveryError::Read { path: path.to_owned(), source })?;
    WorkloadConfig::from_env_file(&text)
        .map_err(|source| DeliveryError::Format { path: path.to_owned(), source })
}

/// Delivers `config` to the agent of each deal (all at once): waits until it asks for it, signs
/// it for the deal with `signer` (the deal's customer), posts it, and waits until the agent
/// announces the workload's endpoint; each within `timeout`.
pub async fn deliver_all(
    customer: &Customer<DynProvider>,
    deals: &[DealId],
    config: &WorkloadConfig,
    signer: &PrivateKeySigner,
    timeout: Duration,
    frame: Frame,
) -> Result<(), DeliveryError> {
    frame.say(format_args!(
        "waiting up to {} for the suppliers to ask for the configuration {}",
        format_duration(timeout),
        config.hash()
    ));
    let mut deliveries = tokio::task::JoinSet::new();
    for &deal in deals {
        let (customer, config, signer) = (customer.clone(), config.clone(), signer.clone());
        deliveries.spawn(async move { deliver_one(&customer, deal, config, &signer, timeout).await });
    }
    let mut first_error = None;
    while let Some(joined) = deliveries.join_next().await {
        match joined {
            Ok(Ok((deal, url))) => frame.say(format_args!("deal {deal}: configuration delivered to {url}")),
            Ok(Err(error)) => {
                first_error.get_or_insert(error);
            }
            // A delivery task panicked: a bug, reported as a delivery that did not happen.
            Err(join) => {
                first_error.get_or_insert(DeliveryError::Read {
                    path: PathBuf::from("<delivery task>"),
                    source: std::io::Error::other(join.to_string()),
                });
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

async fn deliver_one(
    customer: &Customer<DynProvider>,
    deal: DealId,
    config: WorkloadConfig,
    signer: &PrivateKeySigner,
    timeout: Duration,
) -> Result<(DealId, String), DeliveryError> {
    let deadline = tokio::time::Instant::now() + timeout;
    // The first announcement: an agent that takes configurations asks for it before it runs anything.
    let url =
        wait_endpoint(customer, deal, deadline, timeout, |_| true, "no agent asked for the configuration")
            .await
            .and_then(|endpoint| {
                if is_config_endpoint(&endpoint) {
                    Ok(endpoint)
                } else {
                    Err(DeliveryError::NotAsked { deal, endpoint })
                }
            })?;
    let market = customer.client().deployment().market;
    let signed = SignedWorkloadConfig::sign(config, market, deal, signer)
        .await
        .map_err(|source| DeliveryError::Deliver { deal, source })?;
    deliver(&url, &signed).await.map_err(|source| DeliveryError::Deliver { deal, source })?;
    wait_endpoint(
        customer,
        deal,
        deadline,
        timeout,
        |e| !is_config_endpoint(e),
        "the workload did not start",
    )
    .await?;
    Ok((deal, url))
}

/// The deal's latest endpoint, once it is one that `wanted` takes; [`DeliveryError::Timeout`]
/// saying `what` did not happen at `deadline`.
async fn wait_endpoint(
    customer: &Customer<DynProvider>,
    deal: DealId,
    deadline: tokio::time::Instant,
    timeout: Duration,
    wanted: impl Fn(&str) -> bool,
    what: &'static str,
) -> Result<String, DeliveryError> {
    loop {
        let endpoint = customer
            .market()
            .endpoint(deal)
            .await
            .map_err(|source| DeliveryError::Chain { deal, source: Box::new(source) })?;
        if let Some(endpoint) = endpoint
            && wanted(&endpoint)
        {
            return Ok(endpoint);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(DeliveryError::Timeout { deal, what, waited: timeout });
        }
        tokio::time::sleep(POLL).await;
    }
}
