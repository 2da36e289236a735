//! Where a deal's workload runs: the [`Runtime`] trait, its embedded default [`ProcessRuntime`]
//! (a command template), and [`DockerRuntime`] (a container per deal through the Docker Engine API).
//!
//! A runtime starts the customer's workload when a deal opens on one of the supplier's workers,
//! tells whether it still runs, reads the traffic it processed, and stops it when the deal closes.
//! The [`Workload`] it returns is plain data that the agent persists, so an agent restarted in the
//! middle of a deal finds the workload again (processes outlive the agent, as containers do) instead
//! of starting a second one.

mod config_inbox;
mod docker;
pub mod isolation;
mod meter;
mod process;

use std::{future::Future, net::IpAddr, path::PathBuf};

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use snm_sdk::{
    market::DealId,
    units::{Bytes, Resources},
};

pub use config_inbox::ConfigInbox;
pub use docker::{
    DockerConfig, DockerRuntime, LABEL_DEAL, LABEL_MARKET, LABEL_MASTER, RegistryAuth, STATE_MOUNT,
};
pub use meter::Meter;
pub use process::{PLACEHOLDERS, ProcessRuntime};

/// What a deal asks the supplier to run, and on which machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadSpec {
    /// The deal.
    pub deal_id: DealId,
    /// Container image reference from the bid (for example `ghcr.io/acme/proxy:1.2`).
    pub image: String,
    /// Hash of the workload's configuration, from the bid.
    pub config_hash: B256,
    /// Who pays.
    pub customer: Address,
    /// The supplier's payout account.
    pub master: Address,
    /// The machine's key.
    pub worker: Address,
    /// The machine's public IP address, where the workload serves.
    pub ip: IpAddr,
    /// What the ask offered the deal (CPU, memory, GPUs): a container runtime limits the workload
    /// to it.
    pub resources: Resources,
}

/// A started workload, as the agent persists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    /// The deal it serves.
    pub deal_id: DealId,
    /// Its process id.
    pub pid: u32,
    /// Unix time it started, seconds.
    pub started_at: u64,
    /// Its working directory (log and stats file).
    pub dir: PathBuf,
    /// Where the workload reports its traffic (JSON with `bytes_up` and `bytes_down`, or `bytes`).
    pub stats: PathBuf,
    /// The address it serves on, when it reported one (the stats file's `listen`).
    pub endpoint: Option<String>,
    /// The process's start time in clock ticks since boot (`/proc/<pid>/stat`), which tells it
    /// from a later process given the same id.
    #[serde(default)]
    pub process_start: Option<u64>,
    /// The Docker container's id, when a [`DockerRuntime`] runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// Traffic a workload processed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes processed, both directions together.
    pub bytes: Bytes,
}

