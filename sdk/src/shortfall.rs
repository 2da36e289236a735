//! Why no ask fits: the order book seen through a customer's requirements, then through the budget
//! ([`Shortfall`], what [`Customer::best_ask`](crate::Customer::best_ask) returns in
//! [`Error::NothingFits`](crate::Error::NothingFits)).

use std::{collections::HashSet, fmt, time::Duration};

use alloy::primitives::{Address, U256};
use serde::Serialize;

use crate::{
    market::{AskId, DepositRule, Mismatch, Requirements},
    orderbook::OrderBook,
    units::{Snm, SnmPerUsd, Term, UsdPerSecond, fixed::Fixed, format_duration},
};

/// Every reason an ask may not meet requirements, in the order a [`Shortfall`] lists them.
const MISMATCHES: [Mismatch; 7] = [
    Mismatch::Resources,
    Mismatch::Flags,
    Mismatch::Region,
    Mismatch::Duration,
    Mismatch::Price,
    Mismatch::Counterparty,
    Mismatch::Expired,
];

/// How many asks one requirement left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// The requirement (the first an ask fails, in the order of [`Requirements::check`]).
    pub reason: Mismatch,
    /// How many open asks it left out.
    pub asks: usize,
}

/// The cheapest ask meeting the requirements, and what it costs for the budget's seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cheapest {
    /// The ask (0 for a signed ask, which has no id: as in the `DealOpened` of a deal opened from
    /// one).
    pub ask: AskId,
    /// The worker of a signed ask (`None`: a placed ask).
    pub signed_by_worker: Option<Address>,
    /// Its price.
    pub price: UsdPerSecond,
    /// What it costs for [`Shortfall::seconds`] at [`Shortfall::rate`] (rounded up, as the market
    /// checks deposits); `None` when that overflows.
    pub cost: Option<Snm>,
}

/// Why the order book has no ask for a customer's requirements within a budget, at a block time:
/// how many asks each requirement left out, how many met them all (on how many machines), the
/// cheapest of those and what it costs against the budget.
///
/// Its `Display` is one sentence, for example: `no ask fits: of 12 open asks, 3 are short of
/// resources, 2 are missing network flags; 7 meet the requirements on 5 machines, but the cheapest, ask 9
/// at 0.9 USD/h, costs 180 SNM for 2h, above the budget of 100 SNM (which pays up to about 0.5
/// USD/h at 100 SNM/USD)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shortfall {
    /// Open asks in the book, placed and signed.
    pub open_asks: usize,
    /// Asks left out by the requirements, by reason (each ask counted once, for the first
    /// requirement it fails); reasons leaving out none are absent.
    pub left_out: Vec<LeftOut>,
    /// Asks meeting every requirement (the budget aside).
    pub fitting: usize,
    /// Machines (workers) among them.
    pub fitting_machines: usize,
    /// The cheapest of them (the oldest among equally cheap).
    pub cheapest: Option<Cheapest>,
    /// The budget.
    pub budget: Snm,
    /// The highest price the budget pays for over [`Self::seconds`] (`None`: any price).
    pub max_affordable: Option<UsdPerSecond>,
    /// The term wanted.
    pub term: Term,
    /// The seconds the budget must pay for: the fixed term, or for spot the market's minimum
    /// runway (what a deposit must cover at opening).
    pub seconds: u64,
    /// The oracle's rate the costs are computed at.
    pub rate: SnmPerUsd,
}

impl Shortfall {
    /// Explains `book` for `wanted` (its `customer` set, so that asks reserved for it count as
    /// open) and `budget`, under the market's deposit rule `rule`, for a deal opening at block time
    /// `now`.
    pub fn explain(
        book: &OrderBook,
        wanted: &Requirements,
        budget: Snm,
        rule: &DepositRule,
        now: u64,
    ) -> Self {
        let mut counts = [0usize; MISMATCHES.len()];
        let (mut fitting, mut machines, mut cheapest) = (0, HashSet::new(), None::<Cheapest>);
        let seconds = budget_seconds(wanted.term, rule);
        // Placed asks first, each kind cheapest first (then oldest): the first fitting ask of a kind
        // is its cheapest, and a placed ask wins a tie as in `OrderBook::best_ask`.
        let placed = book.asks().map(|placed| (&placed.ask, placed.id, None));
        let signed = book.signed_asks().map(|signed| (&signed.ask, AskId(0), Some(signed.ask.worker)));
        for (ask, id, signed_by_worker) in placed.chain(signed) {
            match wanted.check(ask, now) {
                Ok(()) => {
                    fitting += 1;
                    machines.insert(ask.worker);
                    if cheapest.is_none_or(|c| ask.price < c.price) {
                        cheapest = Some(Cheapest {
                            ask: id,
                            signed_by_worker,
                            price: ask.price,
                            cost: ask.price.snm_needed_up(seconds, rule.rate),
                        });
                    }
                }
                Err(reason) => {
                    if let Some(k) = MISMATCHES.iter().position(|m| *m == reason) {
                        counts[k] += 1;
                    }
                }
            }
        }
        Self {
            open_asks: book.ask_count() + book.signed_ask_count(),
            left_out: MISMATCHES
                .iter()
                .zip(counts)
                .filter(|(_, asks)| *asks > 0)
                .map(|(reason, asks)| LeftOut { reason: *reason, asks })
                .collect(),
            fitting,
            fitting_machines: machines.len(),
            cheapest,
            budget,
            max_affordable: UsdPerSecond::max_for_budget(budget, seconds, rule.rate),
            term: wanted.term,
            seconds,
            rate: rule.rate,
        }
    }

