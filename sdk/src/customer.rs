//! The customer's client: fund the escrow, find and buy machines, bid, run and close deals.

use std::time::Duration;

use alloy::{
    primitives::U256, providers::Provider, rpc::types::Filter, signers::Signer, sol_types::SolEvent,
};

use crate::{
    Error,
    bindings::Market::{self, MarketEvents},
    error::Funds,
    market::{Bid, DealId, DealOpened, PlacedAsk, PlacedBid, Purchase, Requirements},
    orderbook::OrderBook,
    tx,
    units::{Snm, Term, UsdPerSecond},
};

/// How long a deal's deposit lasts at the current rate ([`Customer::runway`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runway {
    /// Deposit left once the seconds elapsed so far are paid.
    pub deposit_left: Snm,
    /// How long it pays for from now (for a fixed term, at most until the term ends).
    pub lasts: Duration,
    /// Block time it lasts until.
    pub until: u64,
    /// Whether it pays for the rest of the fixed term (always `false` for spot).
    pub covers_term: bool,
}

crate::client::role_client! {
    /// A customer: deposits SNM, buys machines (directly or through bids) and runs deals.
    ///
    /// Dereferences to [`Client`](crate::Client) for the reads and actions open to every role
    /// (balances, deals, [`approve`](crate::Client::approve),
    /// [`withdraw`](crate::Client::withdraw), [`order_book`](crate::Client::order_book), ...).
    Customer
}

impl<P: Provider + Clone> Customer<P> {
    /// Moves `amount` of the sender's tokens into its free balance in the market (needs the
    /// market's allowance: [`approve`](crate::Client::approve)); returns the new free balance.
    /// Checked first: [`Error::InsufficientFunds`] with [`Funds::TokenBalance`] or
    /// [`Funds::Allowance`].
    pub async fn deposit(&self, amount: Snm) -> Result<Snm, Error> {
        self.check_tokens(amount, false).await?;
        let call = Market::depositCall { account: self.sender(), amount: amount.wei() };
        Ok(Snm::from_wei(self.send_market_event::<Market::Deposited>(call).await?.balance))
    }

    /// [`Self::deposit`] with an EIP-2612 permit signed by `signer` (the sender's key) instead of
    /// an allowance: one transaction.
    pub async fn deposit_with_permit<S: Signer + Sync>(&self, signer: &S, amount: Snm) -> Result<Snm, Error> {
        self.check_tokens(amount, true).await?;
        let permit = self.sign_permit(signer, self.deployment().market, amount).await?;
        let call = Market::depositWithPermitCall {
            account: self.sender(),
            amount: amount.wei(),
            deadline: permit.deadline,
            v: permit.v,
            r: permit.r,
            s: permit.s,
        };
        Ok(Snm::from_wei(self.send_market_event::<Market::Deposited>(call).await?.balance))
    }

    /// The best ask of `book` for `wanted` within `budget`: the cheapest (then oldest) ask meeting
    /// the requirements whose price lets `budget` pay for the whole fixed term, or for the minimum
    /// runway of a spot deal, at the current rate. Asks reserved for another customer are left
    /// out.
    pub async fn best_ask(
        &self,
        book: &OrderBook,
        wanted: &Requirements,
        budget: Snm,
    ) -> Result<Option<PlacedAsk>, Error> {
        let (rule, now) = tokio::try_join!(self.deposit_rule(), self.now())?;
        let seconds = match wanted.term {
            Term::Spot => rule.min_runway.as_secs(),
            fixed => fixed.secs(),
        };
        let affordable = UsdPerSecond::max_for_budget(budget, seconds, rule.rate);
        let max_price = wanted.max_price.into_iter().chain(affordable).min();
        let wanted = Requirements {
            max_price,
            customer: Some(wanted.customer.unwrap_or(self.sender())),
            ..wanted.clone()
        };
        // The deal opens in a later block: an ask expiring now would be refused.
        Ok(book.best_ask(&wanted, now + 1).cloned())
    }

    /// Takes `ask` directly: `purchase.deposit` comes from the sender's tokens (after
    /// [`approve`](crate::Client::approve)) into a new deal. Checked first:
    /// [`Error::InsufficientFunds`] with [`Funds::TokenBalance`] or [`Funds::Allowance`].
    pub async fn quick_buy(&self, ask: &PlacedAsk, purchase: &Purchase) -> Result<DealOpened, Error> {
        self.check_tokens(purchase.deposit, false).await?;
        let call = Market::quickBuyCall {
            askId: ask.id.word(),
            ask: (&ask.ask).into(),
            duration: U256::from(purchase.term.secs()),
            deposit_: purchase.deposit.wei(),
            image: purchase.image.clone(),
            configHash: purchase.config_hash,
        };
        Ok((&self.send_market_event::<Market::DealOpened>(call).await?).into())
    }

    /// [`Self::quick_buy`] with an EIP-2612 permit signed by `signer` (the sender's key) instead of
    /// an allowance: one transaction.
    pub async fn quick_buy_with_permit<S: Signer + Sync>(
        &self,
        signer: &S,
        ask: &PlacedAsk,
        purchase: &Purchase,
    ) -> Result<DealOpened, Error> {
        self.check_tokens(purchase.deposit, true).await?;
        let permit = self.sign_permit(signer, self.deployment().market, purchase.deposit).await?;
        let call = Market::quickBuyWithPermitCall {
            askId: ask.id.word(),
            ask: (&ask.ask).into(),
            duration: U256::from(purchase.term.secs()),
            deposit_: purchase.deposit.wei(),
            image: purchase.image.clone(),
            configHash: purchase.config_hash,
            permitDeadline: permit.deadline,
            v: permit.v,
            r: permit.r,
            s: permit.s,
        };
        Ok((&self.send_market_event::<Market::DealOpened>(call).await?).into())
    }

