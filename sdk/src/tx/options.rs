//! How transactions are sent, awaited and replaced: [`TxOptions`].

use std::time::Duration;

/// How transactions are sent, awaited and replaced.
///
/// The clients use all of it; [`crate::provider::connect_http`] also gives the provider's own
/// stack what concerns every transaction sent through it (the fee cap, how long a nonce is
/// remembered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxOptions {
    /// Longest wait for a receipt, replacements included (default 120 s).
    pub receipt_timeout: Duration,
    /// Longest pause between two polls of a receipt, a match or a new block (default 100 ms; the
    /// first polls come sooner).
    pub poll_interval: Duration,
    /// Gas limit above the node's estimate, in percent (default 25): room for state that changes
    /// between the estimate and the block.
    pub gas_margin_percent: u64,
    /// How long a transaction may wait for its receipt before it is replaced (same call and nonce,
    /// higher fees), and again after each replacement (default 30 s: two or three of Ethereum's
    /// blocks, by when a fairly priced transaction is mined; a devnet mines in milliseconds, so
    /// it never comes to this there). `None`: never replace.
    pub replace_after: Option<Duration>,
    /// How much each replacement raises both `maxFeePerGas` and `maxPriorityFeePerGas` over the
    /// version before, in percent (default 12). Less than [`MIN_FEE_BUMP_PERCENT`](crate::tx::MIN_FEE_BUMP_PERCENT) counts as 10:
    /// geth and reth refuse a smaller raise as "replacement transaction underpriced". A
    /// replacement also offers at least the node's current fee estimate, so a base fee that rose
    /// is caught up with in one step.
    pub fee_bump_percent: u64,
    /// The most `maxFeePerGas` any version may offer, in wei per gas: "never pay more than this"
    /// (default `None`: no cap). The first version's fees are held under it too, and so are those
    /// of every transaction sent through a provider of [`crate::provider::connect_http`] (its
    /// [`FeeCapFiller`](crate::provider::FeeCapFiller)). When a replacement would have to go
    /// above it, the transaction waits for the rest of [`Self::receipt_timeout`] without bumping,
    /// and [`Error::NotMined`](crate::Error::NotMined) says the cap was reached.
    pub max_fee_per_gas_cap: Option<u128>,
}

impl Default for TxOptions {
    fn default() -> Self {
        Self {
            receipt_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_millis(100),
            gas_margin_percent: 25,
            replace_after: Some(Duration::from_secs(30)),
            fee_bump_percent: 12,
            max_fee_per_gas_cap: None,
        }
    }
}
