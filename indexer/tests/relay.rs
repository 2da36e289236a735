//! The relay of signed asks (`POST /v1/asks`) against a devnet, on SQLite and PostgreSQL: an ask
//! the market would take is stored and served beside the placed asks (and reaches the SDK's book
//! through `OrderBook::from_indexer`); a wrong signer, a stale nonce, an expired ask, a worker not
//! linked to the master and a body that is no signed ask get 400 naming the reason; a new price
//! for the same nonce replaces the old; buying it and cancelling the worker's asks drop them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use alloy::{providers::DynProvider, signers::local::PrivateKeySigner};
use common::{TestDb, devnet, get, indexer, post, serve_relaying, wait_until};
use snm_indexer::{Database, api::Relay};
use snm_sdk::{
    Customer, OrderBook, Supplier,
    devnet::Devnet,
    market::{Ask, Purchase, Requirements, SignedAsk},
    prelude::*,
};

struct World {
    master_key: PrivateKeySigner,
    supplier: Supplier<DynProvider>,
    worker: alloy::primitives::Address,
    customer: Customer<DynProvider>,
}

impl World {
    async fn new(devnet: &Devnet) -> Self {
        let master_key = devnet.new_account(Snm::from_whole(0)).await.unwrap();
        let supplier = Supplier::new(devnet.connect(&master_key));
        let worker = devnet.connect(&devnet.new_account(Snm::from_whole(0)).await.unwrap());
        supplier.register_worker(&worker).await.unwrap();
        let customer =
            Customer::new(devnet.connect(&devnet.new_account(Snm::from_whole(10_000)).await.unwrap()));
        customer.token().approve_market(Snm::from_whole(10_000)).await.unwrap();
        Self { master_key, supplier, worker: worker.sender(), customer }
    }

    fn ask(&self, usd_per_hour: u64) -> Ask {
        Ask::new(
            self.supplier.master(),
            self.worker,
            UsdPerHour::from_whole(usd_per_hour).to_per_second_down(),
        )
        .resources(Resources::new().cpu_cores(4))
        .flags(NetFlags::PUBLIC_IP)
        .durations(Duration::from_secs(60), None)
    }

    async fn sign(&self, ask: Ask) -> SignedAsk {
        self.supplier.market().sign_ask(&self.master_key, ask).await.unwrap()
    }
}

fn refusal(answer: &(u16, serde_json::Value)) -> (u16, &str) {
    (answer.0, answer.1["parameter"].as_str().unwrap_or("none"))
}

