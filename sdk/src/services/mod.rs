//! One service per contract: each holds a [`Client`](crate::Client) (the provider, the sending
//! account and the send path every transaction of the SDK takes) and the contract's address, and
//! is the one place where the SDK calls that contract.
//!
//! | service | contract | what it does |
//! |---|---|---|
//! | [`MarketService`] | `Market` | orders, deals, workers, endpoints, blacklists, pause; its events and the order book |
//! | [`EscrowService`] | `Market` (its escrow part) | deposits, free balances, top-ups, withdrawals, earnings, the fee |
//! | [`OracleService`] | `PriceOracle` | the SNM/USD rate, reports, reporters |
//! | [`DistributorService`] | `RewardDistributor` | claims, funding, roots and rounds |
//! | [`TokenService`] | `SNMToken` | balances, allowances, approvals, transfers, EIP-2612 permits |
//!
//! # How the pieces fit
//!
//! A [`Client`](crate::Client) is the small shared connection: `client.market()`,
//! `client.escrow()`, ... make a service from it (a clone of the client; clones share the nonce
//! memory, so every service of one account sends without nonce trouble). The role clients
//! ([`Customer`](crate::Customer), [`Supplier`](crate::Supplier), [`Operator`](crate::Operator),
//! [`Matcher`](crate::Matcher)) hold the services they need and hand them out, and add only what
//! a role does across services (a customer's purchase, a supplier's deal watch, an operator's
//! deployment). So a customer reads a deal with `customer.market().deal(id)`, its free balance
//! with `customer.escrow().free_balance(customer.sender())`, and the rate with
//! `customer.oracle().rate()`.
//!
//! Every transaction is simulated first and refused ones arrive as the contract's typed custom
//! error ([`Error`](crate::Error)); actions that move the sender's money check its funds before
//! sending ([`Error::InsufficientFunds`](crate::Error::InsufficientFunds)). Each service also
//! hands out the contract's generated binding (`contract()`) for what it does not cover.

mod distributor;
mod escrow;
mod market;
mod oracle;
mod settle_batch;
mod signed_asks;
mod token;

pub use distributor::{DistributorService, PendingRound, RewardStatus, RewardsPaid};
pub use escrow::EscrowService;
pub use market::{MarketEventStream, MarketService, quick_buy_call};
pub use oracle::OracleService;
pub(crate) use settle_batch::settle_many_gas_floor;
pub use signed_asks::{
    CLOSE_AND_WITHDRAW_GAS_LIMIT, ClosedAndPaidOut, OPEN_DEAL_SIGNED_GAS_LIMIT, QUICK_BUY_SIGNED_GAS_LIMIT,
    SignedAskRefusal, signed_binding_ask, signed_binding_bid,
};
pub use token::{Permit, TokenService};
