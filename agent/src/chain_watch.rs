//! One reader of the market's deal events for all the agents of a process.
//!
//! An agent alone reads its deals with its own [`DealWatch`]: the latest block every round, and
//! every `DealOpened` and `DealClosed` of the market when one came (a `DealClosed` does not name
//! the master, so the node cannot filter them by master). N agents in one process that way ask the
//! node N times for the same logs and each remembers the master of every open deal of the market.
//! A [`DealFeed`] reads them once for all of them: the first agent to poll after the feed's
//! interval reads the new logs, and each event goes to the queue of the master it concerns (a
//! `DealClosed` through the deals the feed saw open, or the market for an older deal); the other
//! agents only take their queue. An agent subscribes with the position saved in its state; one
//! whose position is behind what the feed already read keeps a watch of its own.
//!
//! A feed [following](DealFeed::following) the node's pushed blocks ([`ChainHeads`]) reads only
//! once a block newer than its last read was pushed (or a new subscription began, after which
//! blocks may have come unseen): an idle chain costs no request. While the subscription is down
//! it reads once per interval, as without one.

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::{Arc, Mutex as SyncMutex, PoisonError, Weak},
    time::{Duration, Instant},
};

use alloy::{primitives::Address, providers::Provider, sol_types::SolEvent};
use snm_sdk::{
    Error, Supplier,
    bindings::Market::{self, MarketEvents},
    events::{Batch, Event, EventCursor, Rollback, StreamPosition},
    market::{DealClosed, DealId, DealOpened},
    services::{MarketEventStream, MarketService},
    supplier::{DealEvent, DealWatch},
};
use tokio::sync::Mutex;

use crate::{
    heads::{ChainHeads, HeadsState},
    shared_clock::SharedClock,
};

/// The deal events of the agents of one process, read once for all (see the
/// [module](self) documentation). Clones share the reader.
pub struct DealFeed<P> {
    inner: Arc<Mutex<FeedReader<P>>>,
    clock: SharedClock,
}

impl<P> Clone for DealFeed<P> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), clock: self.clock.clone() }
    }
}

impl<P> fmt::Debug for DealFeed<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DealFeed").finish_non_exhaustive()
    }
}

struct FeedReader<P> {
    market: MarketService<P>,
    /// Created by the first poll, from the earliest position subscribed until then.
    stream: Option<MarketEventStream<P>>,
    start: Option<StreamPosition>,
    /// After the last event routed.
    cursor: EventCursor,
    /// Events read but not routed yet (a lookup of a deal's master failed): retried first.
    pending: VecDeque<Event<MarketEvents>>,
    /// The master of every deal seen opening and not closed yet.
    masters: HashMap<DealId, Address>,
    subscribers: HashMap<Address, Weak<SyncMutex<Queue>>>,
    last_read: Option<Instant>,
    every: Duration,
    heads: Option<ChainHeads>,
    /// The subscription's session and latest block number when the last read began.
    read_at_head: Option<(u64, Option<u64>)>,
}

/// What the feed has for one master and not yet handed over.
#[derive(Debug, Default)]
struct Queue {
    /// Events at or before this were handed over before the subscription (its saved position).
    after: EventCursor,
    /// The position it subscribed with, reported while the feed has not read past it.
    resumed: Option<StreamPosition>,
    rollback: Option<Rollback>,
    events: Vec<Event<DealEvent>>,
}

impl<P: Provider + Clone> DealFeed<P> {
    /// A feed of `market`'s deal events that asks the node at most once per `every`, however
    /// many agents poll it (the agents' own `poll_every` is a good choice).
    pub fn new(market: MarketService<P>, every: Duration) -> Self {
        Self::with_heads(market, every, None)
    }

    /// A feed of `market`'s deal events that reads once a block newer than its last read was
    /// pushed by `heads`, and at most once per `every` while the subscription is down; its clock
    /// follows `heads` too (see the [module](self) documentation).
    pub fn following(market: MarketService<P>, every: Duration, heads: ChainHeads) -> Self {
        Self::with_heads(market, every, Some(heads))
    }

