//! The customer's client against a devnet: escrow deposits (allowance or permit), finding and
//! buying machines, bids matched by a matcher, top-ups, runway, closing with a blacklist, and the
//! list of its deals. One devnet is shared; each test uses new accounts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::time::Duration;

use alloy::{primitives::U256, providers::Provider, signers::local::PrivateKeySigner};
use common::{World, price, shared, snm};
use snm_sdk::{
    Error, OrderBook,
    market::{Bid, CloseReason, Mismatch, Purchase, Requirements},
    units::{NetFlags, Resources, Snm, Term, UsdPerSecond},
};

const TWO_HOURS: Term = Term::Fixed(Duration::from_secs(7_200));

#[tokio::test]
async fn deposits_with_an_allowance_or_a_permit_and_withdraws() {
    let world = World::new(shared().await).await;
    let customer = &world.customer;
    let market = customer.market().address();
    assert_eq!(customer.token().allowance(customer.sender(), market).await.unwrap(), snm("10000 SNM"));
    assert_eq!(customer.escrow().deposit(snm("100 SNM")).await.unwrap(), snm("100 SNM"));
    customer.token().approve_market(Snm::ZERO).await.unwrap();
    // A permit needs no allowance, and the wrong key is refused before anything is sent.
    let other = PrivateKeySigner::random();
    let refused = customer.escrow().deposit_with_permit(&other, snm("1 SNM")).await;
    assert!(
        matches!(refused, Err(Error::PermitSigner { signer, owner }) if signer == other.address() && owner == customer.sender()),
        "{refused:?}"
    );
    assert_eq!(
        customer.escrow().deposit_with_permit(&world.customer_key, snm("50.5 SNM")).await.unwrap(),
        snm("150.5 SNM")
    );
    assert_eq!(customer.escrow().free_balance(customer.sender()).await.unwrap(), snm("150.5 SNM"));
    assert_eq!(customer.token().balance(customer.sender()).await.unwrap(), snm("9849.5 SNM"));
    assert_eq!(customer.escrow().withdraw(snm("150 SNM")).await.unwrap(), snm("0.5 SNM"));
    assert_eq!(customer.token().balance(customer.sender()).await.unwrap(), snm("9999.5 SNM"));
}

#[tokio::test]
async fn picks_the_cheapest_fitting_ask_within_budget() {
    let world = World::new(shared().await).await;
    let customer = &world.customer;
    let at = |usd_per_hour: &str| -> UsdPerSecond {
        usd_per_hour.parse::<snm_sdk::units::UsdPerHour>().unwrap().to_per_second().unwrap()
    };
    let small = world.place(|a| a.resources(Resources::new().cpu_cores(1)).price_at(at("0.036 USD/h"))).await;
    let reserved_elsewhere = world
        .place(|a| a.counterparty(alloy::primitives::Address::repeat_byte(3)).price_at(at("0.072 USD/h")))
        .await;
    let other_region = world.place(|a| a.region(250).price_at(at("0.108 USD/h"))).await;
    let first = world.place(|a| a.price_at(at("0.36 USD/h"))).await;
    let second = world.place(|a| a.price_at(at("0.36 USD/h"))).await;
    let reserved_here = world.place(|a| a.counterparty(customer.sender()).price_at(at("0.72 USD/h"))).await;
    let pricey = world.place(|a| a.price_at(at("3.6 USD/h"))).await;

    let book = customer.market().order_book().await.unwrap();
    let wanted = Requirements::new(TWO_HOURS)
        .resources(Resources::new().cpu_cores(2))
        .flags(NetFlags::PUBLIC_IP)
        .region(276)
        .master(world.supplier.master());
    // Two hours at 0.36 USD/h and 100 SNM/USD is 72 SNM: the oldest of the two 0.36 USD/h asks.
    let best = customer.best_ask(&book, &wanted, snm("72 SNM")).await.unwrap();
    assert_eq!(best.id, first.id);
    // A cent short: the diagnosis names the cheapest fitting ask, its cost and what was left out.
    let short = customer.best_ask(&book, &wanted, snm("71.99 SNM")).await;
    let Err(Error::NothingFits(why)) = short else { panic!("{short:?}") };
    let cheapest = why.cheapest.unwrap();
    assert_eq!((cheapest.ask, cheapest.cost), (first.id, Some(snm("72 SNM"))));
    assert!(why.over_budget() && why.fitting >= 4, "{why}");
    let left_out = |reason| why.left_out.iter().find(|l| l.reason == reason).map_or(0, |l| l.asks);
    assert!(left_out(Mismatch::Resources) >= 1 && left_out(Mismatch::Counterparty) >= 1, "{why}");
    assert!(
        why.to_string().contains(&format!(
            "the cheapest, ask {} at 0.36 USD/h, costs 72 SNM for 2h, above the budget of 71.99 SNM",
            first.id
        )),
        "{why}"
    );
    // The listing: cheapest first, then oldest; reserved asks only for their customer.
    let now = customer.client().now().await.unwrap();
    let wanted = wanted.customer(customer.sender());
    let listed: Vec<_> = book.asks_matching(&wanted, now).map(|a| a.id).collect();
    assert_eq!(listed, vec![first.id, second.id, reserved_here.id, pricey.id]);
    for left_out in [small.id, reserved_elsewhere.id, other_region.id] {
        assert!(book.ask(left_out).is_some() && !listed.contains(&left_out));
    }
    // Spot: the budget must cover the minimum runway (1 h): 0.36 USD/h is 36 SNM.
    let spot = Requirements::new(Term::Spot).master(world.supplier.master());
    let best = customer.best_ask(&book, &spot, snm("36 SNM")).await.unwrap();
    assert_eq!(best.id, small.id);
    let best = customer.best_ask(&book, &spot.resources(Resources::new().cpu_cores(4)), snm("36 SNM")).await;
    assert_eq!(best.unwrap().id, other_region.id, "any region, 4 cores: 0.108 USD/h");
}

