//! The order book from a market data service (`snm-indexer`) instead of the chain's logs
//! (feature `indexer-client`): [`OrderBook::from_indexer`].
//!
//! The indexer serves the open asks and bids as the SDK's own [`PlacedAsk`] and [`PlacedBid`],
//! and the signed asks it relays as [`SignedAsk`] (it checked their signature, worker link, expiry
//! and nonce when they were posted); they fill the same [`OrderBook`], so matching is the same code
//! either way. The book's position
//! is set after the newest block the indexer had applied when the download started, so
//! [`MarketService::sync`](crate::services::MarketService::sync) continues from the chain's logs
//! there (re-applying an event the pages already held changes nothing).
//!
//! A supplier publishes a signed ask through the indexer's relay with [`post_signed_ask`].

use alloy::{
    primitives::Address,
    transports::http::reqwest::{self, Url},
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{
    OrderBook,
    events::{EventCursor, StreamPosition},
    market::{PlacedAsk, PlacedBid, SignedAsk},
};

/// Why the book could not be read from an indexer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexerClientError {
    /// The URL cannot take the API's paths.
    #[error("`{url}` cannot be an indexer's base URL: {source}")]
    Url {
        /// The URL given.
        url: String,
        /// The parser's error.
        #[source]
        source: url::ParseError,
    },
    /// The request failed (connection refused, timeout…).
    #[error("cannot reach the indexer at {url}: {source}")]
    Http {
        /// The URL requested.
        url: Url,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The indexer answered with an error.
    #[error("the indexer answered {status} to {url}: {body}")]
    Status {
        /// The URL requested.
        url: Url,
        /// The HTTP status.
        status: u16,
        /// What it said.
        body: String,
    },
    /// The relay refused a signed ask (`POST /v1/asks` answered 400): `reason` says why, and
    /// `parameter` names what is wrong (`signature`, `expiry`, `worker`, `nonce`, `body`).
    #[error("the relay at {url} refused the signed ask ({}): {reason}", parameter.as_deref().unwrap_or("no parameter named"))]
    Refused {
        /// The URL posted to (boxed: the error stays small).
        url: Box<Url>,
        /// What is wrong, as the relay names it.
        parameter: Option<String>,
        /// The relay's reason.
        reason: String,
    },
    /// The answer was not the expected JSON.
    #[error("the indexer's answer to {url} is not what the SDK expects: {source}")]
    Decode {
        /// The URL requested.
        url: Url,
        /// The JSON decoder's error.
        #[source]
        source: serde_json::Error,
    },
}

/// What the relay answers for a signed ask it accepted ([`post_signed_ask`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relayed {
    /// The ask's worker.
    pub worker: Address,
    /// The worker's ask nonce it was signed for.
    pub nonce: u64,
    /// Whether it replaced an ask the relay held for the same worker and nonce (a new price).
    pub replaced: bool,
}

/// A refusal's body: `{"error": …, "parameter": …}`.
#[derive(Deserialize)]
struct Refusal {
    error: String,
    parameter: Option<String>,
}

/// Posts `ask` to the relay of the indexer at `base` (`POST /v1/asks`), which checks it as the
/// market would take it now (signature, worker link, expiry, nonce) and serves it to customers;
/// a refusal is [`IndexerClientError::Refused`] with the relay's reason.
pub async fn post_signed_ask(base: &Url, ask: &SignedAsk) -> Result<Relayed, IndexerClientError> {
    let url =
        base.join("v1/asks").map_err(|source| IndexerClientError::Url { url: base.to_string(), source })?;
    let response = reqwest::Client::new().post(url.clone()).json(ask).send().await;
    let response = response.map_err(|source| IndexerClientError::Http { url: url.clone(), source })?;
    let status = response.status();
    let body =
        response.bytes().await.map_err(|source| IndexerClientError::Http { url: url.clone(), source })?;
    if status.as_u16() == 400
        && let Ok(refusal) = serde_json::from_slice::<Refusal>(&body)
    {
        return Err(IndexerClientError::Refused {
            url: Box::new(url),
            parameter: refusal.parameter,
            reason: refusal.error,
        });
    }
    if !status.is_success() {
        let body = String::from_utf8_lossy(&body).into_owned();
        return Err(IndexerClientError::Status { url, status: status.as_u16(), body });
    }
    serde_json::from_slice(&body).map_err(|source| IndexerClientError::Decode { url, source })
}

#[derive(Deserialize)]
struct Health {
    indexed_block: Option<u64>,
}

#[derive(Deserialize)]
struct AskPage {
    asks: Vec<PlacedAsk>,
    /// The signed asks the indexer relays (on the first page only).
    #[serde(default)]
    signed_asks: Vec<SignedAsk>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct BidPage {
    bids: Vec<PlacedBid>,
    next: Option<String>,
}

async fn get<T: DeserializeOwned>(client: &reqwest::Client, url: Url) -> Result<T, IndexerClientError> {
    let response = client.get(url.clone()).send().await;
    let response = response.map_err(|source| IndexerClientError::Http { url: url.clone(), source })?;
    let status = response.status();
    let body =
        response.bytes().await.map_err(|source| IndexerClientError::Http { url: url.clone(), source })?;
    if !status.is_success() {
        let body = String::from_utf8_lossy(&body).into_owned();
        return Err(IndexerClientError::Status { url, status: status.as_u16(), body });
    }
    serde_json::from_slice(&body).map_err(|source| IndexerClientError::Decode { url, source })
}

fn endpoint(base: &Url, path: &str, after: Option<&str>) -> Result<Url, IndexerClientError> {
    let mut url =
        base.join(path).map_err(|source| IndexerClientError::Url { url: base.to_string(), source })?;
    url.query_pairs_mut().append_pair("limit", "1000");
    if let Some(after) = after {
        url.query_pairs_mut().append_pair("after", after);
    }
    Ok(url)
}

impl OrderBook {
    /// Every open ask (placed and signed) and bid as the indexer at `base` (for example
    /// `http://127.0.0.1:8680/`) serves them, in pages of 1,000, with the book's position after the newest block the
    /// indexer had applied (see the [module documentation](crate::indexer_client)).
    pub async fn from_indexer(base: &Url) -> Result<Self, IndexerClientError> {
        let client = reqwest::Client::new();
        let health: Health = get(&client, endpoint(base, "v1/health", None)?).await?;
        let start = EventCursor::from_block(health.indexed_block.map_or(0, |block| block + 1));
        let mut book = OrderBook::starting_at(start);
        let mut after = None;
        loop {
            let page: AskPage = get(&client, endpoint(base, "v1/asks", after.as_deref())?).await?;
            page.asks.into_iter().for_each(|ask| book.insert_ask(ask));
            page.signed_asks.into_iter().for_each(|ask| book.insert_signed_ask(ask));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let mut after = None;
        loop {
            let page: BidPage = get(&client, endpoint(base, "v1/bids", after.as_deref())?).await?;
            page.bids.into_iter().for_each(|bid| book.insert_bid(bid));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        book.set_position(StreamPosition::new(start));
        Ok(book)
    }
}
