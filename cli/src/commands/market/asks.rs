//! `snm market asks [filters]`: the open asks meeting the requirements, cheapest first.

use alloy::primitives::Address;
use snm_sdk::{
    market::{Mismatch, PlacedAsk},
    units::Term,
};

use super::AskList;
use crate::{chain::ChainArgs, error::CliError, output::Frame, purchase::Needs};

/// Lists the open asks.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    needs: Needs,
    /// Only asks that accept this term (`2h`, `spot`); any term when not given.
    #[arg(long)]
    term: Option<Term>,
    /// Only this master's asks.
    #[arg(long)]
    master: Option<Address>,
    #[command(flatten)]
    chain: ChainArgs,
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let client = args.chain.connect_read_only().await?;
    let (book, now) = tokio::try_join!(args.chain.order_book(&client), async {
        client.now().await.map_err(crate::chain::ChainError::from)
    })?;
    let mut wanted = args.needs.requirements(args.term.unwrap_or(Term::Spot));
    wanted.master = args.master;
    let mut asks: Vec<PlacedAsk> = book
        .asks()
        .filter(|placed| match wanted.check(&placed.ask, now) {
            Ok(()) => true,
            // Without --term, an ask's durations do not leave it out.
            Err(Mismatch::Duration) => args.term.is_none(),
            // Reserved asks are listed too: they are on offer, to someone.
            Err(Mismatch::Counterparty) => {
                placed.ask.counterparty.is_some() && args.master.is_none_or(|m| m == placed.ask.master)
            }
            Err(_) => false,
        })
        .cloned()
        .collect();
    asks.sort_by_key(|placed| (placed.ask.price, placed.id));
    Ok(frame.emit(&AskList { asks })?)
}
