//! An agent's read of its own asks, with the node filtering by master.
//!
//! `MarketService::sync` asks the node for the events an order book applies, filtered by event
//! only: an agent whose worker became free got every master's asks placed since its last read
//! (about N logs per agent at N suppliers, most of the main job's `eth_getLogs` volume at 1,000) and
//! kept only its own ([`OrderBook::of_master`]). This reader asks for the master's events alone, in
//! two queries per block range, since no single log filter can name the master at two positions:
//! `AskPlaced` and `OrderCancelled` whose second indexed field is the master (an ask's master) or
//! one of its workers (who may cancel an ask too), and `DealOpened` whose third is the master. The
//! book applies them as before, so it ends as `sync` would leave it.
//!
//! A reorganisation is noticed by the hash of the last block read: when that block left the chain,
//! the book is read again from its start (as `sync` does after a rollback).

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256},
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::{SolEvent, SolEventInterface},
};
use snm_sdk::{
    Error,
    bindings::Market::{self, MarketEvents},
    events::{Event, EventCursor, MAX_BLOCKS_PER_QUERY, StreamPosition},
    orderbook::OrderBook,
    services::MarketService,
};

/// Reads one master's asks into its [`OrderBook::of_master`] book (see the module documentation).
#[derive(Clone, Debug)]
pub struct OwnAsksReader {
    master: Address,
    /// Accounts whose `OrderCancelled` may remove one of the master's asks: the master and its
    /// workers.
    cancellers: Vec<B256>,
    /// The last block read (number and hash): still on the chain at the next read, or the book is
    /// read again from its start.
    last_read: Option<(u64, B256)>,
}

/// What one read found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OwnAsksRead {
    /// Logs the node answered (all of them the master's, or of its asks).
    pub logs: usize,
    /// How many changed the book.
    pub changed: usize,
}

impl OwnAsksReader {
    /// A reader of `master`'s asks, whose workers `workers` may cancel them.
    pub fn new(master: Address, workers: impl IntoIterator<Item = Address>) -> Self {
        let mut cancellers: Vec<B256> =
            std::iter::once(master).chain(workers).map(|account| account.into_word()).collect();
        cancellers.sort();
        cancellers.dedup();
        Self { master, cancellers, last_read: None }
    }

    /// Applies the master's events after `book`'s cursor up to the confirmed head (the client's
    /// confirmations), and moves its cursor there. `book` must be this master's
    /// ([`OrderBook::of_master`]). On error the book is left as it was, or read again from its start
    /// at the next call.
    pub async fn sync<P: Provider + Clone>(
        &mut self,
        market: &MarketService<P>,
        book: &mut OrderBook,
    ) -> Result<OwnAsksRead, Error> {
        let provider = market.client().provider();
        let latest = provider.get_block_by_number(BlockNumberOrTag::Latest).await?;
        let Some(latest) = latest else { return Err(Error::NoLatestBlock) };
        let mut changed = 0;
        if let Some((number, hash)) = self.last_read {
            let still = if number == latest.header.number {
                hash == latest.header.hash
            } else {
                provider
                    .get_block_by_number(BlockNumberOrTag::Number(number))
                    .await?
                    .is_some_and(|block| block.header.hash == hash)
            };
            if !still {
                changed = book.ask_count();
                *book = OrderBook::of_master(book.origin(), self.master);
                self.last_read = None;
            }
        }
        let to = latest.header.number.saturating_sub(market.client().confirmations());
        let from = book.cursor().block;
        if from > to {
            return Ok(OwnAsksRead { logs: 0, changed });
        }
        let mut logs = Vec::new();
        let mut start = from;
        while start <= to {
            let end = to.min(start.saturating_add(MAX_BLOCKS_PER_QUERY - 1));
            let range = Filter::new().address(market.address()).from_block(start).to_block(end);
            let placed_or_cancelled = range
                .clone()
                .event_signature(vec![
                    Market::AskPlaced::SIGNATURE_HASH,
                    Market::OrderCancelled::SIGNATURE_HASH,
                ])
                .topic2(self.cancellers.clone());
            let opened =
                range.event_signature(Market::DealOpened::SIGNATURE_HASH).topic3(self.master.into_word());
            logs.extend(provider.get_logs(&placed_or_cancelled).await?);
            logs.extend(provider.get_logs(&opened).await?);
            start = end + 1;
        }
        let mut events =
            logs.iter().map(|log| decode(market.address(), log)).collect::<Result<Vec<_>, _>>()?;
        events.sort_by_key(|event| event.as_ref().map(|e| (e.block, e.log_index)));
        changed += events.iter().flatten().filter(|event| book.apply(event)).count();
        book.set_position(StreamPosition::new(EventCursor::from_block(to + 1)));
        let hash = if to == latest.header.number {
            Some(latest.header.hash)
        } else {
            provider.get_block_by_number(BlockNumberOrTag::Number(to)).await?.map(|block| block.header.hash)
        };
        self.last_read = hash.map(|hash| (to, hash));
        Ok(OwnAsksRead { logs: logs.len(), changed })
    }
}

/// A market log as an event; `None` for a log without a position (pending).
fn decode(market: Address, log: &Log) -> Result<Option<Event<MarketEvents>>, Error> {
    let (Some(block), Some(log_index), Some(transaction)) =
        (log.block_number, log.log_index, log.transaction_hash)
    else {
        return Ok(None);
    };
    match MarketEvents::decode_log(&log.inner) {
        Ok(decoded) => Ok(Some(Event { event: decoded.data, block, log_index, transaction })),
        Err(error) => {
            Err(Error::UndecodableEvent { address: market, block, log_index, reason: error.to_string() })
        }
    }
}
