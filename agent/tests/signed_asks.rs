//! The `snm-agent` program publishing signed asks (`publish = "signed"`) with the market-following
//! policy, against a devnet and a real market data service (`snm-indexer` following the chain and
//! relaying signed asks). Three other suppliers' signed asks move up and down; the price the relay
//! serves for the agent's ask follows their median within the floor and the cap, at no gas (the
//! master's balance of ether does not move). A customer then reads the book from the indexer,
//! buys the agent's signed ask, and the agent serves the deal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{primitives::Address, providers::Provider, transports::http::reqwest::Url};
use common::{Seller, workload_program};
use snm_agent::signed_ask_publisher::SignedAskPublisher;
use snm_indexer::{Database, Indexer, IndexerConfig, api};
use snm_sdk::{
    Customer,
    devnet::{Devnet, DevnetConfig},
    market::{Ask, OpenAsk, Purchase},
    orderbook::OrderBook,
    prelude::*,
};

/// How long any one condition may take to come true on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(90);

impl Seller {
    /// An ask like the agent's (4 cores, a public IP) at `price`.
    fn ask(&self, price: &str) -> Ask {
        Ask::new(self.supplier.master(), self.worker, per_hour(price))
            .resources(Resources::new().cpu_cores(4))
            .flags(NetFlags::PUBLIC_IP)
            .durations(Duration::from_secs(60), None)
    }
}

fn per_hour(text: &str) -> UsdPerSecond {
    text.parse::<UsdPerHour>().unwrap().to_per_second_up()
}

/// Equal but for the rounding of a price per hour to one per second.
fn about(a: UsdPerSecond, b: UsdPerSecond) -> bool {
    a.max(b).scaled() - a.min(b).scaled() <= alloy::primitives::U256::from(1u8)
}

/// A scratch directory, removed at the end.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `snm-agent` process, killed at the end; its output goes to a file.
struct AgentProcess {
    child: Child,
    log: PathBuf,
}

