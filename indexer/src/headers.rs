//! Block headers read in bulk: the follower stores the hash and parent hash of every block it
//! applies, so it reads every block's header, many per HTTP request (a JSON-RPC batch).

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{B256, U64},
    providers::Provider,
};
use serde::Deserialize;

use crate::IndexerError;

/// Headers asked for in one JSON-RPC batch: a 10,000-block batch of the follower costs 20 HTTP
/// requests, each answer about 100 kB with the transactions left out.
pub(crate) const HEADERS_PER_REQUEST: usize = 500;

/// What the follower keeps of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockHeader {
    /// Its number.
    pub(crate) number: U64,
    /// Its hash.
    pub(crate) hash: B256,
    /// Its parent's hash.
    pub(crate) parent_hash: B256,
    /// Its timestamp.
    pub(crate) timestamp: U64,
}

impl BlockHeader {
    /// The block's number.
    pub(crate) fn block(&self) -> u64 {
        self.number.to()
    }
}

/// The headers of `numbers`, in the same order (`None` for a block the node does not have, as
/// past its head), and the HTTP requests it took.
pub(crate) async fn headers<P: Provider>(
    provider: &P,
    numbers: &[u64],
) -> Result<(Vec<Option<BlockHeader>>, u64), IndexerError> {
    let mut found = Vec::with_capacity(numbers.len());
    let mut requests = 0;
    for chunk in numbers.chunks(HEADERS_PER_REQUEST) {
        let client = provider.client();
        let mut batch = alloy::rpc::client::BatchRequest::new(client);
        let mut waiters = Vec::with_capacity(chunk.len());
        for &number in chunk {
            let params = (BlockNumberOrTag::Number(number), false);
            waiters.push(batch.add_call::<_, Option<BlockHeader>>("eth_getBlockByNumber", &params)?);
        }
        batch.send().await?;
        requests += 1;
        for waiter in waiters {
            found.push(waiter.await?);
        }
    }
    Ok((found, requests))
}