trait PriceAt {
    fn price_at(self, price: UsdPerSecond) -> Self;
}

impl PriceAt for snm_sdk::market::Ask {
    fn price_at(self, price: UsdPerSecond) -> Self {
        Self { price, ..self }
    }
}

#[tokio::test]
async fn quick_buys_with_an_allowance_or_a_permit() {
    let world = World::new(shared().await).await;
    let customer = &world.customer;
    let ask = world.place(|a| a).await;
    let deal = world.buy(&ask, TWO_HOURS).await.unwrap();
    assert_eq!(
        (deal.customer, deal.master, deal.worker),
        (customer.sender(), world.supplier.master(), world.worker.sender())
    );
    assert_eq!((deal.ask, deal.bid, deal.price, deal.deposit), (ask.id, None, price(), snm("200 SNM")));
    assert_eq!(deal.end_time, Some(deal.start_time + 7_200));
    assert_eq!(deal.image, "ghcr.io/acme/proxy:1.2");

    customer.token().approve_market(Snm::ZERO).await.unwrap();
    let ask = world.place(|a| a).await;
    let purchase = Purchase::new(Term::Spot, snm("100 SNM"), "img").config_hash([7; 32].into());
    let deal = customer.market().quick_buy_with_permit(&world.customer_key, &ask, &purchase).await.unwrap();
    assert_eq!((deal.end_time, deal.config_hash), (None, [7; 32].into()));
    let stored = customer.market().deal(deal.id).await.unwrap().unwrap();
    assert_eq!((stored.deposit, stored.end_time, stored.closed), (snm("100 SNM"), None, None));
    assert_eq!(customer.token().balance(customer.sender()).await.unwrap(), snm("9700 SNM"));
}

/// How many transactions `account` has sent.
async fn sent(world: &World, account: alloy::primitives::Address) -> u64 {
    world.customer.client().provider().get_transaction_count(account).await.unwrap()
}

