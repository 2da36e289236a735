//! Every custom error of the Market (with its Escrow and Identity parts) and of the PriceOracle
//! that the SDK can trigger arrives as its typed variant, with its fields; the SDK's own checks
//! before sending arrive as `Error::InsufficientFunds`. One devnet is shared by the tests running
//! side by side; each test uses new accounts. Tests that change global state (pause, time beyond
//! the oracle's maximum age, a huge supply) start their own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::time::Duration;

use alloy::primitives::{Address, U256};
use common::{World, shared, snm};
use snm_sdk::{
    Customer, Error, Funds, Operator,
    bindings::{Market::MarketErrors, PriceOracle::PriceOracleErrors, SNMToken::SNMTokenErrors},
    devnet::{Devnet, DevnetConfig},
    market::{Bid, PlacedBid, Purchase},
    matcher::Match,
    operator::DeployConfig,
    units::{NetFlags, Resources, Snm, SnmPerUsd, Term, UsdPerSecond},
};

const TWO_HOURS: Term = Term::Fixed(Duration::from_secs(7_200));

/// The test bid (2 cores, public IP, region 276, up to the test ask's price, 2 h, 200 SNM) changed
/// by `change`, placed after depositing its deposit.
async fn bid(world: &World, change: impl FnOnce(Bid) -> Bid) -> PlacedBid {
    let bid = change(
        Bid::new(world.customer.sender(), common::price(), TWO_HOURS, snm("200 SNM"))
            .resources(Resources::new().cpu_cores(2))
            .flags(NetFlags::PUBLIC_IP)
            .region(276)
            .image("ghcr.io/acme/proxy:1.2", Default::default()),
    );
    world.place_bid(&bid).await
}

/// What the matcher gets when it opens the test ask (changed by `ask`) with the test bid
/// (changed by `bid`).
async fn open_pair(
    ask: impl FnOnce(snm_sdk::market::Ask) -> snm_sdk::market::Ask,
    bid_change: impl FnOnce(Bid) -> Bid,
) -> Error {
    let world = World::new(shared().await).await;
    let ask = world.place(ask).await;
    let bid = bid(&world, bid_change).await;
    let matcher = world.matcher().await;
    matcher.open(&Match { ask, bid }).await.expect_err("the market must refuse the pair")
}

// ---------------------------------------------------------------- orders

#[tokio::test]
async fn order_mismatch() {
    let world = World::new(shared().await).await;
    let ask = world.place(|a| a).await;
    world.buy(&ask, TWO_HOURS).await.unwrap();
    let e = expect_err!(world.buy(&ask, TWO_HOURS).await, Error::Market(MarketErrors::OrderMismatch(e)) => e);
    assert_eq!(e.orderId, ask.id.word());
}

#[tokio::test]
async fn not_order_owner() {
    let world = World::new(shared().await).await;
    let ask = world.place(|a| a).await;
    let stranger = snm_sdk::Supplier::new(world.stranger().await);
    let e = expect_err!(stranger.market().cancel_ask(&ask).await, Error::Market(MarketErrors::NotOrderOwner(e)) => e);
    assert_eq!((e.orderId, e.caller), (ask.id.word(), stranger.sender()));
    world.supplier.market().cancel_ask(&ask).await.unwrap();
}

#[tokio::test]
async fn invalid_order() {
    let world = World::new(shared().await).await;
    let free = world.ask().durations(Duration::ZERO, None);
    let free = snm_sdk::market::Ask { price: UsdPerSecond::ZERO, ..free };
    expect_err!(world.supplier.market().place_ask(&free).await, Error::Market(MarketErrors::InvalidOrder(_)) => ());
}

#[tokio::test]
async fn order_expired() {
    let world = World::new(shared().await).await;
    let now = world.customer.client().now().await.unwrap();
    let ask = world.place(|a| a.expiry(now + 30)).await;
    world.devnet.advance_time(Duration::from_secs(60)).await.unwrap();
    let e = expect_err!(world.buy(&ask, TWO_HOURS).await, Error::Market(MarketErrors::OrderExpired(e)) => e);
    assert_eq!((e.orderId, e.expiry), (ask.id.word(), U256::from(now + 30)));
}

