//! The market's objects as typed Rust values: orders ([`Ask`], [`Bid`]), their ids, deals and the
//! events a deal's life emits, the market's rules ([`DepositRule`], [`Fee`], the oracle's
//! [`Rate`]) and the matching rules of the contract's `openDeal` ([`Requirements::check`]).
//!
//! Every type converts exactly to and from the generated binding (`bindings::IMarket::*`), so an
//! order read back from its placement event hashes to what the contract stored. Every type
//! serializes with `serde`: money and prices as their exact decimal text (`"199.95 SNM"`,
//! `"0.9 USD/h"`), durations as text (`"1h30m"`), block times as unix seconds, ids as numbers.
//!
//! # One id sequence
//!
//! Asks, bids and deals take their ids from one counter of the market, starting at 1: the first
//! deal opened after 20 asks were placed is deal 21 (a quick buy takes the next id; a deal opened
//! from a bid takes the bid's id). An id therefore names one object only, and [`AskId`], [`BidId`]
//! and [`DealId`] keep the kinds apart in Rust.

use std::{fmt, time::Duration};

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::{
    bindings::{IMarket, Market},
    block_time::BlockTime,
    units::{NetFlags, Resources, Snm, SnmPerUsd, Term, UsdPerSecond, format_duration},
};

/// `serde` of durations as the text people write (`"1h30m"`), whole seconds.
pub(crate) mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::units::{format_duration, parse_duration};

    pub(crate) fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration(*duration))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        parse(&String::deserialize(deserializer)?)
    }

    /// The same for an optional duration (`null` for `None`).
    pub(crate) mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            duration: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match duration {
                Some(duration) => super::serialize(duration, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            match Option::<String>::deserialize(deserializer)? {
                Some(text) => super::parse(&text).map(Some),
                None => Ok(None),
            }
        }
    }

    fn parse<E: serde::de::Error>(text: &str) -> Result<Duration, E> {
        parse_duration(text).map_err(E::custom)
    }
}

/// Timestamps are unix seconds (block time). The contract's ids fit 64 bits (its counter is a
/// `uint64`), so wider values read from events saturate, which never happens on this market.
fn word_u64(word: U256) -> u64 {
    word.saturating_to()
}

fn nonzero_address(address: Address) -> Option<Address> {
    (!address.is_zero()).then_some(address)
}

fn nonzero_u64(value: u64) -> Option<u64> {
    (value != 0).then_some(value)
}

/// Builder methods setting one field each: `name: (Type)` sets the field `name`, `name:
/// Some(Type)` sets it to `Some(value)`.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $($some:ident)? ($ty:ty)),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $name(self, value: $ty) -> Self {
                Self { $name: $($some)?(value), ..self }
            }
        )*
    };
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub u64);

        impl $name {
            /// The id as the contract takes it.
            pub fn word(self) -> U256 {
                U256::from(self.0)
            }

            /// The id from the contract's word.
            pub fn from_word(word: U256) -> Self {
                Self(word_u64(word))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// The id of an ask. Asks, bids and deals share one id sequence, starting at 1 (see the
    /// [module documentation](self#one-id-sequence)).
    AskId
);
id_type!(
    /// The id of a bid (from the sequence asks and deals share).
    BidId
);
id_type!(
    /// The id of a deal: the id of the bid it consumed, or the next id of the sequence asks, bids
    /// and deals share for a quick buy (the first deal after 20 asks is deal 21).
    DealId
);

impl From<BidId> for DealId {
    /// A deal opened from a bid takes the bid's id.
    fn from(bid: BidId) -> Self {
        Self(bid.0)
    }
}

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

/// Why a deal closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The customer closed it.
    ByCustomer,
    /// The supplier (master or worker) closed it.
    BySupplier,
    /// Its fixed term ended.
    Expired,
    /// Its deposit ran out.
    OutOfFunds,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ByCustomer => "closed by its customer",
            Self::BySupplier => "closed by its supplier",
            Self::Expired => "its term ended",
            Self::OutOfFunds => "its deposit ran out",
        })
    }
}

impl CloseReason {
    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::ByCustomer),
            2 => Some(Self::BySupplier),
            3 => Some(Self::Expired),
            4 => Some(Self::OutOfFunds),
            _ => None,
        }
    }
}

/// A deal as stored on chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    /// Its id.
    pub id: DealId,
    /// The supplier's payout account.
    pub master: Address,
    /// Who pays.
    pub customer: Address,
    /// The machine.
    pub worker: Address,
    /// The price (the ask's, or an accepted change).
    pub price: UsdPerSecond,
    /// SNM left to pay from.
    pub deposit: Snm,
    /// Block time up to which the deal has been paid.
    pub settled_until: u64,
    /// End of a fixed term; `None` for spot.
    pub end_time: Option<u64>,
    /// Why it closed; `None` while it runs.
    pub closed: Option<CloseReason>,
    /// Protocol fee of this deal in basis points, fixed when it opened.
    pub fee_bps: u16,
}

