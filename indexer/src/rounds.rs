//! Reward round files registered with the indexer: each account's cumulative amount and Merkle
//! proof, read from the round's OpenZeppelin `standard-v1` dump (`round-<N>.merkle.json`), so that
//! `GET /v1/claims/{account}` hands a supplier what it needs to claim without the whole dump.

use std::path::{Path, PathBuf};

use snm_sdk::rewards::{RewardsError, StandardMerkleTree};

use crate::{Database, IndexerError};

/// Why a round could not be registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// The dump could not be read or is not a valid tree.
    #[error("cannot load the round dump {}: {source}", path.display())]
    Dump {
        /// The file.
        path: PathBuf,
        /// The reward engine's error.
        #[source]
        source: RewardsError,
    },
    /// The database refused it.
    #[error("cannot store the round: {0}")]
    Store(#[from] IndexerError),
    /// The loading thread was lost.
    #[error("the thread loading the dump failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Registers round `round` from the dump at `path`; returns the tree (its root to compare with
/// the distributor's) and the number of accounts registered.
pub async fn register_dump(
    db: &Database,
    round: u64,
    path: &Path,
) -> Result<(StandardMerkleTree, usize), RegisterError> {
    let owned = path.to_owned();
    let tree = tokio::task::spawn_blocking(move || StandardMerkleTree::load_dump(&owned))
        .await?
        .map_err(|source| RegisterError::Dump { path: path.to_owned(), source })?;
    let entries: Vec<_> = tree
        .values()
        .iter()
        .map(|(account, amount)| (*account, *amount, tree.proof(*account).unwrap_or_default()))
        .collect();
    db.register_round(round, &entries).await?;
    Ok((tree, entries.len()))
}
