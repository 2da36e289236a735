//! Matching bids with asks and opening the deals (anyone may open a deal from a compatible pair).
//!
//! [`find_matches`] is pure and deterministic: bids are taken oldest first, and each gets the
//! cheapest compatible ask not already given to an earlier bid (the oldest among equally cheap),
//! under the same rules as the contract's `openDeal`: resources, flags, region, price, duration
//! range or spot, counterparty both ways, expiry, and (given the market's [`DepositRule`]) the
//! deposit covering the minimum runway. What the book cannot know (blacklists, the worker's link
//! to its master, the customer's free balance, a rate gone stale) is checked by the market: the
//! [`Matcher`] simulates each opening and reports the refused ones with their typed errors.

use std::collections::HashSet;

use alloy::providers::Provider;

use serde::Serialize;

use crate::{
    Client, Error,
    market::{AskId, DealOpened, DepositRule, PlacedAsk, PlacedBid},
    orderbook::OrderBook,
    services::MarketService,
};

/// A compatible ask and bid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
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

/// What one [`Matcher::run`] did. Serializes each refusal's reason as its sentence.
#[derive(Debug, Default, Serialize)]
pub struct MatchReport {
    /// The deals opened.
    pub opened: Vec<DealOpened>,
    /// The matches the market refused, with its reason.
    #[serde(serialize_with = "refusals")]
    pub refused: Vec<(Match, Error)>,
}

