//! `snm supplier ask place|cancel|list`: the master's asks.

use std::{fmt, time::Duration};

use alloy::primitives::Address;
use clap::Subcommand;
use serde::Serialize;
use snm_sdk::{
    market::{Ask, AskId, PlacedAsk},
    units::{Bytes, NetFlags, Resources, UsdPerSecond, parse_duration},
};

use crate::{chain::ChainArgs, commands::market::AskList, error::CliError, output::Frame};

/// The master's asks.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Places an ask for one of the master's workers.
    Place(Box<PlaceArgs>),
    /// Cancels one of the master's asks.
    Cancel {
        /// The ask's id.
        id: u64,
        #[command(flatten)]
        chain: ChainArgs,
    },
    /// The master's open asks.
    List {
        #[command(flatten)]
        chain: ChainArgs,
    },
}

/// What an ask offers.
#[derive(Debug, clap::Args)]
pub struct PlaceArgs {
    /// The machine offered (a confirmed worker of the master; default: the master itself).
    #[arg(long)]
    worker: Option<Address>,
    /// Price per hour (`1.2 USD/h`; must be a whole number of attodollars per second) or per
    /// second (`0.0003 USD/s`).
    #[arg(long, value_parser = UsdPerSecond::parse_rounding_up, allow_hyphen_values = true)]
    price: UsdPerSecond,
    /// CPU cores.
    #[arg(long, default_value_t = 1)]
    cores: u64,
    /// Memory, e.g. `16GiB`.
    #[arg(long, default_value = "1GiB")]
    ram: Bytes,
    /// Disk, e.g. `100GB`.
    #[arg(long)]
    storage: Option<Bytes>,
    /// Network flags: `public-ip`, `incoming`, `outbound`, `ipv6`, comma-separated.
    #[arg(long, default_value = "none")]
    net: NetFlags,
    /// Region code (0: unspecified).
    #[arg(long, default_value_t = 0)]
    region: u32,
    /// Shortest fixed term accepted (`1h`); 0 by default.
    #[arg(long, value_parser = parse_duration, default_value = "0")]
    min_duration: Duration,
    /// Longest fixed term accepted (`1d`); without it, any term and spot deals are accepted.
    #[arg(long, value_parser = parse_duration)]
    max_duration: Option<Duration>,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
enum Report {
    Placed { ask: Box<PlacedAsk> },
    Cancelled { ask: AskId },
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Placed { ask } => writeln!(
                f,
                "ask {} placed for worker {} at {}",
                ask.id,
                ask.ask.worker,
                ask.ask.price.to_per_hour()
            ),
            Self::Cancelled { ask } => writeln!(f, "ask {ask} cancelled"),
        }
    }
}

impl Command {
    /// Runs the command.
    pub(super) async fn run(self, frame: Frame) -> Result<(), CliError> {
        match self {
            Self::Place(args) => {
                let client = args.chain.connect().await?;
                let master = client.sender();
                let resources = Resources::new()
                    .cpu_cores(args.cores)
                    .ram(args.ram)
                    .storage(args.storage.unwrap_or(Bytes::ZERO));
                let ask = Ask::new(master, args.worker.unwrap_or(master), args.price)
                    .resources(resources)
                    .flags(args.net)
                    .region(args.region)
                    .durations(args.min_duration, args.max_duration);
                let placed = client.market().place_ask(&ask).await?;
                Ok(frame.emit(&Report::Placed { ask: Box::new(placed) })?)
            }
            Self::Cancel { id, chain } => {
                let client = chain.connect().await?;
                let book = chain.order_book(&client).await?;
                let placed = book
                    .ask(AskId(id))
                    .filter(|placed| placed.ask.master == client.sender())
                    .ok_or_else(|| CliError::NotFound {
                        what: format!("no open ask {id} of master {}", client.sender()),
                    })?
                    .clone();
                client.market().cancel_ask(&placed).await?;
                Ok(frame.emit(&Report::Cancelled { ask: placed.id })?)
            }
            Self::List { chain } => {
                if !chain.has_account() {
                    return Err(CliError::Usage { message: "whose asks? pass --account NAME".into() });
                }
                let client = chain.connect_read_only().await?;
                let book = chain.order_book(&client).await?;
                let master = client.sender();
                let asks = book.asks().filter(|placed| placed.ask.master == master).cloned().collect();
                Ok(frame.emit(&AskList { asks })?)
            }
        }
    }
}
