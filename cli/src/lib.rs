//! `snm-cli`: the `snm` command line of the SNM marketplace, for customers and campaign operators.
//!
//! - [`commands`]: one module per role, one file per command.
//! - [`chain`]: the options every command that touches the chain shares.
//! - [`purchase`]: a customer's purchase (`snm customer buy`).
//! - [`campaign`]: a reward campaign's rounds (`snm campaign`).
//! - [`table`], [`units`]: aligned tables and units as people type and read them.

pub mod campaign;
pub mod campaign_standing;
pub mod chain;
pub mod commands;
pub mod purchase;
pub mod table;
pub mod units;
