//! What a transaction costs the node, counted by the devnet's `RequestCounter`: a quick buy with
//! funds and allowance enough reads neither (its simulation would find them short), and sends
//! one estimate and one transaction.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::{collections::BTreeMap, sync::Arc};

use common::World;
use snm_sdk::{
    devnet::{Devnet, DevnetConfig},
    units::Term,
};

/// Requests of each method counted between `before` and `after`.
fn between(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(method, count)| (method.clone(), count - before.get(method).copied().unwrap_or_default()))
        .filter(|(_, count)| *count > 0)
        .collect()
}

#[tokio::test]
async fn a_quick_buy_with_funds_enough_reads_no_balance_or_allowance() {
    // A devnet of its own: nothing else sends requests while the buy is counted.
    let devnet =
        Arc::new(Devnet::start_with(DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await.unwrap());
    let world = World::new(devnet.clone()).await;
    let ask = world.place(|a| a).await;
    let before = devnet.requests().by_method();
    world.buy(&ask, Term::Spot).await.unwrap();
    let requests = between(&before, &devnet.requests().by_method());
    assert_eq!(requests.get("eth_call"), None, "no balance or allowance read: {requests:?}");
    assert_eq!(requests.get("eth_estimateGas"), Some(&1), "{requests:?}");
    assert_eq!(requests.get("eth_sendRawTransaction"), Some(&1), "{requests:?}");
    assert_eq!(requests.get("eth_getTransactionCount"), None, "the nonce is remembered: {requests:?}");
}
