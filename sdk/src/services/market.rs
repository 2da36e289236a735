//! The market service: orders, deals, workers, endpoints, blacklists and pause, the market's
//! events and the order book rebuilt from them.

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::Filter,
    signers::Signer,
    sol_types::SolEvent,
};

use crate::{
    Client, Error,
    bindings::Market::{self, MarketErrors, MarketEvents, MarketInstance},
    error::Target,
    events::{EventCursor, EventStream, StreamPosition},
    market::{
        Ask, Bid, Deal, DealClosed, DealId, DealOpened, DealSettled, DepositRule, PlacedAsk, PlacedBid,
        Purchase,
    },
    orderbook::OrderBook,
    tx,
    units::{Snm, SnmPerUsd, UsdPerSecond},
};

/// A stream of the market's events, typed by the generated `MarketEvents` enum, resumable from a
/// cursor (see [`EventStream`]).
pub type MarketEventStream<P> = EventStream<P, MarketEvents>;

/// The market contract (see the [module documentation](crate::services)).
#[derive(Clone, Debug)]
pub struct MarketService<P> {
    client: Client<P>,
    address: Address,
}

impl<P> MarketService<P> {
    /// The market of `client`'s deployment.
    pub fn new(client: Client<P>) -> Self {
        let address = client.deployment().market;
        Self { client, address }
    }

    /// The market's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The connection it sends through.
    pub fn client(&self) -> &Client<P> {
        &self.client
    }
}

impl<P: Provider + Clone> MarketService<P> {
    /// The market's generated binding, for what the service does not cover.
    pub fn contract(&self) -> MarketInstance<&P> {
        Market::new(self.address, self.client.provider())
    }

    fn sender(&self) -> Address {
        self.client.sender()
    }

    // ------------------------------------------------------------------ orders

    /// Places an ask. The sender must be the ask's master or its worker (a machine may offer
    /// itself; else [`Error::ForeignAsk`] before sending), and the worker a confirmed worker of the
    /// master.
    pub async fn place_ask(&self, ask: &Ask) -> Result<PlacedAsk, Error> {
        let sender = self.sender();
        if sender != ask.master && sender != ask.worker {
            return Err(Error::ForeignAsk { master: ask.master, worker: ask.worker, sender });
        }
        let receipt = self.client.send_market(Market::placeAskCall { ask: ask.into() }).await?;
        let block = receipt.block_number.unwrap_or_default();
        Ok(PlacedAsk::from_event(&tx::event::<Market::AskPlaced>(&receipt, self.address)?, block))
    }

    /// Cancels an open ask (sent by its master or its worker).
    pub async fn cancel_ask(&self, ask: &PlacedAsk) -> Result<(), Error> {
        let call = Market::cancelAskCall { askId: ask.id.word(), ask: (&ask.ask).into() };
        self.client.send_market(call).await.map(drop)
    }

    /// Places a bid; its customer must be the sender ([`Error::ForeignBid`] before sending).
    /// Checked first: the free balance covers the deposit ([`Error::InsufficientFunds`] with
    /// [`Funds::FreeBalance`](crate::Funds::FreeBalance)).
    pub async fn place_bid(&self, bid: &Bid) -> Result<PlacedBid, Error> {
        let sender = self.sender();
        if bid.customer != sender {
            return Err(Error::ForeignBid { customer: bid.customer, sender });
        }
        let free = self.client.escrow().free_balance(sender).await?;
        self.client.check_funds(crate::Funds::FreeBalance, free, bid.deposit)?;
        let receipt = self.client.send_market(Market::placeBidCall { bid: bid.into() }).await?;
        let block = receipt.block_number.unwrap_or_default();
        Ok(PlacedBid::from_event(&tx::event::<Market::BidPlaced>(&receipt, self.address)?, block))
    }

