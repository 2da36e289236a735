//! `snm supplier ask place|cancel|list|publish`: the master's asks, placed on chain or signed off
//! chain (`--signed`, see [`super::signed_ask`]).

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
    /// Cancels one of the master's asks, or (`--signed --worker W`) every signed ask of a worker
    /// in one transaction.
    Cancel {
        /// The ask's id.
        #[arg(required_unless_present = "signed", conflicts_with = "signed")]
        id: Option<u64>,
        /// Cancels every ask signed so far for `--worker` (moves its ask nonce on).
        #[arg(long, requires = "worker")]
        signed: bool,
        /// The worker whose signed asks to cancel.
        #[arg(long, requires = "signed")]
        worker: Option<Address>,
        #[command(flatten)]
        chain: ChainArgs,
    },
    /// Posts a signed ask file (`place --signed --out FILE`) to the relay of `--indexer`.
    Publish {
        /// The signed ask file.
        file: std::path::PathBuf,
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
    /// The ask expires this long after the latest block (`1h`); without it, never.
    #[arg(long, value_parser = parse_positive_duration)]
    expires_in: Option<Duration>,
    #[command(flatten)]
    signed: super::signed_ask::SignedOptions,
    #[command(flatten)]
    chain: ChainArgs,
}

/// A duration above zero (an ask expiring at once could never be taken).
fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text).map_err(|e| e.to_string())? {
        Duration::ZERO => Err(format!("`{text}`: expected a duration above zero, such as `1h`")),
        duration => Ok(duration),
    }
}

impl PlaceArgs {
    /// The ask these options describe, of `master`, at block time `now`.
    fn ask(&self, master: Address, now: u64) -> Ask {
        let resources =
            Resources::new().cpu_cores(self.cores).ram(self.ram).storage(self.storage.unwrap_or(Bytes::ZERO));
        let ask = Ask::new(master, self.worker.unwrap_or(master), self.price)
            .resources(resources)
            .flags(self.net)
            .region(self.region)
            .durations(self.min_duration, self.max_duration);
        match self.expires_in {
            Some(lasts) => ask.expiry(now.saturating_add(lasts.as_secs())),
            None => ask,
        }
    }
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
            Self::Place(args) if args.signed.signed => {
                super::signed_ask::place(
                    &args.chain,
                    &args.signed,
                    |master, now| args.ask(master, now),
                    frame,
                )
                .await
            }
            Self::Place(args) => {
                let client = args.chain.connect().await?;
                let now = if args.expires_in.is_some() { client.now().await? } else { 0 };
                let placed = client.market().place_ask(&args.ask(client.sender(), now)).await?;
                Ok(frame.emit(&Report::Placed { ask: Box::new(placed) })?)
            }
            Self::Publish { file, chain } => super::signed_ask::publish(&chain, &file, frame).await,
            Self::Cancel { signed: true, worker: Some(worker), chain, .. } => {
                super::signed_ask::cancel(&chain, worker, frame).await
            }
            Self::Cancel { id, chain, .. } => {
                let Some(id) = id else {
                    return Err(CliError::Usage {
                        message: "which ask? give its id, or --signed --worker W".into(),
                    });
                };
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
