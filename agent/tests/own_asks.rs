//! An agent's book read asks the node for its own master's events only: another master's asks
//! never come back, the book ends as the unfiltered `MarketService::sync` leaves an
//! `OrderBook::of_master` book (an ask taken by a deal and one cancelled by the worker are gone),
//! and a reorganisation that took back an ask read before is undone.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use alloy::{primitives::U256, providers::Provider};
use snm_agent::own_asks::OwnAsksReader;
use snm_sdk::{
    devnet::Devnet,
    events::EventCursor,
    market::{Ask, AskId, Purchase},
    orderbook::OrderBook,
    units::{Snm, Term, UsdPerSecond},
};

fn ids(book: &OrderBook) -> Vec<AskId> {
    let mut ids: Vec<AskId> = book.asks().map(|ask| ask.id).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_book_read_fetches_no_other_masters_logs() {
    let devnet = Devnet::start().await.unwrap();
    let (a, b) = (devnet.supplier(1).unwrap(), devnet.supplier(2).unwrap());
    let (worker_a, worker_b) = (devnet.client(3).unwrap(), devnet.client(4).unwrap());
    let customer = devnet.customer(5).unwrap();
    a.register_worker(&worker_a).await.unwrap();
    b.register_worker(&worker_b).await.unwrap();
    customer.token().approve_market(Snm::from_whole(1_000)).await.unwrap();
    let start = EventCursor::from_block(devnet.block_number().await.unwrap() + 1);
    let price = |k: u64| UsdPerSecond::from_scaled(U256::from(10u64.pow(14) + k));

    // b's asks: what an unfiltered read would fetch along with a's.
    for k in 0..12 {
        b.market().place_ask(&Ask::new(b.master(), worker_b.sender(), price(k))).await.unwrap();
    }
    // a's: one taken by a deal, one cancelled by its worker, one left open.
    let taken = a.market().place_ask(&Ask::new(a.master(), worker_a.sender(), price(1))).await.unwrap();
    let cancelled = a.market().place_ask(&Ask::new(a.master(), worker_a.sender(), price(2))).await.unwrap();
    let open = a.market().place_ask(&Ask::new(a.master(), worker_a.sender(), price(3))).await.unwrap();
    customer.quick_buy(&taken, &Purchase::new(Term::Spot, Snm::from_whole(100), "img")).await.unwrap();
    worker_a.market().cancel_ask(&cancelled).await.unwrap();

    let mut reader = OwnAsksReader::new(a.master(), [worker_a.sender()]);
    let mut book = OrderBook::of_master(start, a.master());
    let read = reader.sync(a.market(), &mut book).await.unwrap();
    // 3 placed, 1 opened, 1 cancelled: a's five events, none of b's twelve asks.
    assert_eq!(read.logs, 5, "{read:?}");
    assert_eq!(ids(&book), [open.id]);
    let mut unfiltered = OrderBook::of_master(start, a.master());
    a.market().sync(&mut unfiltered).await.unwrap();
    assert_eq!(ids(&book), ids(&unfiltered), "the same book as the unfiltered read");

    // b keeps placing asks: a's next read gets nothing.
    b.market().place_ask(&Ask::new(b.master(), worker_b.sender(), price(20))).await.unwrap();
    assert_eq!(reader.sync(a.market(), &mut book).await.unwrap().logs, 0);

    // An ask read, then taken back by a reorganisation: the next read no longer has it.
    let snapshot: U256 = devnet.provider().raw_request("evm_snapshot".into(), ()).await.unwrap();
    let orphaned = a.market().place_ask(&Ask::new(a.master(), worker_a.sender(), price(4))).await.unwrap();
    reader.sync(a.market(), &mut book).await.unwrap();
    assert_eq!(ids(&book), [open.id, orphaned.id]);
    let reverted: bool = devnet.provider().raw_request("evm_revert".into(), (snapshot,)).await.unwrap();
    assert!(reverted);
    // The chain grows past where it was, on other blocks (b's: a's nonce went back with the
    // revert, which its client does not know).
    for k in 30..33 {
        b.market().place_ask(&Ask::new(b.master(), worker_b.sender(), price(k))).await.unwrap();
    }
    let read = reader.sync(a.market(), &mut book).await.unwrap();
    assert_eq!(ids(&book), [open.id], "{read:?}");
    assert_eq!(read.logs, 5, "read again from the start, a's five events only");
}
