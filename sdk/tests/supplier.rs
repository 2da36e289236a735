//! The supplier's client against a devnet: workers, asks, the stream of its deals (resumed from a
//! cursor), settlement, closing and earnings. Reward claims are in `operator.rs`, with the rounds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::time::Duration;

use alloy::providers::Provider;
use common::{World, price, shared, snm};
use snm_sdk::{
    Error, Supplier,
    bindings::Market::MarketErrors,
    market::{CloseReason, DealId},
    supplier::DealEvent,
    units::{Snm, Term},
};

#[tokio::test]
async fn registers_removes_and_lists_workers() {
    let world = World::new(shared().await).await;
    let supplier = &world.supplier;
    let second = world.stranger().await;
    second.market().request_worker(supplier.master()).await.unwrap();
    assert_eq!(
        supplier.market().workers_of(supplier.master()).await.unwrap(),
        vec![world.worker.sender()],
        "a request is not a link"
    );
    supplier.market().confirm_worker(second.sender()).await.unwrap();
    assert_eq!(
        supplier.market().workers_of(supplier.master()).await.unwrap(),
        vec![world.worker.sender(), second.sender()]
    );
    assert_eq!(supplier.market().master_of(second.sender()).await.unwrap(), Some(supplier.master()));
    supplier.market().remove_worker(world.worker.sender(), supplier.master()).await.unwrap();
    assert_eq!(supplier.market().workers_of(supplier.master()).await.unwrap(), vec![second.sender()]);
    assert_eq!(supplier.market().master_of(world.worker.sender()).await.unwrap(), None);
    // Re-linked, it is listed once.
    supplier.register_worker(&world.worker).await.unwrap();
    assert_eq!(
        supplier.market().workers_of(supplier.master()).await.unwrap(),
        vec![world.worker.sender(), second.sender()]
    );
}

#[tokio::test]
async fn places_and_cancels_asks() {
    let world = World::new(shared().await).await;
    let supplier = &world.supplier;
    let ask = world.place(|a| a).await;
    assert_eq!(ask.ask, world.ask());
    let mut book = supplier.market().order_book().await.unwrap();
    assert_eq!(book.ask(ask.id), Some(&ask));
    supplier.market().cancel_ask(&ask).await.unwrap();
    supplier.market().sync(&mut book).await.unwrap();
    assert!(book.ask(ask.id).is_none());
    let again = supplier.market().cancel_ask(&ask).await;
    assert!(matches!(again, Err(Error::Market(MarketErrors::OrderMismatch(_)))), "{again:?}");
    // The master or the worker places an ask, nobody else.
    let foreign = snm_sdk::market::Ask { master: world.customer.sender(), ..world.ask() };
    let refused = supplier.market().place_ask(&foreign).await;
    assert!(
        matches!(refused, Err(Error::ForeignAsk { master, sender, .. }) if master == world.customer.sender() && sender == supplier.master()),
        "{refused:?}"
    );
    let by_the_machine = world.worker.market().place_ask(&world.ask()).await.unwrap();
    book = supplier.market().order_book().await.unwrap();
    assert_eq!(book.ask(by_the_machine.id).map(|a| a.ask.worker), Some(world.worker.sender()));
}

#[tokio::test]
async fn watches_the_deals_of_its_workers_and_resumes() {
    let devnet = shared().await;
    let world = World::new(devnet.clone()).await;
    let rival = World::new(devnet).await;
    let start = world.supplier.client().now().await.unwrap();
    let from = snm_sdk::events::EventCursor::from_block(world.supplier.client().deployment().start_block);
    let mut watch = world.supplier.watch_deals(from);

    let first = world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap();
    rival.buy(&rival.place(|a| a).await, Term::Spot).await.unwrap();
    let second = world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap();
    assert!(first.start_time >= start);

    let event = watch.next().await.unwrap();
    assert_eq!(event.event, DealEvent::Opened(first.clone()));
    let saved = watch.cursor();
    assert_eq!(saved, event.cursor());

    world.customer.market().close_deal(first.id, false).await.unwrap();
    world.supplier.market().close_deal(second.id, true).await.unwrap();
    let rest = watch.poll().await.unwrap();
    let kinds: Vec<_> = rest
        .iter()
        .map(|e| match &e.event {
            DealEvent::Opened(o) => ("opened", o.id),
            DealEvent::Closed(c) => ("closed", c.id),
        })
        .collect();
    assert_eq!(kinds, vec![("opened", second.id), ("closed", first.id), ("closed", second.id)]);
    let DealEvent::Closed(closed) = &rest[2].event else { panic!() };
    assert_eq!(
        (closed.reason, closed.by, closed.blacklisted),
        (CloseReason::BySupplier, world.supplier.master(), true)
    );

    // A new watch from the saved cursor sees exactly what followed, looking closed deals up.
    let mut resumed = world.supplier.watch_deals(saved);
    assert_eq!(resumed.poll().await.unwrap(), rest);
    assert!(resumed.poll().await.unwrap().is_empty());
}

