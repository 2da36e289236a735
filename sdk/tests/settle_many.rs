//! `MarketService::settle_many`: many deals settled in one transaction through the
//! `SettleBatcher` periphery contract, as one `settle` each would; a closed deal skipped; a batch
//! estimated while nothing was due and mined when it pays still succeeds (its gas limit covers
//! every deal's costliest settle).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::{sync::Arc, time::Duration};

use alloy::providers::Provider;
use common::World;
use snm_sdk::{
    devnet::{Devnet, DevnetConfig},
    market::DealId,
    units::{Snm, Term},
};
use tokio::time::timeout;

/// Generous bound on every wait of these tests.
const LIMIT: Duration = Duration::from_secs(60);

/// A devnet of this test's own without periodic blocks: the chain's clock moves only when told.
async fn quiet_devnet() -> Arc<Devnet> {
    let config = DevnetConfig { accounts: 2, sweep_interval: None, ..DevnetConfig::default() };
    Arc::new(Devnet::start_with(config).await.unwrap())
}

/// `count` spot deals of the world's supplier.
async fn deals(world: &World, count: usize) -> Vec<DealId> {
    let mut ids = Vec::new();
    for _ in 0..count {
        ids.push(world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap().id);
    }
    ids
}

#[tokio::test]
async fn settles_every_active_deal_in_one_transaction_and_skips_closed_ones() {
    let world = World::new(quiet_devnet().await).await;
    let market = world.supplier.market();
    let batcher = market.deploy_settle_batcher().await.unwrap();
    let ids = deals(&world, 3).await;
    world.devnet.advance_time(Duration::from_secs(600)).await.unwrap();
    world.customer.market().close_deal(ids[1], false).await.unwrap();
    let earned = world.supplier.escrow().earnings(world.supplier.master()).await.unwrap();
    let master = world.supplier.master();
    let sent = world.devnet.provider().get_transaction_count(master).await.unwrap();

    let settled = market.settle_many(batcher, &ids).await.unwrap();

    assert_eq!(
        world.devnet.provider().get_transaction_count(master).await.unwrap(),
        sent + 1,
        "one transaction"
    );
    let settled_ids: Vec<DealId> = settled.iter().map(|s| s.id).collect();
    assert_eq!(settled_ids, vec![ids[0], ids[2]], "the closed deal is skipped");
    let paid: Snm = settled.iter().map(|s| s.amount).sum();
    assert!(paid > Snm::ZERO);
    assert_eq!(world.supplier.escrow().earnings(master).await.unwrap(), earned.checked_add(paid).unwrap());
    assert!(market.settle_many(batcher, &[]).await.unwrap().is_empty(), "nothing to send");
}

#[tokio::test]
async fn a_batch_estimated_with_nothing_to_pay_and_mined_when_it_pays_succeeds() {
    let devnet = quiet_devnet().await;
    let rpc = devnet.provider().clone();
    let world = World::new(devnet.clone()).await;
    let market = world.supplier.market();
    let batcher = market.deploy_settle_batcher().await.unwrap();
    // The clock stands still: the deals open, and the batch is estimated, in one second.
    rpc.raw_request::<_, serde_json::Value>("anvil_setBlockTimestampInterval".into(), (0,)).await.unwrap();
    let ids = deals(&world, 4).await;
    let opened = rpc.get_block_by_number(Default::default()).await.unwrap().unwrap().header.timestamp;
    rpc.raw_request::<_, ()>("evm_setAutomine".into(), (false,)).await.unwrap();

    let miner = async {
        common::until_pooled(&rpc).await;
        rpc.raw_request::<_, serde_json::Value>("evm_setNextBlockTimestamp".into(), (opened + 600,))
            .await
            .unwrap();
        rpc.raw_request::<_, String>("evm_mine".into(), ()).await.unwrap();
    };
    let (settled, ()) =
        timeout(LIMIT, async { tokio::join!(market.settle_many(batcher, &ids), miner) }).await.unwrap();
    let settled = settled.unwrap();
    assert_eq!(settled.len(), 4, "every deal paid at inclusion");
    assert!(settled.iter().all(|s| s.settled_until == opened + 600 && s.amount > Snm::ZERO));
}
