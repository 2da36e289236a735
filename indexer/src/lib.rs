//! # snm-indexer
//!
//! The market data service: follows the marketplace's contracts (market with its escrow, price
//! oracle, reward distributor) from the deployment's start block into a database (SQLite by
//! default, PostgreSQL for larger deployments, through one set of `sqlx` queries), and serves the
//! market over HTTP: a versioned JSON API (`/v1`, described by `/v1/openapi.json`) and a web page
//! at `/`.
//!
//! - [`db`]: the connection, its migrations and the schema's reads.
//! - [`ingest`]: the follower: confirmed blocks only, one transaction per batch of blocks,
//!   reorganisations rolled back to the common ancestor ([`apply`] turns events into rows).
//! - [`api`]: the HTTP service.
//!
//! Every piece of current state (open asks and bids, deals, worker links, blacklists, reward
//! rounds) is a versioned row: valid from the block that made it until the block that replaced or
//! removed it. A reorganisation is undone by deleting what the orphaned blocks added and reopening
//! what they closed, whatever the event was.

#![deny(missing_docs)]

pub mod api;
pub mod apply;
pub mod db;
mod error;
mod headers;
pub mod ingest;
pub mod model;
mod oracle_seed;
pub mod rounds;

pub use db::Database;
pub use error::IndexerError;
pub use ingest::{Health, Indexer, IndexerConfig};
