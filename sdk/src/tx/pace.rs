//! How soon a client polls for a receipt: no faster than its transactions are mined.
//!
//! A receipt is polled at once (a devnet mines as it receives), then every few milliseconds, up to
//! [`TxOptions::poll_interval`](crate::tx::TxOptions::poll_interval). When the node takes longer
//! (a chain's block time, or a devnet saturated by a thousand agents), most of those polls find
//! nothing: [`MiningPace`] remembers how long the client's last transaction took from its send to
//! its receipt, and the polls after the first few fast ones are at least a quarter of that apart (a
//! few polls per block instead of one every 100 ms: 120 for one of Ethereum's 12 s blocks).
//!
//! The first poll and the fast ones after it (a millisecond apart) stay: a client that learned a
//! long wait while the node was busy must not keep it once the node is idle again (an earlier
//! version that waited before the first poll made the main job's claims after a busy phase take
//! 10.6 s instead of 1.2 s, see `sdk/BENCHMARKS.md`; one that spaced every poll after the first
//! made 500 suppliers' claims, one after the other, wait a learned pause each). An idle devnet
//! mines within the fast polls, and that receipt brings the pace back down at once.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use super::receipt_order::ReceiptOrder;

/// Parts of the last time-to-receipt between two polls of a receipt.
const POLLS_PER_MINING: u32 = 4;

/// The longest least pause: a quarter of Ethereum's block time. A transaction that waited long for
/// another reason (underpriced until replaced) does not slow the next one's polls beyond it.
const MOST_LEAST_PAUSE: Duration = Duration::from_secs(3);

/// How long a client's last transaction took to be mined (see the [module documentation](self)).
#[derive(Debug, Default)]
pub(crate) struct MiningPace {
    /// Microseconds from the send to the receipt of the last transaction mined; 0 before any.
    last_micros: AtomicU64,
    /// The nonces awaited, polled in order (see `receipt_order`).
    order: ReceiptOrder,
}

impl MiningPace {
    /// The least pause between two polls of a receipt after the first.
    pub(crate) fn least_pause(&self) -> Duration {
        (Duration::from_micros(self.last_micros.load(Ordering::Relaxed)) / POLLS_PER_MINING)
            .min(MOST_LEAST_PAUSE)
    }

    /// The client's awaited nonces.
    pub(crate) fn order(&self) -> &ReceiptOrder {
        &self.order
    }

    /// Records that a transaction was mined `took` after it was sent.
    pub(crate) fn mined_after(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.last_micros.store(micros, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_are_a_quarter_of_the_last_mining_time_apart() {
        let pace = MiningPace::default();
        assert_eq!(pace.least_pause(), Duration::ZERO, "nothing known: the fast polls");
        pace.mined_after(Duration::from_secs(12));
        assert_eq!(pace.least_pause(), Duration::from_secs(3));
        pace.mined_after(Duration::from_secs(60));
        assert_eq!(pace.least_pause(), Duration::from_secs(3), "at most a quarter of Ethereum's block");
        pace.mined_after(Duration::from_millis(2));
        assert_eq!(pace.least_pause(), Duration::from_micros(500));
    }
}