    /// Cancels an open bid (sent by its customer).
    pub async fn cancel_bid(&self, bid: &PlacedBid) -> Result<(), Error> {
        let call = Market::cancelBidCall { bidId: bid.id.word(), bid: (&bid.bid).into() };
        self.client.send_market(call).await.map(drop)
    }

    /// Waits until `bid` is matched and returns the deal (the `DealOpened` with its bid id), for at
    /// most `timeout` ([`Error::Timeout`]); [`Error::OrderCancelled`] if it is cancelled first.
    pub async fn wait_for_match(&self, bid: &PlacedBid, timeout: Duration) -> Result<DealOpened, Error> {
        let start = Instant::now();
        let mut events = self.events(EventCursor::from_block(bid.block));
        loop {
            for event in events.poll().await? {
                match &event.event {
                    MarketEvents::DealOpened(opened) if opened.info.bidId == bid.id.word() => {
                        return Ok(opened.into());
                    }
                    MarketEvents::OrderCancelled(cancelled) if cancelled.orderId == bid.id.word() => {
                        return Err(Error::OrderCancelled(bid.id.0));
                    }
                    _ => {}
                }
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(Error::Timeout { what: format!("a match of bid {}", bid.id), waited });
            }
            tokio::time::sleep(self.client.options().poll_interval.min(timeout - waited)).await;
        }
    }

    /// Opens the deal of a compatible ask and bid (`openDeal`; anyone may, paying the gas). The deal
    /// takes the bid's id.
    pub async fn open_deal(&self, ask: &PlacedAsk, bid: &PlacedBid) -> Result<DealOpened, Error> {
        let call = Market::openDealCall {
            askId: ask.id.word(),
            ask: (&ask.ask).into(),
            bidId: bid.id.word(),
            bid: (&bid.bid).into(),
        };
        Ok((&self.client.send_event::<Market::DealOpened>(Target::Market, call).await?).into())
    }

    /// Takes `ask` directly: `purchase.deposit` comes from the sender's tokens, through the
    /// allowance the market already has, into a new deal (which takes the next id). Checked first:
    /// [`Error::InsufficientFunds`] with [`Funds::TokenBalance`](crate::Funds::TokenBalance) or
    /// [`Funds::Allowance`](crate::Funds::Allowance). [`Customer::quick_buy`](crate::Customer::quick_buy)
    /// approves or signs a permit when needed.
    pub async fn quick_buy(&self, ask: &PlacedAsk, purchase: &Purchase) -> Result<DealOpened, Error> {
        self.client.token().check_spend(purchase.deposit, self.address, false).await?;
        self.send_quick_buy(ask, purchase).await
    }

    /// [`Self::quick_buy`] without the checks (its caller made them).
    pub(crate) async fn send_quick_buy(
        &self,
        ask: &PlacedAsk,
        purchase: &Purchase,
    ) -> Result<DealOpened, Error> {
        let call = quick_buy_call(ask, purchase);
        Ok((&self.client.send_event::<Market::DealOpened>(Target::Market, call).await?).into())
    }

    /// [`Self::quick_buy`] with an EIP-2612 permit signed by `signer` (the sender's key) instead of
    /// an allowance: one transaction. The market's permit sets its allowance to the amount, which the call then
    /// spends: an allowance given before is used up (it is zero afterwards). A key of
    /// another account is refused before sending ([`Error::PermitSigner`]).
    pub async fn quick_buy_with_permit<S: Signer + Send + Sync + ?Sized>(
        &self,
        signer: &S,
        ask: &PlacedAsk,
        purchase: &Purchase,
    ) -> Result<DealOpened, Error> {
        let token = self.client.token();
        token.check_spend(purchase.deposit, self.address, true).await?;
        let permit = token.sign_permit(signer, self.address, purchase.deposit).await?;
        let call = Market::quickBuyWithPermitCall {
            askId: ask.id.word(),
            ask: (&ask.ask).into(),
            duration: U256::from(purchase.term.secs()),
            deposit_: purchase.deposit.wei(),
            image: purchase.image.clone(),
            configHash: purchase.config_hash,
            permitDeadline: U256::from(permit.deadline),
            v: permit.v,
            r: permit.r,
            s: permit.s,
        };
        Ok((&self.client.send_event::<Market::DealOpened>(Target::Market, call).await?).into())
    }