/// The refusals as (match, sentence) pairs.
fn refusals<S: serde::Serializer>(refused: &[(Match, Error)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(refused.iter().map(|(m, error)| (m, error.to_string())))
}

/// A matcher bot: syncs the order book, finds matches and opens them, paying the gas.
#[derive(Clone, Debug)]
pub struct Matcher<P> {
    market: MarketService<P>,
}

impl<P: Provider + Clone> From<Client<P>> for Matcher<P> {
    fn from(client: Client<P>) -> Self {
        Self::new(client)
    }
}

impl<P: Provider + Clone> Matcher<P> {
    /// The matcher sending as `client`'s sender (it pays the gas of the deals it opens).
    pub fn new(client: Client<P>) -> Self {
        Self { market: client.market() }
    }

    /// The account it sends as.
    pub fn sender(&self) -> alloy::primitives::Address {
        self.market.client().sender()
    }

    /// The market: the order book, its events, the deals it opens.
    pub fn market(&self) -> &MarketService<P> {
        &self.market
    }

    /// Opens the deal of `m` ([`MarketService::open_deal`]).
    pub async fn open(&self, m: &Match) -> Result<DealOpened, Error> {
        self.market.open_deal(&m.ask, &m.bid).await
    }

    /// Brings `book` up to date, opens every match in order, and applies the openings to the
    /// book. A match the market refuses (a revert) is reported, not fatal; any other failure
    /// stops the run.
    pub async fn run(&self, book: &mut OrderBook) -> Result<MatchReport, Error> {
        self.market.sync(book).await?;
        let (rule, now) = tokio::try_join!(self.market.deposit_rule(), self.market.client().now())?;
        let mut report = MatchReport::default();
        for m in find_matches(book, now + 1, Some(&rule)) {
            match self.open(&m).await {
                Ok(opened) => report.opened.push(opened),
                Err(error) if error.is_revert() => report.refused.push((m, error)),
                Err(error) => return Err(error),
            }
        }
        self.market.sync(book).await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use alloy::primitives::{Address, U256};

    use super::*;
    use crate::{
        market::{Ask, AskId, Bid, BidId},
        units::{Resources, Snm, SnmPerUsd, Term, UsdPerSecond},
    };

    fn price(scaled: u64) -> UsdPerSecond {
        UsdPerSecond::from_scaled(U256::from(scaled))
    }

    fn book(asks: &[(u64, Ask)], bids: &[(u64, Bid)]) -> OrderBook {
        let mut book = OrderBook::new();
        for (id, ask) in asks {
            book.insert_ask(PlacedAsk { id: AskId(*id), ask: ask.clone(), block: *id });
        }
        for (id, bid) in bids {
            book.insert_bid(PlacedBid { id: BidId(*id), bid: bid.clone(), block: *id });
        }
        book
    }

    fn ask(master: u8, price_scaled: u64, cores: u64) -> Ask {
        Ask::new(Address::repeat_byte(master), Address::repeat_byte(master + 100), price(price_scaled))
            .resources(Resources::new().cpu_cores(cores))
    }

    fn bid(customer: u8, max_price: u64, cores: u64) -> Bid {
        Bid::new(Address::repeat_byte(customer), price(max_price), Term::Spot, Snm::from_whole(1_000))
            .resources(Resources::new().cpu_cores(cores))
    }

    fn pairs(matches: &[Match]) -> Vec<(u64, u64)> {
        matches.iter().map(|m| (m.bid.id.0, m.ask.id.0)).collect()
    }

    #[test]
    fn oldest_bid_first_gets_the_cheapest_ask_then_the_oldest() {
        let book = book(
            &[
                (1, ask(1, 30, 8)),
                (2, ask(1, 10, 2)),
                (3, ask(2, 20, 8)),
                (4, ask(2, 20, 8)),
                (5, ask(3, 5, 1)),
            ],
            &[
                (10, bid(7, 25, 4)),
                (11, bid(8, 100, 2)),
                (12, bid(9, 100, 8)),
                (13, bid(6, 25, 8)),
                (14, bid(5, 1, 1)),
            ],
        );
        // Bid 10 (4 cores, <= 25): 3 and 4 fit at 20, 3 is older. Bid 11 (2 cores): 2 at 10.
        // Bid 12: 4 (20) before 1 (30). Bid 13: nothing left at <= 25. Bid 14: nothing at 1.
        assert_eq!(pairs(&find_matches(&book, 0, None)), vec![(10, 3), (11, 2), (12, 4)]);
        assert_eq!(find_matches(&book, 0, None), find_matches(&book, 0, None), "deterministic");
    }

    #[test]
    fn follows_the_contract_rules() {
        let reserved = ask(1, 10, 4).counterparty(Address::repeat_byte(9));
        let fixed_only = ask(1, 10, 4).durations(Duration::from_secs(60), Some(Duration::from_secs(600)));
        let expired = ask(1, 10, 4).expiry(50);
        let other_master = ask(2, 10, 4);
        let only_master_1 = bid(7, 100, 1).counterparty(Address::repeat_byte(1));
        let book =
            book(&[(1, reserved), (2, fixed_only), (3, expired), (4, other_master)], &[(10, only_master_1)]);
        assert!(find_matches(&book, 100, None).is_empty());
        assert_eq!(pairs(&find_matches(&book, 50, None)), vec![(10, 3)], "expiry is inclusive");

        // The deposit must cover the runway at the ask's price: 1,000 SNM pays 1 h at 10 SNM/USD
        // for at most 1/36 USD a second.
        let rule = DepositRule { rate: SnmPerUsd::from_whole(10), min_runway: Duration::from_secs(3_600) };
        let limit =
            UsdPerSecond::max_for_budget(Snm::from_whole(1_000), 3_600, rule.rate).map(|p| p.scaled());
        let limit = limit.map(|p| p.to::<u64>()).unwrap_or_default();
        let book2 = super::tests::book(
            &[(1, ask(1, limit + 1, 4)), (2, ask(1, limit, 4))],
            &[(10, bid(7, u64::MAX, 1))],
        );
        assert_eq!(pairs(&find_matches(&book2, 0, Some(&rule))), vec![(10, 2)]);
        assert_eq!(pairs(&find_matches(&book2, 0, None)), vec![(10, 2)], "cheapest anyway");
        let book3 = super::tests::book(&[(1, ask(1, limit + 1, 4))], &[(10, bid(7, u64::MAX, 1))]);
        assert!(find_matches(&book3, 0, Some(&rule)).is_empty());
    }
}
