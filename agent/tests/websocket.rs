//! The agent over WebSocket (`eth_subscribe` to new blocks): the program and the library serve a
//! deal end to end; idle,
//! its deal feed sends no request while no block comes whereas one over HTTP polls; and after the
//! node restarted (the subscription ended) it still sees a deal opened.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use common::Dir;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use alloy::{
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use snm_agent::{
    AgentConfig, AgentEvent, DealFeed, DealSource, ProcessRuntime, SupplierAgent, heads::ChainHeads,
};
use snm_sdk::{
    Client, Customer, Supplier,
    devnet::{Devnet, DevnetConfig},
    events::{EventCursor, StreamPosition},
    market::{DealId, DealOpened, PlacedAsk, Purchase},
    provider::{self, NonceLayer, RequestCounter},
    tx::TxOptions,
    units::{Snm, Term},
};

/// The agents' poll interval in these tests.
const POLL: Duration = Duration::from_millis(50);

/// No periodic block: the chain only moves when a transaction comes, so an idle stretch is idle.
async fn quiet_devnet() -> Devnet {
    Devnet::start_with(DevnetConfig { accounts: 2, sweep_interval: None, ..DevnetConfig::default() })
        .await
        .unwrap()
}

/// A client acting as `key` over WebSocket, its requests counted by `counter`.
async fn ws_client(devnet: &Devnet, key: &PrivateKeySigner, counter: &RequestCounter) -> Client<DynProvider> {
    let options = TxOptions::default();
    let rpc = provider::counted_ws_client(devnet.ws_endpoint(), counter).await.unwrap();
    let provider = provider::connect_client(
        rpc,
        key.clone(),
        &options,
        &NonceLayer::remember_for(options.receipt_timeout),
    );
    Client::new(provider, *devnet.deployment(), key.address()).with_confirmations(0)
}

/// A client acting as `key` over HTTP, its requests counted by `counter`.
fn http_client(devnet: &Devnet, key: &PrivateKeySigner, counter: &RequestCounter) -> Client<DynProvider> {
    let options = TxOptions::default();
    let rpc = provider::counted_http_client(devnet.endpoint(), counter);
    let provider = provider::connect_client(
        rpc,
        key.clone(),
        &options,
        &NonceLayer::remember_for(options.receipt_timeout),
    );
    Client::new(provider, *devnet.deployment(), key.address()).with_confirmations(0)
}

fn follow(devnet: &Devnet, counter: &RequestCounter) -> ChainHeads {
    ChainHeads::follow(devnet.ws_endpoint(), counter.clone(), POLL, Duration::from_millis(500))
}

/// Waits until `ready` holds for the subscription's state (20 s at most).
async fn wait_heads(heads: &ChainHeads, ready: impl FnMut(&snm_agent::heads::HeadsState) -> bool) {
    tokio::time::timeout(Duration::from_secs(20), heads.wait_for(ready))
        .await
        .expect("the subscription never got there")
        .expect("the follower stopped");
}

/// The requests that read the chain's blocks or logs.
fn chain_reads(counter: &RequestCounter) -> u64 {
    let by_method = counter.by_method();
    ["eth_getLogs", "eth_getBlockByNumber", "eth_blockNumber"]
        .iter()
        .filter_map(|method| by_method.get(*method))
        .sum()
}

type Agent = SupplierAgent<DynProvider, ProcessRuntime>;

/// Runs rounds until `done` holds for the agent (30 s at most); rounds failing while the node
/// restarts are tried again.
async fn run_until(
    agent: &mut Agent,
    seen: &mut Vec<AgentEvent>,
    done: impl Fn(&Agent, &[AgentEvent]) -> bool,
) {
    let start = Instant::now();
    while !done(agent, seen) {
        assert!(start.elapsed() < Duration::from_secs(30), "the agent never got there: {seen:#?}");
        if let Ok(events) = agent.step().await {
            seen.extend(events);
        }
        tokio::time::sleep(POLL).await;
    }
}

fn config(dir: &Path, worker: &Client<DynProvider>) -> AgentConfig {
    let command =
        ["/bin/sh".to_owned(), "-c".to_owned(), "echo '{\"bytes\": 7}' > {stats}; exec sleep 600".to_owned()];
    AgentConfig::from_toml(&common::agent_toml(worker, &command, "50ms"), dir).unwrap()
}

