//! `snm market`: the order book and the deals, read-only (no account needed).
//!
//! ```text
//! snm market asks --cores 4 --ram 16GiB --max-price "1 USD/h"
//! snm market bids
//! snm market deal 7
//! snm market deals --customer 0x… | --master 0x…
//! ```

mod asks;
mod bids;
mod deal;
mod deals;

use std::fmt;

use clap::Subcommand;
use serde::Serialize;
use snm_sdk::market::{Deal, PlacedAsk};

use crate::{
    error::CliError,
    output::Frame,
    table::{Align, Table},
    units,
};

/// `snm market`: what is on offer and what was agreed.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The open asks, cheapest first, filtered by the requirements given.
    Asks(Box<asks::Args>),
    /// The open bids.
    Bids(bids::Args),
    /// One deal as stored, with its endpoint.
    Deal(deal::Args),
    /// The deals of a customer or of a master.
    Deals(deals::Args),
}

impl Command {
    /// Runs the command.
    pub async fn run(self, frame: Frame) -> Result<(), CliError> {
        match self {
            Self::Asks(args) => asks::run(&args, frame).await,
            Self::Bids(args) => bids::run(&args, frame).await,
            Self::Deal(args) => deal::run(&args, frame).await,
            Self::Deals(args) => deals::run(&args, frame).await,
        }
    }
}

/// Asks as a table.
#[derive(Debug, Serialize)]
pub struct AskList {
    /// The asks.
    pub asks: Vec<PlacedAsk>,
}

impl fmt::Display for AskList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.asks.is_empty() {
            return writeln!(f, "no ask");
        }
        let mut table = Table::new(&[
            ("ask", Align::Right),
            ("worker", Align::Left),
            ("master", Align::Left),
            ("cores", Align::Right),
            ("RAM", Align::Right),
            ("net", Align::Left),
            ("region", Align::Right),
            ("price", Align::Right),
        ]);
        for placed in &self.asks {
            let ask = &placed.ask;
            table.row([
                placed.id.to_string(),
                ask.worker.to_string(),
                ask.master.to_string(),
                units::cores_text(ask.resources.cpu_milli_cores),
                units::size_text(ask.resources.ram_bytes),
                ask.flags.list().to_string(),
                if ask.region == 0 { "any".to_owned() } else { ask.region.to_string() },
                ask.price.to_per_hour().to_string(),
            ]);
        }
        write!(f, "{table}")
    }
}

/// Deals as a table.
#[derive(Debug, Serialize)]
pub struct DealList {
    /// The deals.
    pub deals: Vec<Deal>,
}

impl fmt::Display for DealList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.deals.is_empty() {
            return writeln!(f, "no deal");
        }
        let mut table = Table::new(&[
            ("deal", Align::Right),
            ("customer", Align::Left),
            ("master", Align::Left),
            ("worker", Align::Left),
            ("price", Align::Right),
            ("deposit", Align::Right),
            ("state", Align::Left),
        ]);
        for deal in &self.deals {
            table.row([
                deal.id.to_string(),
                deal.customer.to_string(),
                deal.master.to_string(),
                deal.worker.to_string(),
                deal.price.to_per_hour().to_string(),
                deal.deposit.to_string(),
                deal.closed.map_or_else(|| "active".to_owned(), |reason| reason.to_string()),
            ]);
        }
        write!(f, "{table}")
    }
}
