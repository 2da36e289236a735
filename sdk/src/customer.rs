//! The customer's client: find the best machine for a budget (or why none fits), buy it paying
//! from the wallet, keep the deal funded, know how long its deposit lasts.

use std::{fmt, sync::Arc, time::Duration};

use alloy::{primitives::Address, providers::Provider, signers::Signer};
use serde::{Deserialize, Serialize};

use crate::{
    Client, Error,
    bindings::SNMToken::SNMTokenErrors,
    block_time::BlockTime,
    market::{DealId, DealOpened, OpenAsk, PlacedAsk, Purchase, Requirements},
    orderbook::OrderBook,
    services::{EscrowService, MarketService, OracleService, TokenService},
    shortfall::{Shortfall, budget_seconds},
    units::{Snm, UsdPerSecond, format_duration},
};

/// How long a deal's deposit lasts at the current rate ([`Customer::runway`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runway {
    /// The deal.
    pub deal: DealId,
    /// Deposit left once the seconds elapsed so far are paid.
    pub deposit_left: Snm,
    /// How long it pays for from now (for a fixed term, at most until the term ends).
    #[serde(with = "crate::units::duration_text")]
    pub lasts: Duration,
    /// Block time it lasts until.
    pub until: u64,
    /// Whether it pays for the rest of the fixed term (always `false` for spot).
    pub covers_term: bool,
    /// The end of the fixed term; `None` for spot (and for a closed deal).
    pub end_time: Option<u64>,
}

impl fmt::Display for Runway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deal {}: {} left, lasting {} until block time {}",
            self.deal,
            self.deposit_left,
            format_duration(self.lasts),
            BlockTime(self.until)
        )?;
        match (self.end_time, self.covers_term) {
            (Some(_), true) => f.write_str(", to the end of its term"),
            (Some(end), false) => {
                write!(f, ", short of its term's end at block time {}: top up", BlockTime(end))
            }
            (None, _) => f.write_str(" at the current rate (spot)"),
        }
    }
}

/// A customer: buys machines, keeps its deals funded, and knows how long they last.
///
/// It holds the services a customer uses (see [`crate::services`]): bids, deals and their
/// endpoints through [`Self::market`], its free balance through [`Self::escrow`], the rate through
/// [`Self::oracle`], its tokens through [`Self::token`]. Its own methods are what a customer does
/// across them: pick the best ask or say why none fits, buy it, deposit and top up from the
/// wallet (with an EIP-2612 permit when it has the key, see [`Self::with_permit_signer`]; else
/// approving the market when the allowance falls short), read the runway.
#[derive(Clone)]
pub struct Customer<P> {
    market: MarketService<P>,
    escrow: EscrowService<P>,
    oracle: OracleService<P>,
    token: TokenService<P>,
    permit_signer: Option<Arc<dyn Signer + Send + Sync>>,
}

impl<P> fmt::Debug for Customer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Customer")
            .field("customer", &self.market.client().sender())
            .field("permit_signer", &self.permit_signer.as_ref().map(|s| s.address()))
            .finish_non_exhaustive()
    }
}

impl<P: Provider + Clone> From<Client<P>> for Customer<P> {
    fn from(client: Client<P>) -> Self {
        Self::new(client)
    }
}

impl<P: Provider + Clone> Customer<P> {
    /// The customer acting as `client`'s sender. Without a permit key, paying from the wallet
    /// approves the market when its allowance falls short (one more transaction).
    pub fn new(client: Client<P>) -> Self {
        Self {
            market: client.market(),
            escrow: client.escrow(),
            oracle: client.oracle(),
            token: client.token(),
            permit_signer: None,
        }
    }

    /// The same customer signing EIP-2612 permits with `signer` (the sender's key): purchases and
    /// deposits from the wallet then take one transaction and no approval. The market's permit
    /// sets its allowance to the amount paid, which the call spends: an allowance given before is
    /// used up. A key of another account is refused when used ([`Error::PermitSigner`]).
    pub fn with_permit_signer(self, signer: impl Signer + Send + Sync + 'static) -> Self {
        Self { permit_signer: Some(Arc::new(signer)), ..self }
    }

    /// The account that buys and pays.
    pub fn sender(&self) -> Address {
        self.client().sender()
    }

    /// The connection it sends through.
    pub fn client(&self) -> &Client<P> {
        self.market.client()
    }

