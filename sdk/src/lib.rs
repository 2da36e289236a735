//! # snm-sdk
//!
//! Typed, async access to the SNM compute marketplace on any EVM chain: suppliers offer machines
//! (asks), customers buy them directly or through bids, deals are paid per second in SNM from
//! escrow at the oracle's SNM/USD rate, and campaigns reward suppliers through Merkle claims.
//!
//! One client per role, over any alloy [`Provider`](alloy::providers::Provider) that can send for
//! its account:
//!
//! - [`Customer`]: pick the best ask for requirements and a budget (or learn why none fits), buy it
//!   paying from the wallet (an EIP-2612 permit, or an approval when the allowance falls short),
//!   top up, read the runway.
//! - [`Supplier`]: link workers, watch its machines' deals.
//! - [`Operator`]: deploy the contracts.
//! - [`Matcher`]: open deals from compatible bids and asks of the [`OrderBook`].
//!
//! Each holds the services it needs, one per contract ([`services`]: market, escrow, oracle,
//! distributor, token), all made from one [`Client`] (the provider, the contracts' addresses, the
//! sending account): a customer reads a deal with `customer.market().deal(id)`, a supplier
//! withdraws with `supplier.escrow().withdraw_all_earnings()`. Every transaction is simulated
//! first: the contracts' custom errors arrive typed, each told as a sentence ([`Error`]), and a
//! refused transaction never takes a nonce ([`tx`]). [`provider::connect_http`] builds the
//! provider to use: nonces, fee cap and read retries in alloy's provider stack, so that the raw
//! bindings' sends get them too ([`provider`] says what to add to a provider of your own). Money
//! and machines have types of their own ([`units`]), and every result serializes with `serde`
//! (money as exact decimal text). The [`prelude`] imports the usual names at once.
//!
//! The [`devnet`] starts a local `anvil` with everything deployed and funded, for demos and tests:
//!
//! ```
//! use snm_sdk::{devnet::Devnet, prelude::*};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Error> {
//! let devnet = Devnet::start().await?; // anvil, every contract, SNM on every account
//!
//! // A supplier (account 1) links its machine's key (account 2) and offers it at 0.9 USD an hour.
//! let (supplier, machine) = (devnet.supplier(1)?, devnet.client(2)?);
//! supplier.register_worker(&machine).await?;
//! let price = "0.9 USD/h".parse::<UsdPerHour>()?.to_per_second()?;
//! let offer = Ask::new(supplier.master(), machine.sender(), price)
//!     .resources(Resources::new().cpu_cores(8).ram(Bytes::from_gib(32)))
//!     .flags(NetFlags::PUBLIC_IP | NetFlags::INCOMING);
//! supplier.market().place_ask(&offer).await?;
//!
//! // A customer (account 3) buys two hours of the cheapest machine with 4 cores and a public IP,
//! // paying at most 200 SNM (Error::NothingFits says why when no machine fits).
//! let customer = devnet.customer(3)?;
//! let wanted = Requirements::new("2h".parse()?).resources(Resources::new().cpu_cores(4)).flags(NetFlags::PUBLIC_IP);
//! let budget: Snm = "200 SNM".parse()?;
//! let ask = customer.best_ask(&customer.market().order_book().await?, &wanted, budget).await?;
//! let deal = customer.quick_buy(&ask, &Purchase::new(wanted.term, budget, "ghcr.io/acme/proxy:1.2")).await?;
//! println!("{deal}");
//! assert!(customer.runway(deal.id).await?.covers_term);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

pub mod bindings;
mod block_time;
pub mod client;
pub mod customer;
pub mod deployment;
#[cfg(feature = "devnet")]
pub mod devnet;
mod error;
pub mod events;
pub mod gas;
#[cfg(feature = "indexer-client")]
pub mod indexer_client;
pub mod market;
pub mod matcher;
pub mod net;
pub mod operator;
pub mod orderbook;
pub mod prelude;
pub mod provider;
#[cfg(feature = "proxy-client")]
pub mod proxy_client;
mod reverts;
pub mod rewards;
pub mod services;
pub mod shortfall;
pub mod supplier;
pub mod tx;
pub mod units;
pub mod workload_config;
pub mod workload_seal;

pub use client::Client;
pub use customer::Customer;
pub use deployment::Deployment;
pub use error::{Error, Funds};
pub use matcher::Matcher;
pub use operator::Operator;
pub use orderbook::OrderBook;
pub use supplier::Supplier;