    /// Places a bid (its customer must be the sender). Checked first: the free balance covers the
    /// deposit ([`Error::InsufficientFunds`] with [`Funds::FreeBalance`]).
    pub async fn place_bid(&self, bid: &Bid) -> Result<PlacedBid, Error> {
        if bid.customer != self.sender() {
            return Err(Error::InvalidInput(format!(
                "the bid's customer {} is not the sender {}",
                bid.customer,
                self.sender()
            )));
        }
        self.check_funds(Funds::FreeBalance, self.free_balance(self.sender()).await?, bid.deposit)?;
        let receipt = self.send_market(Market::placeBidCall { bid: bid.into() }).await?;
        let block = receipt.block_number.unwrap_or_default();
        Ok(PlacedBid::from_event(&tx::event::<Market::BidPlaced>(&receipt, self.deployment().market)?, block))
    }

    /// Cancels an open bid.
    pub async fn cancel_bid(&self, bid: &PlacedBid) -> Result<(), Error> {
        self.send_market(Market::cancelBidCall { bidId: bid.id.word(), bid: (&bid.bid).into() })
            .await
            .map(drop)
    }

    /// Waits until `bid` is matched and returns the deal (the `DealOpened` with its bid id), for at
    /// most `timeout` ([`Error::Timeout`]); [`Error::OrderCancelled`] if it is cancelled first.
    pub async fn wait_for_match(&self, bid: &PlacedBid, timeout: Duration) -> Result<DealOpened, Error> {
        let start = std::time::Instant::now();
        let mut events = self.events(crate::events::EventCursor::from_block(bid.block));
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
            tokio::time::sleep(self.options().poll_interval.min(timeout - waited)).await;
        }
    }

    /// Waits until the deal's supplier announces where the workload serves
    /// ([`Client::endpoint`](crate::Client::endpoint)); [`Error::Timeout`] after `timeout`.
    pub async fn wait_for_endpoint(&self, deal: DealId, timeout: Duration) -> Result<String, Error> {
        let start = std::time::Instant::now();
        // Each poll reads only the blocks the previous one did not: the first announcement found
        // is the latest one.
        let mut from = self.deployment().start_block;
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
            tokio::time::sleep(self.options().poll_interval.min(timeout - waited)).await;
        }
    }

    /// Adds `amount` of the sender's free balance to a deal's deposit; returns the new deposit.
    /// Checked first: [`Error::InsufficientFunds`] with [`Funds::FreeBalance`].
    pub async fn top_up(&self, deal: DealId, amount: Snm) -> Result<Snm, Error> {
        self.check_funds(Funds::FreeBalance, self.free_balance(self.sender()).await?, amount)?;
        let call = Market::topUpCall { dealId: deal.word(), amount: amount.wei() };
        Ok(Snm::from_wei(self.send_market_event::<Market::DealToppedUp>(call).await?.deposit))
    }

    /// How long a deal's deposit lasts at the current rate: what is left once the elapsed seconds
    /// are paid, divided by the price in SNM per second, in whole seconds (each of them fully
    /// paid), from the latest block's time. A closed deal has no runway.
    pub async fn runway(&self, deal: DealId) -> Result<Runway, Error> {
        let (stored, rate, now) = tokio::try_join!(self.deal(deal), self.snm_per_usd(), self.now())?;
        let stored = stored.ok_or_else(|| Error::InvalidInput(format!("no deal {deal}")))?;
        if !stored.is_active() {
            return Ok(Runway {
                deposit_left: Snm::ZERO,
                lasts: Duration::ZERO,
                until: now,
                covers_term: false,
            });
        }
        let owed = self.market_contract().owed(deal.word(), rate.scaled()).call().await?;
        let left = stored.deposit.checked_sub(Snm::from_wei(owed.amount)).unwrap_or(Snm::ZERO);
        let seconds = stored.price.seconds_paid(left, rate);
        let (lasts, covers_term) = match stored.end_time {
            Some(end) => {
                let remaining = end.saturating_sub(now);
                (seconds.min(remaining), seconds >= remaining)
            }
            None => (seconds, false),
        };
        Ok(Runway {
            deposit_left: left,
            lasts: Duration::from_secs(lasts),
            until: now.saturating_add(lasts),
            covers_term,
        })
    }

    /// Closes a deal (a customer may close at any time); with `blacklist`, also blacklists its
    /// master. The rest of the deposit returns to the free balance.
    pub async fn close(&self, deal: DealId, blacklist: bool) -> Result<crate::market::DealClosed, Error> {
        self.close_deal(deal, blacklist).await
    }

    /// Every deal opened for the sender, as stored now (running and closed), oldest first.
    pub async fn deals(&self) -> Result<Vec<crate::market::Deal>, Error> {
        let filter = Filter::new()
            .address(self.deployment().market)
            .event_signature(Market::DealOpened::SIGNATURE_HASH)
            .topic2(self.sender().into_word());
        let mut opened = Vec::new();
        self.scan_logs(filter, self.deployment().start_block, |log| {
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
}
