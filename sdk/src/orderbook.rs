//! The order book: every open ask and bid, rebuilt from the market's events.
//!
//! The market stores only a hash per order; an order's fields are in its `AskPlaced` / `BidPlaced`
//! event. The book adds those, removes orders named by `OrderCancelled` and the ask and bid a
//! `DealOpened` consumed, and remembers the cursor of the last event it applied, so
//! [`MarketService::sync`](crate::services::MarketService::sync) continues from there. Queries are in memory: the
//! cheapest matching ask among 100,000 is found in well under a millisecond when it is among the
//! cheapest, and in a few milliseconds in the worst case (see `sdk/BENCHMARKS.md`).
//!
//! The book also keeps the hashes of the blocks it read (its [`StreamPosition`]): when the chain
//! reorganises past events it applied, [`MarketService::sync`](crate::services::MarketService::sync)
//! reads it again from where it started, so nothing an orphaned block placed, cancelled or matched
//! stays in it.
//!
//! Expired orders stay in the book until an event removes them; the queries take the block time
//! and leave them out.
//!
//! The book also holds signed asks ([`SignedAsk`]: offers signed off chain, never placed), added by
//! whoever received them ([`OrderBook::insert_signed_ask`]) or loaded from an indexer;
//! [`OrderBook::best_ask`] chooses among placed and signed asks alike. A deal opened from a signed ask (a `DealOpened` with ask
//! id 0) moves its worker's nonce on, so the book drops every signed ask of that worker.
//!
//! A supplier's agent needs only its own asks: [`OrderBook::of_master`] keeps one master's asks and
//! no bids, so N agents in one process hold N asks between them, not N x N.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy::{
    primitives::{Address, B256, keccak256},
    sol_types::SolEvent,
};

use crate::{
    bindings::Market::{self, MarketEvents},
    events::{Event, EventCursor, StreamPosition},
    market::{Ask, AskId, BidId, OpenAsk, PlacedAsk, PlacedBid, Requirements, SignedAsk},
    units::UsdPerSecond,
};

/// An ask a customer can take: placed on chain, or signed off chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer<'a> {
    /// An ask placed on chain (take it with `quickBuy`).
    Placed(&'a PlacedAsk),
    /// A signed ask (take it with `quickBuySigned`).
    Signed(&'a SignedAsk),
}

impl<'a> Offer<'a> {
    /// The ask's fields.
    pub fn ask(&self) -> &'a Ask {
        match self {
            Self::Placed(placed) => &placed.ask,
            Self::Signed(signed) => &signed.ask,
        }
    }

    /// The offer, owned.
    pub fn to_open_ask(&self) -> OpenAsk {
        match self {
            Self::Placed(placed) => OpenAsk::Placed((*placed).clone()),
            Self::Signed(signed) => OpenAsk::Signed((*signed).clone()),
        }
    }
}

/// Open asks and bids (see the [module documentation](self)).
#[derive(Clone, Debug, Default)]
pub struct OrderBook {
    asks: HashMap<AskId, PlacedAsk>,
    /// Asks by (price, id): cheapest first, then oldest (ids grow with time).
    by_price: BTreeSet<(UsdPerSecond, AskId)>,
    bids: BTreeMap<BidId, PlacedBid>,
    /// Signed asks by the hash of their signature.
    signed: HashMap<B256, SignedAsk>,
    /// Signed asks by (price, signature hash): cheapest first.
    signed_by_price: BTreeSet<(UsdPerSecond, B256)>,
    /// Where the book started: a rebuild after a deep reorganisation starts there again.
    origin: EventCursor,
    /// After the last event applied, with the hashes of the blocks read.
    position: StreamPosition,
    /// Only this master's asks, and no bids ([`OrderBook::of_master`]); `None`: every order.
    master: Option<Address>,
}

impl OrderBook {
    /// An empty book that applies events from block 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty book that applies only events after `cursor` (for example from the market's
    /// deployment block).
    pub fn starting_at(cursor: EventCursor) -> Self {
        Self { origin: cursor, position: StreamPosition::new(cursor), ..Self::default() }
    }

    /// An empty book of `master`'s asks only (no bids, no other master's asks) that applies events
    /// after `cursor`: what a supplier's agent needs to know which of its asks are open, in memory
    /// that does not grow with the market.
    pub fn of_master(cursor: EventCursor, master: Address) -> Self {
        Self { master: Some(master), ..Self::starting_at(cursor) }
    }

