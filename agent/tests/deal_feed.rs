//! One deal feed for the agents of a process: each master gets exactly its own deals' openings and
//! closes (a close of a deal opened before the feed's start too, through the market), the second
//! agent's poll costs the node nothing, the position handed over resumes without loss or repeat,
//! and a subscriber behind what the feed read, or a second one for the same master, gets a watch
//! of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::time::Duration;

use alloy::primitives::U256;
use snm_agent::{DealFeed, DealSource};
use snm_sdk::{
    Supplier,
    devnet::Devnet,
    events::{EventCursor, StreamPosition},
    market::{Ask, DealId, Purchase},
    supplier::DealEvent,
    units::{Snm, Term, UsdPerSecond},
};

/// What a batch of deal events says, in order: the deal and whether it opened.
fn summary(events: &[snm_sdk::events::Event<DealEvent>]) -> Vec<(DealId, bool)> {
    events
        .iter()
        .map(|e| match &e.event {
            DealEvent::Opened(opened) => (opened.id, true),
            DealEvent::Closed(closed) => (closed.id, false),
        })
        .collect()
}

#[tokio::test]
async fn one_feed_hands_each_master_its_own_deals_and_reads_once_for_all() {
    let devnet = Devnet::start().await.unwrap();
    let (a, b, c) = (devnet.supplier(1).unwrap(), devnet.supplier(2).unwrap(), devnet.supplier(3).unwrap());
    let (worker_a, worker_b, worker_c) =
        (devnet.client(4).unwrap(), devnet.client(5).unwrap(), devnet.client(6).unwrap());
    let customer = devnet.customer(7).unwrap();
    for (supplier, worker) in [(&a, &worker_a), (&b, &worker_b), (&c, &worker_c)] {
        supplier.register_worker(worker).await.unwrap();
    }
    customer.token().approve_market(Snm::from_whole(1_000)).await.unwrap();
    let price = UsdPerSecond::from_scaled(U256::from(10u64.pow(14)));
    let purchase = Purchase::new(Term::Spot, Snm::from_whole(100), "img");
    let buy = |supplier: &Supplier<_>, worker: &snm_sdk::Client<_>| {
        let ask = Ask::new(supplier.master(), worker.sender(), price);
        let (market, customer, purchase) = (supplier.market().clone(), customer.clone(), purchase.clone());
        async move {
            let placed = market.place_ask(&ask).await.unwrap();
            customer.quick_buy(&placed, &purchase).await.unwrap()
        }
    };

    // A deal of a's opened before the feed's start, then closed after it; more deals of a and b.
    let old = buy(&a, &worker_a).await;
    let start = StreamPosition::new(EventCursor::from_block(devnet.block_number().await.unwrap() + 1));
    let a_new = buy(&a, &worker_a).await;
    let b_new = buy(&b, &worker_b).await;
    customer.market().close_deal(old.id, false).await.unwrap();
    customer.market().close_deal(b_new.id, false).await.unwrap();

    let feed = DealFeed::new(a.market().clone(), Duration::from_secs(3_600));
    let DealSource::Shared(mut share_a) = feed.subscribe(&a, start.clone()).await else {
        panic!("a fresh feed serves its first subscriber")
    };
    let DealSource::Shared(mut share_b) = feed.subscribe(&b, start.clone()).await else {
        panic!("a feed that read nothing yet serves any subscriber")
    };
    // The same master twice: the second gets a watch of its own.
    assert!(matches!(feed.subscribe(&a, start.clone()).await, DealSource::Own(_)));

    let for_a = share_a.poll().await.unwrap();
    assert_eq!(for_a.rollback, None);
    assert_eq!(summary(&for_a), [(a_new.id, true), (old.id, false)]);
    let requests = devnet.requests().total();
    let for_b = share_b.poll().await.unwrap();
    assert_eq!(summary(&for_b), [(b_new.id, true), (b_new.id, false)]);
    assert_eq!(devnet.requests().total(), requests, "b's share was read with a's: no request of its own");
    assert!(share_b.poll().await.unwrap().is_empty(), "nothing handed over twice");

    // The position handed over resumes a watch of its own with nothing lost or repeated.
    let position = share_a.position();
    assert!(position.cursor > start.cursor);
    let mut resumed = a.watch_deals_at(position.clone());
    assert!(resumed.poll().await.unwrap().is_empty());
    let later = buy(&a, &worker_a).await;
    assert_eq!(summary(&resumed.poll().await.unwrap()), [(later.id, true)]);

    // c subscribes from a position the feed already read past: it reads on its own, from there.
    let DealSource::Own(mut own_c) = feed.subscribe(&c, start).await else {
        panic!("a subscriber behind the feed reads on its own")
    };
    let c_deal = buy(&c, &worker_c).await;
    assert_eq!(summary(&own_c.poll().await.unwrap()), [(c_deal.id, true)]);
    // a subscriber at the feed's position shares it.
    let d = devnet.supplier(8).unwrap();
    assert!(matches!(feed.subscribe(&d, position).await, DealSource::Shared(_)));
}
