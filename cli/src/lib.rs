//! `snm-cli`: the `snm` command line of the SNM marketplace, for customers, suppliers and
//! operators.
//!
//! - [`commands`]: one module per role, one file per command.
//! - [`chain`]: the options every command that touches the chain shares; [`deployments`]: the
//!   committed deployments it falls back on.
//! - [`wallet`]: encrypted keystores (`snm wallet`).
//! - [`output`], [`error`], [`exit`]: the frame every command speaks in: `--json`, errors on
//!   stderr, exit codes by kind of failure.
//! - [`purchase`]: a customer's purchase (`snm customer buy`).
//! - [`workload_delivery`]: the workload configuration a purchase delivers to the agents.
//! - [`campaign`]: a reward campaign's rounds (`snm campaign`).
//! - [`table`], [`units`]: aligned tables and units as people type and read them.

pub mod campaign;
pub mod campaign_standing;
pub mod chain;
pub mod commands;
pub mod deployments;
pub mod error;
pub mod exit;
pub mod ledger;
pub mod output;
pub mod prompt;
pub mod purchase;
pub mod reward_claim;
pub mod signal;
pub mod signed_ask_file;
pub mod table;
pub mod units;
pub mod wallet;
pub mod workload_delivery;