    // ------------------------------------------------------------------ deals

    /// The deal `id` as stored, or `None` when no deal has that id (it may be an order's: asks,
    /// bids and deals share one id sequence).
    pub async fn deal(&self, id: DealId) -> Result<Option<Deal>, Error> {
        let stored = self.contract().getDeal(id.word()).call().await?;
        Ok(Deal::from_stored(id, &stored))
    }

    /// What a running deal owes for its unsettled seconds at `rate` (capped by its deposit).
    pub async fn owed(&self, deal: DealId, rate: SnmPerUsd) -> Result<Snm, Error> {
        let owed = self.contract().owed(deal.word(), rate.scaled()).call().await?;
        Ok(Snm::from_wei(owed.amount))
    }

    /// Every deal opened for `customer`, as stored now (running and closed), oldest first.
    pub async fn deals_of(&self, customer: Address) -> Result<Vec<Deal>, Error> {
        self.deals_opened(Filter::new().topic2(customer.into_word())).await
    }

    /// Every deal opened with `master` as the supplier, as stored now (running and closed),
    /// oldest first.
    pub async fn deals_of_master(&self, master: Address) -> Result<Vec<Deal>, Error> {
        self.deals_opened(Filter::new().topic3(master.into_word())).await
    }

    /// The deals of the `DealOpened` events `filter` selects, as stored now.
    async fn deals_opened(&self, filter: Filter) -> Result<Vec<Deal>, Error> {
        let filter = filter.address(self.address).event_signature(Market::DealOpened::SIGNATURE_HASH);
        let mut opened = Vec::new();
        self.client
            .scan_logs(filter, self.client.deployment().start_block, |log| {
                if let Ok(event) = Market::DealOpened::decode_log(&log.inner) {
                    opened.push(DealId::from_word(event.data.dealId));
                }
                Ok(())
            })
            .await?;
        let mut deals = Vec::with_capacity(opened.len());
        for id in opened {
            if let Some(deal) = self.deal(id).await? {
                deals.push(deal);
            }
        }
        Ok(deals)
    }

    /// Pays a deal's unsettled seconds from its deposit (anyone may); `None` when no second was
    /// due. The deal closes with [`CloseReason::OutOfFunds`](crate::market::CloseReason::OutOfFunds)
    /// when its deposit runs out.
    pub async fn settle(&self, deal: DealId) -> Result<Option<DealSettled>, Error> {
        let receipt = self.client.send_market(Market::settleCall { dealId: deal.word() }).await?;
        Ok(tx::events::<Market::DealSettled>(&receipt, self.address).next().map(|e| (&e).into()))
    }

    /// Closes a deal after settling it, refunding the rest of the deposit to the customer's free
    /// balance. The customer may close at any time, a supplier a spot deal at any time and a
    /// fixed-term deal from its end on, anyone a deal whose deposit cannot pay another second;
    /// otherwise [`Error::CloseNotAllowed`], which says when the caller may (a supplier that cannot
    /// serve a fixed-term deal ends it early with [`Self::end_unserved`]). With `blacklist`, the
    /// closing party also blacklists the other side.
    pub async fn close_deal(&self, deal: DealId, blacklist: bool) -> Result<DealClosed, Error> {
        let call = Market::closeDealCall { dealId: deal.word(), blacklist };
        match self.client.send_event::<Market::DealClosed>(Target::Market, call).await {
            Ok(closed) => Ok((&closed).into()),
            Err(Error::Market(MarketErrors::CloseNotAllowed(refused))) => {
                // The end time only completes the sentence: a failed read leaves it out rather than
                // hiding the refusal behind a transport error.
                let end_time = self.deal(deal).await.ok().flatten().and_then(|d| d.end_time);
                Err(Error::CloseNotAllowed { deal, caller: refused.caller, end_time })
            }
            Err(error) => Err(error),
        }
    }

