//! The chain's time for the agents of a process, read once per interval for all of them.
//!
//! An agent with an open deal reads the chain's time every round (to close ended terms and settle
//! when due). N agents in one process that way ask the node for the latest block N times a round,
//! for the same answer: at 1,000 suppliers that was most of the requests while the deals ran, and
//! the node's time per transaction grew with them. A [`SharedClock`] reads it once per interval
//! (the agents' `poll_every`) and hands the reading to every agent that asks within it; a reading
//! at most one interval old only delays a close or a settlement by that interval.
//!
//! A clock [following](SharedClock::following) the node's pushed blocks ([`ChainHeads`]) asks
//! nothing while the subscription is live: the time is the latest pushed header's.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::providers::Provider;
use snm_sdk::{Error, client::Client};
use tokio::sync::Mutex;

use crate::heads::ChainHeads;

/// The chain's time, shared by the agents of a process (see the [module](self) documentation).
/// Clones share the reading.
#[derive(Clone, Debug)]
pub struct SharedClock {
    /// The last reading (chain time in seconds) and when it was taken.
    last: Arc<Mutex<Option<(Instant, u64)>>>,
    every: Duration,
    heads: Option<ChainHeads>,
}

impl SharedClock {
    /// A clock that asks the node at most once per `every`.
    pub fn new(every: Duration) -> Self {
        Self { last: Arc::new(Mutex::new(None)), every, heads: None }
    }

    /// A clock that takes the time from the headers `heads` pushes while its subscription is live,
    /// and asks the node at most once per `every` while it is not.
    pub fn following(every: Duration, heads: ChainHeads) -> Self {
        Self { heads: Some(heads), ..Self::new(every) }
    }

    /// The pushed blocks the clock follows, if it follows any.
    pub fn heads(&self) -> Option<&ChainHeads> {
        self.heads.as_ref()
    }

    /// The latest block's timestamp: the latest pushed header's if the clock follows a live
    /// subscription, else the reading of the last `every` if there is one, else read
    /// through `client` (agents asking meanwhile wait for that one read). A failed read is not
    /// kept: the next caller reads again.
    pub async fn now<P: Provider + Clone>(&self, client: &Client<P>) -> Result<u64, Error> {
        if let Some(head) = self.heads.as_ref().and_then(|heads| heads.state().live_head()) {
            return Ok(head.timestamp);
        }
        let mut last = self.last.lock().await;
        if let Some((at, now)) = *last
            && at.elapsed() < self.every
        {
            return Ok(now);
        }
        let now = client.now().await?;
        *last = Some((Instant::now(), now));
        Ok(now)
    }
}
