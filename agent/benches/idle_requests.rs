//! `make bench-agent` (also `cargo bench -p snm-agent --bench idle_requests`): what an idle agent
//! costs its node, over HTTP and over WebSocket.
//!
//! Two agents of one master each (one ask open, no deal), one with `--rpc http://…` and one with
//! `ws://…`, run side by side on one devnet for `SNM_IDLE_SECS` seconds (default 60) with the
//! default `poll_every` (1 s), each counting the requests it sends, by method: first on a chain
//! with no block at all, then with a block every 2 s (a busy public chain's pace; anvil's
//! `block_time`). The WebSocket agent's count includes its subscription's connection (the
//! `eth_subscribe` and the latest block read once per subscription); what the node pushes is
//! no request.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark program

#[path = "../tests/common/mod.rs"]
mod common;

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use alloy::{providers::DynProvider, signers::local::PrivateKeySigner};
use snm_agent::{AgentConfig, DealFeed, ProcessRuntime, SupplierAgent, heads::ChainHeads};
use snm_sdk::{
    Client, Supplier,
    devnet::{Devnet, DevnetConfig},
    provider::{self, NonceLayer, RequestCounter},
    tx::TxOptions,
    units::Snm,
};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Transport {
    Http,
    Ws,
}

/// An agent of a new master with one worker and one ask, over `transport`, counting its requests.
async fn agent(
    devnet: &Devnet,
    transport: Transport,
    dir: &std::path::Path,
) -> (SupplierAgent<DynProvider, ProcessRuntime>, RequestCounter, Option<ChainHeads>) {
    let key: PrivateKeySigner = devnet.new_account(Snm::ZERO).await.unwrap();
    let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    worker.market().request_worker(key.address()).await.unwrap();
    let counter = RequestCounter::new();
    let options = TxOptions::default();
    let nonces = NonceLayer::remember_for(options.receipt_timeout);
    let rpc = match transport {
        Transport::Http => provider::counted_http_client(devnet.endpoint(), &counter),
        Transport::Ws => provider::counted_ws_client(devnet.ws_endpoint(), &counter).await.unwrap(),
    };
    let provider = provider::connect_client(rpc, key.clone(), &options, &nonces);
    let supplier =
        Supplier::new(Client::new(provider, *devnet.deployment(), key.address()).with_confirmations(0));
    std::fs::create_dir_all(dir).unwrap();
    let program = common::workload_program(dir);
    let text = common::agent_toml(&worker, &[program.display().to_string(), "{stats}".to_owned()], "1s");
    let config = AgentConfig::from_toml(&text, dir).unwrap();
    let runtime = ProcessRuntime::new(config.command.clone(), config.workload_dir.clone()).unwrap();
    match transport {
        Transport::Http => (SupplierAgent::start(supplier, config, runtime).await.unwrap().0, counter, None),
        Transport::Ws => {
            let heads = ChainHeads::follow(
                devnet.ws_endpoint(),
                counter.clone(),
                config.poll_every,
                config.retry_max,
            );
            let feed = DealFeed::following(supplier.market().clone(), config.poll_every, heads.clone());
            (SupplierAgent::start_in(supplier, config, runtime, &feed).await.unwrap().0, counter, Some(heads))
        }
    }
}

fn per_minute(count: u64, secs: u64) -> f64 {
    count as f64 * 60.0 / secs as f64
}

async fn scene(name: &str, block_time: Option<Duration>, secs: u64) {
    let devnet = Devnet::start_with(DevnetConfig {
        accounts: 2,
        sweep_interval: None,
        block_time,
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let root = std::env::temp_dir().join(format!("snm-bench-idle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut agents = Vec::new();
    for transport in [Transport::Http, Transport::Ws] {
        let dir: PathBuf = root.join(format!("{transport:?}"));
        let (mut agent, counter, heads) = agent(&devnet, transport, &dir).await;
        // Until its ask is open: what follows is the idle agent.
        while agent
            .step()
            .await
            .unwrap()
            .iter()
            .all(|e| !matches!(e, snm_agent::AgentEvent::AskPlaced { .. }))
        {}
        agents.push((transport, agent, counter, heads));
    }
    let before: Vec<BTreeMap<String, u64>> =
        agents.iter().map(|(_, _, counter, _)| counter.by_method()).collect();
    let blocks_before = devnet.block_number().await.unwrap();
    let stop = Duration::from_secs(secs);
    let runs = agents.iter_mut().map(|(_, agent, _, _)| agent.run(tokio::time::sleep(stop), |_| {}));
    futures_util::future::join_all(runs).await;
    let blocks = devnet.block_number().await.unwrap() - blocks_before;
    println!("{name}: {blocks} block(s) in {secs} s; requests per idle agent per minute:");
    for ((transport, _, counter, heads), before) in agents.iter().zip(before) {
        let mut by_method = counter.by_method();
        for (method, count) in &before {
            if let Some(now) = by_method.get_mut(method) {
                *now -= count;
            }
        }
        by_method.retain(|_, count| *count > 0);
        let total: u64 = by_method.values().sum();
        let detail: Vec<String> = by_method
            .iter()
            .map(|(method, count)| format!("{method} {:.1}", per_minute(*count, secs)))
            .collect();
        let sessions = heads
            .as_ref()
            .map(|heads| format!(" (subscriptions: {})", heads.state().session))
            .unwrap_or_default();
        println!("  {transport:?}: {:.1}{sessions}: {}", per_minute(total, secs), detail.join(", "));
    }
    for (_, agent, _, _) in agents {
        drop(agent);
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::var("SNM_IDLE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    scene("no block", None, secs).await;
    scene("a block every 2 s", Some(Duration::from_secs(2)), secs).await;
}