#[tokio::test]
async fn market_paused() {
    let devnet = std::sync::Arc::new(Devnet::start().await.unwrap());
    let world = World::new(devnet).await;
    let ask = world.place(|a| a).await;
    world.operator().market().set_paused(true).await.unwrap();
    assert!(world.customer.market().paused().await.unwrap());
    expect_err!(world.buy(&ask, TWO_HOURS).await, Error::Market(MarketErrors::MarketPaused(_)) => ());
    world.operator().market().set_paused(false).await.unwrap();
    world.buy(&ask, TWO_HOURS).await.unwrap();
}

// ---------------------------------------------------------------- matching rules

#[tokio::test]
async fn resources_too_low() {
    let error = open_pair(|a| a, |b| b.resources(Resources::new().cpu_cores(8))).await;
    assert!(matches!(error, Error::Market(MarketErrors::ResourcesTooLow(_))), "{error:?}");
}

#[tokio::test]
async fn flags_missing() {
    let error = open_pair(|a| a, |b| b.flags(NetFlags::PUBLIC_IP | NetFlags::IPV6)).await;
    let Error::Market(MarketErrors::FlagsMissing(e)) = error else { panic!("{error:?}") };
    assert_eq!((e.required, e.offered), (U256::from(0b1001), U256::from(0b11)));
}

#[tokio::test]
async fn region_mismatch() {
    let error = open_pair(|a| a, |b| b.region(250)).await;
    let Error::Market(MarketErrors::RegionMismatch(e)) = error else { panic!("{error:?}") };
    assert_eq!((e.required, e.offered), (U256::from(250), U256::from(276)));
}

#[tokio::test]
async fn price_too_high() {
    let cheap = UsdPerSecond::from_scaled(common::price().scaled() - U256::from(1));
    let error = open_pair(|a| a, |b| Bid { max_price: cheap, ..b }).await;
    let Error::Market(MarketErrors::PriceTooHigh(e)) = error else { panic!("{error:?}") };
    assert_eq!((e.price, e.maxPrice), (common::price().scaled(), cheap.scaled()));
}

#[tokio::test]
async fn counterparty_mismatch() {
    let world = World::new(shared().await).await;
    let ask = world.place(|a| a.counterparty(Address::repeat_byte(7))).await;
    expect_err!(world.buy(&ask, TWO_HOURS).await, Error::Market(MarketErrors::CounterpartyMismatch(_)) => ());
}

#[tokio::test]
async fn duration_out_of_range() {
    let world = World::new(shared().await).await;
    let ask = world.place(|a| a.durations(Duration::from_secs(60), Some(Duration::from_secs(3_600)))).await;
    let e = expect_err!(
        world.buy(&ask, TWO_HOURS).await,
        Error::Market(MarketErrors::DurationOutOfRange(e)) => e
    );
    assert_eq!(e.duration, U256::from(7_200));
    let e = expect_err!(
        world.buy(&ask, Term::Spot).await,
        Error::Market(MarketErrors::DurationOutOfRange(e)) => e
    );
    assert_eq!(e.duration, U256::ZERO);
}

#[tokio::test]
async fn blacklisted_by() {
    let world = World::new(shared().await).await;
    let ask = world.place(|a| a).await;
    world.customer.market().set_blacklist(world.supplier.master(), true).await.unwrap();
    let e = expect_err!(world.buy(&ask, TWO_HOURS).await, Error::Market(MarketErrors::BlacklistedBy(e)) => e);
    assert_eq!((e.blocker, e.blocked), (world.customer.sender(), world.supplier.master()));
}

#[tokio::test]
async fn worker_not_confirmed() {
    let world = World::new(shared().await).await;
    let ask = world.place(|a| a).await;
    world.supplier.market().remove_worker(world.worker.sender(), world.supplier.master()).await.unwrap();
    let e = expect_err!(
        world.buy(&ask, TWO_HOURS).await,
        Error::Market(MarketErrors::WorkerNotConfirmed(e)) => e
    );
    assert_eq!((e.worker, e.master), (world.worker.sender(), world.supplier.master()));
    let refused = world.supplier.market().place_ask(&world.ask()).await;
    expect_err!(refused, Error::Market(MarketErrors::WorkerNotConfirmed(_)) => ());
}

