//! `snm market bids`: the open bids still matchable, oldest first.

use std::fmt;

use serde::Serialize;
use snm_sdk::market::PlacedBid;

use crate::{
    chain::ChainArgs,
    error::CliError,
    output::Frame,
    table::{Align, Table},
    units,
};

/// Lists the open bids.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
struct BidList {
    bids: Vec<PlacedBid>,
}

impl fmt::Display for BidList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bids.is_empty() {
            return writeln!(f, "no bid");
        }
        let mut table = Table::new(&[
            ("bid", Align::Right),
            ("customer", Align::Left),
            ("cores", Align::Right),
            ("RAM", Align::Right),
            ("term", Align::Right),
            ("max price", Align::Right),
            ("deposit", Align::Right),
        ]);
        for placed in &self.bids {
            let bid = &placed.bid;
            table.row([
                placed.id.to_string(),
                bid.customer.to_string(),
                units::cores_text(bid.resources.cpu_milli_cores),
                units::size_text(bid.resources.ram_bytes),
                bid.term.to_string(),
                bid.max_price.to_per_hour().to_string(),
                bid.deposit.to_string(),
            ]);
        }
        write!(f, "{table}")
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let client = args.chain.connect_read_only().await?;
    let (book, now) = tokio::try_join!(args.chain.order_book(&client), async {
        client.now().await.map_err(crate::chain::ChainError::from)
    })?;
    let bids = book.live_bids(now).cloned().collect();
    Ok(frame.emit(&BidList { bids })?)
}