    /// The supplier (the deal's master, or its worker while still a confirmed worker of that
    /// master) ends a deal it cannot serve, spot or fixed-term, at any time: it is paid for the
    /// unsettled seconds up to block time `served_until` only (never beyond the block's time or the
    /// end of the term, capped by the deposit), and the rest of the deposit goes back to the
    /// customer's free balance. The deal closes with
    /// [`CloseReason::Unserved`](crate::market::CloseReason::Unserved). `served_until` 0 (or any
    /// time at or before the last settlement) forfeits every unsettled second; then no rate is
    /// read, so it works with a stale oracle. Refused with the market's `NotDealSupplier` for
    /// anyone else and `ServedUntilInFuture` for a time after the block's.
    pub async fn end_unserved(&self, deal: DealId, served_until: u64) -> Result<DealClosed, Error> {
        let call = Market::endDealUnservedCall { dealId: deal.word(), servedUntil: U256::from(served_until) };
        let closed = self.client.send_event::<Market::DealClosed>(Target::Market, call).await?;
        Ok((&closed).into())
    }

    /// Proposes new terms for a deal the sender is a party of: `price` from now on, and the end
    /// time (`None` for a spot deal, which stays spot; a fixed-term deal needs a future time). The
    /// other side accepts with [`Self::accept_change`].
    pub async fn propose_change(
        &self,
        deal: DealId,
        price: UsdPerSecond,
        end_time: Option<u64>,
    ) -> Result<(), Error> {
        let call = Market::proposeChangeCall {
            dealId: deal.word(),
            pricePerSecond: price.scaled(),
            endTime: U256::from(end_time.unwrap_or(0)),
        };
        self.client.send_market(call).await.map(drop)
    }

    /// Accepts the other side's pending change of a deal (the terms must be the proposed ones);
    /// the seconds before are settled at the old price.
    pub async fn accept_change(
        &self,
        deal: DealId,
        price: UsdPerSecond,
        end_time: Option<u64>,
    ) -> Result<(), Error> {
        let call = Market::acceptChangeCall {
            dealId: deal.word(),
            pricePerSecond: price.scaled(),
            endTime: U256::from(end_time.unwrap_or(0)),
        };
        self.client.send_market(call).await.map(drop)
    }

    /// Withdraws the sender's pending change of a deal.
    pub async fn cancel_change(&self, deal: DealId) -> Result<(), Error> {
        self.client.send_market(Market::cancelChangeCall { dealId: deal.word() }).await.map(drop)
    }

    // ------------------------------------------------------------------ workers

    /// The sender, as a worker (a machine's key), asks to join `master`; the master then confirms
    /// ([`Self::confirm_worker`]).
    pub async fn request_worker(&self, master: Address) -> Result<(), Error> {
        self.client.send_market(Market::requestWorkerCall { master }).await.map(drop)
    }

    /// The sender, as a master, confirms the pending request of `worker`.
    pub async fn confirm_worker(&self, worker: Address) -> Result<(), Error> {
        self.client.send_market(Market::confirmWorkerCall { worker }).await.map(drop)
    }

    /// Ends the link of `worker` with `master`, pending or confirmed (sent by either). Open deals
    /// run on and pay the master, but the worker no longer acts for them: only the master changes
    /// their terms, announces endpoints, closes them or ends them unserved.
    pub async fn remove_worker(&self, worker: Address, master: Address) -> Result<(), Error> {
        self.client.send_market(Market::removeWorkerCall { worker, master }).await.map(drop)
    }

    /// The confirmed master of `worker`, if any.
    pub async fn master_of(&self, worker: Address) -> Result<Option<Address>, Error> {
        let master = self.contract().masterOf(worker).call().await?;
        Ok((!master.is_zero()).then_some(master))
    }