    fn with_heads(market: MarketService<P>, every: Duration, heads: Option<ChainHeads>) -> Self {
        let clock = match &heads {
            Some(heads) => SharedClock::following(every, heads.clone()),
            None => SharedClock::new(every),
        };
        let reader = FeedReader {
            market,
            stream: None,
            start: None,
            cursor: EventCursor::default(),
            pending: VecDeque::new(),
            masters: HashMap::new(),
            subscribers: HashMap::new(),
            last_read: None,
            every,
            heads,
            read_at_head: None,
        };
        Self { inner: Arc::new(Mutex::new(reader)), clock }
    }

    /// The chain's time for the feed's agents, read at most once per the feed's interval.
    pub fn clock(&self) -> SharedClock {
        self.clock.clone()
    }

    /// The pushed blocks the feed follows, if it follows any.
    pub fn heads(&self) -> Option<ChainHeads> {
        self.clock.heads().cloned()
    }

    /// The deals of `supplier`'s master after `position`: from this feed when it has not read past
    /// `position` yet (nor has another subscriber for the master), else from a watch of its own.
    pub async fn subscribe(&self, supplier: &Supplier<P>, position: StreamPosition) -> DealSource<P> {
        let master = supplier.master();
        let mut reader = self.inner.lock().await;
        let taken = reader.subscribers.get(&master).is_some_and(|queue| queue.strong_count() > 0);
        let behind = reader.stream.is_some() && position.cursor < reader.cursor;
        if taken || behind {
            return DealSource::Own(Box::new(supplier.watch_deals_at(position)));
        }
        if reader.stream.is_none() && reader.start.as_ref().is_none_or(|start| position.cursor < start.cursor)
        {
            reader.start = Some(position.clone());
        }
        let queue = Arc::new(SyncMutex::new(Queue {
            after: position.cursor,
            resumed: Some(position.clone()),
            ..Queue::default()
        }));
        reader.subscribers.insert(master, Arc::downgrade(&queue));
        DealSource::Shared(DealSubscription { feed: self.clone(), queue, position })
    }
}

impl<P: Provider + Clone> FeedReader<P> {
    /// Whether a read may find something new: see [`refresh`](Self::refresh).
    fn due(&self, heads: Option<HeadsState>) -> bool {
        if !self.pending.is_empty() || self.last_read.is_none() {
            return true;
        }
        match heads {
            Some(heads) if heads.live => {
                self.read_at_head != Some((heads.session, heads.latest.map(|head| head.number)))
            }
            _ => self.last_read.is_some_and(|last| last.elapsed() >= self.every),
        }
    }