#[tokio::test]
async fn settles_closes_and_withdraws_earnings() {
    let world = World::new(shared().await).await;
    let supplier: &Supplier<_> = &world.supplier;
    let deal = world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap();
    world.devnet.advance_time(Duration::from_secs(400)).await.unwrap();
    let rate = supplier.oracle().rate().await.unwrap().snm_per_usd;
    let settled = supplier.market().settle(deal.id).await.unwrap().unwrap();
    let seconds = settled.settled_until - deal.start_time;
    assert_eq!(settled.amount, price().snm_owed_down(seconds, rate).unwrap());
    assert_eq!((settled.fee, settled.master), (Snm::ZERO, supplier.master()));
    assert_eq!(settled.deposit_left, snm("200 SNM").checked_sub(settled.amount).unwrap());
    assert_eq!(supplier.escrow().earnings(supplier.master()).await.unwrap(), settled.amount);

    let closed = supplier.market().close_deal(deal.id, false).await.unwrap();
    assert_eq!(closed.reason, CloseReason::BySupplier);
    let earned = settled.amount.checked_add(closed.paid).unwrap();
    assert_eq!(supplier.escrow().earnings(supplier.master()).await.unwrap(), earned);
    let stored = supplier.market().deal(deal.id).await.unwrap().unwrap();
    assert_eq!((stored.closed, stored.deposit), (Some(CloseReason::BySupplier), Snm::ZERO));

    let left = supplier.escrow().withdraw_earnings(snm("1 SNM")).await.unwrap();
    assert_eq!(left, earned.checked_sub(snm("1 SNM")).unwrap());
    assert_eq!(supplier.token().balance(supplier.master()).await.unwrap(), snm("1 SNM"));
    assert!(supplier.market().deal(DealId(0)).await.unwrap().is_none());

    // The rest in one call; with nothing left, nothing is sent.
    let all = supplier.escrow().withdraw_all_earnings().await.unwrap();
    assert_eq!(all, left);
    assert_eq!(supplier.escrow().earnings(supplier.master()).await.unwrap(), Snm::ZERO);
    assert_eq!(supplier.token().balance(supplier.master()).await.unwrap(), earned);
    let provider = supplier.client().provider();
    let sent = provider.get_transaction_count(supplier.master()).await.unwrap();
    assert_eq!(supplier.escrow().withdraw_all_earnings().await.unwrap(), Snm::ZERO);
    assert_eq!(provider.get_transaction_count(supplier.master()).await.unwrap(), sent);
}

#[tokio::test]
async fn a_supplier_closing_a_fixed_term_early_is_told_when_it_may() {
    let world = World::new(shared().await).await;
    let deal = world.buy(&world.place(|a| a).await, Term::Fixed(Duration::from_secs(7_200))).await.unwrap();
    let refused = world.supplier.market().close_deal(deal.id, false).await;
    let Err(error @ Error::CloseNotAllowed { .. }) = refused else { panic!("{refused:?}") };
    let end = deal.end_time.unwrap();
    assert!(
        matches!(error, Error::CloseNotAllowed { deal: d, end_time: Some(e), .. } if d == deal.id && e == end)
    );
    assert!(error.is_revert());
    let text = error.to_string();
    assert!(
        text.contains(&format!("may not close deal {} yet: a supplier may close a fixed-term deal only after its end, at block time {end} (", deal.id)),
        "{text}"
    );
}

#[tokio::test]
async fn agrees_on_new_terms_with_the_customer() {
    let world = World::new(shared().await).await;
    let deal = world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap();
    let cheaper =
        snm_sdk::units::UsdPerSecond::from_scaled(price().scaled() / alloy::primitives::U256::from(2));
    // A proposal can be withdrawn; the other side accepts the one standing.
    world.supplier.market().propose_change(deal.id, cheaper, None).await.unwrap();
    world.supplier.market().cancel_change(deal.id).await.unwrap();
    let gone = world.customer.market().accept_change(deal.id, cheaper, None).await;
    assert!(matches!(gone, Err(Error::Market(MarketErrors::NoPendingChange(_)))), "{gone:?}");
    world.supplier.market().propose_change(deal.id, cheaper, None).await.unwrap();
    world.customer.market().accept_change(deal.id, cheaper, None).await.unwrap();
    let stored = world.customer.market().deal(deal.id).await.unwrap().unwrap();
    assert_eq!((stored.price, stored.end_time), (cheaper, None));
    assert!(stored.settled_until >= deal.start_time, "the seconds before were settled at the old price");
    // The devnet hands out ready-made matchers too.
    let matcher = world.devnet.matcher(1).unwrap();
    assert_eq!(matcher.sender(), world.devnet.accounts()[1]);
}

