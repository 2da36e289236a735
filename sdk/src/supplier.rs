//! The supplier's client: a master account with its workers, asks, deals, earnings and rewards.

use std::{
    collections::{HashMap, VecDeque},
    path::Path,
};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};

use crate::{
    Client, Error,
    bindings::Market::{self, MarketEvents},
    client::MarketEventStream,
    error::Funds,
    events::{Event, EventCursor},
    market::{Ask, DealClosed, DealId, DealOpened, PlacedAsk},
    rewards::{RewardClaim, StandardMerkleTree},
    tx,
    units::Snm,
};

crate::client::role_client! {
    /// A supplier: the master (payout) account of one or more workers (machines, each with its own
    /// key), offering them with asks and paid by their deals.
    ///
    /// Dereferences to [`Client`] for the reads and actions open to every role
    /// ([`Client::settle`], [`Client::close_deal`], [`Client::earnings`], ...).
    Supplier
}

impl<P: Provider + Clone> Supplier<P> {
    /// The master account (the sender).
    pub fn master(&self) -> Address {
        self.sender()
    }

    /// Links a worker to this master: the worker asks with its own key (`worker`'s sender), then
    /// the master confirms.
    pub async fn register_worker<Q: Provider + Clone>(&self, worker: &Client<Q>) -> Result<(), Error> {
        worker.request_worker(self.master()).await?;
        self.confirm_worker(worker.sender()).await
    }

    /// Confirms the pending request of `worker` (after its [`Client::request_worker`]).
    pub async fn confirm_worker(&self, worker: Address) -> Result<(), Error> {
        self.send_market(Market::confirmWorkerCall { worker }).await.map(drop)
    }

    /// Ends the link with `worker`, pending or confirmed. Open deals are not affected.
    pub async fn remove_worker(&self, worker: Address) -> Result<(), Error> {
        self.send_market(Market::removeWorkerCall { worker, master: self.master() }).await.map(drop)
    }

    /// The master's confirmed workers, in order of confirmation.
    pub async fn workers(&self) -> Result<Vec<Address>, Error> {
        let filter = Filter::new()
            .address(self.deployment().market)
            .event_signature(Market::WorkerConfirmed::SIGNATURE_HASH)
            .topic2(self.master().into_word());
        // Each worker once, in order of its first confirmation; a worker removed (or moved to
        // another master) since is left out below.
        let mut confirmed: Vec<Address> = Vec::new();
        self.scan_logs(filter, self.deployment().start_block, |log| {
            if let Ok(event) = Market::WorkerConfirmed::decode_log(&log.inner)
                && !confirmed.contains(&event.data.worker)
            {
                confirmed.push(event.data.worker);
            }
            Ok(())
        })
        .await?;
        let mut workers = Vec::with_capacity(confirmed.len());
        for worker in confirmed {
            if self.master_of(worker).await? == Some(self.master()) {
                workers.push(worker);
            }
        }
        Ok(workers)
    }

    /// Places an ask. The sender must be the ask's master or its worker (a machine may offer
    /// itself), and the worker a confirmed worker of the master.
    pub async fn place_ask(&self, ask: &Ask) -> Result<PlacedAsk, Error> {
        if self.sender() != ask.master && self.sender() != ask.worker {
            return Err(Error::InvalidInput(format!(
                "the sender {} is neither the ask's master {} nor its worker {}",
                self.sender(),
                ask.master,
                ask.worker
            )));
        }
        let receipt = self.send_market(Market::placeAskCall { ask: ask.into() }).await?;
        let block = receipt.block_number.unwrap_or_default();
        Ok(PlacedAsk::from_event(&tx::event::<Market::AskPlaced>(&receipt, self.deployment().market)?, block))
    }

    /// Cancels an open ask.
    pub async fn cancel_ask(&self, ask: &PlacedAsk) -> Result<(), Error> {
        self.send_market(Market::cancelAskCall { askId: ask.id.word(), ask: (&ask.ask).into() })
            .await
            .map(drop)
    }

    /// The deals of this master's workers as they open and close, after `from` (see
    /// [`DealWatch`]).
    pub fn watch_deals(&self, from: EventCursor) -> DealWatch<P> {
        DealWatch {
            client: self.client.clone(),
            stream: self.events(from),
            cursor: from,
            pending: VecDeque::new(),
            masters: HashMap::new(),
        }
    }

