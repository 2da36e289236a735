//! Shared fixtures: one devnet per test binary (kept while any test holds it), fresh funded
//! accounts per test so that tests running side by side never touch each other's state.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)] // test support code

pub mod intercept;

use std::{
    path::PathBuf,
    sync::{Arc, LazyLock, Weak},
    time::Duration,
};

use alloy::{providers::DynProvider, signers::local::PrivateKeySigner};
use snm_sdk::{
    Client, Customer, Error, Matcher, Operator, Supplier,
    devnet::{Devnet, DevnetConfig},
    market::{Ask, Bid, DealOpened, PlacedAsk, PlacedBid, Purchase},
    units::{Bytes, NetFlags, Resources, Snm, Term, UsdPerHour, UsdPerSecond},
};

/// `Err(pattern) => value` of a result, or a panic naming what came instead.
#[macro_export]
macro_rules! expect_err {
    ($result:expr, $pattern:pat => $value:expr) => {
        match $result {
            Err($pattern) => $value,
            Err(other) => panic!("expected {}, got {other:?}", stringify!($pattern)),
            Ok(_) => panic!("expected {}, got success", stringify!($pattern)),
        }
    };
}

/// The binary's shared devnet: started by the first test that asks, stopped when the last test
/// holding it ends.
pub async fn shared() -> Arc<Devnet> {
    static SLOT: LazyLock<tokio::sync::Mutex<Weak<Devnet>>> = LazyLock::new(Default::default);
    let mut slot = SLOT.lock().await;
    if let Some(devnet) = slot.upgrade() {
        return devnet;
    }
    let devnet =
        Arc::new(Devnet::start_with(DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await.unwrap());
    *slot = Arc::downgrade(&devnet);
    devnet
}

/// The 0.9 USD/h (0.00025 USD/s) every test ask costs.
pub fn price() -> UsdPerSecond {
    "0.9 USD/h".parse::<UsdPerHour>().unwrap().to_per_second().unwrap()
}

pub fn snm(text: &str) -> Snm {
    text.parse().unwrap()
}

/// A supplier with one confirmed worker and a customer with 10,000 SNM, all new accounts.
pub struct World {
    pub devnet: Arc<Devnet>,
    pub supplier: Supplier<DynProvider>,
    pub worker: Client<DynProvider>,
    pub customer: Customer<DynProvider>,
    pub customer_key: PrivateKeySigner,
}

impl World {
    /// New accounts on `devnet`: the worker is registered, the customer approved the market for
    /// 10,000 SNM.
    pub async fn new(devnet: Arc<Devnet>) -> Self {
        let supplier = Supplier::new(account(&devnet, "0 SNM").await);
        let worker = account(&devnet, "0 SNM").await;
        supplier.register_worker(&worker).await.unwrap();
        let customer_key = devnet.new_account(snm("10000 SNM")).await.unwrap();
        let customer = Customer::new(devnet.connect(&customer_key));
        customer.token().approve_market(snm("10000 SNM")).await.unwrap();
        Self { devnet, supplier, worker, customer, customer_key }
    }

    /// The test ask: 4 cores, 16 GiB, public IP and incoming connections, region 276, 0.9 USD/h,
    /// fixed terms from 60 s with no maximum (spot too).
    pub fn ask(&self) -> Ask {
        Ask::new(self.supplier.master(), self.worker.sender(), price())
            .resources(Resources::new().cpu_cores(4).ram(Bytes::from_gib(16)))
            .flags(NetFlags::PUBLIC_IP | NetFlags::INCOMING)
            .region(276)
            .durations(Duration::from_secs(60), None)
    }

    /// Places the test ask changed by `change`.
    pub async fn place(&self, change: impl FnOnce(Ask) -> Ask) -> PlacedAsk {
        self.supplier.market().place_ask(&change(self.ask())).await.unwrap()
    }

    /// Deposits `bid`'s deposit into the customer's free balance and places the bid.
    pub async fn place_bid(&self, bid: &Bid) -> PlacedBid {
        self.customer.deposit(bid.deposit).await.unwrap();
        self.customer.market().place_bid(bid).await.unwrap()
    }

    /// A quick buy of `ask` by the customer for `term` with a 200 SNM deposit.
    pub async fn buy(&self, ask: &PlacedAsk, term: Term) -> Result<DealOpened, Error> {
        self.customer.quick_buy(ask, &Purchase::new(term, snm("200 SNM"), "ghcr.io/acme/proxy:1.2")).await
    }

    /// Another new account (no tokens).
    pub async fn stranger(&self) -> Client<DynProvider> {
        account(&self.devnet, "0 SNM").await
    }

    /// The devnet's operator, over a connection of this test.
    pub fn operator(&self) -> Operator<DynProvider> {
        operator(&self.devnet)
    }

    /// A matcher bot on a new account.
    pub async fn matcher(&self) -> Matcher<DynProvider> {
        Matcher::new(self.stranger().await)
    }
}

/// A new account holding `tokens`, over a connection of this test.
pub async fn account(devnet: &Devnet, tokens: &str) -> Client<DynProvider> {
    let key = devnet.new_account(snm(tokens)).await.unwrap();
    devnet.connect(&key)
}

/// The devnet's operator over a connection of this test.
pub fn operator(devnet: &Devnet) -> Operator<DynProvider> {
    Operator::new(devnet.connect(devnet.signer(0).unwrap()))
}

/// A file of the reward engine's known-answer fixture (`tests/fixtures/rewards/`).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rewards").join(name)
}

/// A fresh empty directory `name` under the system's temporary one, for this test process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snm-sdk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The small test transfers (below 1,000 units) among token events, in order: what the event
/// tests send to tell their transfers apart.
pub fn amounts(events: &[snm_sdk::events::Event<snm_sdk::bindings::SNMToken::SNMTokenEvents>]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            snm_sdk::bindings::SNMToken::SNMTokenEvents::Transfer(t)
                if t.value < alloy::primitives::U256::from(1_000) =>
            {
                Some(t.value.to::<u64>())
            }
            _ => None,
        })
        .collect()
}

/// Waits, up to a minute, until anvil's pool holds a transaction.
pub async fn until_pooled(rpc: &DynProvider) {
    use alloy::providers::Provider;
    const LIMIT: Duration = Duration::from_secs(60);
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let status: serde_json::Value = rpc.raw_request("txpool_status".into(), ()).await.unwrap();
        let pending = status["pending"].as_str().map(|q| u64::from_str_radix(q.trim_start_matches("0x"), 16));
        if matches!(pending, Some(Ok(n)) if n > 0) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no transaction reached the pool within {LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