    /// Reads the new deal events and routes them, unless nothing new can have come: the last read
    /// is younger than `every`, or, with a live subscription, no block was pushed since.
    async fn refresh(&mut self) -> Result<(), Error> {
        let heads = self.heads.as_ref().map(ChainHeads::state);
        if !self.due(heads) {
            return Ok(());
        }
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let start = self.start.clone().unwrap_or_default();
                self.cursor = start.cursor;
                let stream = self
                    .market
                    .events_at(start)
                    .only([Market::DealOpened::SIGNATURE_HASH, Market::DealClosed::SIGNATURE_HASH]);
                self.stream.insert(stream)
            }
        };
        let batch = stream.poll().await?;
        self.last_read = Some(Instant::now());
        // What was known when the read began: a block pushed during it is read next time.
        self.read_at_head = heads.map(|heads| (heads.session, heads.latest.map(|head| head.number)));
        if let Some(rollback) = batch.rollback {
            self.roll_back(rollback);
        }
        self.pending.extend(batch.events);
        while let Some(event) = self.pending.pop_front() {
            match self.route(&event).await {
                Ok(()) => self.cursor = event.cursor(),
                Err(error) => {
                    self.pending.push_front(event);
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Forgets what came from the blocks after the rollback's and tells every subscriber.
    fn roll_back(&mut self, rollback: Rollback) {
        let to_block = rollback.to_block;
        self.pending.retain(|event| event.block <= to_block);
        // A deal id opened in an orphaned block may name another deal now.
        self.masters.clear();
        if self.cursor.block > to_block {
            self.cursor = EventCursor::from_block(to_block + 1);
        }
        for queue in self.subscribers.values().filter_map(Weak::upgrade) {
            let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.events.retain(|event| event.block <= to_block);
            let earliest = queue.rollback.map_or(to_block, |r| r.to_block.min(to_block));
            queue.rollback = Some(Rollback { to_block: earliest });
        }
    }

    /// Hands `event` to the subscriber of the master it concerns, if there is one.
    async fn route(&mut self, event: &Event<MarketEvents>) -> Result<(), Error> {
        let (master, deal_event) = match &event.event {
            MarketEvents::DealOpened(opened) => {
                let opened = DealOpened::from(opened);
                self.masters.insert(opened.id, opened.master);
                (opened.master, DealEvent::Opened(opened))
            }
            MarketEvents::DealClosed(closed) => {
                let closed = DealClosed::from(closed);
                let master = match self.masters.remove(&closed.id) {
                    Some(master) => master,
                    // Opened before the feed's start: the market knows whose it is.
                    None => match self.market.deal(closed.id).await? {
                        Some(deal) => deal.master,
                        None => return Ok(()),
                    },
                };
                (master, DealEvent::Closed(closed))
            }
            _ => return Ok(()),
        };
        let Some(weak) = self.subscribers.get(&master) else { return Ok(()) };
        let Some(queue) = weak.upgrade() else {
            self.subscribers.remove(&master);
            return Ok(());
        };
        let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.after.precedes(event.block, event.log_index) {
            queue.events.push(Event {
                event: deal_event,
                block: event.block,
                log_index: event.log_index,
                transaction: event.transaction,
            });
        }
        Ok(())
    }

    /// The position after the last event routed, with the hashes of the blocks read up to it.
    fn position(&self) -> Option<StreamPosition> {
        let mut position = self.stream.as_ref()?.position();
        if self.cursor < position.cursor {
            // Events read but not routed yet are read again after a resume.
            let last = match self.cursor.log_index {
                Some(_) => Some(self.cursor.block),
                None => self.cursor.block.checked_sub(1),
            };
            position = StreamPosition { cursor: self.cursor, recent: position.recent.until(last) };
        }
        Some(position)
    }
}

/// One agent's share of a [`DealFeed`]: its master's deal events, as its own [`DealWatch`] would
/// return them.
pub struct DealSubscription<P> {
    feed: DealFeed<P>,
    queue: Arc<SyncMutex<Queue>>,
    /// After the events handed over, taken with them.
    position: StreamPosition,
}

impl<P> fmt::Debug for DealSubscription<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DealSubscription").field("position", &self.position).finish_non_exhaustive()
    }
}

impl<P: Provider + Clone> DealSubscription<P> {
    /// The master's deal events not yet returned (see [`DealWatch::poll`]). On error nothing is
    /// lost: calling again retries.
    pub async fn poll(&mut self) -> Result<Batch<DealEvent>, Error> {
        let mut reader = self.feed.inner.lock().await;
        let read = reader.refresh().await;
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = Batch { rollback: queue.rollback.take(), events: std::mem::take(&mut queue.events) };
        if let Some(feed) = reader.position() {
            if feed.cursor >= queue.after {
                queue.resumed = None;
            }
            self.position = queue.resumed.clone().unwrap_or(feed);
        }
        match read {
            Err(error) if batch.events.is_empty() && batch.rollback.is_none() => Err(error),
            _ => Ok(batch),
        }
    }

    /// The position after the events returned: save it to resume (see [`DealWatch::position`]).
    pub fn position(&self) -> StreamPosition {
        self.position.clone()
    }
}

/// Where an agent reads its deals: a watch of its own, or its share of a process's [`DealFeed`].
#[derive(Debug)]
pub enum DealSource<P> {
    /// The agent's own reader.
    Own(Box<DealWatch<P>>),
    /// A share of a reader of the process.
    Shared(DealSubscription<P>),
}

impl<P: Provider + Clone> DealSource<P> {
    /// The deal events not yet returned.
    pub async fn poll(&mut self) -> Result<Batch<DealEvent>, Error> {
        match self {
            Self::Own(watch) => watch.poll().await,
            Self::Shared(subscription) => subscription.poll().await,
        }
    }

    /// The position after the events returned, to save.
    pub fn position(&self) -> StreamPosition {
        match self {
            Self::Own(watch) => watch.position(),
            Self::Shared(subscription) => subscription.position(),
        }
    }
}