    /// Whether the cheapest ask meeting the requirements costs more than the budget.
    pub fn over_budget(&self) -> bool {
        self.cheapest.is_some_and(|c| c.cost.is_none_or(|cost| cost > self.budget))
    }

    /// What the budget pays for, in words: `2h`, or `the minimum runway of 1h (spot)`.
    pub fn paid_for(&self) -> String {
        match self.term {
            Term::Spot => {
                format!("the minimum runway of {} (spot)", format_duration(Duration::from_secs(self.seconds)))
            }
            fixed => fixed.to_string(),
        }
    }

    /// What the budget pays for an hour, rounded to millionths of a dollar (`up to about 0.5
    /// USD/h`), or `any price`.
    pub fn affordable(&self) -> String {
        match self.max_affordable {
            Some(price) => format!("up to about {}", approx_per_hour(price)),
            None => "any price".to_owned(),
        }
    }
}

/// The seconds a budget must pay for: the fixed term, or for spot the market's minimum runway.
pub fn budget_seconds(term: Term, rule: &DepositRule) -> u64 {
    match term {
        Term::Spot => rule.min_runway.as_secs(),
        fixed => fixed.secs(),
    }
}

/// A price per hour rounded to millionths of a dollar: `0.5 USD/h` for 0.4999999999… USD/h (the
/// highest price a budget pays for is rarely a round number).
pub fn approx_per_hour(price: UsdPerSecond) -> String {
    let (micro, half) = (U256::from(1_000_000_000_000u64), U256::from(500_000_000_000u64));
    let micro = price.to_per_hour().scaled().saturating_add(half) / micro;
    format!("{} USD/h", Fixed::new(micro, 6))
}

/// `n` followed by `noun`, plural unless `n` is one.
fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no ask fits: ")?;
        if self.open_asks == 0 {
            return f.write_str("the order book has no open ask");
        }
        let noun = if self.open_asks == 1 { "open ask" } else { "open asks" };
        write!(f, "of {} {noun}", self.open_asks)?;
        for left_out in &self.left_out {
            let verb = if left_out.asks == 1 { "is" } else { "are" };
            write!(f, ", {} {verb} {}", left_out.asks, left_out.reason)?;
        }
        let Some(cheapest) = self.cheapest else {
            return f.write_str("; none meets every requirement");
        };
        write!(
            f,
            "; {} {} the requirements on {}",
            self.fitting,
            if self.fitting == 1 { "meets" } else { "meet" },
            count(self.fitting_machines, "machine")
        )?;
        let cost = cheapest.cost.map_or_else(|| "more than 2^256 wei".to_owned(), |c| c.to_string());
        let (but, verdict) = if self.over_budget() {
            (", but", format!("above the budget of {}", self.budget))
        } else {
            (";", format!("within the budget of {}", self.budget))
        };
        write!(
            f,
            "{but} the cheapest, {cheapest}, costs {cost} for {}, {verdict} (which pays {} at {})",
            self.paid_for(),
            self.affordable(),
            self.rate
        )
    }
}

impl fmt::Display for Cheapest {
    /// `ask 9 at 0.9 USD/h`, or `the signed ask of worker 0x… at 0.9 USD/h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.signed_by_worker {
            Some(worker) => write!(f, "the signed ask of worker {worker} at {}", self.price.to_per_hour()),
            None => write!(f, "ask {} at {}", self.ask, self.price.to_per_hour()),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::Address;

    use super::*;
    use crate::{
        market::{Ask, PlacedAsk},
        units::{NetFlags, Resources},
    };

    fn book(asks: &[Ask]) -> OrderBook {
        let mut book = OrderBook::new();
        for (k, ask) in asks.iter().enumerate() {
            book.insert_ask(PlacedAsk { id: AskId(k as u64 + 1), ask: ask.clone(), block: k as u64 });
        }
        book
    }

