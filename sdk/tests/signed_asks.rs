//! Signed asks against a devnet: the SDK's EIP-712 digest equals the market's, a customer takes a
//! signed ask from its free balance, a replayed, cancelled or foreign-signed ask is refused with its
//! decoded reason before anything is sent, and the gas limits of `quickBuySigned` and
//! `closeDealAndWithdraw` cover their costliest paths.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use common::account;
use snm_sdk::{
    Customer, Error, Supplier,
    bindings::MarketSignedAsks,
    devnet::{Devnet, DevnetConfig},
    market::{Ask, Bid, CloseReason, Purchase, SignedAsk, SignedAskError, signed},
    orderbook::{Offer, OrderBook},
    services::{
        CLOSE_AND_WITHDRAW_GAS_LIMIT, OPEN_DEAL_SIGNED_GAS_LIMIT, QUICK_BUY_SIGNED_GAS_LIMIT,
        SignedAskRefusal,
    },
    units::{NetFlags, Resources, Snm, Term, UsdPerHour},
};

/// A devnet of this test binary's own without periodic blocks (each block holds one transaction).
async fn quiet_devnet() -> Arc<Devnet> {
    let config = DevnetConfig { accounts: 2, sweep_interval: None, ..DevnetConfig::default() };
    Arc::new(Devnet::start_with(config).await.unwrap())
}

/// A supplier whose master key the test holds, its registered worker, and a new customer who
/// approved the market.
struct SignedWorld {
    devnet: Arc<Devnet>,
    master_key: PrivateKeySigner,
    supplier: Supplier<DynProvider>,
    worker: Address,
    customer: Customer<DynProvider>,
}

impl SignedWorld {
    async fn new(devnet: Arc<Devnet>) -> Self {
        let master_key = devnet.new_account(Snm::from_whole(0)).await.unwrap();
        let supplier = Supplier::new(devnet.connect(&master_key));
        let worker = account(&devnet, "0 SNM").await;
        supplier.register_worker(&worker).await.unwrap();
        let customer_key = devnet.new_account(Snm::from_whole(10_000)).await.unwrap();
        let customer = Customer::new(devnet.connect(&customer_key));
        customer.token().approve_market(Snm::from_whole(10_000)).await.unwrap();
        Self { devnet, master_key, supplier, worker: worker.sender(), customer }
    }

    fn ask(&self) -> Ask {
        Ask::new(self.supplier.master(), self.worker, UsdPerHour::from_whole(1).to_per_second_down())
            .resources(Resources::new().cpu_cores(4))
            .flags(NetFlags::PUBLIC_IP)
            .durations(Duration::from_secs(60), None)
    }

    async fn sign(&self, ask: Ask) -> SignedAsk {
        self.supplier.market().sign_ask(&self.master_key, ask).await.unwrap()
    }

    fn purchase(term: Term) -> Purchase {
        Purchase::new(term, Snm::from_whole(200), "ghcr.io/acme/proxy:1.2")
    }

    async fn gas_of_last(&self) -> u64 {
        let rpc = self.devnet.provider();
        let block = rpc.get_block_by_number(Default::default()).await.unwrap().unwrap();
        let hash: B256 = block.transactions.hashes().next().unwrap();
        rpc.get_transaction_receipt(hash).await.unwrap().unwrap().gas_used
    }
}

/// `gas` fits under `limit`, with no more than a third to spare.
fn fits(what: &str, gas: u64, limit: u64) {
    eprintln!("{what}: {gas} gas used, limit {limit}");
    assert!(gas <= limit, "{what} used {gas} gas, above its limit {limit}");
    assert!(gas * 4 >= limit * 3, "{what} used {gas} gas, far below its limit {limit}: measure again");
}

