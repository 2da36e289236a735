//! # snm-sdk
//!
//! Typed, async access to the SNM compute marketplace on any EVM chain: suppliers offer machines
//! (asks), customers buy them directly or through bids, deals are paid per second in SNM from
//! escrow at the oracle's SNM/USD rate, and campaigns reward suppliers through Merkle claims.
//!
//! One client per role, over any alloy [`Provider`](alloy::providers::Provider) that can send for
//! its account:
//!
//! - [`Customer`]: deposit (allowance or EIP-2612 permit), pick the best ask for requirements and a
//!   budget, quick buy, bid and wait for the match, top up, runway, close, withdraw.
//! - [`Supplier`]: link workers, place and cancel asks, watch its deals, settle, close, withdraw
//!   earnings, claim rewards.
//! - [`Operator`]: deploy the contracts, report the rate, set the fee, pause, publish reward rounds.
//! - [`Matcher`]: open deals from compatible bids and asks of the [`OrderBook`].
//!
//! They share a [`Client`] (reads, events, the order book, actions open to anyone). Every
//! transaction is simulated first: the contracts' custom errors arrive typed ([`Error`]), and a
//! refused transaction never takes a nonce ([`tx`]). [`provider::connect_http`] builds the
//! provider to use: nonces, fee cap and read retries in alloy's provider stack, so that the raw
//! bindings' sends get them too ([`provider`] says what to add to a provider of your own). Money
//! and machines have types of their own ([`units`]): no bare integers for SNM, prices or sizes.
//!
//! The [`devnet`] starts a local `anvil` with everything deployed and funded, for demos and tests:
//!
//! ```
//! use snm_sdk::{
//!     Error,
//!     devnet::Devnet,
//!     market::{Ask, Purchase, Requirements},
//!     units::{Bytes, NetFlags, Resources, Snm, UsdPerHour},
//! };
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Error> {
//! let devnet = Devnet::start().await?; // anvil, every contract, SNM on every account
//!
//! // A supplier (account 1) links its machine's key (account 2) and offers it at 0.9 USD an hour.
//! let supplier = devnet.supplier(1)?;
//! let machine = devnet.client(2)?;
//! supplier.register_worker(&machine).await?;
//! let price = "0.9 USD/h".parse::<UsdPerHour>()?.to_per_second()?;
//! let offer = Ask::new(supplier.master(), machine.sender(), price)
//!     .resources(Resources::new().cpu_cores(8).ram(Bytes::from_gib(32)))
//!     .flags(NetFlags::PUBLIC_IP | NetFlags::INCOMING);
//! supplier.place_ask(&offer).await?;
//!
//! // A customer (account 3) takes the cheapest machine with 4 cores and a public IP of which two
//! // hours cost at most 200 SNM, and buys those two hours.
//! let customer = devnet.customer(3)?;
//! let book = customer.order_book().await?;
//! let wanted = Requirements::new("2h".parse()?)
//!     .resources(Resources::new().cpu_cores(4))
//!     .flags(NetFlags::PUBLIC_IP);
//! let budget: Snm = "200 SNM".parse()?;
//! let ask = customer.best_ask(&book, &wanted, budget).await?;
//! let ask = ask.ok_or_else(|| Error::InvalidInput("no machine fits".into()))?;
//! customer.approve(budget).await?;
//! let deal = customer.quick_buy(&ask, &Purchase::new(wanted.term, budget, "ghcr.io/acme/proxy:1.2")).await?;
//! println!("{deal}");
//! assert!(customer.runway(deal.deal).await?.covers_term);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

pub mod bindings;
pub mod client;
pub mod customer;
#[cfg(feature = "devnet")]
pub mod devnet;
mod error;
pub mod events;
pub mod gas;
pub mod market;
pub mod matcher;
pub mod operator;
pub mod orderbook;
pub mod provider;
pub mod rewards;
pub mod supplier;
pub mod tx;
pub mod units;

pub use client::{Client, Deployment};
pub use customer::Customer;
pub use error::{Error, Funds};
pub use matcher::Matcher;
pub use operator::Operator;
pub use orderbook::OrderBook;
pub use supplier::Supplier;
