//! Reward round files registered with the indexer: each account's cumulative amount and Merkle
//! proof, read from the round's OpenZeppelin `standard-v1` dump (`round-<N>.merkle.json`), so that
//! `GET /v1/claims/{account}` hands a supplier what it needs to claim without the whole dump; and,
//! when the round file (`round-<N>.json`) lies beside the dump, each account's traffic and reward
//! in it, which `GET /v1/suppliers/{master}` shows.

use std::path::{Path, PathBuf};

use snm_sdk::rewards::{AccountReward, RewardsError, Round, StandardMerkleTree};

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
    /// The round file beside the dump could not be read or does not add up.
    #[error("cannot load the round file {}: {source}", path.display())]
    RoundFile {
        /// The file.
        path: PathBuf,
        /// The reward engine's error.
        #[source]
        source: RewardsError,
    },
    /// The round file beside the dump holds another tree than the dump.
    #[error("the round file {} has root {file_root}, the dump {dump_root}", path.display())]
    OtherRoot {
        /// The round file.
        path: PathBuf,
        /// Its root.
        file_root: alloy::primitives::B256,
        /// The dump's root.
        dump_root: alloy::primitives::B256,
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
    let traffic = round_file_traffic(path, &tree).await?;
    db.register_round(round, &entries, &traffic).await?;
    Ok((tree, entries.len()))
}

/// Each account's traffic and reward from the round file beside the dump (`round-<N>.json` for
/// `round-<N>.merkle.json`); nothing when there is none.
async fn round_file_traffic(
    dump: &Path,
    tree: &StandardMerkleTree,
) -> Result<Vec<AccountReward>, RegisterError> {
    let Some(name) = dump.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".merkle.json"))
    else {
        return Ok(Vec::new());
    };
    let path = dump.with_file_name(format!("{name}.json"));
    if !path.exists() {
        return Ok(Vec::new());
    }
    let owned = path.clone();
    let file = tokio::task::spawn_blocking(move || Round::load(&owned))
        .await?
        .map_err(|source| RegisterError::RoundFile { path: path.clone(), source })?;
    if file.root() != tree.root() {
        return Err(RegisterError::OtherRoot { path, file_root: file.root(), dump_root: tree.root() });
    }
    Ok(file.accounts().to_vec())
}