    /// The market: bids, deals, endpoints, the order book.
    pub fn market(&self) -> &MarketService<P> {
        &self.market
    }

    /// The escrow: the free balance, top-ups from it, withdrawals.
    pub fn escrow(&self) -> &EscrowService<P> {
        &self.escrow
    }

    /// The price oracle: the rate deals are paid at.
    pub fn oracle(&self) -> &OracleService<P> {
        &self.oracle
    }

    /// The token: balances, allowances, approvals.
    pub fn token(&self) -> &TokenService<P> {
        &self.token
    }

    /// Moves `amount` of the sender's tokens into its free balance in the market, for bids and
    /// top-ups; returns the new free balance. One transaction with a permit key; else the market
    /// is approved first when its allowance falls short. Checked first:
    /// [`Error::InsufficientFunds`] with [`Funds::TokenBalance`](crate::Funds::TokenBalance).
    pub async fn deposit(&self, amount: Snm) -> Result<Snm, Error> {
        match &self.permit_signer {
            Some(signer) => self.escrow.deposit_with_permit(signer.as_ref(), amount).await,
            None => {
                self.approve_if_short(amount).await?;
                self.escrow.send_deposit(amount).await
            }
        }
    }

    /// The best ask of `book` for `wanted` within `budget`: the cheapest (then oldest) ask meeting
    /// the requirements whose price lets `budget` pay for the whole fixed term, or for the minimum
    /// runway of a spot deal, at the current rate. Asks reserved for another customer are left
    /// out. When none fits, [`Error::NothingFits`] says why ([`Shortfall`]: how many asks each
    /// requirement left out, the cheapest fitting one and what it costs against the budget).
    pub async fn best_ask(
        &self,
        book: &OrderBook,
        wanted: &Requirements,
        budget: Snm,
    ) -> Result<PlacedAsk, Error> {
        // The deal opens in a later block: an ask expiring now would be refused.
        self.best_within_budget(book, wanted, budget, |within, opens| {
            book.best_placed_ask(within, opens).cloned()
        })
        .await
    }

    /// [`Self::best_ask`] among placed and signed asks alike ([`OrderBook::best_ask`]): the
    /// cheapest fitting ask within `budget`, a placed one winning a tie. Buy it with [`Self::buy`].
    pub async fn best_offer(
        &self,
        book: &OrderBook,
        wanted: &Requirements,
        budget: Snm,
    ) -> Result<OpenAsk, Error> {
        self.best_within_budget(book, wanted, budget, |within, opens| {
            book.best_ask(within, opens).map(|offer| offer.to_open_ask())
        })
        .await
    }

    /// What `pick` finds for `wanted` (made this customer's) with the price capped at what `budget`
    /// pays for at the current rate, `pick` being given the capped requirements and the time the
    /// deal opens at the earliest (the next second); [`Error::NothingFits`] with the shortfall when
    /// it finds nothing.
    async fn best_within_budget<T>(
        &self,
        book: &OrderBook,
        wanted: &Requirements,
        budget: Snm,
        pick: impl FnOnce(&Requirements, u64) -> Option<T>,
    ) -> Result<T, Error> {
        let (rule, now) = tokio::try_join!(self.market.deposit_rule(), self.client().now())?;
        let affordable = UsdPerSecond::max_for_budget(budget, budget_seconds(wanted.term, &rule), rule.rate);
        let wanted =
            Requirements { customer: Some(wanted.customer.unwrap_or(self.sender())), ..wanted.clone() };
        let within = Requirements {
            max_price: wanted.max_price.into_iter().chain(affordable).min(),
            ..wanted.clone()
        };
        pick(&within, now + 1).ok_or_else(|| {
            Error::NothingFits(Box::new(Shortfall::explain(book, &wanted, budget, &rule, now + 1)))
        })
    }

    /// Buys `ask`: a placed ask with [`Self::quick_buy`]; a signed one with
    /// [`MarketService::quick_buy_signed`], which takes the deposit from the sender's free balance
    /// in the market, so the missing part of `purchase.deposit` is deposited first
    /// ([`Self::deposit`]). Buys of signed asks in flight at once from one account would each read
    /// the same free balance and deposit too little between them: deposit their sum first and
    /// call [`MarketService::quick_buy_signed`] for each.
    pub async fn buy(&self, ask: &OpenAsk, purchase: &Purchase) -> Result<DealOpened, Error> {
        match ask {
            OpenAsk::Placed(placed) => self.quick_buy(placed, purchase).await,
            OpenAsk::Signed(signed) => {
                let free = self.escrow.free_balance(self.sender()).await?;
                if let Some(missing) = purchase.deposit.checked_sub(free).filter(|m| *m > Snm::ZERO) {
                    self.deposit(missing).await?;
                }
                self.market.quick_buy_signed(signed, purchase).await
            }
        }
    }