#[tokio::test]
async fn the_sdks_digest_is_the_markets() {
    let devnet = quiet_devnet().await;
    let world = SignedWorld::new(devnet.clone()).await;
    let market = world.supplier.market();
    let domain = market.signing_domain().await.unwrap();
    let ask = world.ask().expiry(4_000_000_000).counterparty(Address::repeat_byte(7)).region(276);
    let on_chain = MarketSignedAsks::new(market.address(), devnet.provider())
        .hashSignedAsk(snm_sdk::services::signed_binding_ask(&ask), U256::from(5u64))
        .call()
        .await
        .unwrap();
    assert_eq!(signed::digest(&ask, 5, &domain), on_chain);
    let separator =
        MarketSignedAsks::new(market.address(), devnet.provider()).domainSeparator().call().await.unwrap();
    assert_eq!(domain.separator(), separator);
}

#[tokio::test]
async fn a_customer_takes_a_signed_ask_once_and_the_master_is_paid_out_at_the_close() {
    let devnet = quiet_devnet().await;
    let world = SignedWorld::new(devnet.clone()).await;
    let market = world.customer.market();
    let signed_ask = world.sign(world.ask()).await;
    signed_ask.verify(&market.signing_domain().await.unwrap()).unwrap();
    assert_eq!(signed_ask.nonce, 0);

    // The book offers it beside nothing placed.
    let mut book = OrderBook::new();
    book.insert_signed_ask(signed_ask.clone());
    let wanted = snm_sdk::market::Requirements::new(Term::Spot).resources(Resources::new().cpu_cores(2));
    assert!(matches!(book.best_ask(&wanted, 0), Some(Offer::Signed(s)) if *s == signed_ask));

    // Without a free balance: refused before sending, decoded.
    let refused = market.quick_buy_signed(&signed_ask, &SignedWorld::purchase(Term::Spot)).await;
    assert!(matches!(refused, Err(Error::Market(_))), "{refused:?}");

    world.customer.deposit(Snm::from_whole(400)).await.unwrap();
    let term = Term::Fixed(Duration::from_secs(600));
    let deal = market.quick_buy_signed(&signed_ask, &SignedWorld::purchase(term)).await.unwrap();
    assert_eq!(deal.master, world.supplier.master());
    assert_eq!(world.supplier.market().ask_nonce(world.worker).await.unwrap(), 1);

    let replay = market.quick_buy_signed(&signed_ask, &SignedWorld::purchase(term)).await;
    match replay {
        Err(Error::SignedAskRefused(SignedAskRefusal::StaleAskNonce(e))) => {
            assert_eq!((e.nonce, e.current), (U256::ZERO, U256::from(1u64)));
        }
        other => panic!("expected StaleAskNonce, got {other:?}"),
    }

    devnet.advance_time(Duration::from_secs(700)).await.unwrap();
    let master = world.supplier.master();
    let before = world.customer.token().balance(master).await.unwrap();
    let done = world.supplier.market().close_deal_and_withdraw(deal.id, master).await.unwrap();
    assert_eq!(done.closed.reason, CloseReason::Expired);
    assert!(
        Some(done.paid_out) >= done.closed.paid.checked_sub(done.closed.fee),
        "this deal's payment is paid out"
    );
    assert_eq!(
        world.customer.token().balance(master).await.unwrap().checked_sub(before),
        Some(done.paid_out)
    );
}

#[tokio::test]
async fn refused_signed_asks_say_why() {
    let devnet = quiet_devnet().await;
    let world = SignedWorld::new(devnet.clone()).await;
    world.customer.deposit(Snm::from_whole(400)).await.unwrap();
    let market = world.customer.market();
    let domain = market.signing_domain().await.unwrap();

    // Signed by another key than the master's: the SDK refuses to sign, and the market refuses
    // a forged one.
    let stranger = PrivateKeySigner::random();
    let refused = SignedAsk::sign(&stranger, world.ask(), 0, &domain).await;
    assert!(matches!(refused, Err(SignedAskError::SignerNotMaster { .. })));
    let mut forged_ask = world.ask();
    forged_ask.master = stranger.address();
    let forged = SignedAsk::sign(&stranger, forged_ask, 0, &domain).await.unwrap();
    let forged = SignedAsk { ask: world.ask(), ..forged };
    let refused = market.quick_buy_signed(&forged, &SignedWorld::purchase(Term::Spot)).await;
    assert!(
        matches!(refused, Err(Error::SignedAskRefused(SignedAskRefusal::InvalidAskSignature(_)))),
        "{refused:?}"
    );
    assert!(refused.unwrap_err().to_string().contains("signature"));

    // Cancelled by the master.
    let signed_ask = world.sign(world.ask()).await;
    world.supplier.market().cancel_signed_asks(world.worker).await.unwrap();
    let refused = market.quick_buy_signed(&signed_ask, &SignedWorld::purchase(Term::Spot)).await;
    assert!(
        matches!(refused, Err(Error::SignedAskRefused(SignedAskRefusal::StaleAskNonce(_)))),
        "{refused:?}"
    );
}

