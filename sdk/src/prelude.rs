//! What most programs using the SDK need, in one import: `use snm_sdk::prelude::*;`.
//!
//! The role clients and the connection, the services, the error, the market's objects and the
//! units. The generated bindings, the event streams' internals and the reward engine stay in their
//! modules.

#[cfg(feature = "devnet")]
pub use crate::devnet::Devnet;
pub use crate::{
    Client, Customer, Deployment, Error, Funds, Matcher, Operator, OrderBook, Supplier,
    customer::Runway,
    events::EventCursor,
    market::{
        Ask, AskId, Bid, BidId, CloseReason, Deal, DealClosed, DealId, DealOpened, DealSettled, DepositRule,
        Fee, PlacedAsk, PlacedBid, Purchase, Rate, Requirements,
    },
    services::{
        DistributorService, EscrowService, MarketService, OracleService, PendingRound, RewardStatus,
        RewardsPaid, TokenService,
    },
    shortfall::Shortfall,
    supplier::DealEvent,
    tx::TxOptions,
    units::{Bytes, NetFlags, Resources, Snm, SnmPerUsd, Term, Usd, UsdPerHour, UsdPerSecond},
};
