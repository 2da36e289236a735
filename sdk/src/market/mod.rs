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

mod deals;
mod ids;
mod open_ask;
mod orders;
mod requirements;
mod rules;
pub mod signed;

use alloy::primitives::{Address, U256};

pub use self::{
    deals::{CloseReason, Deal, DealClosed, DealOpened, DealSettled},
    ids::{AskId, BidId, DealId},
    open_ask::OpenAsk,
    orders::{Ask, Bid, PlacedAsk, PlacedBid, Purchase},
    requirements::{Mismatch, Requirements},
    rules::{DepositRule, Fee, Rate},
    signed::{SignedAsk, SignedAskError},
};

/// Timestamps are unix seconds (block time). The contract's ids fit 64 bits (its counter is a
/// `uint64`), so wider values read from events saturate, which never happens on this market.
pub(crate) fn word_u64(word: U256) -> u64 {
    word.saturating_to()
}

pub(super) fn nonzero_address(address: Address) -> Option<Address> {
    (!address.is_zero()).then_some(address)
}

pub(super) fn nonzero_u64(value: u64) -> Option<u64> {
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
pub(super) use setters;
