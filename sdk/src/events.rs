//! Event streams that resume from a block cursor and follow the chain through reorganisations.
//!
//! An [`EventStream`] reads one contract's logs with `eth_getLogs` in block ranges, decodes them into
//! the contract's generated events enum (for example `IMarket::IMarketEvents`) and remembers the
//! position of the last event it returned as an [`EventCursor`]. Saving the cursor and passing it to
//! [`EventStream::resume`] later gives every following event exactly once: nothing missed, nothing
//! repeated, across restarts of the reader or of the node.
//!
//! Only blocks at least `confirmations` deep are read ([`EventStream::with_confirmations`]; 0 by
//! default, which suits a devnet; see [`default_confirmations`] for public chains). A reorganisation
//! can still take back blocks the stream read, so the stream also keeps the hashes of the last
//! [`RECENT_BLOCKS`] blocks it read ([`RecentBlocks`]): on every poll it checks that the newest of
//! them is still on the chain and that the logs it reads belong to the block headers it saw. When
//! a block it delivered events from left the chain (or the head fell below it), it walks back to
//! the newest block still on the chain and reports a [`Rollback`] to it before delivering the
//! events of the canonical blocks: whoever derives state from the events undoes what came from
//! blocks after [`Rollback::to_block`] and applies the new events. Save the whole
//! [`StreamPosition`] (cursor and hashes) and resume with [`EventStream::resume_at`] to keep that
//! protection across restarts.

use std::{collections::VecDeque, marker::PhantomData, time::Duration};

use alloy::eips::BlockNumberOrTag;

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

/// How many recent block hashes a stream remembers: a reorganisation deeper than this is reported
/// as [`Error::ReorgTooDeep`] instead of being rolled back.
pub const RECENT_BLOCKS: usize = 256;

/// The confirmations this SDK suggests on the chain `chain_id`: none on a local devnet (anvil and
/// Hardhat use chain id 31337, whose blocks never reorganise on their own), and 3 elsewhere. On
/// Ethereum and the rollups built on it, reorganisations are one block deep almost always; 3 blocks
/// (about 36 s on Ethereum, a few seconds on an L2) keeps those from ever reaching a consumer, and a
/// deeper one is still detected and rolled back, so more confirmations only add delay.
pub const fn default_confirmations(chain_id: u64) -> u64 {
    match chain_id {
        31337 | 1337 => 0,
        _ => 3,
    }
}

/// A block the stream read: its number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockRef {
    /// Its number.
    pub number: u64,
    /// Its hash.
    pub hash: B256,
}

/// The hashes of the last blocks a stream read, oldest first, at most [`RECENT_BLOCKS`] of them:
/// what a stream compares with the chain to find out how far a reorganisation went.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecentBlocks(VecDeque<BlockRef>);

impl RecentBlocks {
    /// The newest block remembered.
    pub fn newest(&self) -> Option<BlockRef> {
        self.0.back().copied()
    }

    /// Every block remembered, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &BlockRef> + '_ {
        self.0.iter()
    }

    /// The blocks remembered up to `last` (none when `last` is `None`).
    pub fn until(mut self, last: Option<u64>) -> Self {
        match last {
            Some(last) => self.truncate_after(last),
            None => self.0.clear(),
        }
        self
    }

    /// Remembers `block` (replacing what was remembered at or after its number), forgetting the
    /// oldest beyond [`RECENT_BLOCKS`].
    fn push(&mut self, block: BlockRef) {
        while self.0.back().is_some_and(|b| b.number >= block.number) {
            self.0.pop_back();
        }
        self.0.push_back(block);
        while self.0.len() > RECENT_BLOCKS {
            self.0.pop_front();
        }
    }

    /// Forgets the blocks after `number`.
    fn truncate_after(&mut self, number: u64) {
        while self.0.back().is_some_and(|b| b.number > number) {
            self.0.pop_back();
        }
    }

    /// The hash remembered for block `number`.
    fn hash_of(&self, number: u64) -> Option<B256> {
        self.0.iter().rev().find(|b| b.number == number).map(|b| b.hash)
    }
}

/// Where a stream is, to save and resume from with [`EventStream::resume_at`]: the cursor past
/// the last event delivered and the hashes of the blocks read up to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPosition {
    /// After the last event delivered.
    pub cursor: EventCursor,
    /// The blocks read up to the cursor (see [`RecentBlocks`]).
    #[serde(default)]
    pub recent: RecentBlocks,
}