    /// The master `worker` asked to join and that has not confirmed it yet, if any.
    pub async fn pending_master_of(&self, worker: Address) -> Result<Option<Address>, Error> {
        let master = self.contract().pendingMasterOf(worker).call().await?;
        Ok((!master.is_zero()).then_some(master))
    }

    /// The confirmed workers of `master`, in order of confirmation.
    pub async fn workers_of(&self, master: Address) -> Result<Vec<Address>, Error> {
        let filter = Filter::new()
            .address(self.address)
            .event_signature(Market::WorkerConfirmed::SIGNATURE_HASH)
            .topic2(master.into_word());
        // Each worker once, in order of its first confirmation; a worker removed (or moved to
        // another master) since is left out below.
        let mut confirmed: Vec<Address> = Vec::new();
        self.client
            .scan_logs(filter, self.client.deployment().start_block, |log| {
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
            if self.master_of(worker).await? == Some(master) {
                workers.push(worker);
            }
        }
        Ok(workers)
    }

    // ------------------------------------------------------------------ endpoints

    /// Announces where the deal's workload serves (for example `203.0.113.7:3128`), so that the
    /// customer's software finds it ([`Self::endpoint`]); sent by the deal's master or worker.
    pub async fn announce_endpoint(&self, deal: DealId, endpoint: &str) -> Result<(), Error> {
        let call = Market::announceEndpointCall { dealId: deal.word(), endpoint: endpoint.to_owned() };
        self.client.send_market(call).await.map(drop)
    }

    /// Where the deal's workload serves, as its supplier last announced it; `None` before any
    /// announcement.
    pub async fn endpoint(&self, deal: DealId) -> Result<Option<String>, Error> {
        Ok(self.endpoint_since(deal, self.client.deployment().start_block).await?.0)
    }

    /// The deal's last endpoint announced from block `from` to the chain's head, and that head:
    /// a waiter reads only the blocks after it next time.
    pub(crate) async fn endpoint_since(
        &self,
        deal: DealId,
        from: u64,
    ) -> Result<(Option<String>, u64), Error> {
        let filter = Filter::new()
            .address(self.address)
            .event_signature(Market::EndpointAnnounced::SIGNATURE_HASH)
            .topic1(deal.word());
        let mut last = None;
        let head = self
            .client
            .scan_logs(filter, from, |log| {
                if let Ok(announced) = Market::EndpointAnnounced::decode_log(&log.inner) {
                    last = Some(announced.data.endpoint);
                }
                Ok(())
            })
            .await?;
        Ok((last, head))
    }

    /// Waits until the deal's supplier announces where the workload serves
    /// ([`Self::endpoint`]); [`Error::Timeout`] after `timeout`.
    pub async fn wait_for_endpoint(&self, deal: DealId, timeout: Duration) -> Result<String, Error> {
        let start = Instant::now();
        // Each poll reads only the blocks the previous one did not: the first announcement found
        // is the latest one.
        let mut from = self.client.deployment().start_block;
        loop {
            let (endpoint, head) = self.endpoint_since(deal, from).await?;
            if let Some(endpoint) = endpoint {
                return Ok(endpoint);
            }
            from = head.saturating_add(1);
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(Error::Timeout { what: format!("the endpoint of deal {deal}"), waited });
            }
            tokio::time::sleep(self.client.options().poll_interval.min(timeout - waited)).await;
        }
    }

    // ------------------------------------------------------------------ blacklists

    /// Blacklists (or un-blacklists) `target`: no deal between the sender and it opens.
    pub async fn set_blacklist(&self, target: Address, blacklisted: bool) -> Result<(), Error> {
        self.client.send_market(Market::setBlacklistCall { target, blacklisted }).await.map(drop)
    }

