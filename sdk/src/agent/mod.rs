//! The supplier agent: runs a master's workers, deploys each deal's workload and meters it.
//!
//! - [`runtime`]: where workloads run ([`Runtime`], with [`ProcessRuntime`] as the embedded default).

pub mod runtime;

pub use runtime::{ProcessRuntime, Runtime, RuntimeError, Usage, Workload, WorkloadSpec};
