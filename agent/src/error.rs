//! The agent's errors: its own (configuration, workers, state, workloads) and the SDK's.

use std::path::PathBuf;

use alloy::primitives::Address;

use crate::{lock::LockError, runtime::RuntimeError, state::StateError};

/// Everything that can stop the supplier agent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The chain refused or could not be reached (a contract's custom error, a transport failure).
    #[error(transparent)]
    Sdk(#[from] snm_sdk::Error),
    /// The configuration file is not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A workload could not be started, watched or stopped.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The state file could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// Another agent runs on the same state file.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A configured worker is neither linked to the master nor asked to join it.
    #[error(
        "worker {worker} is not linked to master {master}: the worker must first ask to join it \
         (requestWorker with the worker's key, e.g. `snm-agent register --master {master}`)"
    )]
    WorkerNotLinked {
        /// The worker.
        worker: Address,
        /// The agent's master.
        master: Address,
    },
    /// The configuration publishes signed asks but the agent was given no key to sign them with
    /// (see `SupplierAgent::with_ask_signer`).
    #[error(
        "`publish = \"signed\"` needs master {master}'s key to sign the asks: none was given to the agent"
    )]
    NoAskSigner {
        /// The agent's master.
        master: Address,
    },
    /// The key given to sign asks is not the master's.
    #[error("asks must be signed by master {master}, not by {signer}")]
    AskSignerNotMaster {
        /// The agent's master.
        master: Address,
        /// The key given.
        signer: Address,
    },
    /// The market data service's relay cannot be addressed.
    #[error(transparent)]
    Publish(#[from] crate::signed_ask_publisher::PublishError),
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("agent configuration {}: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The text is not the configuration's TOML (a syntax error, an unknown or missing key).
    #[error("agent configuration{}: {source}", at(file))]
    Syntax {
        /// The file, when the text came from one.
        file: Option<PathBuf>,
        /// The parser's error, with line and column.
        #[source]
        source: toml::de::Error,
    },
    /// A value is well-formed TOML but not a valid setting.
    #[error("agent configuration{}: {reason}", at(file))]
    Invalid {
        /// The file, when the text came from one.
        file: Option<PathBuf>,
        /// Which setting, and what is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    /// The same error, naming `file`.
    pub(crate) fn in_file(self, path: PathBuf) -> Self {
        match self {
            Self::Syntax { source, .. } => Self::Syntax { file: Some(path), source },
            Self::Invalid { reason, .. } => Self::Invalid { file: Some(path), reason },
            read @ Self::Read { .. } => read,
        }
    }
}

fn at(file: &Option<PathBuf>) -> String {
    file.as_ref().map(|file| format!(" {}", file.display())).unwrap_or_default()
}
