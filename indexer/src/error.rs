//! What can go wrong in the indexer.

use alloy::primitives::Address;

/// An error of the indexer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexerError {
    /// The database refused a statement or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations could not be applied.
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL `{url}`: expected `sqlite://FILE` or `postgres://USER@HOST/DB`")]
    UnsupportedDatabase {
        /// The URL given.
        url: String,
    },
    /// The node refused or failed a request.
    #[error("RPC error: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// The node's answer was incomplete.
    #[error("the node returned no block {number}")]
    MissingBlock {
        /// The block asked for.
        number: u64,
    },
    /// A log of a watched contract could not be decoded.
    #[error("cannot decode the log {log_index} of block {block} from {address}: {reason}")]
    UndecodableLog {
        /// The contract.
        address: Address,
        /// Its block.
        block: u64,
        /// Its index in the block.
        log_index: u64,
        /// Why.
        reason: String,
    },
    /// A row of the database does not hold what the indexer wrote.
    #[error("corrupt row in `{table}`: {source}")]
    CorruptRow {
        /// The table.
        table: &'static str,
        /// The JSON decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The database was filled from another deployment or chain.
    #[error(
        "the database indexes market {found_market} on chain {found_chain}, not market {market} on chain {chain}: use another database"
    )]
    OtherDeployment {
        /// The market asked for.
        market: Address,
        /// The chain asked for.
        chain: u64,
        /// The market in the database.
        found_market: String,
        /// The chain in the database.
        found_chain: i64,
    },
    /// The runtime is shutting down: a batch's decoding was cancelled.
    #[error("the indexer is shutting down")]
    ShuttingDown,
    /// A number does not fit the database's 64-bit integers.
    #[error("{what} {value} does not fit a 64-bit signed integer")]
    TooLarge {
        /// What the number is.
        what: &'static str,
        /// The number.
        value: u64,
    },
}
