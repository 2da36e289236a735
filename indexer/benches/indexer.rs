//! The indexer's figures (`make bench-indexer`, release build; `cargo test --all-targets` runs it
//! at tiny sizes as a smoke test):
//!
//! 1. Ingestion of 1,000,000 market events (`AskPlaced`, synthesised in-process with their log
//!    encoding, applied through the follower's own code in transactions of 10,000 events) into
//!    SQLite and into PostgreSQL: events per second, and the process's resident memory after 10 %
//!    and after all of them (flat: events are generated and written batch by batch).
//! 2. `GET /v1/asks` for the best fitting ask among those 1,000,000 open asks, over HTTP on a
//!    loopback port: p50/p99 of 1,000 random requirement queries, beside the same queries on the
//!    SDK's in-memory `OrderBook` holding the same asks (the baseline; both must name the same ask).
//! 3. On a devnet holding a few thousand asks placed by transactions: the SDK rebuilding the book
//!    from logs, the indexer catching up from the deployment block (time and RPC requests), and
//!    `OrderBook::from_indexer`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is the point

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, B256, U256},
    sol_types::SolEvent,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use snm_indexer::{
    Database,
    apply::{ContractEvent, LoggedEvent, apply_batch},
};
use snm_sdk::{
    OrderBook,
    bindings::Market::{self, MarketEvents},
    market::{Ask, AskId, PlacedAsk, Requirements},
    prelude::*,
};

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn random_ask(rng: &mut StdRng) -> Ask {
    let price = UsdPerSecond::from_scaled(U256::from(rng.gen_range(1..1_000_000u64) * 1_000_000_000_000));
    Ask::new(Address::with_last_byte(rng.gen_range(1..=200)), Address::with_last_byte(7), price)
        .resources(
            Resources::new().cpu_cores(rng.gen_range(1..=64)).ram(Bytes::from_gib(rng.gen_range(1..=256))),
        )
        .flags(NetFlags::from_bits_retain(rng.gen_range(0..16)))
        .region(rng.gen_range(0..5))
}

/// Ask `id`'s placement event as the follower would have decoded it from its log.
fn placed(id: u64, ask: &Ask) -> LoggedEvent {
    let event =
        Market::AskPlaced { askId: U256::from(id), master: ask.master, worker: ask.worker, ask: ask.into() };
    let log = event.encode_log_data();
    LoggedEvent {
        block: id / 10 + 1,
        log_index: id % 10,
        transaction: B256::with_last_byte(1),
        address: Address::with_last_byte(9),
        topics: log.topics().to_vec(),
        data: log.data.clone(),
        event: ContractEvent::Market(MarketEvents::AskPlaced(event)),
    }
}

struct Ingested {
    per_second: f64,
    rss_early: f64,
    rss_end: f64,
}

