//! Orders: a supplier's [`Ask`], a customer's [`Bid`], both as placed on the book, and a customer's
//! [`Purchase`] of an ask.

use std::time::Duration;

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use super::{AskId, BidId, Requirements, nonzero_address, nonzero_u64, setters};
use crate::{
    bindings::{IMarket, Market},
    units::{NetFlags, Resources, Snm, Term, UsdPerSecond, duration_text},
};

/// A supplier's offer of one worker's machine.
///
/// ```
/// use std::time::Duration;
/// use alloy::primitives::Address;
/// use snm_sdk::{market::Ask, units::{Bytes, NetFlags, Resources, UsdPerHour}};
///
/// # fn demo(master: Address, worker: Address) -> Result<(), snm_sdk::Error> {
/// let price = "0.9 USD/h".parse::<UsdPerHour>()?.to_per_second()?;
/// let ask = Ask::new(master, worker, price)
///     .resources(Resources::new().cpu_cores(8).ram(Bytes::from_gib(32)))
///     .flags(NetFlags::PUBLIC_IP | NetFlags::INCOMING)
///     .region(276)
///     .durations(Duration::from_secs(600), None);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ask {
    /// Payout account of the supplier; must be the confirmed master of `worker`.
    pub master: Address,
    /// The machine's key.
    pub worker: Address,
    /// What the machine provides.
    pub resources: Resources,
    /// Its network capabilities.
    pub flags: NetFlags,
    /// Region code (for example ISO 3166 numeric); 0 = unspecified.
    pub region: u32,
    /// The price.
    pub price: UsdPerSecond,
    /// Shortest fixed term accepted (whole seconds).
    #[serde(with = "duration_text")]
    pub min_duration: Duration,
    /// Longest fixed term accepted; `None` (or zero): no maximum, and spot deals accepted.
    #[serde(with = "duration_text::option")]
    pub max_duration: Option<Duration>,
    /// Block time after which the ask cannot be taken; `None`: never.
    pub expiry: Option<u64>,
    /// The only customer allowed; `None`: anyone.
    pub counterparty: Option<Address>,
}

impl Ask {
    /// An ask of `worker` (paying `master`) at `price`, with no resources, no flags, any region,
    /// any term (spot included), no expiry, open to anyone: set the rest with the other methods.
    pub fn new(master: Address, worker: Address, price: UsdPerSecond) -> Self {
        Self {
            master,
            worker,
            resources: Resources::new(),
            flags: NetFlags::empty(),
            region: 0,
            price,
            min_duration: Duration::ZERO,
            max_duration: None,
            expiry: None,
            counterparty: None,
        }
    }

    setters! {
        /// The machine's resources.
        resources: (Resources),
        /// The machine's network capabilities.
        flags: (NetFlags),
        /// The region code.
        region: (u32),
        /// The block time after which the ask cannot be taken.
        expiry: Some(u64),
        /// Reserves the ask for one customer.
        counterparty: Some(Address),
    }

    /// The fixed terms accepted: from `min` to `max` (`None`: no maximum, spot accepted).
    pub fn durations(self, min: Duration, max: Option<Duration>) -> Self {
        Self { min_duration: min, max_duration: max, ..self }
    }

    /// Whether the ask accepts `term` (the contract's `DurationOutOfRange` check).
    pub fn accepts(&self, term: Term) -> bool {
        let max = self.max_duration.map_or(0, |d| d.as_secs());
        match term.secs() {
            0 => max == 0,
            secs => secs >= self.min_duration.as_secs() && (max == 0 || secs <= max),
        }
    }
}

impl From<&Ask> for IMarket::Ask {
    fn from(ask: &Ask) -> Self {
        Self {
            master: ask.master,
            worker: ask.worker,
            resources: ask.resources.into(),
            netFlags: ask.flags.bits(),
            region: ask.region,
            pricePerSecond: ask.price.scaled(),
            minDuration: ask.min_duration.as_secs(),
            maxDuration: ask.max_duration.map_or(0, |d| d.as_secs()),
            expiry: ask.expiry.unwrap_or(0),
            counterparty: ask.counterparty.unwrap_or_default(),
        }
    }
}

impl From<&IMarket::Ask> for Ask {
    fn from(ask: &IMarket::Ask) -> Self {
        Self {
            master: ask.master,
            worker: ask.worker,
            resources: ask.resources.clone().into(),
            flags: NetFlags::from_bits_retain(ask.netFlags),
            region: ask.region,
            price: UsdPerSecond::from_scaled(ask.pricePerSecond),
            min_duration: Duration::from_secs(ask.minDuration),
            max_duration: nonzero_u64(ask.maxDuration).map(Duration::from_secs),
            expiry: nonzero_u64(ask.expiry),
            counterparty: nonzero_address(ask.counterparty),
        }
    }
}