#[tokio::test]
async fn pays_from_the_wallet_with_one_permit_or_an_approval_when_short() {
    let world = World::new(shared().await).await;
    let customer = &world.customer;
    let (me, market) = (customer.sender(), customer.market().address());
    // No permit key and no allowance: the purchase approves what it needs first (two
    // transactions), leaving no allowance behind.
    customer.token().approve_market(Snm::ZERO).await.unwrap();
    let before = sent(&world, me).await;
    let purchase = Purchase::new(TWO_HOURS, snm("200 SNM"), "img");
    let deal = customer.quick_buy(&world.place(|a| a).await, &purchase).await.unwrap();
    assert_eq!((deal.customer, deal.deposit), (me, snm("200 SNM")));
    assert_eq!(sent(&world, me).await - before, 2);
    assert_eq!(customer.token().allowance(me, market).await.unwrap(), Snm::ZERO);
    // An allowance that covers it: one transaction.
    customer.token().approve_market(snm("500 SNM")).await.unwrap();
    let before = sent(&world, me).await;
    customer.quick_buy(&world.place(|a| a).await, &purchase).await.unwrap();
    assert_eq!(sent(&world, me).await - before, 1);
    assert_eq!(customer.token().allowance(me, market).await.unwrap(), snm("300 SNM"));

    // With its key, a customer signs a permit instead: one transaction. The market's permit sets
    // the allowance to what it spends, so the allowance given before is used up.
    let with_key =
        snm_sdk::Customer::new(customer.client().clone()).with_permit_signer(world.customer_key.clone());
    let before = sent(&world, me).await;
    let deal = with_key.quick_buy(&world.place(|a| a).await, &purchase).await.unwrap();
    assert_eq!(sent(&world, me).await - before, 1);
    assert_eq!(with_key.deposit(snm("10 SNM")).await.unwrap(), snm("10 SNM"));
    assert_eq!(sent(&world, me).await - before, 2);
    assert_eq!(customer.token().allowance(me, market).await.unwrap(), Snm::ZERO);
    // A top-up from the wallet is two transactions (the market tops up from the free balance);
    // the free balance is left as it was.
    let before = sent(&world, me).await;
    assert_eq!(with_key.top_up_from_wallet(deal.id, snm("50 SNM")).await.unwrap(), snm("250 SNM"));
    assert_eq!(sent(&world, me).await - before, 2);
    assert_eq!(customer.escrow().free_balance(me).await.unwrap(), snm("10 SNM"));
    // Another account's key is refused before anything is sent.
    let stranger =
        snm_sdk::Customer::new(customer.client().clone()).with_permit_signer(PrivateKeySigner::random());
    let before = sent(&world, me).await;
    let refused = stranger.top_up_from_wallet(deal.id, snm("1 SNM")).await;
    assert!(matches!(refused, Err(Error::PermitSigner { .. })), "{refused:?}");
    assert_eq!(sent(&world, me).await, before);
}

#[tokio::test]
async fn a_bid_is_matched_and_awaited() {
    let world = World::new(shared().await).await;
    let customer = &world.customer;
    let ask = world.place(|a| a).await;
    customer.deposit(snm("200 SNM")).await.unwrap();
    let bid = Bid::new(customer.sender(), price(), TWO_HOURS, snm("200 SNM"))
        .resources(Resources::new().cpu_cores(4))
        .counterparty(world.supplier.master())
        .image("ghcr.io/acme/proxy:1.2", [1; 32].into());
    let placed = customer.market().place_bid(&bid).await.unwrap();
    assert_eq!(placed.bid, bid);

    let waiting = {
        let customer = customer.clone();
        let placed = placed.clone();
        tokio::spawn(async move { customer.market().wait_for_match(&placed, Duration::from_secs(30)).await })
    };
    let matcher = world.matcher().await;
    let mut book = OrderBook::new();
    // Only this test places bids that asks can match in this binary: the matcher opens ours.
    let report = matcher.run(&mut book).await.unwrap();
    let opened = waiting.await.unwrap().unwrap();
    assert_eq!(opened.id, placed.id.into());
    assert_eq!((opened.ask, opened.bid), (ask.id, Some(placed.id)));
    assert_eq!((opened.config_hash, opened.deposit), ([1; 32].into(), snm("200 SNM")));
    assert!(report.opened.contains(&opened), "{report:?}");
    assert!(book.ask(ask.id).is_none() && book.bid(placed.id).is_none());
    assert_eq!(customer.escrow().free_balance(customer.sender()).await.unwrap(), Snm::ZERO);
}