/// A new customer's first signed take (its account slot written), then the master's close after
/// the term with a protocol fee (the fee slot written from zero) and the payout to a master holding
/// no tokens (its token balance written from zero).
#[tokio::test]
async fn gas_limits_of_signed_calls_cover_their_costliest_paths() {
    let devnet = quiet_devnet().await;
    let world = SignedWorld::new(devnet.clone()).await;
    common::operator(&devnet).escrow().set_fee(1_000, Address::repeat_byte(0x7e)).await.unwrap();
    world.customer.deposit(Snm::from_whole(200)).await.unwrap();
    let signed_ask = world.sign(world.ask()).await;
    let term = Term::Fixed(Duration::from_secs(600));
    let deal =
        world.customer.market().quick_buy_signed(&signed_ask, &SignedWorld::purchase(term)).await.unwrap();
    fits("quickBuySigned", world.gas_of_last().await, QUICK_BUY_SIGNED_GAS_LIMIT);

    devnet.advance_time(Duration::from_secs(700)).await.unwrap();
    let fresh_payee = Address::repeat_byte(0x5a);
    world.supplier.market().close_deal_and_withdraw(deal.id, fresh_payee).await.unwrap();
    fits("closeDealAndWithdraw", world.gas_of_last().await, CLOSE_AND_WITHDRAW_GAS_LIMIT);
}

/// The bid side of a signed deal: a customer's placed bid matched with a signed ask takes the
/// bid's id and its deposit from the free balance; the ask's nonce moves on, so the same signed
/// ask cannot match another bid. The gas limit covers the path (a new customer's first deal).
#[tokio::test]
async fn a_placed_bid_matches_a_signed_ask() {
    let devnet = quiet_devnet().await;
    let world = SignedWorld::new(devnet.clone()).await;
    world.customer.deposit(Snm::from_whole(400)).await.unwrap();
    let market = world.customer.market();
    let bid = Bid::new(
        world.customer.sender(),
        UsdPerHour::from_whole(2).to_per_second_down(),
        Term::Fixed(Duration::from_secs(600)),
        Snm::from_whole(200),
    )
    .resources(Resources::new().cpu_cores(2))
    .flags(NetFlags::PUBLIC_IP)
    .image("ghcr.io/acme/proxy:1.2", Default::default());
    let placed = market.place_bid(&bid).await.unwrap();
    let signed_ask = world.sign(world.ask()).await;

    let deal = market.open_deal_signed(&signed_ask, &placed).await.unwrap();
    fits("openDealSigned", world.gas_of_last().await, OPEN_DEAL_SIGNED_GAS_LIMIT);
    assert_eq!(deal.bid.map(|b| b.word()), Some(placed.id.word()), "matched with the bid");
    assert_eq!((deal.customer, deal.master), (world.customer.sender(), world.supplier.master()));
    assert_eq!(world.supplier.market().ask_nonce(world.worker).await.unwrap(), 1);
    assert_eq!(
        world.customer.escrow().free_balance(world.customer.sender()).await.unwrap(),
        Snm::from_whole(200)
    );

    let second = market.place_bid(&bid).await.unwrap();
    let replay = market.open_deal_signed(&signed_ask, &second).await;
    assert!(matches!(replay, Err(Error::SignedAskRefused(SignedAskRefusal::StaleAskNonce(_)))), "{replay:?}");
}