#[tokio::test]
async fn deposit_below_runway() {
    let world = World::new(shared().await).await;
    let ask = world.place(|a| a).await;
    let purchase = Purchase::new(TWO_HOURS, snm("1 SNM"), "img");
    let e = expect_err!(
        world.customer.quick_buy(&ask, &purchase).await,
        Error::Market(MarketErrors::DepositBelowRunway(e)) => e
    );
    // One hour of runway at 0.00025 USD/s and 100 SNM/USD.
    assert_eq!((e.deposit, e.required), (snm("1 SNM").wei(), snm("90 SNM").wei()));
}

// ---------------------------------------------------------------- running deals

#[tokio::test]
async fn deal_not_active() {
    let world = World::new(shared().await).await;
    let deal = world.buy(&world.place(|a| a).await, TWO_HOURS).await.unwrap();
    world.customer.market().close_deal(deal.id, false).await.unwrap();
    let e = expect_err!(
        world.customer.market().close_deal(deal.id, false).await,
        Error::Market(MarketErrors::DealNotActive(e)) => e
    );
    assert_eq!(e.dealId, deal.id.word());
}

#[tokio::test]
async fn not_deal_party() {
    let world = World::new(shared().await).await;
    let deal = world.buy(&world.place(|a| a).await, TWO_HOURS).await.unwrap();
    let stranger = world.stranger().await;
    let e = expect_err!(
        stranger.market().close_deal(deal.id, true).await,
        Error::Market(MarketErrors::NotDealParty(e)) => e
    );
    assert_eq!((e.dealId, e.caller), (deal.id.word(), stranger.sender()));
}

#[tokio::test]
async fn invalid_endpoint_and_announcer_not_supplier() {
    let world = World::new(shared().await).await;
    let deal = world.buy(&world.place(|a| a).await, TWO_HOURS).await.unwrap();
    let e = expect_err!(
        world.supplier.market().announce_endpoint(deal.id, "").await,
        Error::Market(MarketErrors::InvalidEndpoint(e)) => e
    );
    assert_eq!(e.length, U256::ZERO);
    let customer_as_supplier = snm_sdk::Supplier::new(world.customer.client().clone());
    let e = expect_err!(
        customer_as_supplier.market().announce_endpoint(deal.id, "203.0.113.7:3128").await,
        Error::Market(MarketErrors::NotDealParty(e)) => e
    );
    assert_eq!(e.caller, world.customer.sender());
}

#[tokio::test]
async fn close_not_allowed() {
    let world = World::new(shared().await).await;
    let deal = world.buy(&world.place(|a| a).await, TWO_HOURS).await.unwrap();
    // The market's `CloseNotAllowed`, with the deal's end read back for the sentence.
    let (id, caller, end) = expect_err!(
        world.supplier.market().close_deal(deal.id, false).await,
        Error::CloseNotAllowed { deal, caller, end_time } => (deal, caller, end_time)
    );
    assert_eq!((id, caller, end), (deal.id, world.supplier.master(), deal.end_time));
    // Through the bindings, the bare contract error: its sentence has no end time to give.
    let market = world.supplier.market().contract();
    let call = market.closeDeal(deal.id.word(), false).from(world.supplier.master());
    let e = expect_err!(call.call().await.map_err(Error::from), Error::Market(MarketErrors::CloseNotAllowed(e)) => e);
    assert_eq!((e.dealId, e.caller), (deal.id.word(), world.supplier.master()));
}

#[tokio::test]
async fn no_pending_change() {
    let world = World::new(shared().await).await;
    let deal = world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap();
    let e = expect_err!(
        world.supplier.market().accept_change(deal.id, common::price(), None).await,
        Error::Market(MarketErrors::NoPendingChange(e)) => e
    );
    assert_eq!(e.dealId, deal.id.word());
}

#[tokio::test]
async fn invalid_change() {
    let world = World::new(shared().await).await;
    let deal = world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap();
    let refused =
        world.customer.market().propose_change(deal.id, common::price(), Some(u64::from(u32::MAX))).await;
    expect_err!(refused, Error::Market(MarketErrors::InvalidChange(_)) => ());
}

