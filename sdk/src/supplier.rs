//! The supplier's client: a master account with its workers, watching the deals of its machines.

use std::collections::{HashMap, VecDeque};

use alloy::{primitives::Address, providers::Provider, sol_types::SolEvent};
use serde::{Deserialize, Serialize};

use crate::{
    Client, Error,
    bindings::Market::{self, MarketEvents},
    events::{Batch, Event, EventCursor, StreamPosition},
    market::{DealClosed, DealId, DealOpened},
    services::{
        DistributorService, EscrowService, MarketEventStream, MarketService, OracleService, TokenService,
    },
};

/// A supplier: the master (payout) account of one or more workers (machines, each with its own
/// key), offering them with asks and paid by their deals.
///
/// It holds the services a supplier uses (see [`crate::services`]): asks, deals, workers and
/// endpoints through [`Self::market`], earnings through [`Self::escrow`] (for example
/// [`EscrowService::withdraw_all_earnings`]), the rate through [`Self::oracle`], its tokens
/// through [`Self::token`], campaign
/// rewards through [`Self::distributor`]. Its own methods are what a supplier does across
/// accounts and events: link a worker, watch its machines' deals.
#[derive(Clone, Debug)]
pub struct Supplier<P> {
    market: MarketService<P>,
    escrow: EscrowService<P>,
    oracle: OracleService<P>,
    token: TokenService<P>,
    distributor: Option<DistributorService<P>>,
}

impl<P: Provider + Clone> From<Client<P>> for Supplier<P> {
    fn from(client: Client<P>) -> Self {
        Self::new(client)
    }
}

impl<P: Provider + Clone> Supplier<P> {
    /// The supplier whose master account is `client`'s sender.
    pub fn new(client: Client<P>) -> Self {
        Self {
            market: client.market(),
            escrow: client.escrow(),
            oracle: client.oracle(),
            token: client.token(),
            distributor: client.distributor().ok(),
        }
    }

    /// The master account (the sender).
    pub fn master(&self) -> Address {
        self.client().sender()
    }

    /// The account it sends as: the master.
    pub fn sender(&self) -> Address {
        self.master()
    }

    /// The connection it sends through.
    pub fn client(&self) -> &Client<P> {
        self.market.client()
    }

    /// The market: asks, deals, workers, endpoints.
    pub fn market(&self) -> &MarketService<P> {
        &self.market
    }

    /// The escrow: the master's earnings.
    pub fn escrow(&self) -> &EscrowService<P> {
        &self.escrow
    }

    /// The price oracle: the rate deals pay at.
    pub fn oracle(&self) -> &OracleService<P> {
        &self.oracle
    }

    /// The token: the master's tokens.
    pub fn token(&self) -> &TokenService<P> {
        &self.token
    }

    /// The reward distributor, for campaign rewards; [`Error::NoDistributor`] when the deployment
    /// names none.
    pub fn distributor(&self) -> Result<&DistributorService<P>, Error> {
        self.distributor.as_ref().ok_or(Error::NoDistributor)
    }

    /// Links a worker to this master: the worker asks with its own key (`worker`'s sender), then
    /// the master confirms. Two transactions, one from each account.
    pub async fn register_worker<Q: Provider + Clone>(&self, worker: &Client<Q>) -> Result<(), Error> {
        worker.market().request_worker(self.master()).await?;
        self.market.confirm_worker(worker.sender()).await
    }

    /// The deals of this master's workers as they open and close, after `from` (see
    /// [`DealWatch`]).
    pub fn watch_deals(&self, from: EventCursor) -> DealWatch<P> {
        self.watch_deals_at(StreamPosition::new(from))
    }

    /// [`Supplier::watch_deals`] from a saved [`DealWatch::position`]: a reorganisation since it
    /// was saved is reported by the first poll.
    pub fn watch_deals_at(&self, from: StreamPosition) -> DealWatch<P> {
        DealWatch {
            market: self.market.clone(),
            cursor: from.cursor,
            // Only openings and closes: the node leaves out the rest of a busy market's events.
            stream: self
                .market
                .events_at(from)
                .only([Market::DealOpened::SIGNATURE_HASH, Market::DealClosed::SIGNATURE_HASH]),
            pending: VecDeque::new(),
            masters: HashMap::new(),
        }
    }
}

/// A deal of the watched master opening or closing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DealEvent {
    /// A customer rented one of the master's workers.
    Opened(DealOpened),
    /// A deal of the master's closed.
    Closed(DealClosed),
}