    fn ask(worker: u8, usd_per_hour: &str, cores: u64) -> Ask {
        let price = usd_per_hour.parse::<crate::units::UsdPerHour>().map(|p| p.to_per_second_up());
        Ask::new(Address::repeat_byte(1), Address::repeat_byte(worker), price.unwrap_or(UsdPerSecond::ZERO))
            .resources(Resources::new().cpu_cores(cores))
            .flags(NetFlags::PUBLIC_IP)
    }

    fn rule() -> DepositRule {
        DepositRule { rate: SnmPerUsd::from_whole(100), min_runway: Duration::from_secs(3_600) }
    }

    #[test]
    fn counts_each_requirement_then_prices_the_cheapest_against_the_budget() {
        let book = book(&[
            ask(2, "0.9 USD/h", 8),
            ask(2, "1.8 USD/h", 8),
            ask(3, "0.45 USD/h", 1),
            ask(4, "0.3 USD/h", 8).flags(NetFlags::empty()),
            ask(5, "0.2 USD/h", 8).expiry(10),
        ]);
        let wanted = Requirements::new(Term::Fixed(Duration::from_secs(7_200)))
            .resources(Resources::new().cpu_cores(4))
            .flags(NetFlags::PUBLIC_IP);
        let budget: Snm = "100 SNM".parse().unwrap_or(Snm::ZERO);
        let shortfall = Shortfall::explain(&book, &wanted, budget, &rule(), 11);
        let reasons: Vec<_> = shortfall.left_out.iter().map(|l| (l.reason, l.asks)).collect();
        assert_eq!(reasons, vec![(Mismatch::Resources, 1), (Mismatch::Flags, 1), (Mismatch::Expired, 1)]);
        assert_eq!((shortfall.fitting, shortfall.fitting_machines), (2, 1));
        // Two hours at 0.9 USD/h and 100 SNM/USD: 180 SNM.
        assert_eq!(shortfall.cheapest.map(|c| (c.ask, c.cost)), Some((AskId(1), Some(Snm::from_whole(180)))));
        assert!(shortfall.over_budget());
        assert_eq!(
            shortfall.to_string(),
            "no ask fits: of 5 open asks, 1 is short of resources, 1 is missing network flags, 1 is expired; 2 meet the \
             requirements on 1 machine, but the cheapest, ask 1 at 0.9 USD/h, costs 180 SNM for 2h, above the \
             budget of 100 SNM (which pays up to about 0.5 USD/h at 100 SNM/USD)"
        );
    }

    #[test]
    fn counts_signed_asks_beside_placed_ones_and_names_a_signed_cheapest() {
        let signed = |ask: Ask, tag: u8| crate::market::SignedAsk {
            ask,
            nonce: 0,
            signature: alloy::primitives::Bytes::from(vec![tag; 65]),
        };
        let mut book = book(&[ask(2, "0.9 USD/h", 8)]);
        book.insert_signed_ask(signed(ask(3, "0.72 USD/h", 8), 1));
        book.insert_signed_ask(signed(ask(4, "0.3 USD/h", 1), 2));
        let wanted = Requirements::new(Term::Fixed(Duration::from_secs(7_200)))
            .resources(Resources::new().cpu_cores(4))
            .flags(NetFlags::PUBLIC_IP);
        let shortfall = Shortfall::explain(&book, &wanted, Snm::from_whole(100), &rule(), 0);
        assert_eq!((shortfall.open_asks, shortfall.fitting, shortfall.fitting_machines), (3, 2, 2));
        assert_eq!(shortfall.left_out, vec![LeftOut { reason: Mismatch::Resources, asks: 1 }]);
        let cheapest = shortfall.cheapest.map(|c| (c.ask, c.signed_by_worker, c.cost));
        // Two hours at 0.72 USD/h and 100 SNM/USD: 144 SNM.
        assert_eq!(cheapest, Some((AskId(0), Some(Address::repeat_byte(3)), Some(Snm::from_whole(144)))));
        assert!(
            shortfall.to_string().contains(&format!(
                "the cheapest, the signed ask of worker {} at 0.72 USD/h, costs 144 SNM for 2h",
                Address::repeat_byte(3)
            )),
            "{shortfall}"
        );
    }

    #[test]
    fn says_when_the_book_is_empty_or_nothing_meets_the_requirements() {
        let wanted = Requirements::new(Term::Spot).resources(Resources::new().cpu_cores(64));
        let empty = Shortfall::explain(&OrderBook::new(), &wanted, Snm::from_whole(1), &rule(), 0);
        assert_eq!(empty.to_string(), "no ask fits: the order book has no open ask");
        let small =
            Shortfall::explain(&book(&[ask(2, "0.9 USD/h", 8)]), &wanted, Snm::from_whole(1), &rule(), 0);
        assert_eq!(
            small.to_string(),
            "no ask fits: of 1 open ask, 1 is short of resources; none meets every requirement"
        );
        assert_eq!((small.seconds, small.paid_for()), (3_600, "the minimum runway of 1h (spot)".to_owned()));
    }
}