#[tokio::test]
async fn announces_where_the_workload_serves() {
    let world = World::new(shared().await).await;
    let deal = world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap();
    assert_eq!(world.customer.market().endpoint(deal.id).await.unwrap(), None);
    let timeout = world.customer.market().wait_for_endpoint(deal.id, Duration::from_millis(50)).await;
    assert!(matches!(timeout, Err(Error::Timeout { .. })), "{timeout:?}");

    world.supplier.market().announce_endpoint(deal.id, "203.0.113.7:3128").await.unwrap();
    // The worker may announce too (a restarted workload); the latest announcement counts.
    world.worker.market().announce_endpoint(deal.id, "203.0.113.7:4128").await.unwrap();
    let endpoint = world.customer.market().wait_for_endpoint(deal.id, Duration::from_secs(5)).await.unwrap();
    assert_eq!(endpoint, "203.0.113.7:4128");
}

/// Issue 11: a supplier that could not serve a fixed-term deal ends it early; the customer gets back
/// everything after the last settlement except the seconds served, the master is paid only up to
/// the time it says it served.
#[tokio::test]
async fn a_supplier_ends_a_fixed_term_deal_it_could_not_serve_and_is_paid_only_up_to_served_until() {
    let world = World::new(shared().await).await;
    let (supplier, customer) = (&world.supplier, &world.customer);
    let deal = world.buy(&world.place(|a| a).await, Term::Fixed(Duration::from_secs(86_400))).await.unwrap();
    world.devnet.advance_time(Duration::from_secs(600)).await.unwrap();
    let settled = supplier.market().settle(deal.id).await.unwrap().unwrap();
    world.devnet.advance_time(Duration::from_secs(900)).await.unwrap();

    // A time after the block's is refused, and said so.
    let now = supplier.client().now().await.unwrap();
    let future = supplier.market().end_unserved(deal.id, now + 3_600).await;
    let error = expect_err!(future, error @ Error::Market(MarketErrors::ServedUntilInFuture(_)) => error);
    assert!(error.to_string().contains("cannot be said served up to block time"), "{error}");

    let free_before = customer.escrow().free_balance(customer.sender()).await.unwrap();
    let served_until = settled.settled_until + 300;
    let closed = supplier.market().end_unserved(deal.id, served_until).await.unwrap();
    assert_eq!((closed.id, closed.reason, closed.by), (deal.id, CloseReason::Unserved, supplier.master()));
    assert!(!closed.blacklisted);
    assert_eq!(closed.settled_until, served_until, "paid up to the time served, not up to now");
    assert_eq!(closed.paid, price().snm_owed_down(300, closed.rate).unwrap());
    assert_eq!(closed.refund, settled.deposit_left.checked_sub(closed.paid).unwrap());
    assert_eq!(
        customer.escrow().free_balance(customer.sender()).await.unwrap(),
        free_before.checked_add(closed.refund).unwrap(),
        "the customer gets back every unserved second"
    );
    assert_eq!(
        supplier.escrow().earnings(supplier.master()).await.unwrap(),
        settled.amount.checked_add(closed.paid).unwrap()
    );
    let stored = supplier.market().deal(deal.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.closed, stored.deposit, stored.settled_until),
        (Some(CloseReason::Unserved), Snm::ZERO, served_until)
    );
    assert!(closed.to_string().contains("ended by its supplier, who could not serve it"), "{closed}");
}

/// Issue 11: once removed from its master, a worker no longer acts for the master's deals (which
/// the master still does), and the SDK says why.
#[tokio::test]
async fn a_removed_worker_no_longer_acts_for_its_former_masters_deals() {
    let world = World::new(shared().await).await;
    let supplier = &world.supplier;
    let deal = world.buy(&world.place(|a| a).await, Term::Fixed(Duration::from_secs(86_400))).await.unwrap();
    world.worker.market().remove_worker(world.worker.sender(), supplier.master()).await.unwrap();

    let announce = world.worker.market().announce_endpoint(deal.id, "198.51.100.9:3128").await;
    let refused = expect_err!(announce, Error::Market(MarketErrors::NotDealParty(e)) => e);
    assert_eq!(refused.caller, world.worker.sender());
    let end = world.worker.market().end_unserved(deal.id, 0).await;
    let error = expect_err!(end, error @ Error::Market(MarketErrors::NotDealSupplier(_)) => error);
    assert!(error.to_string().contains("while still a confirmed worker of that master"), "{error}");

    supplier.market().announce_endpoint(deal.id, "203.0.113.7:3128").await.unwrap();
    let closed = supplier.market().end_unserved(deal.id, 0).await.unwrap();
    assert_eq!(
        (closed.reason, closed.paid, closed.refund),
        (CloseReason::Unserved, Snm::ZERO, snm("200 SNM"))
    );
}