    /// Whether `owner` has blacklisted `target`.
    pub async fn is_blacklisted(&self, owner: Address, target: Address) -> Result<bool, Error> {
        Ok(self.contract().isBlacklisted(owner, target).call().await?)
    }

    // ------------------------------------------------------------------ the market's rules

    /// The market's deposit rule: the oracle's current rate and the minimum runway.
    pub async fn deposit_rule(&self) -> Result<DepositRule, Error> {
        let market = self.contract();
        let oracle = self.client.oracle();
        let (rate, runway) =
            tokio::try_join!(oracle.snm_per_usd(), async { Ok(market.minRunway().call().await?) })?;
        Ok(DepositRule { rate, min_runway: Duration::from_secs(runway.saturating_to()) })
    }

    /// Whether new deals are paused.
    pub async fn paused(&self) -> Result<bool, Error> {
        Ok(self.contract().paused().call().await?)
    }

    /// Pauses (`true`) or resumes new deals (the owner only). Settling, closing, top-ups and
    /// withdrawals always work.
    pub async fn set_paused(&self, paused: bool) -> Result<(), Error> {
        self.client.send_market(Market::setPausedCall { paused_: paused }).await.map(drop)
    }

    // ------------------------------------------------------------------ events and the order book

    /// The market's events after `from`, typed (see [`EventStream`]).
    pub fn events(&self, from: EventCursor) -> MarketEventStream<P> {
        self.events_at(StreamPosition::new(from))
    }

    /// The market's events after a saved `position`, with reorganisations since then detected (see
    /// [`EventStream::resume_at`]). Streams read blocks the client's
    /// [`confirmations`](crate::Client::confirmations) deep.
    pub fn events_at(&self, position: StreamPosition) -> MarketEventStream<P> {
        EventStream::resume_at(self.client.provider().clone(), self.address, position)
            .with_poll_interval(self.client.options().poll_interval)
            .with_confirmations(self.client.confirmations())
            // The market's address also logs the events of its delegatecalled part
            // (`SignedAsksCancelled`), which are no `MarketEvents`: asked for, they would stop the
            // stream as undecodable.
            .only(MarketEvents::SELECTORS.iter().map(|selector| B256::from(*selector)))
    }

    /// The order book, read from every market event since the deployment.
    pub async fn order_book(&self) -> Result<OrderBook, Error> {
        let mut book = OrderBook::starting_at(EventCursor::from_block(self.client.deployment().start_block));
        self.sync(&mut book).await?;
        Ok(book)
    }

    /// Brings `book` up to date from its position; returns how many orders were added or removed.
    /// When the chain reorganised past events the book applied, the book is read again from where
    /// it started (what orphaned blocks added or removed is undone) before the new events apply.
    pub async fn sync(&self, book: &mut OrderBook) -> Result<usize, Error> {
        // Only the events a book applies: the node leaves out settlements, announcements, ...
        let mut stream = self.events_at(book.position()).only(OrderBook::events());
        let mut batch = stream.poll().await?;
        let mut changed = 0;
        if batch.rollback.is_some() {
            let fresh = book.restarted();
            changed = book.ask_count() + book.bid_count();
            *book = fresh;
            stream = self.events_at(book.position()).only(OrderBook::events());
            batch = stream.poll().await?;
        }
        changed += batch.events.iter().filter(|event| book.apply(event)).count();
        book.set_position(stream.position());
        Ok(changed)
    }
}

/// The market's `quickBuy` call of `ask` with `purchase`, for callers that sign and send
/// transactions themselves (presigned batches, say); [`MarketService::quick_buy`] sends it with
/// its checks.
pub fn quick_buy_call(ask: &PlacedAsk, purchase: &Purchase) -> Market::quickBuyCall {
    Market::quickBuyCall {
        askId: ask.id.word(),
        ask: (&ask.ask).into(),
        duration: U256::from(purchase.term.secs()),
        deposit_: purchase.deposit.wei(),
        image: purchase.image.clone(),
        configHash: purchase.config_hash,
    }
}
