//! The indexer's figures (`make bench-indexer`, release build; `cargo test --all-targets` runs it
//! at tiny sizes as a smoke test). The default sizes run in minutes; the sizes are
//! `SNM_BENCH_EVENTS=1000000 SNM_BENCH_DEALS=100000` (BENCHMARKS.md):
//!
//! 1. Ingestion of `SNM_BENCH_EVENTS` market events (default 200,000; `AskPlaced`, synthesised
//!    in-process with their log encoding, 10 per block, applied through the follower's own code in
//!    its transactions: one per 10,000 blocks, so 100,000 events) into SQLite and into
//!    PostgreSQL: events per second of wall time and per second of the process's CPU, and the
//!    resident memory after 100,000 events (or a tenth) and after all of them (flat: events are
//!    generated and written batch by batch).
//! 2. `GET /v1/asks` for the best fitting ask among those open asks, over HTTP on a loopback port:
//!    p50/p99 of 1,000 random requirement queries, beside the same queries on the SDK's in-memory
//!    `OrderBook` holding the same asks (the baseline; both must name the same ask).
//! 3. On a devnet holding `SNM_BENCH_DEALS` deals (default 10,000) and open asks, all made by
//!    transactions mined thousands per block (`support/bulk_load.rs`): the SDK rebuilding the book
//!    from logs at each size of `SNM_BENCH_LOG_ASKS` (default `10000,100000`), the indexer catching
//!    up from the deployment block (time and RPC requests), and `OrderBook::from_indexer`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is the point

#[path = "support/bulk_load.rs"]
mod bulk_load;
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
    apply::{ContractEvent, LoggedEvent, PreparedBatch, apply_batch, prepare, write_batch},
};
use snm_sdk::{
    OrderBook,
    bindings::Market::{self, MarketEvents},
    market::{Ask, AskId, PlacedAsk, Purchase, Requirements},
    prelude::*,
};

/// README's recommended PostgreSQL settings for the indexer (indexer section): buffers that hold
/// the asks' indexes, and checkpoints far enough apart that each index page is written whole to
/// the WAL (after a checkpoint) once per many batches rather than once per batch or two.
const RECOMMENDED_POSTGRES_SETTINGS: [&str; 3] =
    ["shared_buffers=1GB", "max_wal_size=8GB", "checkpoint_timeout=15min"];

/// Synthesised events per block: the follower commits every event of its batch of blocks at once.
const EVENTS_PER_BLOCK: u64 = 10;

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The process's resident memory now (`VmRSS`) or at its peak (`VmHWM`), in MiB.
fn memory_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
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
        block: id / EVENTS_PER_BLOCK + 1,
        log_index: id % EVENTS_PER_BLOCK,
        transaction: B256::with_last_byte(1),
        address: Address::with_last_byte(9),
        topics: log.topics().to_vec(),
        data: log.data.clone(),
        event: ContractEvent::Market(MarketEvents::AskPlaced(event)),
    }
}

/// CPU time this process has used (user and system, every thread), from `/proc/self/stat`.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 =
        after_name.split_whitespace().skip(11).take(2).filter_map(|v| v.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10)
}

struct Ingested {
    per_second: f64,
    /// Events per second of this process's CPU (SQLite's whole cost, as it runs in the process;
    /// the client's side only for PostgreSQL): the rate the work would reach on a core of its own.
    per_cpu_second: f64,
    /// (resident, peak) after 100,000 events (or a tenth of a smaller run).
    early: (f64, f64),
    /// (resident, peak) at the end.
    end: (f64, f64),
}

fn memory() -> (f64, f64) {
    (memory_mib("VmRSS:"), memory_mib("VmHWM:"))
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.replace(['_', ','], "").parse().ok()).unwrap_or(default)
}

/// The events of ids `ids`, as the follower would have decoded them.
fn synthesise(rng: &mut StdRng, ids: std::ops::Range<u64>) -> Vec<LoggedEvent> {
    ids.map(|i| placed(i, &random_ask(rng))).collect()
}