async fn customer(devnet: &Devnet) -> Customer<DynProvider> {
    let customer =
        Customer::new(devnet.connect(&devnet.new_account("1000 SNM".parse().unwrap()).await.unwrap()));
    customer.token().approve_market("1000 SNM".parse().unwrap()).await.unwrap();
    customer
}

async fn buy(customer: &Customer<DynProvider>, ask: &PlacedAsk) -> DealOpened {
    let purchase = Purchase::new(Term::Spot, "100 SNM".parse().unwrap(), "snm/proxy:1");
    customer.quick_buy(ask, &purchase).await.unwrap()
}

fn serving(deal: DealId) -> impl Fn(&Agent, &[AgentEvent]) -> bool {
    move |agent, _| agent.state().deals.get(&deal).is_some_and(|record| record.workload.is_some())
}

/// The `snm-agent` program with `--rpc ws://…`: it places its ask, serves a deal (its endpoint
/// announced) and stops the workload once the deal closed.
#[tokio::test]
async fn the_snm_agent_program_given_a_ws_endpoint_serves_a_deal() {
    let dir = Dir::new("agent-ws-program");
    let devnet = quiet_devnet().await;
    let deployment = dir.0.join("deployment.json");
    devnet.deployment().write_file(&deployment).unwrap();
    let master_key = devnet.new_account(Snm::ZERO).await.unwrap();
    let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let buyer = customer(&devnet).await;
    worker.market().request_worker(master_key.address()).await.unwrap();
    let program = common::workload_program(&dir.0);
    let toml = common::agent_toml(&worker, &[program.display().to_string(), "{stats}".to_owned()], "100ms");
    std::fs::write(dir.0.join("agent.toml"), toml).unwrap();
    let mut agent = tokio::process::Command::new(env!("CARGO_BIN_EXE_snm-agent"))
        .args(["--rpc", devnet.ws_endpoint().as_str(), "--deployment"])
        .arg(&deployment)
        .args(["run", "--config"])
        .arg(dir.0.join("agent.toml"))
        .env("SNM_KEY", format!("0x{}", alloy::hex::encode(master_key.to_bytes())))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let start = Instant::now();
    let ask = loop {
        let book = buyer.market().order_book().await.unwrap();
        if let Some(ask) = book.asks().find(|a| a.ask.master == master_key.address()) {
            break ask.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the agent placed no ask");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let deal = buy(&buyer, &ask).await;
    let endpoint = buyer.market().wait_for_endpoint(deal.id, Duration::from_secs(30)).await.unwrap();
    assert_eq!(endpoint, "127.0.0.1:9");
    buyer.market().close_deal(deal.id, false).await.unwrap();
    let store = snm_agent::StateStore::new(dir.0.join("state.json"));
    let start = Instant::now();
    loop {
        let state = store.load(devnet.deployment().market, master_key.address()).unwrap().unwrap();
        if state.deals.get(&deal.id).is_some_and(|record| record.final_bytes.is_some()) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the agent never stopped the deal's workload");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    agent.kill().await.unwrap();
}

#[tokio::test]
async fn over_websocket_an_agent_serves_a_deal_and_sees_one_opened_after_the_node_restarted() {
    let dir = Dir::new("agent-ws");
    let mut devnet = quiet_devnet().await;
    let master_key = devnet.new_account(Snm::ZERO).await.unwrap();
    let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let buyer = customer(&devnet).await;
    worker.market().request_worker(master_key.address()).await.unwrap();

    let counter = RequestCounter::new();
    let master = Supplier::new(ws_client(&devnet, &master_key, &counter).await);
    let heads = follow(&devnet, &counter);
    let feed = DealFeed::following(master.market().clone(), POLL, heads.clone());
    let config = config(&dir.0, &worker);
    let runtime = ProcessRuntime::new(config.command.clone(), config.workload_dir.clone()).unwrap();
    let (mut agent, _) = SupplierAgent::start_in(master, config, runtime, &feed).await.unwrap();
    let mut seen = Vec::new();
    run_until(&mut agent, &mut seen, |_, seen| {
        seen.iter().any(|e| matches!(e, AgentEvent::AskPlaced { .. }))
    })
    .await;
    let book = buyer.market().order_book().await.unwrap();
    let ask = book.asks().find(|a| a.ask.master == master_key.address()).unwrap().clone();

    // A deal end to end: served, then closed and its workload stopped and metered.
    let deal = buy(&buyer, &ask).await;
    run_until(&mut agent, &mut seen, serving(deal.id)).await;
    buyer.market().close_deal(deal.id, false).await.unwrap();
    run_until(&mut agent, &mut seen, |agent, _| {
        agent.state().deals.get(&deal.id).is_some_and(|record| record.final_bytes.is_some())
    })
    .await;
    assert!(heads.state().live, "the agent followed the pushed blocks");

    // The node restarts: the subscription ends. A deal opened afterwards is still seen, whether it
    // came while the agent polled or was pushed once subscribed again.
    let session = heads.state().session;
    devnet.restart().await.unwrap();
    let book = buyer.market().order_book().await.unwrap();
    let ask = book.asks().find(|a| a.ask.master == master_key.address()).unwrap().clone();
    let after = buy(&buyer, &ask).await;
    run_until(&mut agent, &mut seen, serving(after.id)).await;
    wait_heads(&heads, |state| state.live && state.session > session).await;
}

#[tokio::test]
async fn idle_a_feed_over_websocket_asks_nothing_while_one_over_http_polls() {
    let devnet = quiet_devnet().await;
    let key = devnet.signer(1).unwrap().clone();
    let (ws_counter, http_counter) = (RequestCounter::new(), RequestCounter::new());
    let over_ws = Supplier::new(ws_client(&devnet, &key, &ws_counter).await);
    let over_http = Supplier::new(http_client(&devnet, &key, &http_counter));
    let heads = follow(&devnet, &ws_counter);
    wait_heads(&heads, |state| state.live).await;
    let ws_feed = DealFeed::following(over_ws.market().clone(), POLL, heads.clone());
    let http_feed = DealFeed::new(over_http.market().clone(), POLL);
    let start = StreamPosition::new(EventCursor::from_block(devnet.deployment().start_block));
    let (DealSource::Shared(mut ws_share), DealSource::Shared(mut http_share)) =
        (ws_feed.subscribe(&over_ws, start.clone()).await, http_feed.subscribe(&over_http, start).await)
    else {
        panic!("fresh feeds serve their first subscriber")
    };
    // The first polls read up to the head.
    ws_share.poll().await.unwrap();
    http_share.poll().await.unwrap();
    let clock = ws_feed.clock();

    // Polled for at least 20 intervals with no block coming: the HTTP feed reads again once an
    // interval has passed, the WebSocket one reads nothing (nor does its clock).
    let (ws_before, http_before) = (chain_reads(&ws_counter), chain_reads(&http_counter));
    let window = Instant::now();
    let mut rounds = 0;
    while window.elapsed() < POLL * 20 || rounds < 20 {
        assert!(ws_share.poll().await.unwrap().is_empty());
        assert!(http_share.poll().await.unwrap().is_empty());
        clock.now(over_ws.client()).await.unwrap();
        rounds += 1;
        tokio::time::sleep(POLL / 2).await;
    }
    assert_eq!(chain_reads(&ws_counter), ws_before, "{:?}", ws_counter.by_method());
    assert!(chain_reads(&http_counter) > http_before, "{:?}", http_counter.by_method());

    // A block comes: it is pushed, and the WebSocket feed reads once.
    let session = heads.state().session;
    let head = heads.state().latest.unwrap().number;
    devnet.provider().raw_request::<_, String>("evm_mine".into(), ()).await.unwrap();
    wait_heads(&heads, |state| state.latest.is_some_and(|latest| latest.number > head)).await;
    assert_eq!(heads.state().session, session);
    assert!(ws_share.poll().await.unwrap().is_empty());
    assert!(chain_reads(&ws_counter) > ws_before, "{:?}", ws_counter.by_method());
    let read = chain_reads(&ws_counter);
    assert!(ws_share.poll().await.unwrap().is_empty());
    assert_eq!(chain_reads(&ws_counter), read, "one read per block");
}