/// A runtime failed to start, inspect or stop a workload.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The Docker Engine refused a request or could not be reached.
    #[error("docker: {doing}: {source}")]
    Docker {
        /// What the runtime was doing.
        doing: String,
        /// The Engine's answer.
        #[source]
        source: bollard::errors::Error,
    },
    /// The deal's image is neither on the machine nor could be pulled.
    #[error(
        "workload of deal {deal}: image `{image}` is not on this machine and could not be pulled: {source}"
    )]
    ImageUnavailable {
        /// The deal.
        deal: DealId,
        /// The image reference.
        image: String,
        /// The Engine's answer.
        #[source]
        source: bollard::errors::Error,
    },
    /// The deal's container kept exiting: it was restarted as often as allowed.
    #[error(
        "workload of deal {deal}: the container exited {exits} times (last exit code {exit_code}); not restarted again"
    )]
    CrashLoop {
        /// The deal.
        deal: DealId,
        /// How often it exited.
        exits: u32,
        /// Its last exit code.
        exit_code: i64,
        /// Whether the deal is to be closed for it (`close_on_crash`); `false`: kept open, with
        /// nothing started again.
        close_deal: bool,
    },
    /// The rules that keep containers off the supplier's network could not be installed.
    #[error("isolating the containers: `iptables {rule}`: {reason}")]
    Isolation {
        /// The iptables arguments.
        rule: String,
        /// What went wrong.
        reason: String,
    },
    /// The deal's customer declared a configuration (`configHash`) that has not been delivered
    /// yet: the agent announces `url` for it and starts the workload once it came. Not a failure.
    #[error("workload of deal {deal}: waiting for the customer's configuration at {url}")]
    ConfigPending {
        /// The deal.
        deal: DealId,
        /// Where the customer posts it (`config+http://…`).
        url: String,
    },
    /// The delivered configuration is not the deal's (signer, deal or hash): nothing runs.
    #[error("workload of deal {deal}: configuration refused: {source}")]
    ConfigRefused {
        /// The deal.
        deal: DealId,
        /// Why.
        #[source]
        source: snm_sdk::workload_config::WorkloadConfigError,
    },
    /// The Docker runtime's configuration cannot work.
    #[error("docker runtime: {0}")]
    DockerConfig(String),
    /// The runtime's metering file could not be read or written.
    #[error("workload of deal {deal}: meter file {}: {source}", path.display())]
    Meter {
        /// The deal.
        deal: DealId,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The command template is malformed.
    #[error("command template: {0}")]
    Template(String),
    /// The workload's directory or files could not be used.
    #[error("workload of deal {deal}: {path}: {source}")]
    Io {
        /// The deal.
        deal: DealId,
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The program could not be started.
    #[error("workload of deal {deal}: cannot run `{program}`: {source}")]
    Spawn {
        /// The deal.
        deal: DealId,
        /// The program of the command template.
        program: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The workload exited before it was ready.
    #[error("workload of deal {deal} exited during start ({status}); last output: {output}")]
    ExitedEarly {
        /// The deal.
        deal: DealId,
        /// Its exit status.
        status: String,
        /// The end of its log.
        output: String,
    },
    /// The command's program does not exist (or cannot be looked at).
    #[error("command template: the program {} cannot be used: {source}", program.display())]
    ProgramMissing {
        /// The program, as the command names it.
        program: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The command's program is not an executable file.
    #[error("command template: the program {} is not an executable file", program.display())]
    NotExecutable {
        /// The program.
        program: PathBuf,
    },
    /// The command's program is a bare name that no directory of `PATH` holds.
    #[error("command template: the program `{program}` is in no directory of PATH ({path})")]
    NotOnPath {
        /// The program's name.
        program: String,
        /// The directories searched.
        path: String,
    },
    /// Workloads' directories cannot be made under the runtime's directory.
    #[error("workload directory {}: cannot write there: {source}", dir.display())]
    DirNotWritable {
        /// The runtime's directory.
        dir: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The workload's stats file is not valid.
    #[error("workload of deal {deal}: stats file {path} is not valid: {reason}")]
    BadStats {
        /// The deal.
        deal: DealId,
        /// The stats file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Starts, watches and stops workloads. Implementations must be idempotent on [`stop`](Runtime::stop):
/// stopping a workload that already exited returns its usage.
pub trait Runtime: Send + Sync {
    /// Starts the workload of a deal.
    fn start(&self, spec: &WorkloadSpec) -> impl Future<Output = Result<Workload, RuntimeError>> + Send;

    /// Whether the workload still runs (a runtime may restart a workload that stopped by itself,
    /// a bounded number of times, before it answers no).
    fn is_running(&self, workload: &Workload) -> impl Future<Output = bool> + Send;

    /// The traffic processed so far.
    fn usage(&self, workload: &Workload) -> impl Future<Output = Result<Usage, RuntimeError>> + Send;

    /// Stops the workload (gracefully, then forcibly) and returns its final usage.
    fn stop(&self, workload: &Workload) -> impl Future<Output = Result<Usage, RuntimeError>> + Send;

    /// Checks that workloads can be started at all (the program exists, the directories can be
    /// written), so that an agent which could serve no deal refuses to start rather than take
    /// deals. The default checks nothing.
    fn check(&self) -> Result<(), RuntimeError> {
        Ok(())
    }
}