/// Ingests `events` placements in transactions of `batch`. Pipelined (as the follower): a producer
/// task synthesises each batch (standing for the node's logs and their decoding) and builds its
/// rows while the database writes the batch before, through a channel of one batch; the time is
/// the whole run's. Serial (`SNM_BENCH_PIPELINE=0`, the previous rounds' figure): each batch is
/// synthesised, then built and written; the time is the building and writing only.
async fn ingest(db: &Database, events: u64, batch: u64, pipelined: bool) -> Ingested {
    let checkpoint = (events / 10).min(100_000);
    let backend = db.backend();
    let mut early = None;
    let mut written = 0;
    let (mut timed, mut cpu) = (Duration::ZERO, Duration::ZERO);
    if pipelined {
        let (start, cpu_start) = (Instant::now(), process_cpu());
        let (sender, mut batches) = tokio::sync::mpsc::channel::<PreparedBatch>(1);
        let producer = tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(1);
            let mut id = 1;
            while id <= events {
                let end = (id + batch).min(events + 1);
                let prepared = prepare(backend, &synthesise(&mut rng, id..end)).unwrap();
                id = end;
                if sender.send(prepared).await.is_err() {
                    break;
                }
            }
        });
        while let Some(prepared) = batches.recv().await {
            write_batch(db, &prepared).await.unwrap();
            written += prepared.len() as u64;
            if early.is_none() && written >= checkpoint {
                early = Some(memory());
            }
        }
        producer.await.unwrap();
        (timed, cpu) = (start.elapsed(), process_cpu().saturating_sub(cpu_start));
    } else {
        let mut rng = StdRng::seed_from_u64(1);
        let mut id = 1;
        while id <= events {
            let end = (id + batch).min(events + 1);
            let batch = synthesise(&mut rng, id..end);
            id = end;
            let (t, c) = (Instant::now(), process_cpu());
            apply_batch(db, &batch).await.unwrap();
            timed += t.elapsed();
            cpu += process_cpu().saturating_sub(c);
            written += batch.len() as u64;
            if early.is_none() && written >= checkpoint {
                early = Some(memory());
            }
        }
    }
    assert_eq!(written, events, "every event was written");
    Ingested {
        per_second: events as f64 / timed.as_secs_f64(),
        per_cpu_second: events as f64 / cpu.as_secs_f64().max(1e-3),
        early: early.unwrap_or_default(),
        end: memory(),
    }
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
        let best = book.best_placed_ask(&wanted, 0).map(|a| a.id);
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
    let (events, query_count, log_asks, deals) = if full {
        let log_asks = std::env::var("SNM_BENCH_LOG_ASKS").unwrap_or_else(|_| "10000,100000".into());
        let log_asks: Vec<usize> =
            log_asks.split(',').filter_map(|v| v.trim().replace('_', "").parse().ok()).collect();
        (env_number("SNM_BENCH_EVENTS", 200_000), 1_000, log_asks, env_number("SNM_BENCH_DEALS", 10_000))
    } else {
        println!("indexer bench at tiny sizes (run `make bench-indexer` for the real figures)");
        (2_000, 20, vec![5, 10], 3)
    };
    println!("load average at the start: {}", load_average());

    // The SDK's in-memory book of the same asks: the baseline of the queries.
    let mut rng = StdRng::seed_from_u64(1);
    let mut book = OrderBook::new();
    for id in 1..=events {
        book.insert_ask(PlacedAsk {
            id: AskId(id),
            ask: random_ask(&mut rng),
            block: id / EVENTS_PER_BLOCK + 1,
        });
    }

    let sqlite = common::TestDb::sqlite();
    // The server settings the README recommends for a deployment that ingests in bulk; the
    // tests' `fsync = off` stays (a bench-and-test server: BENCHMARKS.md).
    let postgres = common::TestDb::postgres_with(&RECOMMENDED_POSTGRES_SETTINGS);
    // `SNM_BENCH_DATABASES=sqlite` (or `postgres`) measures one of them only, e.g. under a profiler.
    let only = std::env::var("SNM_BENCH_DATABASES").unwrap_or_default().to_lowercase();
    let pipelined = std::env::var("SNM_BENCH_PIPELINE").map_or(true, |v| v != "0");
    // The follower's transaction: every event of its batch of blocks (`IndexerConfig::new`: 10,000
    // blocks, of 10 events here). `SNM_BENCH_BATCH` sets another number of events per transaction
    // (the previous rounds measured 10,000).
    let follower_batch = EVENTS_PER_BLOCK * snm_sdk::events::MAX_BLOCKS_PER_QUERY;
    let batch = env_number("SNM_BENCH_BATCH", follower_batch);
    println!("ingestion in transactions of {batch} events (the follower's: {follower_batch})");
    for (name, db) in [("SQLite", &sqlite), ("PostgreSQL", &postgres)] {
        if !only.is_empty() && !only.split(',').any(|o| name.to_lowercase().starts_with(o.trim())) {
            continue;
        }
        let database = Database::connect(&db.url("bench")).await.unwrap();
        let ingested = ingest(&database, events, batch, pipelined).await;
        println!(
            "{name}: ingested {events} AskPlaced events ({}) at {:.0} events/s, {:.0} per CPU second of this process \
             (resident/peak memory {:.0}/{:.0} MiB after {} events, {:.0}/{:.0} MiB at the end)",
            if pipelined { "pipelined, synthesis included" } else { "serial, writing only" },
            ingested.per_second,
            ingested.per_cpu_second,
            ingested.early.0,
            ingested.early.1,
            (events / 10).min(100_000),
            ingested.end.0,
            ingested.end.1
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

    // `SNM_BENCH_DEVNET=0` leaves the devnet part out.
    if std::env::var("SNM_BENCH_DEVNET").map_or(true, |v| v != "0") {
        devnet_part(&log_asks, deals as usize).await;
    }
    println!("load average at the end: {}", load_average());
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split(' ')
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The gas limit for `input` to `to` from `from`: the node's estimate and half as much again.
async fn gas_for(
    provider: &alloy::providers::DynProvider,
    from: Address,
    to: Address,
    input: Vec<u8>,
) -> u64 {
    use alloy::{network::TransactionBuilder, providers::Provider};
    let request =
        alloy::rpc::types::TransactionRequest::default().with_from(from).with_to(to).with_input(input);
    provider.estimate_gas(request).await.unwrap() * 3 / 2
}

/// On a devnet: `deals` deals opened, then open asks up to each of `log_asks`, the book read from
/// logs at each size; then the indexer's catch-up and the book read from it. Transactions are
/// mined thousands per block (`support/bulk_load.rs`).
async fn devnet_part(log_asks: &[usize], deals: usize) {
    let devnet = common::devnet().await;
    let supplier = devnet.supplier(1).unwrap();
    let machine = devnet.client(2).unwrap();
    supplier.register_worker(&machine).await.unwrap();
    let market = supplier.market().address();
    let (master, worker) = (supplier.master(), machine.sender());
    let master_provider = devnet.client(1).unwrap().provider().clone();
    let chain_id = devnet.chain_id();
    let ask_of = move |i: usize| {
        let mut ask = random_ask(&mut StdRng::seed_from_u64(i as u64 + 10));
        (ask.master, ask.worker) = (master, worker);
        ask
    };
    let buyers: Vec<_> = (3..10).map(|i| devnet.customer(i).unwrap()).collect();
    for buyer in &buyers {
        buyer.token().approve_market(Snm::from_whole(deals as u64 + 1)).await.unwrap();
    }
    let reader = devnet.client(0).unwrap();
    let place_gas =
        gas_for(&master_provider, master, market, bulk_load::place_calls(&[ask_of(0)]).remove(0)).await;
    bulk_load::manual_mining(devnet.provider()).await;
    let t = Instant::now();
    if deals > 0 {
        // Cheap enough that a deposit of 1 SNM covers the market's minimum runway.
        let cheap: Vec<Ask> = (0..deals)
            .map(|i| {
                let mut ask = ask_of(i);
                ask.price = UsdPerSecond::from_scaled(U256::from(1_000_000_000_000u64));
                ask
            })
            .collect();
        bulk_load::send_all(
            &master_provider,
            chain_id,
            master,
            market,
            bulk_load::place_calls(&cheap),
            place_gas,
        )
        .await;
        let placed: Vec<PlacedAsk> = reader.market().order_book().await.unwrap().asks().cloned().collect();
        assert_eq!(placed.len(), deals, "every ask to buy was placed");
        let purchase =
            Purchase::new("spot".parse().unwrap(), "1 SNM".parse().unwrap(), "ghcr.io/acme/proxy:1");
        let buy_gas = gas_for(
            buyers[0].client().provider(),
            buyers[0].client().sender(),
            market,
            bulk_load::buy_calls(&placed[..1], &purchase).remove(0),
        )
        .await;
        for (n, buyer) in buyers.iter().enumerate() {
            let share: Vec<PlacedAsk> = placed.iter().skip(n).step_by(buyers.len()).cloned().collect();
            let client = buyer.client();
            bulk_load::send_all(
                client.provider(),
                chain_id,
                client.sender(),
                market,
                bulk_load::buy_calls(&share, &purchase),
                buy_gas,
            )
            .await;
        }
        assert_eq!(reader.market().order_book().await.unwrap().asks().count(), 0, "every ask was bought");
    }
    println!("devnet: {deals} deals opened by transactions in {:.1} s", t.elapsed().as_secs_f64());
    let mut open = 0;
    let mut logs_book = OrderBook::new();
    for &size in log_asks {
        let t = Instant::now();
        let asks: Vec<Ask> = (0..size.saturating_sub(open)).map(|i| ask_of(deals + open + i)).collect();
        bulk_load::send_all(
            &master_provider,
            chain_id,
            master,
            market,
            bulk_load::place_calls(&asks),
            place_gas,
        )
        .await;
        let placing = t.elapsed();
        open = open.max(size);
        let t = Instant::now();
        logs_book = reader.market().order_book().await.unwrap();
        println!(
            "devnet with {open} open asks and {deals} deals (placed in {:.1} s): SDK book from logs {}",
            placing.as_secs_f64(),
            ms(t.elapsed())
        );
    }
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
        "devnet with {open} open asks and {deals} deals ({} blocks): indexer catch-up from the deployment block {} \
         with {calls} RPC requests; OrderBook::from_indexer {}",
        head.unwrap_or_default(),
        ms(catch_up),
        ms(from_indexer),
    );
}