impl StreamPosition {
    /// A position with no block hashes known yet: every event after `cursor`.
    pub fn new(cursor: EventCursor) -> Self {
        Self { cursor, recent: RecentBlocks::default() }
    }
}

/// The chain reorganised past events already delivered: undo what was derived from every event
/// after block `to_block` (they may be gone or changed); the events that follow are the canonical
/// chain's from `to_block + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rollback {
    /// The newest block still on the chain (the common ancestor).
    pub to_block: u64,
}

/// What one [`EventStream::poll`] returns: possibly a rollback to apply first, then new events in
/// chain order. It dereferences to the events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch<E> {
    /// Undo what came from the blocks after this one before applying [`Batch::events`].
    pub rollback: Option<Rollback>,
    /// The new events, in chain order.
    pub events: Vec<Event<E>>,
}

impl<E> Default for Batch<E> {
    fn default() -> Self {
        Self { rollback: None, events: Vec::new() }
    }
}

impl<E> std::ops::Deref for Batch<E> {
    type Target = Vec<Event<E>>;

    fn deref(&self) -> &Self::Target {
        &self.events
    }
}

impl<E> std::ops::DerefMut for Batch<E> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.events
    }
}

impl<E> IntoIterator for Batch<E> {
    type Item = Event<E>;
    type IntoIter = std::vec::IntoIter<Event<E>>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.into_iter()
    }
}

/// Streams one contract's events, decoded as `E` (a `sol!`-generated events enum), from a cursor,
/// following reorganisations (see the [module documentation](self)).
#[derive(Debug)]
pub struct EventStream<P, E> {
    provider: P,
    address: Address,
    cursor: EventCursor,
    /// Blocks read, newest last; the newest is the last block read entirely.
    recent: RecentBlocks,
    /// The next block to read.
    next_block: u64,
    /// A rollback found but not reported yet.
    rollback: Option<Rollback>,
    /// Block of the last event delivered (or that may have been, after a resume).
    delivered_up_to: Option<u64>,
    confirmations: u64,
    max_blocks_per_query: u64,
    poll_interval: Duration,
    /// Only these events (by signature hash); empty: all.
    signatures: Vec<B256>,
    pending: VecDeque<Event<E>>,
    _events: PhantomData<E>,
}

impl<P: Provider, E: SolEventInterface> EventStream<P, E> {
    /// A stream of `address`'s events from block 0.
    pub fn new(provider: P, address: Address) -> Self {
        Self::resume(provider, address, EventCursor::default())
    }

    /// A stream of `address`'s events after `cursor`. No block hash is known yet, so a
    /// reorganisation that happened before this call goes unnoticed: prefer
    /// [`EventStream::resume_at`] with a saved [`StreamPosition`].
    pub fn resume(provider: P, address: Address, cursor: EventCursor) -> Self {
        Self::resume_at(provider, address, StreamPosition::new(cursor))
    }

    /// A stream of `address`'s events after `position` (saved from [`EventStream::position`]). If
    /// the blocks it remembers left the chain meanwhile, the first poll reports the rollback.
    pub fn resume_at(provider: P, address: Address, position: StreamPosition) -> Self {
        Self {
            provider,
            address,
            cursor: position.cursor,
            recent: position.recent,
            next_block: position.cursor.block,
            rollback: None,
            delivered_up_to: match position.cursor.log_index {
                Some(_) => Some(position.cursor.block),
                None => position.cursor.block.checked_sub(1),
            },
            confirmations: 0,
            max_blocks_per_query: MAX_BLOCKS_PER_QUERY,
            poll_interval: Duration::from_millis(250),
            signatures: Vec::new(),
            pending: VecDeque::new(),
            _events: PhantomData,
        }
    }

    /// Only read blocks at least this many blocks below the chain's head (default 0; see
    /// [`default_confirmations`]).
    pub fn with_confirmations(mut self, confirmations: u64) -> Self {
        self.confirmations = confirmations;
        self
    }

