//! Why a devnet could not be started or used.

use std::path::PathBuf;

use super::ANVIL_ENV;

/// Why a devnet could not be started or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevnetError {
    /// The anvil binary could not be started.
    #[error(
        "could not start anvil at `{}`: {source} (install the pinned copy with `make toolchain`, or set {ANVIL_ENV})",
        path.display()
    )]
    Spawn {
        /// The binary that was tried.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: alloy::node_bindings::NodeError,
    },
    /// The thread that mines the periodic block could not be started.
    #[error("could not start the devnet's periodic block (a thread with its runtime): {source}")]
    Sweeper {
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// Anvil started without any account.
    #[error("anvil at `{}` gave no accounts", path.display())]
    NoAccounts {
        /// The binary.
        path: PathBuf,
    },
    /// The restarted anvil refused the saved chain state.
    #[error("anvil at `{}` refused to load the saved state", path.display())]
    LoadState {
        /// The binary.
        path: PathBuf,
    },
    /// An account index beyond the devnet's accounts.
    #[error("the devnet has {accounts} accounts (0 to {}): there is no account {index}", accounts.saturating_sub(1))]
    NoAccount {
        /// The index asked for.
        index: usize,
        /// How many accounts the devnet has.
        accounts: u32,
    },
}