impl Deal {
    /// Whether the deal is running.
    pub fn is_active(&self) -> bool {
        self.closed.is_none()
    }

    /// The stored deal `id`, or `None` when no deal has that id (`customer` is zero).
    pub(crate) fn from_stored(id: DealId, d: &IMarket::Deal) -> Option<Self> {
        if d.customer.is_zero() {
            return None;
        }
        Some(Self {
            id,
            master: d.master,
            customer: d.customer,
            worker: d.worker,
            price: UsdPerSecond::from_scaled(U256::from(d.pricePerSecond)),
            deposit: Snm::from_wei(U256::from(d.deposit)),
            settled_until: d.settledUntil.to(),
            end_time: nonzero_u64(d.endTime.to()),
            closed: if d.active {
                None
            } else {
                CloseReason::from_code(d.reason).or(Some(CloseReason::OutOfFunds))
            },
            fee_bps: d.feeBps,
        })
    }
}

impl fmt::Display for Deal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deal {}: {} rents worker {} of {} at {} ({}), deposit {}, paid until block time {}",
            self.id,
            self.customer,
            self.worker,
            self.master,
            self.price.to_per_hour(),
            self.price,
            self.deposit,
            BlockTime(self.settled_until)
        )?;
        match self.end_time {
            Some(end) => write!(f, ", fixed term ending at block time {}", BlockTime(end))?,
            None => f.write_str(", spot")?,
        }
        match self.closed {
            Some(reason) => write!(f, "; closed: {reason}"),
            None => f.write_str("; running"),
        }
    }
}

/// A deal opened (the `DealOpened` event): the ask (and bid) consumed and the terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealOpened {
    /// The deal's id.
    pub id: DealId,
    /// Who pays.
    pub customer: Address,
    /// The supplier's payout account.
    pub master: Address,
    /// The machine.
    pub worker: Address,
    /// The ask taken.
    pub ask: AskId,
    /// The bid matched; `None` for a quick buy.
    pub bid: Option<BidId>,
    /// The price.
    pub price: UsdPerSecond,
    /// SNM locked at opening.
    pub deposit: Snm,
    /// Opening block time (the deal is paid from it).
    pub start_time: u64,
    /// End of the fixed term; `None` for spot.
    pub end_time: Option<u64>,
    /// The container image to run.
    pub image: String,
    /// Hash of the container's configuration.
    pub config_hash: B256,
}

impl From<&Market::DealOpened> for DealOpened {
    fn from(e: &Market::DealOpened) -> Self {
        Self {
            id: DealId::from_word(e.dealId),
            customer: e.customer,
            master: e.master,
            worker: e.info.worker,
            ask: AskId::from_word(e.info.askId),
            bid: (!e.info.bidId.is_zero()).then(|| BidId::from_word(e.info.bidId)),
            price: UsdPerSecond::from_scaled(e.info.pricePerSecond),
            deposit: Snm::from_wei(e.info.deposit),
            start_time: word_u64(e.info.startTime),
            end_time: nonzero_u64(word_u64(e.info.endTime)),
            image: e.info.image.clone(),
            config_hash: e.info.configHash,
        }
    }
}

impl fmt::Display for DealOpened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let term = match self.end_time {
            Some(end) => format_duration(Duration::from_secs(end.saturating_sub(self.start_time))),
            None => "spot".to_owned(),
        };
        write!(
            f,
            "deal {}: {} rents worker {} of {} at {} ({}), term {term}, deposit {}",
            self.id,
            self.customer,
            self.worker,
            self.master,
            self.price,
            self.price.to_per_hour(),
            self.deposit
        )?;
        if !self.image.is_empty() {
            write!(f, ", image {}", self.image)?;
        }
        Ok(())
    }
}

/// A deal closed (the `DealClosed` event), with its final settlement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealClosed {
    /// The deal's id.
    pub id: DealId,
    /// Why.
    pub reason: CloseReason,
    /// Who closed it.
    pub by: Address,
    /// Paid from the deposit by the final settlement (fee included).
    pub paid: Snm,
    /// The protocol fee part of `paid`.
    pub fee: Snm,
    /// The rate of the final settlement.
    pub rate: SnmPerUsd,
    /// Block time the deal was paid up to.
    pub settled_until: u64,
    /// Returned to the customer's free balance.
    pub refund: Snm,
    /// Whether the closing party blacklisted the other.
    pub blacklisted: bool,
}