async fn ingest(db: &Database, events: u64, batch: u64) -> Ingested {
    let mut rng = StdRng::seed_from_u64(1);
    let start = Instant::now();
    let mut rss_early = 0.0;
    let mut applied = Duration::ZERO;
    let mut id = 1;
    while id <= events {
        let batch: Vec<LoggedEvent> =
            (id..(id + batch).min(events + 1)).map(|i| placed(i, &random_ask(&mut rng))).collect();
        id += batch.len() as u64;
        let t = Instant::now();
        apply_batch(db, &batch).await.unwrap();
        applied += t.elapsed();
        if rss_early == 0.0 && id > events / 10 {
            rss_early = rss_mib();
        }
    }
    let _ = start;
    Ingested { per_second: events as f64 / applied.as_secs_f64(), rss_early, rss_end: rss_mib() }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// p50 and p99 of `queries` best-ask requests through HTTP, and of the same on the SDK's book.
async fn queries(
    db: &Database,
    book: &OrderBook,
    queries: usize,
) -> ((Duration, Duration), (Duration, Duration)) {
    let address = common::serve(db.clone(), snm_indexer::Health::default()).await;
    let client = alloy::transports::http::reqwest::Client::new();
    let mut rng = StdRng::seed_from_u64(2);
    let (mut http, mut memory) = (Vec::new(), Vec::new());
    for _ in 0..queries {
        let (cores, gib, flags) =
            (rng.gen_range(1..=64u64), rng.gen_range(1..=256u64), rng.gen_range(0..16u64));
        let flags = NetFlags::from_bits_retain(flags);
        let url = format!(
            "http://{address}/v1/asks?cpu_cores={cores}&ram={gib}GiB&flags={}&limit=1",
            flags.to_string().replace(' ', "%20").replace('|', "%7C")
        );
        let t = Instant::now();
        let body = client.get(&url).send().await.unwrap().text().await.unwrap();
        http.push(t.elapsed());
        let wanted = Requirements::new(Term::Spot)
            .resources(Resources::new().cpu_cores(cores).ram(Bytes::from_gib(gib)))
            .flags(flags);
        let t = Instant::now();
        let best = book.best_ask(&wanted, 0).map(|a| a.id);
        memory.push(t.elapsed());
        let page: serde_json::Value = serde_json::from_str(&body).unwrap();
        let served = page["asks"].get(0).map(|a| AskId(a["id"].as_u64().unwrap()));
        assert_eq!(served, best, "{url}: the indexer and the SDK name the same ask");
    }
    http.sort();
    memory.sort();
    ((percentile(&http, 0.5), percentile(&http, 0.99)), (percentile(&memory, 0.5), percentile(&memory, 0.99)))
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = full_run();
    let (events, query_count, devnet_asks) = if full {
        (
            std::env::var("SNM_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000u64),
            1_000,
            std::env::var("SNM_BENCH_DEVNET_ASKS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000usize),
        )
    } else {
        println!("indexer bench at tiny sizes (run `make bench-indexer` for the real figures)");
        (2_000, 20, 5)
    };

    // The SDK's in-memory book of the same asks: the baseline of the queries.
    let mut rng = StdRng::seed_from_u64(1);
    let mut book = OrderBook::new();
    for id in 1..=events {
        book.insert_ask(PlacedAsk { id: AskId(id), ask: random_ask(&mut rng), block: id / 10 + 1 });
    }

    let sqlite = common::TestDb::sqlite();
    let postgres = common::TestDb::postgres();
    for (name, db) in [("SQLite", &sqlite), ("PostgreSQL", &postgres)] {
        let database = Database::connect(&db.url("bench")).await.unwrap();
        let ingested = ingest(&database, events, 10_000).await;
        println!(
            "{name}: ingested {events} AskPlaced events at {:.0} events/s (RSS {:.0} MiB after 10 %, {:.0} MiB at the end)",
            ingested.per_second, ingested.rss_early, ingested.rss_end
        );
        let ((p50, p99), (m50, m99)) = queries(&database, &book, query_count).await;
        println!(
            "{name}: GET /v1/asks best fitting ask among {events}: p50 {} p99 {} over {query_count} queries; \
             SDK in-memory book p50 {} p99 {} (HTTP+DB / memory at p99: {:.0}x)",
            ms(p50),
            ms(p99),
            ms(m50),
            ms(m99),
            p99.as_secs_f64() / m99.as_secs_f64().max(1e-9)
        );
        database.close().await;
    }

    // On a devnet: the book from logs, the indexer's catch-up, the book from the indexer.
    let devnet = common::devnet().await;
    let supplier = devnet.supplier(1).unwrap();
    let machine = devnet.client(2).unwrap();
    supplier.register_worker(&machine).await.unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..devnet_asks {
        let mut ask = random_ask(&mut rng);
        (ask.master, ask.worker) = (supplier.master(), machine.sender());
        supplier.market().place_ask(&ask).await.unwrap();
    }
    let t = Instant::now();
    let logs_book = devnet.client(0).unwrap().market().order_book().await.unwrap();
    let from_logs = t.elapsed();
    let db = common::TestDb::sqlite();
    let (database, mut indexer) = common::indexer(&devnet, &db.url("catchup")).await;
    let calls_before = indexer.rpc_calls();
    let t = Instant::now();
    let head = indexer.catch_up().await.unwrap();
    let catch_up = t.elapsed();
    let calls = indexer.rpc_calls() - calls_before;
    let address = common::serve(database, indexer.health()).await;
    let url = format!("http://{address}/").parse().unwrap();
    let t = Instant::now();
    let indexer_book = OrderBook::from_indexer(&url).await.unwrap();
    let from_indexer = t.elapsed();
    assert_eq!(indexer_book.asks().collect::<Vec<_>>(), logs_book.asks().collect::<Vec<_>>());
    println!(
        "devnet with {devnet_asks} asks ({} blocks): SDK book from logs {}; indexer catch-up from the deployment block {} \
         with {calls} RPC requests; OrderBook::from_indexer {} ({:.1}x the logs' time)",
        head.unwrap_or_default(),
        ms(from_logs),
        ms(catch_up),
        ms(from_indexer),
        from_indexer.as_secs_f64() / from_logs.as_secs_f64()
    );
}