    /// The master whose asks alone the book keeps ([`OrderBook::of_master`]); `None` when it keeps
    /// every order.
    pub fn master(&self) -> Option<Address> {
        self.master
    }

    /// The signature hashes of the events a book applies (`AskPlaced`, `BidPlaced`,
    /// `OrderCancelled`, `DealOpened`): syncing asks the node for these only.
    pub fn events() -> [B256; 4] {
        [
            Market::AskPlaced::SIGNATURE_HASH,
            Market::BidPlaced::SIGNATURE_HASH,
            Market::OrderCancelled::SIGNATURE_HASH,
            Market::DealOpened::SIGNATURE_HASH,
        ]
    }

    /// An empty book like this one (same start and master filter): what a rebuild after a
    /// reorganisation starts from.
    pub(crate) fn restarted(&self) -> Self {
        Self { master: self.master, ..Self::starting_at(self.origin) }
    }

    /// The position after the last event applied: where syncing continues.
    pub fn cursor(&self) -> EventCursor {
        self.position.cursor
    }

    /// Where the book started ([`OrderBook::starting_at`]).
    pub fn origin(&self) -> EventCursor {
        self.origin
    }

    /// The cursor and the hashes of the blocks read: where syncing continues, with
    /// reorganisations detected.
    pub fn position(&self) -> StreamPosition {
        self.position.clone()
    }

    /// Records where the stream that fed the book stands (it read every event up to there).
    pub fn set_position(&mut self, position: StreamPosition) {
        self.position = position;
    }

    /// Applies one market event, in chain order; events at or before the cursor are ignored, so
    /// applying a stream twice changes nothing. Returns whether the book changed.
    pub fn apply(&mut self, event: &Event<MarketEvents>) -> bool {
        if !self.position.cursor.precedes(event.block, event.log_index) {
            return false;
        }
        self.position.cursor = event.cursor();
        match &event.event {
            MarketEvents::AskPlaced(placed) => {
                if self.master.is_some_and(|master| master != placed.master) {
                    return false;
                }
                self.insert_ask(PlacedAsk::from_event(placed, event.block));
                true
            }
            MarketEvents::BidPlaced(_) if self.master.is_some() => false,
            MarketEvents::BidPlaced(placed) => {
                self.insert_bid(PlacedBid::from_event(placed, event.block));
                true
            }
            MarketEvents::OrderCancelled(cancelled) => {
                let id = cancelled.orderId.saturating_to();
                self.remove_ask(AskId(id)) || self.remove_bid(BidId(id))
            }
            MarketEvents::DealOpened(opened) => {
                // Ask id 0: a signed ask was taken, and its worker's nonce moved on.
                let ask = if opened.info.askId.is_zero() {
                    self.remove_signed_asks_of(opened.info.worker) > 0
                } else {
                    self.remove_ask(AskId::from_word(opened.info.askId))
                };
                let bid = self.remove_bid(BidId::from_word(opened.info.bidId));
                ask || bid
            }
            _ => false,
        }
    }

    /// Adds an ask (replacing one with the same id).
    pub fn insert_ask(&mut self, ask: PlacedAsk) {
        self.remove_ask(ask.id);
        self.by_price.insert((ask.ask.price, ask.id));
        self.asks.insert(ask.id, ask);
    }

    /// Adds a bid (replacing one with the same id).
    pub fn insert_bid(&mut self, bid: PlacedBid) {
        self.bids.insert(bid.id, bid);
    }

    /// Removes an ask; returns whether it was there.
    pub fn remove_ask(&mut self, id: AskId) -> bool {
        match self.asks.remove(&id) {
            Some(ask) => self.by_price.remove(&(ask.ask.price, id)),
            None => false,
        }
    }

    /// Removes a bid; returns whether it was there.
    pub fn remove_bid(&mut self, id: BidId) -> bool {
        self.bids.remove(&id).is_some()
    }

    /// The open ask `id`.
    pub fn ask(&self, id: AskId) -> Option<&PlacedAsk> {
        self.asks.get(&id)
    }

    /// The open bid `id`.
    pub fn bid(&self, id: BidId) -> Option<&PlacedBid> {
        self.bids.get(&id)
    }

    /// Number of open asks.
    pub fn ask_count(&self) -> usize {
        self.asks.len()
    }

    /// Number of open bids.
    pub fn bid_count(&self) -> usize {
        self.bids.len()
    }

