//! When to ask for a receipt first: [`ReceiptPace`] learns how long the node takes to mine a
//! transaction the client sent, so that the first poll comes about then instead of at once (a
//! poll before the block is a wasted request).

use std::{
    sync::{Mutex, PoisonError},
    time::Duration,
};

/// How long after its send a transaction's receipt is first asked for, learned from the receipts
/// that came: a little less than the last wait it took, and a little less again each time the
/// first poll already found the receipt, so that it follows the node when it speeds up.
#[derive(Debug, Default)]
pub(crate) struct ReceiptPace(Mutex<Duration>);

impl ReceiptPace {
    /// The pause before the first poll (at most `longest`).
    pub(crate) fn first_wait(&self, longest: Duration) -> Duration {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).min(longest)
    }

    /// Learns from a receipt found `waited` after the send, at the `polls`-th poll.
    pub(crate) fn found(&self, waited: Duration, polls: u32) {
        let mut wait = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *wait = if polls <= 1 {
            // Found at once: perhaps it was there sooner (and the wait learned may be longer than
            // the one used, which was capped).
            (*wait).min(waited) * 3 / 4
        } else {
            // Found later: the node took about `waited`.
            waited * 7 / 8
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_first_poll_follows_the_nodes_pace() {
        let pace = ReceiptPace::default();
        assert_eq!(pace.first_wait(100 * MS), Duration::ZERO, "nothing learned: at once");
        pace.found(8 * MS, 5);
        assert_eq!(pace.first_wait(100 * MS), 7 * MS, "a little less than it took");
        pace.found(7 * MS, 1);
        assert!(pace.first_wait(100 * MS) < 7 * MS, "found at once: try sooner");
        pace.found(Duration::from_secs(12), 40);
        assert_eq!(pace.first_wait(100 * MS), 100 * MS, "never longer than the poll interval");
        // After a long wait, a receipt found at the first poll brings the wait back down from the
        // one used, not from the one learned.
        pace.found(101 * MS, 1);
        assert!(pace.first_wait(100 * MS) < 80 * MS);
    }
}
