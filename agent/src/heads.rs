//! The chain's new blocks as the node pushes them (`eth_subscribe` to `newHeads` over WebSocket).
//!
//! Polled over HTTP, the agents of a process ask the node for the latest block and the new deal
//! logs once per interval, whether a block came or not: a public node counts each request against
//! the supplier's rate limit, and a chain idle for an hour costs as much as a busy one. Subscribed,
//! the node tells when a block comes: the [`SharedClock`](crate::shared_clock::SharedClock) takes
//! the time from the pushed header, and the [`DealFeed`](crate::DealFeed) reads logs only once a
//! block newer than its last read arrived.
//!
//! The subscription runs on a connection of its own that is not re-established
//! ([`provider::ws_subscription_client`]): when the node goes (a restart), the subscription ends
//! and [`ChainHeads`] says so, the clock and the feed poll as over HTTP, and it subscribes again
//! with a pause doubling after each failure. Each new subscription starts a new session: the feed
//! reads once whatever the blocks pushed meanwhile (none were seen), so nothing is lost.

use std::{sync::Arc, time::Duration};

use alloy::{
    consensus::BlockHeader,
    network::Ethereum,
    providers::{Provider, RootProvider},
    transports::http::reqwest::Url,
};
use futures_util::StreamExt;
use snm_sdk::provider::{self, RequestCounter, WsError};
use tokio::{sync::watch, task::JoinHandle};

use crate::backoff::Backoff;

/// A block as its header was pushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// The block's number.
    pub number: u64,
    /// The block's timestamp (Unix seconds): the chain's time.
    pub timestamp: u64,
}

/// What the subscription knows now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeadsState {
    /// Subscribed: every new block will be pushed while this holds.
    pub live: bool,
    /// How many subscriptions were made: a new one may follow blocks that were never pushed.
    pub session: u64,
    /// The latest block known (read when subscribing, then pushed).
    pub latest: Option<Head>,
}

impl HeadsState {
    /// The latest block, if the subscription is live and knows one.
    pub fn live_head(&self) -> Option<Head> {
        self.latest.filter(|_| self.live)
    }
}

/// The blocks of the node at a WebSocket endpoint, followed in a task of their own (see the
/// [module](self) documentation). Clones share the subscription; it stops when the last is dropped.
#[derive(Clone, Debug)]
pub struct ChainHeads {
    state: watch::Receiver<HeadsState>,
    _task: Arc<AbortOnDrop>,
}

impl ChainHeads {
    /// Follows the blocks of the node at `url` (ws:// or wss://), requests counted by `counter`,
    /// subscribing again after the subscription ends with pauses from `retry_first` doubling up to
    /// `retry_max`. Must be called within a tokio runtime.
    pub fn follow(url: Url, counter: RequestCounter, retry_first: Duration, retry_max: Duration) -> Self {
        let (tx, state) = watch::channel(HeadsState::default());
        let task = tokio::spawn(follow(url, counter, Backoff::new(retry_first, retry_max), tx));
        Self { state, _task: Arc::new(AbortOnDrop(task)) }
    }

    /// What the subscription knows now.
    pub fn state(&self) -> HeadsState {
        *self.state.borrow()
    }

    /// Waits until `ready` holds for the state (a test's condition, or a block to come), or the
    /// follower stopped. Returns the state that satisfied it.
    pub async fn wait_for(&self, ready: impl FnMut(&HeadsState) -> bool) -> Option<HeadsState> {
        let mut state = self.state.clone();
        state.wait_for(ready).await.ok().map(|state| *state)
    }
}

#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn follow(url: Url, counter: RequestCounter, mut backoff: Backoff, tx: watch::Sender<HeadsState>) {
    loop {
        match subscribe(&url, &counter).await {
            Ok((provider, latest, subscription)) => {
                backoff.reset();
                tx.send_modify(|state| {
                    state.live = true;
                    state.session += 1;
                    state.latest = Some(latest.max_by_number(state.latest));
                });
                let mut heads = subscription.into_stream();
                while let Some(header) = heads.next().await {
                    let head = Head { number: header.number(), timestamp: header.timestamp() };
                    tx.send_modify(|state| state.latest = Some(head));
                }
                tx.send_modify(|state| state.live = false);
                drop(provider);
                tracing::warn!(%url, "the node's block subscription ended; polling until it is back");
            }
            Err(error) => {
                tx.send_modify(|state| state.live = false);
                tracing::warn!(%url, error = %error, "cannot subscribe to the node's blocks; polling meanwhile");
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(backoff.fail()).await;
    }
}

impl Head {
    /// The later of this head and `other` (a reorganisation may push a lower number: the latest
    /// pushed wins, but a read when subscribing never goes back).
    fn max_by_number(self, other: Option<Head>) -> Head {
        match other {
            Some(other) if other.number > self.number => other,
            _ => self,
        }
    }
}

/// Why a subscription could not be made.
#[derive(Debug, thiserror::Error)]
enum SubscribeError {
    #[error(transparent)]
    Connect(#[from] WsError),
    #[error("the node refused the request")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error("the node has no latest block")]
    NoBlock,
}

type Subscription = alloy::pubsub::Subscription<alloy::rpc::types::Header>;

/// A connection, the latest block when subscribing (so the clock needs no request until the
/// next), and the subscription.
async fn subscribe(
    url: &Url,
    counter: &RequestCounter,
) -> Result<(RootProvider<Ethereum>, Head, Subscription), SubscribeError> {
    let client = provider::ws_subscription_client(url.clone(), counter).await?;
    let provider = RootProvider::<Ethereum>::new(client);
    // Subscribed first: a block coming between the two is pushed rather than missed.
    let subscription = provider.subscribe_blocks().await?;
    let block = provider.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await?;
    let block = block.ok_or(SubscribeError::NoBlock)?;
    let latest = Head { number: block.header.number(), timestamp: block.header.timestamp() };
    Ok((provider, latest, subscription))
}