    /// Only the events whose signature hash is among `signatures` (say
    /// `[DealOpened::SIGNATURE_HASH, DealClosed::SIGNATURE_HASH]`): the node filters them, so a
    /// reader that needs few kinds of a busy contract's events is sent only those. Default: every
    /// event.
    pub fn only(mut self, signatures: impl IntoIterator<Item = B256>) -> Self {
        self.signatures = signatures.into_iter().collect();
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

    /// The cursor and the hashes of the blocks read up to it: save it and pass it to
    /// [`EventStream::resume_at`] to resume with reorganisations still detected.
    pub fn position(&self) -> StreamPosition {
        let mut recent = self.recent.clone();
        // Blocks read past the cursor are read again after a resume.
        match self.cursor.log_index {
            Some(_) => recent.truncate_after(self.cursor.block),
            None => match self.cursor.block.checked_sub(1) {
                Some(read) => recent.truncate_after(read),
                None => recent = RecentBlocks::default(),
            },
        }
        StreamPosition { cursor: self.cursor, recent }
    }

    /// Every event not yet returned, up to the confirmed head, in chain order, after a
    /// [`Rollback`] when the chain reorganised past events already returned. Returns an empty
    /// batch when there is nothing new. On error nothing is consumed: calling again retries.
    pub async fn poll(&mut self) -> Result<Batch<E>, Error> {
        self.fill().await?;
        let events: Vec<Event<E>> = self.pending.drain(..).collect();
        if let Some(last) = events.last() {
            self.cursor = last.cursor();
            self.delivered_up_to = Some(last.block);
        }
        Ok(Batch { rollback: self.rollback.take(), events })
    }

    /// The next event, waiting for it (polling every poll interval) as long as it takes. Transport
    /// errors are returned; the stream stays usable and retrying resumes where it stopped. When the
    /// chain reorganised past events already returned, [`Error::Reorged`] is returned once (the
    /// stream has rewound: the next events are the canonical chain's).
    pub async fn next(&mut self) -> Result<Event<E>, Error> {
        loop {
            if self.pending.is_empty() {
                self.fill().await?;
            }
            if let Some(rollback) = self.rollback.take() {
                return Err(Error::Reorged { to_block: rollback.to_block });
            }
            if let Some(event) = self.pending.pop_front() {
                self.cursor = event.cursor();
                self.delivered_up_to = Some(event.block);
                return Ok(event);
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// The hash of block `number` on the chain now, `None` past the head.
    async fn hash_at(&self, number: u64) -> Result<Option<BlockRef>, Error> {
        let block = self.provider.get_block_by_number(BlockNumberOrTag::Number(number)).await?;
        Ok(block.map(|b| BlockRef { number: b.header.number, hash: b.header.hash }))
    }

    /// Checks the remembered blocks against the chain, newest first, and rewinds to the newest one
    /// still on it (the common ancestor) when the newest is not.
    async fn follow_reorg(&mut self, head: &BlockRef, head_parent: B256) -> Result<(), Error> {
        let Some(newest) = self.recent.newest() else { return Ok(()) };
        let on_chain =
            |block: &BlockRef, found: Option<BlockRef>| found.is_some_and(|f| f.hash == block.hash);
        let still = if newest.number == head.number {
            newest.hash == head.hash
        } else if newest.number + 1 == head.number {
            // One new block: its parent hash tells, without a request.
            newest.hash == head_parent
        } else if newest.number > head.number {
            false
        } else {
            on_chain(&newest, self.hash_at(newest.number).await?)
        };
        if still {
            return Ok(());
        }
        let mut ancestor = None;
        let candidates: Vec<BlockRef> = self.recent.iter().rev().skip(1).copied().collect();
        for block in candidates {
            if block.number <= head.number && on_chain(&block, self.hash_at(block.number).await?) {
                ancestor = Some(block.number);
                break;
            }
        }
        let Some(ancestor) = ancestor else {
            return Err(Error::ReorgTooDeep { block: newest.number, hash: newest.hash, head: head.number });
        };
        self.recent.truncate_after(ancestor);
        self.pending.retain(|event| event.block <= ancestor);
        self.next_block = self.next_block.min(ancestor + 1);
        if self.cursor.block > ancestor {
            self.cursor = EventCursor::from_block(ancestor + 1);
        }
        // Only events already delivered need undoing: a reorganisation of blocks that held none
        // of this contract's events changes nothing for the consumer.
        if self.delivered_up_to.is_some_and(|block| block > ancestor) {
            self.delivered_up_to = Some(ancestor);
            let to_block = self.rollback.map_or(ancestor, |r| r.to_block.min(ancestor));
            self.rollback = Some(Rollback { to_block });
        }
        Ok(())
    }

    /// Reads logs after the cursor (and after anything already pending) up to the confirmed head,
    /// after checking that the blocks read before are still on the chain.
    async fn fill(&mut self) -> Result<(), Error> {
        let latest = self.provider.get_block_by_number(BlockNumberOrTag::Latest).await?;
        let Some(latest) = latest else { return Err(Error::NoLatestBlock) };
        let head = BlockRef { number: latest.header.number, hash: latest.header.hash };
        self.follow_reorg(&head, latest.header.parent_hash).await?;
        let target_number = head.number.saturating_sub(self.confirmations);
        if target_number < self.next_block {
            return Ok(());
        }
        let target = if target_number == head.number {
            head
        } else {
            match self.hash_at(target_number).await? {
                Some(target) => target,
                None => return Ok(()), // the chain shrank meanwhile: the next poll sees it
            }
        };
        let mut from = self.pending.back().map_or(self.cursor, Event::cursor);
        let mut read = Vec::new();
        let mut seen = RecentBlocks::default();
        for (start, end) in block_ranges(self.next_block, target.number, self.max_blocks_per_query) {
            let mut filter = Filter::new().address(self.address).from_block(start).to_block(end);
            if !self.signatures.is_empty() {
                filter = filter.event_signature(self.signatures.clone());
            }
            let logs = self.provider.get_logs(&filter).await?;
            for log in logs {
                if let (Some(number), Some(hash)) = (log.block_number, log.block_hash) {
                    let expected =
                        if number == target.number { Some(target.hash) } else { seen.hash_of(number) };
                    if expected.is_some_and(|expected| expected != hash) {
                        // The chain changed while it was read: nothing of this read is kept, the
                        // next poll checks the chain again.
                        return Ok(());
                    }
                    if expected.is_none() {
                        seen.push(BlockRef { number, hash });
                    }
                }
                let Some(event) = self.decode(&log)? else { continue };
                if from.precedes(event.block, event.log_index) {
                    from = event.cursor();
                    read.push(event);
                }
            }
        }
        for block in seen.iter() {
            self.recent.push(*block);
        }
        self.recent.push(target);
        self.next_block = target.number + 1;
        self.pending.extend(read);
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
    use super::*;

    fn block(number: u64, hash: u8) -> BlockRef {
        BlockRef { number, hash: B256::repeat_byte(hash) }
    }

    #[test]
    fn recent_blocks_keep_the_newest_window_and_replace_a_reorganised_tail() {
        let mut recent = RecentBlocks::default();
        for n in 0..(RECENT_BLOCKS as u64 + 10) {
            recent.push(block(n, 1));
        }
        assert_eq!(recent.iter().count(), RECENT_BLOCKS);
        assert_eq!(recent.iter().next().map(|b| b.number), Some(10));
        assert_eq!(recent.newest(), Some(block(RECENT_BLOCKS as u64 + 9, 1)));
        // A block at a number already remembered replaces it and everything after.
        recent.push(block(100, 2));
        assert_eq!(recent.newest(), Some(block(100, 2)));
        assert_eq!(recent.hash_of(99), Some(B256::repeat_byte(1)));
        assert_eq!(recent.clone().until(Some(50)).newest().map(|b| b.number), Some(50));
        assert_eq!(recent.until(None).newest(), None);
    }

    #[test]
    fn a_position_round_trips_through_json() {
        let mut recent = RecentBlocks::default();
        recent.push(block(7, 3));
        let position = StreamPosition { cursor: EventCursor { block: 7, log_index: Some(2) }, recent };
        let json = serde_json::to_string(&position).unwrap();
        assert_eq!(serde_json::from_str::<StreamPosition>(&json).unwrap(), position);
        let old: StreamPosition = serde_json::from_str(r#"{"cursor":{"block":3,"log_index":null}}"#).unwrap();
        assert_eq!(old, StreamPosition::new(EventCursor::from_block(3)));
    }

    #[test]
    fn block_ranges_cover_the_blocks_once_in_order() {
        let ranges = |from, to, max| block_ranges(from, to, max).collect::<Vec<_>>();
        assert_eq!(ranges(0, 25, 10), [(0, 9), (10, 19), (20, 25)]);
        assert_eq!(ranges(5, 5, 10), [(5, 5)]);
        assert_eq!(ranges(6, 5, 10), []);
        assert_eq!(ranges(u64::MAX - 1, u64::MAX, 10), [(u64::MAX - 1, u64::MAX)]);
    }
}
