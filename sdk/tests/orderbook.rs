//! The order book against a devnet (placements minus cancellations and consumed orders, synced
//! incrementally from its cursor) and the matcher opening what it finds, reporting what the
//! market refuses.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::time::Duration;

use alloy::primitives::U256;
use common::{World, price, shared, snm};
use snm_sdk::{
    Error, OrderBook,
    bindings::Market::MarketErrors,
    market::{Bid, PlacedAsk, PlacedBid},
    units::{Resources, Term, UsdPerSecond},
};

const TWO_HOURS: Term = Term::Fixed(Duration::from_secs(7_200));

#[tokio::test]
async fn the_book_follows_the_chain_incrementally() {
    let world = World::new(shared().await).await;
    let (a1, a2, a3) = (world.place(|a| a).await, world.place(|a| a).await, world.place(|a| a).await);
    // Too cheap for any ask: nobody matches it.
    let cheap = UsdPerSecond::from_scaled(U256::from(1));
    let b1 = world.place_bid(&Bid::new(world.customer.sender(), cheap, TWO_HOURS, snm("100 SNM"))).await;
    let b2 = world.place_bid(&Bid::new(world.customer.sender(), cheap, Term::Spot, snm("100 SNM"))).await;

    let mut book = world.customer.market().order_book().await.unwrap();
    for ask in [&a1, &a2, &a3] {
        assert_eq!(book.ask(ask.id), Some(ask));
    }
    assert_eq!((book.bid(b1.id), book.bid(b2.id)), (Some(&b1), Some(&b2)));
    let cursor = book.cursor();

    world.supplier.market().cancel_ask(&a2).await.unwrap();
    world.customer.market().cancel_bid(&b2).await.unwrap();
    world.buy(&a3, TWO_HOURS).await.unwrap();
    let changed = world.customer.market().sync(&mut book).await.unwrap();
    assert!(changed >= 3 && book.cursor() > cursor);
    assert!(book.ask(a1.id).is_some() && book.bid(b1.id).is_some());
    assert!(book.ask(a2.id).is_none() && book.ask(a3.id).is_none() && book.bid(b2.id).is_none());

    // Other tests share the devnet and place orders meanwhile: only this world's orders are
    // compared. A second sync changes none of them, and a book rebuilt from the start holds them
    // as the synced one does.
    let mine = |book: &OrderBook| {
        let asks: Vec<PlacedAsk> =
            book.asks().filter(|a| a.ask.master == world.supplier.master()).cloned().collect();
        let bids: Vec<PlacedBid> =
            book.bids().filter(|b| b.bid.customer == world.customer.sender()).cloned().collect();
        (asks, bids)
    };
    let synced = mine(&book);
    world.customer.market().sync(&mut book).await.unwrap();
    assert_eq!(mine(&book), synced, "nothing new");
    let fresh = world.customer.market().order_book().await.unwrap();
    assert_eq!(mine(&fresh), synced);
    assert_eq!(OrderBook::new().cursor(), Default::default());
}

#[tokio::test]
async fn the_matcher_opens_matches_and_reports_refusals() {
    let devnet = shared().await;
    let (good, blocked) = (World::new(devnet.clone()).await, World::new(devnet.clone()).await);
    let mut placed = Vec::new();
    for world in [&good, &blocked] {
        let ask = world.place(|a| a.counterparty(world.customer.sender())).await;
        let bid = Bid::new(world.customer.sender(), price(), TWO_HOURS, snm("200 SNM"))
            .resources(Resources::new().cpu_cores(2))
            .counterparty(world.supplier.master());
        placed.push((ask, world.place_bid(&bid).await));
    }
    blocked.customer.market().set_blacklist(blocked.supplier.master(), true).await.unwrap();

    let matcher = good.matcher().await;
    let mut book = OrderBook::new();
    let report = matcher.run(&mut book).await.unwrap();
    let (ask, bid) = &placed[0];
    let opened = report.opened.iter().find(|o| o.bid == Some(bid.id)).expect("the good pair opens");
    assert_eq!((opened.ask, opened.id), (ask.id, bid.id.into()));
    let (_, error) =
        report.refused.iter().find(|(m, _)| m.bid.id == placed[1].1.id).expect("the blocked pair is refused");
    assert!(matches!(error, Error::Market(MarketErrors::BlacklistedBy(_))), "{error:?}");
    // The book follows: the good pair is gone, the refused one stays.
    assert!(book.bid(bid.id).is_none() && book.ask(ask.id).is_none());
    assert!(book.bid(placed[1].1.id).is_some());
    let deal = good.customer.market().deal(opened.id).await.unwrap().unwrap();
    assert_eq!((deal.customer, deal.deposit), (good.customer.sender(), snm("200 SNM")));
}