#[tokio::test]
async fn invalid_runway() {
    let devnet = shared().await;
    let deployer = common::account(&devnet, "0 SNM").await;
    let config = DeployConfig { min_runway: Duration::ZERO, ..DeployConfig::default() };
    let refused = Operator::deploy(deployer.provider().clone(), deployer.sender(), &config).await;
    expect_err!(refused, Error::Market(MarketErrors::InvalidRunway(_)) => ());
}

// ---------------------------------------------------------------- escrow

#[tokio::test]
async fn zero_amount() {
    let world = World::new(shared().await).await;
    expect_err!(world.customer.deposit(Snm::ZERO).await, Error::Market(MarketErrors::ZeroAmount(_)) => ());
}

#[tokio::test]
async fn amount_too_large() {
    // 2^96 wei is 79.2 billion SNM: the operator of a devnet with 100 billion deposits 80 billion.
    let config =
        DevnetConfig { accounts: 1, snm_supply: Snm::from_whole(100_000_000_000), ..Default::default() };
    let devnet = Devnet::start_with(config).await.unwrap();
    let whale = devnet.customer(0).unwrap();
    let amount = Snm::from_whole(80_000_000_000);
    whale.token().approve_market(amount).await.unwrap();
    let e = expect_err!(whale.deposit(amount).await, Error::Market(MarketErrors::AmountTooLarge(e)) => e);
    assert_eq!(e.amount, amount.wei());
}

#[tokio::test]
async fn insufficient_balance() {
    // The bid's deposit left the free balance after the bid was placed: the market refuses the match.
    let world = World::new(shared().await).await;
    let ask = world.place(|a| a).await;
    let bid = bid(&world, |b| b).await;
    world.customer.escrow().withdraw(snm("150 SNM")).await.unwrap();
    let matcher = world.matcher().await;
    let e = expect_err!(
        matcher.open(&Match { ask, bid }).await,
        Error::Market(MarketErrors::InsufficientBalance(e)) => e
    );
    assert_eq!(
        (e.account, e.available, e.needed),
        (world.customer.sender(), snm("50 SNM").wei(), snm("200 SNM").wei())
    );
}

#[tokio::test]
async fn insufficient_earnings() {
    // The SDK checks earnings before sending; the contract's own error, through the bindings.
    let world = World::new(shared().await).await;
    let e = expect_err!(
        world.supplier.escrow().withdraw_earnings(snm("1 SNM")).await,
        Error::InsufficientFunds { funds: Funds::Earnings, available, needed, .. } => (available, needed)
    );
    assert_eq!(e, (Snm::ZERO, snm("1 SNM")));
    let market = world.supplier.market().contract();
    let call = market.withdrawEarnings(U256::from(1), world.supplier.master()).from(world.supplier.master());
    let e = expect_err!(
        call.call().await.map_err(Error::from),
        Error::Market(MarketErrors::InsufficientEarnings(e)) => e
    );
    assert_eq!((e.account, e.available, e.needed), (world.supplier.master(), U256::ZERO, U256::from(1)));
}

#[tokio::test]
async fn fee_too_high() {
    let world = World::new(shared().await).await;
    let refused = world.operator().escrow().set_fee(1_001, Address::repeat_byte(1)).await;
    let e = expect_err!(refused, Error::Market(MarketErrors::FeeTooHigh(e)) => e);
    assert_eq!((e.feeBps, e.maxFeeBps), (U256::from(1_001), U256::from(1_000)));
}

#[tokio::test]
async fn zero_address() {
    let world = World::new(shared().await).await;
    let refused = world.customer.market().set_blacklist(Address::ZERO, true).await;
    expect_err!(refused, Error::Market(MarketErrors::ZeroAddress(_)) => ());
}

#[tokio::test]
async fn no_fees() {
    let world = World::new(shared().await).await;
    expect_err!(world.operator().escrow().withdraw_fees().await, Error::Market(MarketErrors::NoFees(_)) => ());
}

// ---------------------------------------------------------------- identity

#[tokio::test]
async fn already_worker() {
    let world = World::new(shared().await).await;
    let other = world.stranger().await;
    let e = expect_err!(
        world.worker.market().request_worker(other.sender()).await,
        Error::Market(MarketErrors::AlreadyWorker(e)) => e
    );
    assert_eq!((e.worker, e.master), (world.worker.sender(), world.supplier.master()));
}

