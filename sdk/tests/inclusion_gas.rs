//! Gas limits of the calls whose path depends on when they are mined (`settle`, `closeDeal`,
//! `endDealUnserved`): a settle estimated in a second where it has nothing to pay and mined in a
//! later one where it pays succeeds, and the costliest path of each call (every slot it writes
//! going from zero to non-zero, the deal closed, a protocol fee) stays under the SDK's limit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256},
    providers::{DynProvider, Provider},
};
use common::World;
use snm_sdk::{
    devnet::{Devnet, DevnetConfig},
    market::CloseReason,
    tx::{CLOSE_DEAL_GAS_LIMIT, END_UNSERVED_GAS_LIMIT, SETTLE_GAS_LIMIT},
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

/// The timestamp of the latest block.
async fn now(rpc: &DynProvider) -> u64 {
    rpc.get_block_by_number(Default::default()).await.unwrap().unwrap().header.timestamp
}

#[tokio::test]
async fn a_settle_estimated_with_nothing_to_pay_and_mined_when_it_pays_succeeds() {
    let devnet = quiet_devnet().await;
    let rpc = devnet.provider().clone();
    let world = World::new(devnet.clone()).await;
    let ask = world.place(|a| a).await;
    // The clock stands still: every block from here has the timestamp of the last one, so the deal
    // opens, and the settle is estimated, in one second (nothing to pay yet).
    rpc.raw_request::<_, serde_json::Value>("anvil_setBlockTimestampInterval".into(), (0,)).await.unwrap();
    let deal = world.buy(&ask, Term::Spot).await.unwrap();
    assert_eq!(now(&rpc).await, deal.start_time, "the clock moved");
    rpc.raw_request::<_, ()>("evm_setAutomine".into(), (false,)).await.unwrap();

    // Mined ten minutes after the estimate: now it pays.
    let miner = async {
        common::until_pooled(&rpc).await;
        rpc.raw_request::<_, serde_json::Value>("evm_setNextBlockTimestamp".into(), (deal.start_time + 600,))
            .await
            .unwrap();
        rpc.raw_request::<_, String>("evm_mine".into(), ()).await.unwrap();
    };
    let (settled, ()) =
        timeout(LIMIT, async { tokio::join!(world.supplier.market().settle(deal.id), miner) }).await.unwrap();
    let settled = settled.unwrap().expect("the settle paid");
    assert_eq!(settled.settled_until, deal.start_time + 600);
    assert!(settled.amount > Snm::ZERO);
}

/// A devnet with a protocol fee (a fee slot to write) and a supplier and customer with nothing in
/// the escrow (their slots written from zero), the deal's clock running from a quick buy.
async fn costly_world() -> World {
    let devnet = quiet_devnet().await;
    let world = World::new(devnet).await;
    world.operator().escrow().set_fee(1_000, Address::repeat_byte(0x7e)).await.unwrap();
    world
}

/// The `gasUsed` of the transaction `hash`.
async fn gas_used(world: &World, hash: B256) -> u64 {
    let rpc = world.devnet.provider();
    rpc.get_transaction_receipt(hash).await.unwrap().unwrap().gas_used
}

/// The hash of the latest block's only transaction.
async fn last_transaction(world: &World) -> B256 {
    let rpc = world.devnet.provider();
    let block = rpc.get_block_by_number(Default::default()).await.unwrap().unwrap();
    *block.transactions.hashes().next().as_ref().unwrap()
}

/// `gas` fits under `limit`, with no more than a third to spare (a limit far above its path says
/// the measure behind it is stale).
fn fits(what: &str, gas: u64, limit: u64) {
    eprintln!("{what}: {gas} gas used, limit {limit}");
    assert!(gas <= limit, "{what} used {gas} gas, above its limit {limit}");
    assert!(gas * 4 >= limit * 3, "{what} used {gas} gas, far below its limit {limit}: measure again");
}

#[tokio::test]
async fn the_costliest_settle_fits_its_gas_limit() {
    let world = costly_world().await;
    let deal = world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap();
    // Three hours on a deposit for about two: the settle pays everything and closes the deal.
    world.devnet.advance_time(Duration::from_secs(3 * 3600)).await.unwrap();
    let settled = world.supplier.market().settle(deal.id).await.unwrap().unwrap();
    assert_eq!(settled.deposit_left, Snm::ZERO);
    let stored = world.supplier.market().deal(deal.id).await.unwrap().unwrap();
    assert_eq!(stored.closed, Some(CloseReason::OutOfFunds));
    fits(
        "settle closing out of funds",
        gas_used(&world, last_transaction(&world).await).await,
        SETTLE_GAS_LIMIT,
    );
}

#[tokio::test]
async fn the_costliest_close_fits_its_gas_limit() {
    let world = costly_world().await;
    let deal = world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap();
    world.devnet.advance_time(Duration::from_secs(600)).await.unwrap();
    let closed = world.customer.market().close_deal(deal.id, true).await.unwrap();
    assert!(closed.refund > Snm::ZERO && closed.paid > Snm::ZERO);
    fits(
        "close with blacklisting and refund",
        gas_used(&world, last_transaction(&world).await).await,
        CLOSE_DEAL_GAS_LIMIT,
    );
}

#[tokio::test]
async fn the_costliest_unserved_end_fits_its_gas_limit() {
    let world = costly_world().await;
    let deal = world.buy(&world.place(|a| a).await, Term::Fixed(Duration::from_secs(7200))).await.unwrap();
    world.devnet.advance_time(Duration::from_secs(600)).await.unwrap();
    let closed = world.supplier.market().end_unserved(deal.id, deal.start_time + 300).await.unwrap();
    assert!(closed.refund > Snm::ZERO && closed.paid > Snm::ZERO);
    fits(
        "unserved end paying and refunding",
        gas_used(&world, last_transaction(&world).await).await,
        END_UNSERVED_GAS_LIMIT,
    );
}
