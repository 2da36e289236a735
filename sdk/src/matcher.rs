//! Matching bids with asks and opening the deals (anyone may open a deal from a compatible pair).
//!
//! [`find_matches`] is pure and deterministic: bids are taken oldest first, and each gets the
//! cheapest compatible ask not already given to an earlier bid (the oldest among equally cheap),
//! under the same rules as the contract's `openDeal`: resources, flags, region, price, duration
//! range or spot, counterparty both ways, expiry, and (given the market's [`DepositRule`]) the
//! deposit covering the minimum runway. What the book cannot know (blacklists, the worker's link
//! to its master, the customer's free balance, a rate gone stale) is checked by the market: the
//! [`Matcher`] simulates each opening and reports the refused ones with their typed errors.

use std::{collections::HashSet, ops::Deref};

use alloy::providers::Provider;

use crate::{
    Client, Error,
    bindings::Market,
    client::DepositRule,
    market::{AskId, DealOpened, PlacedAsk, PlacedBid},
    orderbook::OrderBook,
    tx,
};

/// A compatible ask and bid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The ask.
    pub ask: PlacedAsk,
    /// The bid.
    pub bid: PlacedBid,
}

/// The matches of `book` at block time `now` (see the [module documentation](self)). With a
/// deposit rule, a bid whose deposit does not cover the minimum runway at an ask's price is not
/// matched with that ask.
pub fn find_matches(book: &OrderBook, now: u64, rule: Option<&DepositRule>) -> Vec<Match> {
    let mut taken: HashSet<AskId> = HashSet::new();
    let mut matches = Vec::new();
    for placed in book.live_bids(now) {
        let wanted = placed.bid.requirements();
        let best = book.asks_matching(&wanted, now).find(|ask| {
            !taken.contains(&ask.id)
                && rule.is_none_or(|rule| {
                    rule.required(ask.ask.price, placed.bid.term)
                        .is_some_and(|needed| placed.bid.deposit >= needed)
                })
        });
        if let Some(ask) = best {
            taken.insert(ask.id);
            matches.push(Match { ask: ask.clone(), bid: placed.clone() });
        }
    }
    matches
}

/// What one [`Matcher::run`] did.
#[derive(Debug, Default)]
pub struct MatchReport {
    /// The deals opened.
    pub opened: Vec<DealOpened>,
    /// The matches the market refused, with its reason.
    pub refused: Vec<(Match, Error)>,
}

/// A matcher bot: syncs the order book, finds matches and opens them, paying the gas.
#[derive(Clone, Debug)]
pub struct Matcher<P> {
    client: Client<P>,
}

impl<P> Deref for Matcher<P> {
    type Target = Client<P>;

    fn deref(&self) -> &Client<P> {
        &self.client
    }
}

impl<P: Provider + Clone> From<Client<P>> for Matcher<P> {
    fn from(client: Client<P>) -> Self {
        Self { client }
    }
}

impl<P: Provider + Clone> Matcher<P> {
    /// A matcher sending as `client`'s sender.
    pub fn new(client: Client<P>) -> Self {
        Self { client }
    }

    /// Opens the deal of `m` (`openDeal`).
    pub async fn open(&self, m: &Match) -> Result<DealOpened, Error> {
        let call = Market::openDealCall {
            askId: m.ask.id.word(),
            ask: (&m.ask.ask).into(),
            bidId: m.bid.id.word(),
            bid: (&m.bid.bid).into(),
        };
        let receipt = self.send_market(call).await?;
        Ok((&tx::event::<Market::DealOpened>(&receipt, self.deployment().market)?).into())
    }

    /// Brings `book` up to date, opens every match in order, and applies the openings to the
    /// book. A match the market refuses (a revert) is reported, not fatal; any other failure
    /// stops the run.
    pub async fn run(&self, book: &mut OrderBook) -> Result<MatchReport, Error> {
        self.sync(book).await?;
        let (rule, now) = tokio::try_join!(self.deposit_rule(), self.now())?;
        let mut report = MatchReport::default();
        for m in find_matches(book, now + 1, Some(&rule)) {
            match self.open(&m).await {
                Ok(opened) => report.opened.push(opened),
                Err(error) if error.is_revert() => report.refused.push((m, error)),
                Err(error) => return Err(error),
            }
        }
        self.sync(book).await?;
        Ok(report)
    }
}
