//! The supplier agent: runs a master's workers, deploys each deal's workload and meters it.
//!
//! - [`config`]: the configuration file ([`AgentConfig`]).
//! - [`runtime`]: where workloads run ([`Runtime`], with [`ProcessRuntime`] as the embedded default).
//! - [`state`]: what the agent remembers across restarts ([`AgentState`] in a [`StateStore`]).

pub mod config;
pub mod runtime;
pub mod state;

pub use config::{AgentConfig, AskTemplate, WorkerConfig};

pub use runtime::{ProcessRuntime, Runtime, RuntimeError, Usage, Workload, WorkloadSpec};
pub use state::{AgentState, DealRecord, StateError, StateStore};
