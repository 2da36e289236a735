//! # snm-sdk
//!
//! Typed, async access to the SNM compute marketplace on any EVM chain: the SNM token, deals and
//! escrow, and reward campaigns. Contracts are reached through [`bindings`]; [`devnet`] starts a
//! local `anvil` node with every contract deployed, for demos and tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), snm_sdk::Error> {
//! use snm_sdk::{devnet::Devnet, units::Snm};
//!
//! let devnet = Devnet::start().await?;
//! let alice = devnet.accounts()[1];
//! println!("alice holds {}", devnet.snm_balance(alice).await?);
//! assert_eq!(devnet.snm_balance(alice).await?, Snm::from_whole(1_000_000));
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

pub mod bindings;
pub mod client;
pub mod customer;
pub mod devnet;
mod error;
pub mod events;
pub mod gas;
pub mod market;
pub mod matcher;
pub mod operator;
pub mod orderbook;
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