#[tokio::test]
async fn no_worker_request() {
    let world = World::new(shared().await).await;
    let machine = Address::repeat_byte(9);
    let e = expect_err!(
        world.supplier.market().confirm_worker(machine).await,
        Error::Market(MarketErrors::NoWorkerRequest(e)) => e
    );
    assert_eq!((e.worker, e.master), (machine, world.supplier.master()));
}

#[tokio::test]
async fn not_worker_of() {
    let world = World::new(shared().await).await;
    let machine = Address::repeat_byte(9);
    let e = expect_err!(
        world.supplier.market().remove_worker(machine, world.supplier.master()).await,
        Error::Market(MarketErrors::NotWorkerOf(e)) => e
    );
    assert_eq!((e.worker, e.master), (machine, world.supplier.master()));
}

#[tokio::test]
async fn zero_master() {
    let world = World::new(shared().await).await;
    let machine = world.stranger().await;
    expect_err!(
        machine.market().request_worker(Address::ZERO).await,
        Error::Market(MarketErrors::ZeroMaster(_)) => ()
    );
}

#[tokio::test]
async fn ownable_unauthorized_account() {
    let world = World::new(shared().await).await;
    let impostor = Operator::new(world.stranger().await);
    let e = expect_err!(
        impostor.market().set_paused(true).await,
        Error::Market(MarketErrors::OwnableUnauthorizedAccount(e)) => e
    );
    assert_eq!(e.account, impostor.sender());
    // The same selector on the oracle is decoded as the oracle's.
    let refused = impostor.oracle().set_reporter(impostor.sender(), true).await;
    expect_err!(refused, Error::Oracle(PriceOracleErrors::OwnableUnauthorizedAccount(_)) => ());
}

// ---------------------------------------------------------------- oracle

#[tokio::test]
async fn not_reporter() {
    let world = World::new(shared().await).await;
    let impostor = Operator::new(world.stranger().await);
    let e = expect_err!(
        impostor.oracle().report(SnmPerUsd::from_whole(100)).await,
        Error::Oracle(PriceOracleErrors::NotReporter(e)) => e
    );
    assert_eq!(e.caller, impostor.sender());
}

#[tokio::test]
async fn zero_rate() {
    let world = World::new(shared().await).await;
    let refused = world.operator().oracle().report(SnmPerUsd::from_scaled(U256::ZERO)).await;
    expect_err!(refused, Error::Oracle(PriceOracleErrors::ZeroRate(_)) => ());
}

#[tokio::test]
async fn rate_change_too_large() {
    let world = World::new(shared().await).await;
    let previous = world.customer.oracle().rate().await.unwrap().snm_per_usd;
    let e = expect_err!(
        world.operator().oracle().report(SnmPerUsd::from_whole(1_000)).await,
        Error::Oracle(PriceOracleErrors::RateChangeTooLarge(e)) => e
    );
    assert_eq!(
        (e.previousRate, e.newRate, e.maxChangeBps),
        (previous.scaled(), SnmPerUsd::from_whole(1_000).scaled(), U256::from(2_000))
    );
}

#[tokio::test]
async fn stale_rate() {
    let devnet = std::sync::Arc::new(Devnet::start().await.unwrap());
    let world = World::new(devnet.clone()).await;
    let ask = world.place(|a| a).await;
    let deal = world.buy(&ask, Term::Spot).await.unwrap();
    let next = world.place(|a| a).await;
    devnet.advance_time(Duration::from_secs(2 * 86_400)).await.unwrap();
    let rate = world.customer.oracle().rate().await.unwrap();
    assert!(!rate.is_fresh(world.customer.client().now().await.unwrap()));
    let e =
        expect_err!(world.buy(&next, TWO_HOURS).await, Error::Oracle(PriceOracleErrors::StaleRate(e)) => e);
    assert_eq!((e.updatedAt, e.maxAge), (U256::from(rate.updated_at), U256::from(86_400)));
    // The customer can still close (at the last rate); a fresh report reopens the market.
    world.customer.market().close_deal(deal.id, false).await.unwrap();
    world.operator().oracle().report(rate.snm_per_usd).await.unwrap();
    world.buy(&next, TWO_HOURS).await.unwrap();
}