impl From<&Market::DealClosed> for DealClosed {
    fn from(e: &Market::DealClosed) -> Self {
        Self {
            id: DealId::from_word(e.dealId),
            reason: CloseReason::from_code(e.reason).unwrap_or(CloseReason::OutOfFunds),
            by: e.by,
            paid: Snm::from_wei(e.paid),
            fee: Snm::from_wei(e.fee),
            rate: SnmPerUsd::from_scaled(e.snmPerUsd),
            settled_until: word_u64(e.settledUntil),
            refund: Snm::from_wei(e.refund),
            blacklisted: e.blacklisted,
        }
    }
}

impl fmt::Display for DealClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deal {} closed ({}) by {}: paid {} (fee {}) at {}, up to block time {}; {} refunded to the \
             customer's free balance",
            self.id,
            self.reason,
            self.by,
            self.paid,
            self.fee,
            self.rate,
            BlockTime(self.settled_until),
            self.refund
        )?;
        if self.blacklisted {
            f.write_str("; the closing party blacklisted the other")?;
        }
        Ok(())
    }
}

/// A deal paid up to a time (the `DealSettled` event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealSettled {
    /// The deal's id.
    pub id: DealId,
    /// The master paid.
    pub master: Address,
    /// Taken from the deposit (fee included).
    pub amount: Snm,
    /// The protocol fee part of `amount`.
    pub fee: Snm,
    /// The rate used.
    pub rate: SnmPerUsd,
    /// Block time the deal is now paid up to.
    pub settled_until: u64,
    /// Deposit left.
    pub deposit_left: Snm,
}

impl From<&Market::DealSettled> for DealSettled {
    fn from(e: &Market::DealSettled) -> Self {
        Self {
            id: DealId::from_word(e.dealId),
            master: e.master,
            amount: Snm::from_wei(e.amount),
            fee: Snm::from_wei(e.fee),
            rate: SnmPerUsd::from_scaled(e.snmPerUsd),
            settled_until: word_u64(e.settledUntil),
            deposit_left: Snm::from_wei(e.depositLeft),
        }
    }
}

impl fmt::Display for DealSettled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deal {} settled up to block time {}: {} paid to {} (fee {}) at {}, {} left in its deposit",
            self.id,
            BlockTime(self.settled_until),
            self.amount,
            self.master,
            self.fee,
            self.rate,
            self.deposit_left
        )
    }
}

/// The oracle's SNM/USD rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    /// SNM per USD.
    pub snm_per_usd: SnmPerUsd,
    /// Block time it was reported.
    pub updated_at: u64,
    /// How long a rate stays usable for moving money.
    #[serde(with = "duration_text")]
    pub max_age: Duration,
}

impl Rate {
    /// Whether the market accepts this rate at block time `now` (the oracle's `freshRate`).
    pub fn is_fresh(&self, now: u64) -> bool {
        now.saturating_sub(self.updated_at) <= self.max_age.as_secs()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, reported at block time {}, usable for {} after",
            self.snm_per_usd,
            BlockTime(self.updated_at),
            format_duration(self.max_age)
        )
    }
}

/// The deposit rule of the market: opening needs a deposit covering `min_runway` seconds (or the
/// whole fixed term when shorter) at the ask's price and the current rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRule {
    /// The oracle's current rate.
    pub rate: SnmPerUsd,
    /// Seconds a deposit must cover at opening.
    #[serde(with = "duration_text")]
    pub min_runway: Duration,
}

impl DepositRule {
    /// The seconds a deposit must cover for `term`.
    pub fn runway_secs(&self, term: Term) -> u64 {
        match term.secs() {
            0 => self.min_runway.as_secs(),
            secs => secs.min(self.min_runway.as_secs()),
        }
    }

    /// The least deposit the contract accepts for `term` at `price` (rounded up, as it checks).
    pub fn required(&self, price: UsdPerSecond, term: Term) -> Option<Snm> {
        price.snm_needed_up(self.runway_secs(term), self.rate)
    }
}

impl fmt::Display for DepositRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a deposit covers at least {} (or the whole term when shorter) at {}",
            format_duration(self.min_runway),
            self.rate
        )
    }
}

/// The protocol fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// Basis points of each supplier payment.
    pub bps: u16,
    /// Who receives it; `None` while the fee is zero and no treasury was set.
    pub treasury: Option<Address>,
}

impl fmt::Display for Fee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} basis points of each supplier payment", self.bps)?;
        match self.treasury {
            Some(treasury) => write!(f, ", to {treasury}"),
            None => Ok(()),
        }
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