async fn the_relay_checks_serves_and_drops_signed_asks(db: TestDb) {
    let devnet = devnet().await;
    let world = World::new(&devnet).await;
    let (database, mut follower) = indexer(&devnet, &db.url("relay")).await;
    follower.catch_up().await.unwrap();
    let chain_id = alloy::providers::Provider::get_chain_id(devnet.provider()).await.unwrap();
    let relay = Relay::new(devnet.provider().clone(), chain_id, devnet.deployment().market);
    let address = serve_relaying(database.clone(), follower.health(), Some(relay.clone())).await;

    // Accepted, served beside the (no) placed asks, and in the SDK's book from the indexer.
    let first = world.sign(world.ask(2)).await;
    let (status, accepted) = post(address, "/v1/asks", &first).await;
    assert_eq!((status, accepted["replaced"].as_bool()), (200, Some(false)), "{accepted}");
    let (_, page) = get(address, "/v1/asks").await;
    assert_eq!(page["asks"].as_array().unwrap().len(), 0);
    assert_eq!(page["signed_asks"], serde_json::to_value(vec![&first]).unwrap());
    let (_, filtered) = get(address, "/v1/asks?cpu_cores=8").await;
    assert_eq!(filtered["signed_asks"].as_array().unwrap().len(), 0, "8 cores wanted, 4 offered");

    // Re-priced for the same nonce: the new ask replaces the old.
    let cheaper = world.sign(world.ask(1)).await;
    let (status, accepted) = post(address, "/v1/asks", &cheaper).await;
    assert_eq!((status, accepted["replaced"].as_bool()), (200, Some(true)), "{accepted}");
    let url = format!("http://{address}/").parse().unwrap();
    let book = OrderBook::from_indexer(&url).await.unwrap();
    assert_eq!(book.signed_asks().collect::<Vec<_>>(), vec![&cheaper]);

    // Refusals name their reason; nothing is stored.
    let domain = world.supplier.market().signing_domain().await.unwrap();
    let stranger = PrivateKeySigner::random();
    let mut forged = world.sign(world.ask(1)).await;
    let forged_signature =
        SignedAsk::sign(&stranger, Ask { master: stranger.address(), ..forged.ask.clone() }, 0, &domain);
    forged.signature = forged_signature.await.unwrap().signature;
    assert_eq!(refusal(&post(address, "/v1/asks", &forged).await), (400, "signature"));
    let stale = SignedAsk::sign(&world.master_key, world.ask(1), 7, &domain).await.unwrap();
    assert_eq!(refusal(&post(address, "/v1/asks", &stale).await), (400, "nonce"));
    let expired = world.sign(world.ask(1).expiry(1)).await;
    assert_eq!(refusal(&post(address, "/v1/asks", &expired).await), (400, "expiry"));
    let unlinked = Ask { worker: alloy::primitives::Address::repeat_byte(9), ..world.ask(1) };
    let unlinked = SignedAsk::sign(&world.master_key, unlinked, 0, &domain).await.unwrap();
    assert_eq!(refusal(&post(address, "/v1/asks", &unlinked).await), (400, "worker"));
    let (status, body) = post(address, "/v1/asks", &serde_json::json!({"ask": 1})).await;
    assert_eq!((status, body["parameter"].as_str()), (400, Some("body")), "{body}");
    let (_, page) = get(address, "/v1/asks").await;
    assert_eq!(page["signed_asks"], serde_json::to_value(vec![&cheaper]).unwrap());

    // The customer buys it through the SDK's book: the nonce moves on and the relay drops it.
    let wanted = Requirements::new(Term::Spot).resources(Resources::new().cpu_cores(2));
    let offer = world.customer.best_offer(&book, &wanted, Snm::from_whole(500)).await.unwrap();
    assert!(offer.is_signed());
    let deal =
        world.customer.buy(&offer, &Purchase::new(Term::Spot, Snm::from_whole(200), "img")).await.unwrap();
    assert_eq!(deal.worker, world.worker);
    assert_eq!(relay.prune(&database).await.unwrap(), 1);
    let (_, page) = get(address, "/v1/asks").await;
    assert_eq!(page["signed_asks"].as_array().unwrap().len(), 0);
    assert_eq!(
        refusal(&post(address, "/v1/asks", &cheaper).await),
        (400, "nonce"),
        "a bought ask comes back"
    );

    // A master cancels its worker's signed asks: dropped too.
    world.supplier.market().close_deal(deal.id, false).await.unwrap();
    let next = world.sign(world.ask(3)).await;
    assert_eq!(next.nonce, 1);
    assert_eq!(post(address, "/v1/asks", &next).await.0, 200);
    world.supplier.market().cancel_signed_asks(world.worker).await.unwrap();
    assert_eq!(relay.prune(&database).await.unwrap(), 1);
    assert_eq!(database.signed_ask_workers().await.unwrap(), vec![]);

    // The running relay drops an expiring ask once the chain's time passes it.
    let now = world.customer.client().now().await.unwrap();
    let short = world.sign(world.ask(3).expiry(now + 5)).await;
    assert_eq!(post(address, "/v1/asks", &short).await.0, 200);
    tokio::spawn(relay.clone().run(database.clone(), Duration::from_millis(50)));
    devnet.advance_time(Duration::from_secs(10)).await.unwrap();
    let db: &Database = &database;
    wait_until("the expired ask dropped", Duration::from_secs(20), || async {
        db.signed_ask_workers().await.unwrap().is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_on_sqlite() {
    the_relay_checks_serves_and_drops_signed_asks(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_on_postgres() {
    the_relay_checks_serves_and_drops_signed_asks(TestDb::postgres()).await;
}
