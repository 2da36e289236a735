//! `snm customer bid`: places a bid, the customer's side of the order book: what is needed, the
//! highest price accepted and the deposit locked when a supplier (or anyone) matches it. The
//! deposit comes from the free balance in the market (`snm customer deposit` first), checked
//! before anything is sent. With `--wait-match` it follows the bid until a deal opens on it.

use std::{fmt, time::Duration};

use alloy::primitives::{Address, B256};
use serde::Serialize;
use snm_sdk::{
    market::{Bid, DealOpened, PlacedBid},
    units::{Snm, Term, parse_duration},
};

use crate::{chain::ChainArgs, error::CliError, output::Frame, purchase::Needs};

/// Places a bid.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How long the deal runs: a fixed term (`2h`) or `spot`.
    #[arg(long)]
    term: Term,
    /// SNM moved from the free balance into the deal's deposit when it is matched, e.g. `100 SNM`.
    #[arg(long, allow_hyphen_values = true)]
    deposit: Snm,
    #[command(flatten)]
    needs: Needs,
    /// The container image the supplier runs for the deal.
    #[arg(long)]
    image: Option<String>,
    /// Only this master may match it.
    #[arg(long)]
    master: Option<Address>,
    /// The bid cannot be matched after this long (`1d`); never expires when not given.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    expires_in: Option<Duration>,
    /// Waits up to this long (`10m`) for a deal to open on the bid, and prints it.
    #[arg(long, value_parser = parse_duration, value_name = "TIMEOUT")]
    wait_match: Option<Duration>,
    #[command(flatten)]
    chain: ChainArgs,
}

/// What `snm --json customer bid` prints: the bid placed and, with `--wait-match`, its deal.
#[derive(Debug, Serialize)]
struct BidReport {
    /// The bid as placed.
    bid: PlacedBid,
    /// The deal opened on it (with `--wait-match`).
    deal: Option<DealOpened>,
}

impl fmt::Display for BidReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bid = &self.bid.bid;
        writeln!(
            f,
            "bid {} placed: term {}, up to {}, deposit {}",
            self.bid.id,
            bid.term,
            bid.max_price.to_per_hour(),
            bid.deposit
        )?;
        if let Some(deal) = &self.deal {
            writeln!(f, "matched: deal {} on worker {}", deal.id, deal.worker)?;
        }
        Ok(())
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let Some(max_price) = args.needs.max_price else {
        return Err(CliError::Usage {
            message: "a bid needs --max-price (the highest price accepted, e.g. `1.2 USD/h`)".into(),
        });
    };
    if args.deposit == Snm::ZERO {
        return Err(CliError::Usage {
            message: format!("--deposit `{}`: a bid must lock a deposit above 0 SNM", args.deposit),
        });
    }
    let client = args.chain.connect().await?;
    let wanted = args.needs.requirements(args.term);
    let mut bid = Bid::new(client.sender(), max_price, args.term, args.deposit);
    bid.resources = wanted.resources;
    bid.flags = wanted.flags;
    bid.region = wanted.region;
    bid.counterparty = args.master;
    if let Some(image) = &args.image {
        bid = bid.image(image.clone(), B256::ZERO);
    }
    if let Some(expires_in) = args.expires_in {
        bid.expiry = Some(client.now().await?.saturating_add(expires_in.as_secs()));
    }
    let placed = client.market().place_bid(&bid).await?;
    let deal = match args.wait_match {
        None => None,
        Some(timeout) => {
            frame.say(format!("bid {} placed; waiting up to {}s for a match", placed.id, timeout.as_secs()));
            let spinner = frame.spinner(format!("bid {}, waiting for a match", placed.id));
            let matched = client.market().wait_for_match(&placed, timeout).await;
            if let Some(spinner) = spinner {
                spinner.finish_and_clear();
            }
            Some(matched?)
        }
    };
    Ok(frame.emit(&BidReport { bid: placed, deal })?)
}
