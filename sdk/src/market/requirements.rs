//! What a customer needs of a machine, and the matching rules of the contract's `openDeal`
//! ([`Requirements::check`]).

use std::fmt;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use super::{Ask, setters};
use crate::units::{NetFlags, Resources, Term, UsdPerSecond};

/// What a customer looks for in an ask: the same rules as the contract's `openDeal` (resources,
/// flags, region, price, duration, counterparty both ways, expiry).
///
/// ```
/// use std::time::Duration;
/// use snm_sdk::{market::Requirements, units::{Bytes, NetFlags, Resources, Term}};
///
/// let wanted = Requirements::new(Term::Fixed(Duration::from_secs(7_200)))
///     .resources(Resources::new().cpu_cores(4).ram(Bytes::from_gib(8)))
///     .flags(NetFlags::PUBLIC_IP);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Requirements {
    /// Least of each resource needed.
    pub resources: Resources,
    /// Network flags the machine must have.
    pub flags: NetFlags,
    /// Required region; 0 = any.
    pub region: u32,
    /// The term the ask must accept.
    pub term: Term,
    /// Highest price; `None`: any.
    pub max_price: Option<UsdPerSecond>,
    /// Who buys: an ask reserved for another customer does not match. `None`: only asks open to
    /// anyone match.
    pub customer: Option<Address>,
    /// Only this master's asks; `None`: any.
    pub master: Option<Address>,
}

/// Why an ask does not meet [`Requirements`]: the contract's error for the same check is named.
/// Its `Display` reads after "the ask is" (`short of resources`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mismatch {
    /// The ask has expired (`OrderExpired`).
    Expired,
    /// Some resource is below the requirement (`ResourcesTooLow`).
    Resources,
    /// Some required flag is missing (`FlagsMissing`).
    Flags,
    /// Another region (`RegionMismatch`).
    Region,
    /// The price is above the maximum (`PriceTooHigh`).
    Price,
    /// The ask does not accept the term (`DurationOutOfRange`).
    Duration,
    /// The ask is reserved for another customer, or is not the required master's
    /// (`CounterpartyMismatch`).
    Counterparty,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Expired => "expired",
            Self::Resources => "short of resources",
            Self::Flags => "missing network flags",
            Self::Region => "in another region",
            Self::Price => "above the maximum price",
            Self::Duration => "not offering the term",
            Self::Counterparty => "reserved for another customer (or not of the required master)",
        })
    }
}

impl Requirements {
    /// Anything for `term`: add requirements with the other methods.
    pub fn new(term: Term) -> Self {
        Self { term, ..Self::default() }
    }

    setters! {
        /// Least of each resource needed.
        resources: (Resources),
        /// Network flags required.
        flags: (NetFlags),
        /// Required region.
        region: (u32),
        /// Highest price.
        max_price: Some(UsdPerSecond),
        /// Who buys (so that asks reserved for this customer match).
        customer: Some(Address),
        /// Only this master's asks.
        master: Some(Address),
    }

    /// Whether `ask` meets these requirements at block time `now`, or the first reason it does not.
    pub fn check(&self, ask: &Ask, now: u64) -> Result<(), Mismatch> {
        if ask.expiry.is_some_and(|expiry| now > expiry) {
            return Err(Mismatch::Expired);
        }
        if self.max_price.is_some_and(|max| ask.price > max) {
            return Err(Mismatch::Price);
        }
        if !ask.resources.covers(&self.resources) {
            return Err(Mismatch::Resources);
        }
        if !ask.flags.contains(self.flags) {
            return Err(Mismatch::Flags);
        }
        if self.region != 0 && self.region != ask.region {
            return Err(Mismatch::Region);
        }
        if !ask.accepts(self.term) {
            return Err(Mismatch::Duration);
        }
        if ask.counterparty.is_some_and(|c| Some(c) != self.customer)
            || self.master.is_some_and(|m| m != ask.master)
        {
            return Err(Mismatch::Counterparty);
        }
        Ok(())
    }

    /// Whether `ask` meets these requirements at block time `now`.
    pub fn matches(&self, ask: &Ask, now: u64) -> bool {
        self.check(ask, now).is_ok()
    }
}
