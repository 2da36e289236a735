//! Event streams that resume from a block cursor.
//!
//! An [`EventStream`] reads one contract's logs with `eth_getLogs` in block ranges, decodes them into
//! the contract's generated events enum (for example `IMarket::IMarketEvents`) and remembers the
//! position of the last event it returned as an [`EventCursor`]. Saving the cursor and passing it to
//! [`EventStream::resume`] later gives every following event exactly once: nothing missed, nothing
//! repeated, across restarts of the reader or of the node. Only blocks at least `confirmations` deep
//! are read, so a reorganisation shallower than that cannot take back a delivered event.

use std::{collections::VecDeque, marker::PhantomData, time::Duration};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::SolEventInterface,
};
use serde::{Deserialize, Serialize};

use crate::Error;

/// A position in a contract's event history: everything up to and including the log at
/// (`block`, `log_index`) has been delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventCursor {
    /// Block of the last delivered log.
    pub block: u64,
    /// Index, within its block, of the last delivered log; `None` when nothing in `block` was
    /// delivered yet (the cursor then points just before `block`).
    pub log_index: Option<u64>,
}

impl EventCursor {
    /// A cursor from which every event from block `block` onwards is delivered.
    pub const fn from_block(block: u64) -> Self {
        Self { block, log_index: None }
    }

    /// Whether a log at (`block`, `log_index`) comes after this cursor.
    pub fn precedes(&self, block: u64, log_index: u64) -> bool {
        match self.log_index {
            None => block >= self.block,
            Some(index) => block > self.block || (block == self.block && log_index > index),
        }
    }
}

/// One decoded event with where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event<E> {
    /// The decoded event.
    pub event: E,
    /// Block it was emitted in.
    pub block: u64,
    /// Its index in the block.
    pub log_index: u64,
    /// The transaction that emitted it.
    pub transaction: B256,
}

impl<E> Event<E> {
    /// The cursor that resumes right after this event.
    pub fn cursor(&self) -> EventCursor {
        EventCursor { block: self.block, log_index: Some(self.log_index) }
    }
}

/// Most blocks one `eth_getLogs` query spans: public RPC providers refuse much wider ranges.
pub const MAX_BLOCKS_PER_QUERY: u64 = 10_000;

/// The block ranges `(start, end)`, in order, that cover `from..=to` with at most `max_blocks`
/// blocks each: one `eth_getLogs` query per range. None when `from` is past `to`.
pub(crate) fn block_ranges(from: u64, to: u64, max_blocks: u64) -> impl Iterator<Item = (u64, u64)> {
    let span = max_blocks.max(1) - 1;
    let mut next = (from <= to).then_some(from);
    std::iter::from_fn(move || {
        let start = next?;
        let end = to.min(start.saturating_add(span));
        next = end.checked_add(1).filter(|n| *n <= to);
        Some((start, end))
    })
}

/// Streams one contract's events, decoded as `E` (a `sol!`-generated events enum), from a cursor.
#[derive(Debug)]
pub struct EventStream<P, E> {
    provider: P,
    address: Address,
    cursor: EventCursor,
    confirmations: u64,
    max_blocks_per_query: u64,
    poll_interval: Duration,
    pending: VecDeque<Event<E>>,
    _events: PhantomData<E>,
}

impl<P: Provider, E: SolEventInterface> EventStream<P, E> {
    /// A stream of `address`'s events from block 0.
    pub fn new(provider: P, address: Address) -> Self {
        Self::resume(provider, address, EventCursor::default())
    }

    /// A stream of `address`'s events after `cursor`.
    pub fn resume(provider: P, address: Address, cursor: EventCursor) -> Self {
        Self {
            provider,
            address,
            cursor,
            confirmations: 0,
            max_blocks_per_query: MAX_BLOCKS_PER_QUERY,
            poll_interval: Duration::from_millis(250),
            pending: VecDeque::new(),
            _events: PhantomData,
        }
    }

    /// Only read blocks at least this many blocks below the chain's head (default 0).
    pub fn with_confirmations(mut self, confirmations: u64) -> Self {
        self.confirmations = confirmations;
        self
    }

    /// How often [`EventStream::next`] asks the node for new blocks (default 250 ms).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The position after the last event this stream returned: save it to resume later.
    pub fn cursor(&self) -> EventCursor {
        self.cursor
    }

    /// Every event not yet returned, up to the confirmed head, in chain order. Returns an empty
    /// list when there is none. On error nothing is consumed: calling again retries.
    pub async fn poll(&mut self) -> Result<Vec<Event<E>>, Error> {
        self.fill().await?;
        let events: Vec<Event<E>> = self.pending.drain(..).collect();
        if let Some(last) = events.last() {
            self.cursor = last.cursor();
        }
        Ok(events)
    }

    /// The next event, waiting for it (polling every poll interval) as long as it takes. Transport
    /// errors are returned; the stream stays usable and retrying resumes where it stopped.
    pub async fn next(&mut self) -> Result<Event<E>, Error> {
        loop {
            if self.pending.is_empty() {
                self.fill().await?;
            }
            if let Some(event) = self.pending.pop_front() {
                self.cursor = event.cursor();
                return Ok(event);
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// Reads logs after the cursor (and after anything already pending) up to the confirmed head.
    async fn fill(&mut self) -> Result<(), Error> {
        let head = self.provider.get_block_number().await?.saturating_sub(self.confirmations);
        let mut from = self.pending.back().map_or(self.cursor, Event::cursor);
        for (start, end) in block_ranges(from.block, head, self.max_blocks_per_query) {
            let filter = Filter::new().address(self.address).from_block(start).to_block(end);
            let logs = self.provider.get_logs(&filter).await?;
            for log in logs {
                let Some(event) = self.decode(&log)? else { continue };
                if from.precedes(event.block, event.log_index) {
                    from = event.cursor();
                    self.pending.push_back(event);
                }
            }
        }
        Ok(())
    }

    fn decode(&self, log: &Log) -> Result<Option<Event<E>>, Error> {
        let (Some(block), Some(log_index), Some(transaction)) =
            (log.block_number, log.log_index, log.transaction_hash)
        else {
            return Ok(None); // pending logs have no position yet; they come back once mined
        };
        match E::decode_log(&log.inner) {
            Ok(decoded) => Ok(Some(Event { event: decoded.data, block, log_index, transaction })),
            Err(error) => Err(Error::UndecodableEvent {
                address: self.address,
                block,
                log_index,
                reason: error.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::block_ranges;

    #[test]
    fn block_ranges_cover_the_blocks_once_in_order() {
        let ranges = |from, to, max| block_ranges(from, to, max).collect::<Vec<_>>();
        assert_eq!(ranges(0, 25, 10), [(0, 9), (10, 19), (20, 25)]);
        assert_eq!(ranges(5, 5, 10), [(5, 5)]);
        assert_eq!(ranges(6, 5, 10), []);
        assert_eq!(ranges(u64::MAX - 1, u64::MAX, 10), [(u64::MAX - 1, u64::MAX)]);
    }
}
