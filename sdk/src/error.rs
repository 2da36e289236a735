use alloy::transports::TransportError;

/// Everything that can go wrong in the SDK.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The JSON-RPC endpoint could not be reached or answered with an error.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// A contract call or deployment failed (reverted, or could not be sent).
    #[error("contract call: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// A transaction was sent but its receipt could not be obtained.
    #[error("pending transaction: {0}")]
    PendingTransaction(#[from] alloy::providers::PendingTransactionError),
    /// The local `anvil` node could not be started.
    #[error("devnet: could not start anvil at `{path}`: {reason}")]
    Devnet {
        /// The anvil binary that was tried.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// A log of a contract could not be decoded as one of its events (wrong address or ABI).
    #[error("log {log_index} of block {block} from {address} is not one of its events: {reason}")]
    UndecodableEvent {
        /// The contract that emitted it.
        address: alloy::primitives::Address,
        /// Its block.
        block: u64,
        /// Its index in the block.
        log_index: u64,
        /// The decoder's message.
        reason: String,
    },
    /// A value could not be parsed.
    #[error("cannot parse `{input}`: {reason}")]
    Parse {
        /// The text that was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The reward engine failed (bad input, config or previous round; names file and line).
    #[error(transparent)]
    Rewards(#[from] crate::rewards::RewardsError),
}