    /// Closes a deal as its supplier (a spot deal at any time, a fixed-term deal from its end);
    /// with `blacklist`, also blacklists its customer.
    pub async fn close(&self, deal: DealId, blacklist: bool) -> Result<DealClosed, Error> {
        self.close_deal(deal, blacklist).await
    }

    /// Announces where the deal's workload serves (for example `203.0.113.7:3128`), so that the
    /// customer's software finds it ([`Client::endpoint`]); sent by the master or the deal's worker.
    pub async fn announce_endpoint(&self, deal: DealId, endpoint: &str) -> Result<(), Error> {
        let call = Market::announceEndpointCall { dealId: deal.word(), endpoint: endpoint.to_owned() };
        self.send_market(call).await.map(drop)
    }

    /// Withdraws `amount` of the master's earnings to its own address; returns the earnings left.
    /// Checked first: [`Error::InsufficientFunds`] with [`Funds::Earnings`].
    pub async fn withdraw_earnings(&self, amount: Snm) -> Result<Snm, Error> {
        self.check_funds(Funds::Earnings, self.earnings(self.master()).await?, amount)?;
        let call = Market::withdrawEarningsCall { amount: amount.wei(), to: self.master() };
        Ok(Snm::from_wei(self.send_market_event::<Market::EarningsWithdrawn>(call).await?.earnings))
    }

    /// Claims the master's campaign rewards from the reward distributor: `cumulative` is its
    /// amount in the accepted round's leaf and `proof` the leaf's proof (for example from the
    /// reward engine's [`Round::claim`](crate::rewards::Round::claim)). Returns the amount paid
    /// now (the cumulative amount minus what was already claimed). See
    /// [`Client::claim_reward_for`] for the gas used and claims for other accounts.
    pub async fn claim_reward(&self, cumulative: Snm, proof: Vec<B256>) -> Result<Snm, Error> {
        let claim = RewardClaim { account: self.master(), cumulative, proof };
        Ok(self.claim_reward_for(&claim).await?.total())
    }

    /// [`Self::claim_reward`] with the amount and proof taken from a round's Merkle dump
    /// (OpenZeppelin's `standard-v1` JSON, `round-N.merkle.json` as the reward engine writes it).
    pub async fn claim_reward_from_dump(&self, dump: &Path) -> Result<Snm, Error> {
        let tree = StandardMerkleTree::load_dump(dump)?;
        let Some(claim) = tree.claim(self.master()) else {
            return Err(Error::InvalidInput(format!("{} has no leaf in {}", self.master(), dump.display())));
        };
        Ok(self.claim_reward_for(&claim).await?.total())
    }

    /// What the master has claimed from the reward distributor so far (cumulative).
    pub async fn claimed_rewards(&self) -> Result<Snm, Error> {
        self.claimed_reward(self.master()).await
    }
}

/// A deal of the watched master opening or closing.
#[derive(Clone, Debug, PartialEq, Eq)]
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
#[derive(Debug)]
pub struct DealWatch<P> {
    client: Client<P>,
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

    /// Every deal event not yet returned, up to the chain's head (possibly none). On error nothing
    /// is lost: calling again retries (events handled before the error are returned first).
    pub async fn poll(&mut self) -> Result<Vec<Event<DealEvent>>, Error> {
        self.pending.extend(self.stream.poll().await?);
        let mut out = Vec::new();
        while let Some(event) = self.pending.pop_front() {
            match self.handle(&event).await {
                Ok(handled) => {
                    self.cursor = event.cursor();
                    out.extend(handled);
                }
                Err(error) => {
                    self.pending.push_front(event);
                    return if out.is_empty() { Err(error) } else { Ok(out) };
                }
            }
        }
        Ok(out)
    }

    /// The next deal event, waiting for it as long as it takes. On error nothing is lost: calling
    /// again retries.
    pub async fn next(&mut self) -> Result<Event<DealEvent>, Error> {
        loop {
            let event = match self.pending.pop_front() {
                Some(event) => event,
                None => self.stream.next().await?,
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
        let master = self.client.sender();
        let deal_event = match &event.event {
            MarketEvents::DealOpened(opened) => {
                let opened = DealOpened::from(opened);
                self.masters.insert(opened.deal, opened.master);
                (opened.master == master).then_some(DealEvent::Opened(opened))
            }
            MarketEvents::DealClosed(closed) => {
                let closed = DealClosed::from(closed);
                let deal_master = match self.masters.remove(&closed.deal) {
                    Some(m) => Some(m),
                    None => self.client.deal(closed.deal).await?.map(|d| d.master),
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