/// The deals of one master's workers, from the market's event stream: every `DealOpened` naming
/// the master and every `DealClosed` of its deals, in chain order, each exactly once across
/// restarts when resumed from [`DealWatch::cursor`] (see [`crate::events`]).
///
/// `DealClosed` does not name the master; the watch remembers the deals it saw open and asks the
/// market about any other.
///
/// When the chain reorganises past deal events already returned, [`DealWatch::poll`] returns a
/// [`Rollback`](crate::events::Rollback) first (and [`DealWatch::next`] returns
/// [`Error::Reorged`]): the deals opened or closed after its block may be gone or different (a
/// deal id can be reused by another customer's deal), so check the open deals against the market
/// ([`MarketService::deal`]) before acting on the events that follow.
#[derive(Debug)]
pub struct DealWatch<P> {
    market: MarketService<P>,
    stream: MarketEventStream<P>,
    /// After the last market event fully handled (delivered or skipped).
    cursor: EventCursor,
    /// Market events read but not handled yet (a lookup failed): retried first.
    pending: VecDeque<Event<MarketEvents>>,
    masters: HashMap<DealId, Address>,
}

impl<P: Provider + Clone> DealWatch<P> {
    /// The position after the last event handled: save it and pass it to
    /// [`Supplier::watch_deals`] to resume.
    pub fn cursor(&self) -> EventCursor {
        self.cursor
    }

    /// The cursor with the hashes of the blocks read up to it: save it and pass it to
    /// [`Supplier::watch_deals_at`] to resume with reorganisations still detected.
    pub fn position(&self) -> StreamPosition {
        let mut position = self.stream.position();
        if self.cursor < position.cursor {
            // Events read but not handled yet are read again after a resume.
            position = StreamPosition { cursor: self.cursor, recent: position.recent };
            let last = match self.cursor.log_index {
                Some(_) => Some(self.cursor.block),
                None => self.cursor.block.checked_sub(1),
            };
            position.recent = position.recent.until(last);
        }
        position
    }

    /// Every deal event not yet returned, up to the chain's head (possibly none), after a
    /// [`Rollback`](crate::events::Rollback) when the chain reorganised past events already
    /// returned. On error nothing is lost: calling again retries (events handled before the error
    /// are returned first).
    pub async fn poll(&mut self) -> Result<Batch<DealEvent>, Error> {
        let batch = self.stream.poll().await?;
        let rollback = batch.rollback;
        if let Some(rollback) = rollback {
            self.roll_back(rollback.to_block);
        }
        self.pending.extend(batch.events);
        let mut out = Batch { rollback, events: Vec::new() };
        while let Some(event) = self.pending.pop_front() {
            match self.handle(&event).await {
                Ok(handled) => {
                    self.cursor = event.cursor();
                    out.events.extend(handled);
                }
                Err(error) => {
                    self.pending.push_front(event);
                    return if out.events.is_empty() && out.rollback.is_none() {
                        Err(error)
                    } else {
                        Ok(out)
                    };
                }
            }
        }
        Ok(out)
    }

    /// Forgets what came from the blocks after `to_block`.
    fn roll_back(&mut self, to_block: u64) {
        self.pending.retain(|event| event.block <= to_block);
        // A deal id opened in an orphaned block may name another deal now.
        self.masters.clear();
        if self.cursor.block > to_block {
            self.cursor = EventCursor::from_block(to_block + 1);
        }
    }

    /// The next deal event, waiting for it as long as it takes. On error nothing is lost: calling
    /// again retries.
    pub async fn next(&mut self) -> Result<Event<DealEvent>, Error> {
        loop {
            let event = match self.pending.pop_front() {
                Some(event) => event,
                None => match self.stream.next().await {
                    Ok(event) => event,
                    Err(Error::Reorged { to_block }) => {
                        self.roll_back(to_block);
                        return Err(Error::Reorged { to_block });
                    }
                    Err(error) => return Err(error),
                },
            };
            match self.handle(&event).await {
                Ok(handled) => {
                    self.cursor = event.cursor();
                    if let Some(handled) = handled {
                        return Ok(handled);
                    }
                }
                Err(error) => {
                    self.pending.push_front(event);
                    return Err(error);
                }
            }
        }
    }

    async fn handle(&mut self, event: &Event<MarketEvents>) -> Result<Option<Event<DealEvent>>, Error> {
        let master = self.market.client().sender();
        let deal_event = match &event.event {
            MarketEvents::DealOpened(opened) => {
                let opened = DealOpened::from(opened);
                self.masters.insert(opened.id, opened.master);
                (opened.master == master).then_some(DealEvent::Opened(opened))
            }
            MarketEvents::DealClosed(closed) => {
                let closed = DealClosed::from(closed);
                let deal_master = match self.masters.remove(&closed.id) {
                    Some(m) => Some(m),
                    None => self.market.deal(closed.id).await?.map(|d| d.master),
                };
                (deal_master == Some(master)).then_some(DealEvent::Closed(closed))
            }
            _ => None,
        };
        Ok(deal_event.map(|e| Event {
            event: e,
            block: event.block,
            log_index: event.log_index,
            transaction: event.transaction,
        }))
    }
}
