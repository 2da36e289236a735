//! Receipts awaited in nonce order: an account's transactions are mined in the order of their
//! nonces, so while an earlier one of the same client is not mined, a later one cannot be either,
//! and polling for its receipt only loads the node.
//!
//! A client sending many transactions at once (a supplier placing 250 asks) used to poll every
//! one of them from its send on: on a devnet mining one block per transaction, 12.6 receipt polls
//! per transaction, which slowed the node's mining of the very transactions awaited
//! (`sdk/BENCHMARKS.md`). Now only the earliest awaited nonce of a client polls; the others wait
//! for it, and when it is mined the next one's first poll finds its receipt if the same block
//! held it. A waiting transaction is still replaced when its time comes (it wakes every
//! `poll_interval` for that, without a request), and a stuck earlier one holds it back only until
//! its own timeout.

use std::{
    collections::BTreeSet,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use tokio::sync::Notify;

/// The nonces a client awaits receipts for (see the [module documentation](self)).
#[derive(Debug, Default)]
pub(crate) struct ReceiptOrder {
    awaited: Mutex<BTreeSet<u64>>,
    /// Told each time an awaited nonce leaves.
    left: Notify,
}

impl ReceiptOrder {
    /// Marks `nonce` awaited until the returned turn is dropped.
    pub(crate) fn enter(&self, nonce: u64) -> Turn<'_> {
        self.awaited.lock().unwrap_or_else(PoisonError::into_inner).insert(nonce);
        Turn { order: self, nonce }
    }

    fn first(&self) -> Option<u64> {
        self.awaited.lock().unwrap_or_else(PoisonError::into_inner).first().copied()
    }
}

/// A transaction's place among its client's awaited receipts.
#[derive(Debug)]
pub(crate) struct Turn<'a> {
    order: &'a ReceiptOrder,
    nonce: u64,
}

impl Turn<'_> {
    /// Whether no earlier nonce of the client is awaited.
    pub(crate) fn is_first(&self) -> bool {
        self.order.first().is_none_or(|first| first >= self.nonce)
    }

    /// Returns once no earlier nonce of the client is awaited, or after `limit`, whichever comes
    /// first.
    pub(crate) async fn earlier_mined(&self, limit: Duration) {
        let wait = async {
            loop {
                let left = self.order.left.notified();
                tokio::pin!(left);
                // Registered before the check, so a nonce leaving in between is not missed.
                left.as_mut().enable();
                if self.is_first() {
                    return;
                }
                left.await;
            }
        };
        // Past the limit the caller polls anyway, and its own timeout decides.
        let _ = tokio::time::timeout(limit, wait).await;
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.order.awaited.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.nonce);
        self.order.left.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn a_later_nonce_waits_for_the_earlier_one_only() {
        let order = Arc::new(ReceiptOrder::default());
        let first = order.enter(7);
        let second = order.enter(8);
        // The earliest goes at once.
        tokio::time::timeout(Duration::from_secs(5), first.earlier_mined(Duration::from_secs(60)))
            .await
            .expect("the earliest nonce does not wait");
        // The later one waits while the earlier is awaited ...
        let waited =
            tokio::time::timeout(Duration::from_millis(50), second.earlier_mined(Duration::from_secs(60)))
                .await;
        assert!(waited.is_err(), "nonce 8 went on while 7 was awaited");
        // ... and goes once it left.
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), second.earlier_mined(Duration::from_secs(60)))
            .await
            .expect("nonce 8 went on once 7 left");
    }

    #[tokio::test]
    async fn a_stuck_earlier_nonce_holds_a_later_one_only_up_to_its_limit() {
        let order = ReceiptOrder::default();
        let _stuck = order.enter(1);
        let later = order.enter(2);
        tokio::time::timeout(Duration::from_secs(5), later.earlier_mined(Duration::from_millis(20)))
            .await
            .expect("the limit ends the wait");
    }
}