#[tokio::test]
async fn waiting_for_a_match_ends_on_cancel_or_timeout() {
    let world = World::new(shared().await).await;
    let customer = &world.customer;
    customer.deposit(snm("20 SNM")).await.unwrap();
    // Nothing this slow... a price no ask has.
    let bid =
        Bid::new(customer.sender(), UsdPerSecond::from_scaled(U256::from(1)), Term::Spot, snm("10 SNM"))
            .counterparty(world.supplier.master());
    let placed = customer.market().place_bid(&bid).await.unwrap();
    let waited = customer.market().wait_for_match(&placed, Duration::from_millis(300)).await;
    assert!(matches!(waited, Err(Error::Timeout { .. })), "{waited:?}");
    customer.market().cancel_bid(&placed).await.unwrap();
    let waited = customer.market().wait_for_match(&placed, Duration::from_secs(10)).await;
    assert!(matches!(waited, Err(Error::OrderCancelled(id)) if id == placed.id.0), "{waited:?}");
}

#[tokio::test]
async fn tops_up_estimates_runway_and_closes_with_a_blacklist() {
    let world = World::new(shared().await).await;
    let customer = &world.customer;
    let ask = world.place(|a| a).await;
    // Spot at 0.00025 USD/s and 100 SNM/USD: 0.025 SNM a second, 200 SNM last 8,000 s.
    let deal = world.buy(&ask, Term::Spot).await.unwrap();
    let runway = customer.runway(deal.id).await.unwrap();
    assert!(
        runway.lasts <= Duration::from_secs(8_000) && runway.lasts >= Duration::from_secs(7_990),
        "{runway:?}"
    );
    assert!(!runway.covers_term);
    customer.deposit(snm("100 SNM")).await.unwrap();
    assert_eq!(customer.escrow().top_up(deal.id, snm("100 SNM")).await.unwrap(), snm("300 SNM"));
    world.devnet.advance_time(Duration::from_secs(1_000)).await.unwrap();
    let runway = customer.runway(deal.id).await.unwrap();
    // The runway is computed at the latest block's time: `until - lasts`.
    let elapsed = runway.until - runway.lasts.as_secs() - deal.start_time;
    assert_eq!(runway.lasts, Duration::from_secs(12_000 - elapsed));
    assert_eq!(
        runway.deposit_left,
        snm("300 SNM").checked_sub(price().snm_owed_down(elapsed, rate(&world).await).unwrap()).unwrap()
    );

    let closed = customer.market().close_deal(deal.id, true).await.unwrap();
    assert_eq!(
        (closed.reason, closed.by, closed.blacklisted),
        (CloseReason::ByCustomer, customer.sender(), true)
    );
    assert_eq!(closed.paid.checked_add(closed.refund), Some(snm("300 SNM")));
    assert!(customer.market().is_blacklisted(customer.sender(), world.supplier.master()).await.unwrap());
    assert_eq!(customer.escrow().free_balance(customer.sender()).await.unwrap(), closed.refund);
    let runway = customer.runway(deal.id).await.unwrap();
    assert_eq!((runway.lasts, runway.deposit_left), (Duration::ZERO, Snm::ZERO));
    // A fixed term is covered when the deposit lasts to its end.
    let world = World::new(world.devnet.clone()).await;
    let deal = world.buy(&world.place(|a| a).await, TWO_HOURS).await.unwrap();
    let runway = world.customer.runway(deal.id).await.unwrap();
    assert!(runway.covers_term && runway.until == deal.end_time.unwrap(), "{runway:?}");
}

async fn rate(world: &World) -> snm_sdk::units::SnmPerUsd {
    world.customer.oracle().rate().await.unwrap().snm_per_usd
}

#[tokio::test]
async fn lists_its_deals() {
    let world = World::new(shared().await).await;
    let customer = &world.customer;
    let first = world.buy(&world.place(|a| a).await, TWO_HOURS).await.unwrap();
    let second = world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap();
    customer.market().close_deal(first.id, false).await.unwrap();
    let deals = customer.market().deals_of(customer.sender()).await.unwrap();
    assert_eq!(deals.iter().map(|d| d.id).collect::<Vec<_>>(), vec![first.id, second.id]);
    assert_eq!(deals[0].closed, Some(CloseReason::ByCustomer));
    assert!(deals[1].is_active() && deals[1].worker == world.worker.sender());
    assert!(customer.market().deal(snm_sdk::market::DealId(u64::MAX)).await.unwrap().is_none());
}