#[tokio::test]
async fn invalid_max_age() {
    let world = World::new(shared().await).await;
    let refused = world.operator().oracle().set_max_age(Duration::ZERO).await;
    expect_err!(refused, Error::Oracle(PriceOracleErrors::InvalidMaxAge(_)) => ());
}

#[tokio::test]
async fn invalid_max_change() {
    let devnet = shared().await;
    let deployer = common::account(&devnet, "0 SNM").await;
    let config = DeployConfig { oracle_max_change_bps: 0, ..DeployConfig::default() };
    let refused = Operator::deploy(deployer.provider().clone(), deployer.sender(), &config).await;
    expect_err!(refused, Error::Oracle(PriceOracleErrors::InvalidMaxChange(_)) => ());
}

#[tokio::test]
async fn zero_reporter() {
    let world = World::new(shared().await).await;
    let refused = world.operator().oracle().set_reporter(Address::ZERO, true).await;
    expect_err!(refused, Error::Oracle(PriceOracleErrors::ZeroReporter(_)) => ());
}

// ---------------------------------------------------------------- token, through the market

#[tokio::test]
async fn token_error_bubbles_through_the_market() {
    // The SDK checks the allowance before sending; the market's own call fails in the token, and
    // the token's error is decoded.
    let world = World::new(shared().await).await;
    let ask = world.place(|a| a).await;
    world.customer.token().approve_market(Snm::ZERO).await.unwrap();
    let purchase = Purchase::new(TWO_HOURS, snm("200 SNM"), "img");
    let e = expect_err!(
        world.customer.market().quick_buy(&ask, &purchase).await,
        Error::InsufficientFunds { funds: Funds::Allowance, available, needed, .. } => (available, needed)
    );
    assert_eq!(e, (Snm::ZERO, snm("200 SNM")));
    let market = world.customer.market().contract();
    let call = market
        .quickBuy(
            ask.id.word(),
            (&ask.ask).into(),
            U256::from(7_200),
            snm("200 SNM").wei(),
            "img".into(),
            Default::default(),
        )
        .from(world.customer.sender());
    let e = expect_err!(
        call.call().await.map_err(Error::from),
        Error::Token(SNMTokenErrors::ERC20InsufficientAllowance(e)) => e
    );
    assert_eq!(
        (e.spender, e.allowance, e.needed),
        (world.customer.client().deployment().market, U256::ZERO, snm("200 SNM").wei())
    );
}

// ---------------------------------------------------------------- the SDK's checks before sending

#[tokio::test]
async fn insufficient_funds_are_checked_before_sending() {
    let world = World::new(shared().await).await;
    let customer: &Customer<_> = &world.customer;
    let ask = world.place(|a| a).await;
    // A bid above the free balance.
    let bid = Bid::new(customer.sender(), common::price(), TWO_HOURS, snm("200 SNM"));
    let e = expect_err!(
        customer.market().place_bid(&bid).await,
        Error::InsufficientFunds { account, funds: Funds::FreeBalance, available, needed } => {
            (account, available, needed)
        }
    );
    assert_eq!(e, (customer.sender(), Snm::ZERO, snm("200 SNM")));
    // A quick buy above the token balance.
    let purchase = Purchase::new(TWO_HOURS, snm("20000 SNM"), "img");
    let e = expect_err!(
        customer.quick_buy(&ask, &purchase).await,
        Error::InsufficientFunds { funds: Funds::TokenBalance, available, needed, .. } => (available, needed)
    );
    assert_eq!(e, (snm("10000 SNM"), snm("20000 SNM")));
    // A top-up and a withdrawal above the free balance.
    let deal = world.buy(&ask, TWO_HOURS).await.unwrap();
    expect_err!(
        customer.escrow().top_up(deal.id, snm("1 SNM")).await,
        Error::InsufficientFunds { funds: Funds::FreeBalance, .. } => ()
    );
    expect_err!(
        customer.escrow().withdraw(snm("1 SNM")).await,
        Error::InsufficientFunds { funds: Funds::FreeBalance, .. } => ()
    );
}