impl AgentProcess {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The signed asks of `master` the relay serves (`GET /v1/asks?master=`).
async fn served(indexer: &Url, master: Address) -> Vec<serde_json::Value> {
    let url = indexer.join(&format!("v1/asks?master={master}")).unwrap();
    let page: serde_json::Value =
        alloy::transports::http::reqwest::get(url).await.unwrap().json().await.unwrap();
    page["signed_asks"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_agent_publishes_signed_asks_that_follow_the_market_within_floor_and_cap() {
    let devnet =
        Devnet::start_with(DevnetConfig { sweep_interval: None, ..DevnetConfig::default() }).await.unwrap();
    let dir = std::env::temp_dir().join(format!("snm-agent-signed-asks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let scratch = Scratch(dir.clone());

    // The market data service: following the chain and relaying signed asks.
    let db = Database::connect(&format!("sqlite://{}", dir.join("index.db").display())).await.unwrap();
    let mut config = IndexerConfig::new(*devnet.deployment(), 0);
    config.poll_interval = Duration::from_millis(50);
    let follower = Indexer::new(devnet.provider().clone(), db.clone(), config).await.unwrap();
    let chain_id = devnet.provider().get_chain_id().await.unwrap();
    let relay = api::Relay::new(devnet.provider().clone(), chain_id, devnet.deployment().market);
    // As `snm-indexer` does: asks whose nonce moved on or that expired are dropped every so often.
    tokio::spawn(relay.clone().run(db.clone(), Duration::from_millis(200)));
    let state = api::AppState { db: db.clone(), health: follower.health(), relay: Some(relay) };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let indexer: Url = format!("http://{}/", listener.local_addr().unwrap()).parse().unwrap();
    let (stop_indexer, indexer_stopped) = tokio::sync::oneshot::channel::<()>();
    let following = tokio::spawn(follower.run(async move {
        let _ = indexer_stopped.await;
    }));
    tokio::spawn(async move { axum::serve(listener, api::router(state)).await });

    let others = [Seller::new(&devnet).await, Seller::new(&devnet).await, Seller::new(&devnet).await];
    let mut others_publisher = SignedAskPublisher::new(&indexer).unwrap();
    let agent = Seller::new(&devnet).await;
    let master = agent.supplier.master();
    let deployment = dir.join("deployment.json");
    devnet.deployment().write_file(&deployment).unwrap();
    let workload = workload_program(&dir);
    std::fs::write(
        dir.join("agent.toml"),
        format!(
            r#"state = "state.json"
poll_every = "100ms"
settle_every = "1h"
indexer = "{indexer}"
[runtime]
command = ["{workload}", "{{stats}}"]
dir = "workloads"
[[worker]]
address = "{worker}"
ip = "127.0.0.1"
[[ask]]
worker = "{worker}"
price = "0.9 USD/h"
cpu_milli_cores = 4000
flags = "PUBLIC_IP"
min_duration = "1m"
[pricing]
policy = "follow"
percentile = 50
floor = "1 USD/h"
cap = "3 USD/h"
every = "1s"
"#,
            workload = workload.display(),
            worker = agent.worker,
        ),
    )
    .unwrap();
    let ether_before = devnet.provider().get_balance(master).await.unwrap();
    let log = dir.join("agent.log");
    let child = Command::new(env!("CARGO_BIN_EXE_snm-agent"))
        .args(["--rpc", devnet.endpoint().as_str(), "--deployment"])
        .arg(&deployment)
        .args(["run", "--config"])
        .arg(dir.join("agent.toml"))
        .env("SNM_KEY", format!("0x{}", alloy::hex::encode(agent.key.to_bytes())))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.join("agent.err")).unwrap())
        .spawn()
        .unwrap();
    let process = AgentProcess { child, log };

    // The market moves up beyond the cap, down below the floor, back between them.
    let rounds = [
        (["1.5 USD/h", "2 USD/h", "2.5 USD/h"], "2 USD/h"),
        (["5 USD/h", "6 USD/h", "7 USD/h"], "3 USD/h"),
        (["0.2 USD/h", "0.3 USD/h", "0.4 USD/h"], "1 USD/h"),
        (["1.2 USD/h", "1.6 USD/h", "1.4 USD/h"], "1.4 USD/h"),
    ];
    for (market, expected) in rounds {
        for (seller, price) in others.iter().zip(market) {
            others_publisher.publish(seller.supplier.market(), &seller.key, seller.ask(price)).await.unwrap();
        }
        let start = Instant::now();
        loop {
            let asks = served(&indexer, master).await;
            assert!(asks.len() <= 1, "one signed ask per worker and nonce: {asks:?}");
            if let Some(ask) = asks.first() {
                let price: UsdPerSecond = serde_json::from_value(ask["ask"]["price"].clone()).unwrap();
                assert!(
                    per_hour("1 USD/h") <= price && price <= per_hour("3 USD/h"),
                    "{} is outside floor and cap\n{}",
                    price.to_per_hour(),
                    process.output()
                );
                if about(price, per_hour(expected)) {
                    eprintln!("market {market:?}: the agent asks {}", price.to_per_hour());
                    break;
                }
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the agent's ask did not follow the market {market:?} to {expected}\n{}",
                process.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let output = process.output();
    assert!(output.contains("signed to http://127.0.0.1"), "{output}");
    assert!(output.matches("signed ask published for worker").count() >= 4, "{output}");
    assert!(!output.contains("placed for worker"), "nothing placed on chain: {output}");
    assert_eq!(
        devnet.provider().get_balance(master).await.unwrap(),
        ether_before,
        "publishing and re-pricing cost the master no gas"
    );

    // A customer reads the book from the market data service and buys the agent's signed ask.
    let customer = Customer::new(devnet.connect(&devnet.new_account(Snm::from_whole(1_000)).await.unwrap()));
    let book = OrderBook::from_indexer(&indexer).await.unwrap();
    let ask = book.signed_asks().find(|signed| signed.ask.master == master).cloned().unwrap();
    assert!(about(ask.ask.price, per_hour("1.4 USD/h")));
    let purchase = Purchase::new(Term::Spot, Snm::from_whole(500), "snm/proxy:1");
    let deal = customer.buy(&OpenAsk::Signed(ask), &purchase).await.unwrap();
    assert_eq!((deal.master, deal.worker), (master, agent.worker));
    let endpoint = customer.market().wait_for_endpoint(deal.id, DEADLINE).await.unwrap();
    assert!(endpoint.contains("127.0.0.1:9"), "{endpoint}\n{}", process.output());
    // Bought, the ask's nonce moved on: the relay no longer serves it.
    let start = Instant::now();
    while !served(&indexer, master).await.is_empty() {
        assert!(start.elapsed() < DEADLINE, "the bought ask is still served\n{}", process.output());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    drop(process);
    let _ = stop_indexer.send(());
    following.await.unwrap().unwrap();
    drop(scratch);
}