    /// Every open ask, cheapest first, then oldest.
    pub fn asks(&self) -> impl Iterator<Item = &PlacedAsk> + '_ {
        self.by_price.iter().filter_map(|(_, id)| self.asks.get(id))
    }

    /// Every open bid, oldest first.
    pub fn bids(&self) -> impl Iterator<Item = &PlacedBid> + '_ {
        self.bids.values()
    }

    /// The asks meeting `wanted` at block time `now`, cheapest first, then oldest.
    pub fn asks_matching<'a, 'r>(
        &'a self,
        wanted: &'r Requirements,
        now: u64,
    ) -> impl Iterator<Item = &'a PlacedAsk> + use<'a, 'r> {
        let max = wanted.max_price.unwrap_or(UsdPerSecond::from_scaled(alloy::primitives::U256::MAX));
        self.by_price
            .range(..=(max, AskId(u64::MAX)))
            .filter_map(|(_, id)| self.asks.get(id))
            .filter(move |placed| wanted.matches(&placed.ask, now))
    }

    /// The cheapest placed ask meeting `wanted` at block time `now` (the oldest among equally
    /// cheap); [`Self::best_ask`] also looks at signed asks.
    pub fn best_placed_ask(&self, wanted: &Requirements, now: u64) -> Option<&PlacedAsk> {
        self.asks_matching(wanted, now).next()
    }

    /// Adds a signed ask (the same one again changes nothing). The book does not check it: verify
    /// it first ([`SignedAsk::verify`] under the market's domain).
    pub fn insert_signed_ask(&mut self, ask: SignedAsk) {
        let key = keccak256(&ask.signature);
        self.signed_by_price.insert((ask.ask.price, key));
        self.signed.insert(key, ask);
    }

    /// Removes every signed ask of `worker` (its nonce moved on); returns how many there were.
    pub fn remove_signed_asks_of(&mut self, worker: Address) -> usize {
        self.retain_signed(|ask| ask.ask.worker != worker)
    }

    /// Removes the signed asks of `worker` whose nonce is below `nonce` (the worker's current one).
    pub fn remove_stale_signed_asks(&mut self, worker: Address, nonce: u64) -> usize {
        self.retain_signed(|ask| ask.ask.worker != worker || ask.nonce >= nonce)
    }

    fn retain_signed(&mut self, keep: impl Fn(&SignedAsk) -> bool) -> usize {
        let before = self.signed.len();
        let by_price = &mut self.signed_by_price;
        self.signed.retain(|key, ask| {
            let kept = keep(ask);
            if !kept {
                by_price.remove(&(ask.ask.price, *key));
            }
            kept
        });
        before - self.signed.len()
    }

    /// Every signed ask, cheapest first.
    pub fn signed_asks(&self) -> impl Iterator<Item = &SignedAsk> + '_ {
        self.signed_by_price.iter().filter_map(|(_, key)| self.signed.get(key))
    }

    /// Number of signed asks.
    pub fn signed_ask_count(&self) -> usize {
        self.signed.len()
    }

    /// The cheapest ask, placed or signed, meeting `wanted` at block time `now`; a placed ask wins
    /// a tie (its price is on chain already), then the oldest. When there is none,
    /// [`Shortfall::explain`](crate::shortfall::Shortfall::explain) says why (and
    /// [`Customer::best_offer`](crate::Customer::best_offer) adds the budget to the requirements).
    pub fn best_ask(&self, wanted: &Requirements, now: u64) -> Option<Offer<'_>> {
        let placed = self.best_placed_ask(wanted, now);
        let signed = self.signed_asks().find(|s| wanted.matches(&s.ask, now));
        match (placed, signed) {
            (Some(p), Some(s)) if s.ask.price < p.ask.price => Some(Offer::Signed(s)),
            (Some(p), _) => Some(Offer::Placed(p)),
            (None, Some(s)) => Some(Offer::Signed(s)),
            (None, None) => None,
        }
    }

    /// The bids still matchable at block time `now`, oldest first.
    pub fn live_bids(&self, now: u64) -> impl Iterator<Item = &PlacedBid> + '_ {
        self.bids.values().filter(move |b| b.bid.expiry.is_none_or(|expiry| now <= expiry))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use alloy::primitives::{Address, B256, U256};

    use super::*;
    use crate::{
        bindings::{IMarket, Market},
        market::{Ask, Bid},
        units::{NetFlags, Resources, Snm, Term},
    };

    fn price(scaled: u64) -> UsdPerSecond {
        UsdPerSecond::from_scaled(U256::from(scaled))
    }

    fn ask(price_scaled: u64) -> Ask {
        Ask::new(Address::repeat_byte(1), Address::repeat_byte(2), price(price_scaled))
            .resources(Resources::new().cpu_cores(4))
            .flags(NetFlags::PUBLIC_IP)
    }

    fn event(block: u64, event: MarketEvents) -> Event<MarketEvents> {
        Event { event, block, log_index: 0, transaction: B256::ZERO }
    }

    fn placed(id: u64, block: u64, ask: &Ask) -> Event<MarketEvents> {
        event(
            block,
            MarketEvents::AskPlaced(Market::AskPlaced {
                askId: U256::from(id),
                master: ask.master,
                worker: ask.worker,
                ask: ask.into(),
            }),
        )
    }

    fn opened(deal: u64, block: u64, ask: u64, bid: u64) -> Event<MarketEvents> {
        let info = IMarket::DealInfo {
            worker: Address::ZERO,
            askId: U256::from(ask),
            bidId: U256::from(bid),
            pricePerSecond: U256::ZERO,
            deposit: U256::ZERO,
            startTime: U256::ZERO,
            endTime: U256::ZERO,
            image: String::new(),
            configHash: B256::ZERO,
        };
        event(
            block,
            MarketEvents::DealOpened(Market::DealOpened {
                dealId: U256::from(deal),
                customer: Address::ZERO,
                master: Address::ZERO,
                info,
            }),
        )
    }

    #[test]
    fn applies_events_once_in_order() {
        let mut book = OrderBook::new();
        let bid = Bid::new(Address::repeat_byte(3), price(10), Term::Spot, Snm::from_whole(1));
        let placed_bid = event(
            2,
            MarketEvents::BidPlaced(Market::BidPlaced {
                bidId: U256::from(2),
                customer: bid.customer,
                bid: (&bid).into(),
            }),
        );
        assert!(book.apply(&placed(1, 1, &ask(5))));
        assert!(book.apply(&placed_bid));
        assert!(!book.apply(&placed(1, 1, &ask(5))), "at or before the cursor: ignored");
        assert_eq!((book.ask_count(), book.bid_count()), (1, 1));
        assert_eq!(book.bid(BidId(2)).map(|b| &b.bid), Some(&bid));
        assert!(book.apply(&placed(3, 3, &ask(7))));
        let cancelled = MarketEvents::OrderCancelled(Market::OrderCancelled {
            orderId: U256::from(3),
            by: Address::ZERO,
        });
        assert!(book.apply(&event(4, cancelled)));
        assert!(book.apply(&opened(2, 5, 1, 2)));
        assert_eq!((book.ask_count(), book.bid_count()), (0, 0));
        assert_eq!(book.cursor(), EventCursor { block: 5, log_index: Some(0) });
    }

    #[test]
    fn a_masters_book_keeps_its_own_asks_and_no_bids() {
        let mine = Address::repeat_byte(1);
        let mut book = OrderBook::of_master(EventCursor::default(), mine);
        let other = Ask::new(Address::repeat_byte(9), Address::repeat_byte(8), price(5));
        let bid = Bid::new(Address::repeat_byte(3), price(10), Term::Spot, Snm::from_whole(1));
        let placed_bid = event(
            3,
            MarketEvents::BidPlaced(Market::BidPlaced {
                bidId: U256::from(3),
                customer: bid.customer,
                bid: (&bid).into(),
            }),
        );
        assert!(book.apply(&placed(1, 1, &ask(5))), "its own ask is kept");
        assert!(!book.apply(&placed(2, 2, &other)), "another master's ask is not");
        assert!(!book.apply(&placed_bid), "nor is a bid");
        assert_eq!((book.ask_count(), book.bid_count(), book.master()), (1, 0, Some(mine)));
        assert_eq!(
            book.cursor(),
            EventCursor { block: 3, log_index: Some(0) },
            "every event moves the cursor"
        );
        assert!(book.apply(&opened(4, 4, 1, 3)), "its ask taken by a deal leaves the book");
        assert_eq!(book.ask_count(), 0);
        let restarted = book.restarted();
        assert_eq!((restarted.master(), restarted.cursor()), (Some(mine), EventCursor::default()));
    }

    #[test]
    fn best_ask_is_the_cheapest_then_the_oldest_that_fits() {
        let mut book = OrderBook::new();
        let asks = [
            (1, ask(9)),
            (2, ask(5)),
            (3, ask(5)),
            (4, ask(1).resources(Resources::new().cpu_cores(1))),
            (5, ask(2).expiry(100)),
            (6, ask(3).durations(Duration::from_secs(60), Some(Duration::from_secs(600)))),
        ];
        for (k, (id, a)) in asks.iter().enumerate() {
            book.apply(&placed(*id, k as u64, a));
        }
        let wanted =
            Requirements::new(Term::Spot).resources(Resources::new().cpu_cores(2)).flags(NetFlags::PUBLIC_IP);
        let ids = |now| book.asks_matching(&wanted, now).map(|a| a.id.0).collect::<Vec<_>>();
        // 4 lacks cores, 6 refuses spot; 5 expires after 100.
        assert_eq!(ids(100), vec![5, 2, 3, 1]);
        assert_eq!(ids(101), vec![2, 3, 1]);
        assert_eq!(book.best_placed_ask(&wanted.clone().max_price(price(4)), 101), None);
        assert_eq!(book.best_placed_ask(&wanted, 101).map(|a| a.id), Some(AskId(2)));
        assert_eq!(book.asks().map(|a| a.id.0).collect::<Vec<_>>(), vec![4, 5, 6, 2, 3, 1]);
        assert!(book.remove_ask(AskId(2)) && !book.remove_ask(AskId(2)));
        assert_eq!(book.best_placed_ask(&wanted, 101).map(|a| a.id), Some(AskId(3)));
    }

    fn signed(price_scaled: u64, worker: u8, nonce: u64) -> SignedAsk {
        let mut a = ask(price_scaled);
        a.worker = Address::repeat_byte(worker);
        // The book does not check signatures: distinct bytes are enough to tell asks apart.
        let signature = alloy::primitives::Bytes::from(vec![worker, nonce as u8, price_scaled as u8]);
        SignedAsk { ask: a, nonce, signature }
    }

    #[test]
    fn best_ask_chooses_among_placed_and_signed_asks() {
        let mut book = OrderBook::new();
        let wanted =
            Requirements::new(Term::Spot).resources(Resources::new().cpu_cores(2)).flags(NetFlags::PUBLIC_IP);
        assert_eq!(book.best_ask(&wanted, 0), None);
        book.apply(&placed(1, 1, &ask(5)));
        book.insert_signed_ask(signed(7, 8, 0));
        assert!(matches!(book.best_ask(&wanted, 0), Some(Offer::Placed(p)) if p.id == AskId(1)));
        book.insert_signed_ask(signed(3, 9, 0));
        book.insert_signed_ask(signed(3, 9, 0));
        assert_eq!(book.signed_ask_count(), 2, "the same signed ask once");
        let best = book.best_ask(&wanted, 0);
        assert!(matches!(best, Some(Offer::Signed(s)) if s.ask.worker == Address::repeat_byte(9)));
        assert_eq!(best.map(|o| o.ask().price), Some(price(3)));
        // A tie goes to the placed ask.
        book.insert_signed_ask(signed(5, 10, 0));
        book.remove_signed_asks_of(Address::repeat_byte(9));
        assert!(matches!(book.best_ask(&wanted, 0), Some(Offer::Placed(_))));
        assert!(book.remove_ask(AskId(1)));
        assert!(matches!(book.best_ask(&wanted, 0), Some(Offer::Signed(s)) if s.ask.price == price(5)));
        assert_eq!(
            book.signed_asks().map(|s| s.ask.price).collect::<Vec<_>>(),
            vec![price(5), price(7)],
            "cheapest first"
        );
    }

    #[test]
    fn a_deal_from_a_signed_ask_drops_its_workers_signed_asks_and_stale_nonces_go() {
        let mut book = OrderBook::new();
        book.insert_signed_ask(signed(3, 9, 0));
        book.insert_signed_ask(signed(4, 9, 1));
        book.insert_signed_ask(signed(5, 10, 0));
        assert_eq!(book.remove_stale_signed_asks(Address::repeat_byte(9), 1), 1);
        let mut taken = opened(7, 1, 0, 0);
        if let MarketEvents::DealOpened(opened) = &mut taken.event {
            opened.info.worker = Address::repeat_byte(9);
        }
        assert!(book.apply(&taken));
        assert_eq!(
            book.signed_asks().map(|s| s.ask.worker).collect::<Vec<_>>(),
            vec![Address::repeat_byte(10)]
        );
    }
}