/// A customer's demand, matched against asks by anyone (see [`crate::matcher`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bid {
    /// Who pays; the deposit comes from this account's free balance in the market.
    pub customer: Address,
    /// Least of each resource needed.
    pub resources: Resources,
    /// Network flags the machine must have.
    pub flags: NetFlags,
    /// Required region; 0 = any.
    pub region: u32,
    /// Highest price accepted.
    pub max_price: UsdPerSecond,
    /// How long the deal runs.
    pub term: Term,
    /// SNM moved from the free balance into the deal's deposit at opening.
    pub deposit: Snm,
    /// Block time after which the bid cannot be matched; `None`: never.
    pub expiry: Option<u64>,
    /// The only master allowed; `None`: any.
    pub counterparty: Option<Address>,
    /// Container image to run (for example `"ghcr.io/acme/proxy:1.2"`).
    pub image: String,
    /// Hash of the container's configuration.
    pub config_hash: B256,
}

impl Bid {
    /// A bid of `customer` for `term` at up to `max_price`, locking `deposit` when matched; no
    /// requirements, any region, no expiry, any master, no image: set the rest with the other
    /// methods.
    pub fn new(customer: Address, max_price: UsdPerSecond, term: Term, deposit: Snm) -> Self {
        Self {
            customer,
            resources: Resources::new(),
            flags: NetFlags::empty(),
            region: 0,
            max_price,
            term,
            deposit,
            expiry: None,
            counterparty: None,
            image: String::new(),
            config_hash: B256::ZERO,
        }
    }

    setters! {
        /// Least of each resource needed.
        resources: (Resources),
        /// Network flags required.
        flags: (NetFlags),
        /// Required region.
        region: (u32),
        /// The block time after which the bid cannot be matched.
        expiry: Some(u64),
        /// Accepts only this master's asks.
        counterparty: Some(Address),
    }

    /// The container image and the hash of its configuration.
    pub fn image(self, image: impl Into<String>, config_hash: B256) -> Self {
        Self { image: image.into(), config_hash, ..self }
    }

    /// What this bid requires of an ask, as [`Requirements`].
    pub fn requirements(&self) -> Requirements {
        Requirements {
            resources: self.resources,
            flags: self.flags,
            region: self.region,
            term: self.term,
            max_price: Some(self.max_price),
            customer: Some(self.customer),
            master: self.counterparty,
        }
    }
}

impl From<&Bid> for IMarket::Bid {
    fn from(bid: &Bid) -> Self {
        Self {
            customer: bid.customer,
            minResources: bid.resources.into(),
            requiredFlags: bid.flags.bits(),
            region: bid.region,
            maxPricePerSecond: bid.max_price.scaled(),
            duration: bid.term.secs(),
            deposit: bid.deposit.wei(),
            expiry: bid.expiry.unwrap_or(0),
            counterparty: bid.counterparty.unwrap_or_default(),
            image: bid.image.clone(),
            configHash: bid.config_hash,
        }
    }
}

impl From<&IMarket::Bid> for Bid {
    fn from(bid: &IMarket::Bid) -> Self {
        Self {
            customer: bid.customer,
            resources: bid.minResources.clone().into(),
            flags: NetFlags::from_bits_retain(bid.requiredFlags),
            region: bid.region,
            max_price: UsdPerSecond::from_scaled(bid.maxPricePerSecond),
            term: Term::from_secs(bid.duration),
            deposit: Snm::from_wei(bid.deposit),
            expiry: nonzero_u64(bid.expiry),
            counterparty: nonzero_address(bid.counterparty),
            image: bid.image.clone(),
            config_hash: bid.configHash,
        }
    }
}

/// An ask on the order book: its id, its fields as placed, and where it was placed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedAsk {
    /// Its id.
    pub id: AskId,
    /// Its fields, exactly as in its `AskPlaced` event.
    pub ask: Ask,
    /// The block it was placed in.
    pub block: u64,
}

/// A bid on the order book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedBid {
    /// Its id.
    pub id: BidId,
    /// Its fields, exactly as in its `BidPlaced` event.
    pub bid: Bid,
    /// The block it was placed in.
    pub block: u64,
}

impl PlacedAsk {
    pub(crate) fn from_event(event: &Market::AskPlaced, block: u64) -> Self {
        Self { id: AskId::from_word(event.askId), ask: Ask::from(&event.ask), block }
    }
}

impl PlacedBid {
    pub(crate) fn from_event(event: &Market::BidPlaced, block: u64) -> Self {
        Self { id: BidId::from_word(event.bidId), bid: Bid::from(&event.bid), block }
    }
}

/// The terms of a quick buy (taking an ask directly).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    /// How long the deal runs.
    pub term: Term,
    /// SNM paid into the deal's deposit (from the buyer's tokens).
    pub deposit: Snm,
    /// The container image to run.
    pub image: String,
    /// Hash of the container's configuration.
    pub config_hash: B256,
}

impl Purchase {
    /// A purchase of `term` paying `deposit`, running `image` (configuration hash zero).
    pub fn new(term: Term, deposit: Snm, image: impl Into<String>) -> Self {
        Self { term, deposit, image: image.into(), config_hash: B256::ZERO }
    }

    /// The hash of the container's configuration.
    pub fn config_hash(self, config_hash: B256) -> Self {
        Self { config_hash, ..self }
    }
}