    /// Takes `ask` directly, paying `purchase.deposit` from the sender's tokens into a new deal:
    /// one transaction with a permit key; else the market is approved first when its allowance
    /// falls short (two transactions). When the quick buy's simulation finds the balance short:
    /// [`Error::InsufficientFunds`] with [`Funds::TokenBalance`](crate::Funds::TokenBalance),
    /// nothing sent.
    pub async fn quick_buy(&self, ask: &PlacedAsk, purchase: &Purchase) -> Result<DealOpened, Error> {
        match &self.permit_signer {
            Some(signer) => self.market.quick_buy_with_permit(signer.as_ref(), ask, purchase).await,
            // Optimistic: the quick buy's own simulation finds a short balance or allowance, so the
            // two reads that check them first are only made when it does (two requests fewer per
            // deal when funds suffice, as they usually do; nothing is sent when they do not).
            None => match self.market.send_quick_buy(ask, purchase).await {
                Err(Error::Token(
                    SNMTokenErrors::ERC20InsufficientAllowance(_)
                    | SNMTokenErrors::ERC20InsufficientBalance(_),
                )) => {
                    self.approve_if_short(purchase.deposit).await?;
                    self.market.send_quick_buy(ask, purchase).await
                }
                result => result,
            },
        }
    }

    /// Adds `amount` of the sender's tokens to a running deal's deposit; returns the new deposit.
    /// The market tops a deal up only from the free balance, so this is two transactions (three
    /// without a permit key when the allowance falls short): the deposit into the free balance
    /// ([`Self::deposit`]), then [`EscrowService::top_up`]. Should the second fail (the deal
    /// closed meanwhile), the amount stays in the free balance.
    pub async fn top_up_from_wallet(&self, deal: DealId, amount: Snm) -> Result<Snm, Error> {
        self.deposit(amount).await?;
        self.escrow.top_up(deal, amount).await
    }

    /// How long a deal's deposit lasts at the current rate: what is left once the elapsed seconds
    /// are paid, divided by the price in SNM per second, in whole seconds (each of them fully
    /// paid), from the latest block's time. A closed deal has no runway; an unknown id is
    /// [`Error::DealNotFound`].
    pub async fn runway(&self, deal: DealId) -> Result<Runway, Error> {
        let (stored, rate, now) =
            tokio::try_join!(self.market.deal(deal), self.oracle.snm_per_usd(), self.client().now())?;
        let stored = stored.ok_or(Error::DealNotFound(deal))?;
        if !stored.is_active() {
            return Ok(Runway {
                deal,
                deposit_left: Snm::ZERO,
                lasts: Duration::ZERO,
                until: now,
                covers_term: false,
                end_time: None,
            });
        }
        let owed = self.market.owed(deal, rate).await?;
        let left = stored.deposit.checked_sub(owed).unwrap_or(Snm::ZERO);
        let seconds = stored.price.seconds_paid(left, rate);
        let (lasts, covers_term) = match stored.end_time {
            Some(end) => {
                let remaining = end.saturating_sub(now);
                (seconds.min(remaining), seconds >= remaining)
            }
            None => (seconds, false),
        };
        Ok(Runway {
            deal,
            deposit_left: left,
            lasts: Duration::from_secs(lasts),
            until: now.saturating_add(lasts),
            covers_term,
            end_time: stored.end_time,
        })
    }

    /// Checks that the sender holds `amount` ([`Error::InsufficientFunds`] otherwise, before any
    /// approval) and approves the market for it when its allowance is below: the checks the
    /// services' `deposit` and `quick_buy` make, in the same two reads.
    async fn approve_if_short(&self, amount: Snm) -> Result<(), Error> {
        let (sender, market) = (self.sender(), self.market.address());
        let (balance, allowance) =
            tokio::try_join!(self.token.balance(sender), self.token.allowance(sender, market))?;
        self.client().check_funds(crate::Funds::TokenBalance, balance, amount)?;
        if allowance < amount {
            self.token.approve(self.market.address(), amount).await?;
        }
        Ok(())
    }
}
