//! The indexer follows a devnet into SQLite and PostgreSQL alike: after a random history of
//! market operations its order book equals the SDK's (rebuilt from logs) and its deals equal the
//! chain's; a reorganisation made with `evm_snapshot` / `evm_revert` (several blocks deep) is
//! rolled back and the new branch applied, leaving what a fresh index of the new branch holds; an indexer cancelled at arbitrary points and restarted ends with exactly the
//! rows of one that ran straight through.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use alloy::{primitives::U256, providers::Provider};
use common::{History, TestDb, devnet, get, indexer, random_history, serve};
use rand::{Rng, SeedableRng, rngs::StdRng};
use snm_indexer::{Database, Indexer, IndexerConfig, db::AskFilter, model::DealStatus};
use snm_sdk::{
    devnet::Devnet,
    market::{Ask, PlacedAsk, PlacedBid},
    prelude::*,
};

/// The indexer's open asks, bids and deals against the SDK's book from logs and the chain's deals.
async fn assert_same_as_chain(devnet: &Devnet, db: &Database) {
    let book = devnet.client(0).unwrap().market().order_book().await.unwrap();
    let asks = db.asks(&AskFilter::default(), None, 1000).await.unwrap();
    assert!(asks.next.is_none());
    let expected: Vec<PlacedAsk> = book.asks().cloned().collect();
    assert_eq!(asks.asks, expected, "open asks");
    let bids = db.bids(None, None, 1000).await.unwrap();
    let expected: Vec<PlacedBid> = book.bids().cloned().collect();
    assert_eq!(bids.bids, expected, "open bids");
    let market = devnet.client(0).unwrap().market();
    for deal in db.deals(None, None, None, 1000).await.unwrap() {
        let chain = market.deal(deal.id).await.unwrap().expect("the indexer's deal is on chain");
        assert_eq!((deal.customer, deal.master, deal.worker), (chain.customer, chain.master, chain.worker));
        assert_eq!(deal.price, chain.price, "deal {}", deal.id);
        assert_eq!(deal.settled_until, chain.settled_until, "deal {}", deal.id);
        assert_eq!(deal.end_time, chain.end_time, "deal {}", deal.id);
        assert_eq!(deal.status == DealStatus::Closed, chain.closed.is_some(), "deal {}", deal.id);
        if deal.status == DealStatus::Open {
            assert_eq!(deal.deposit, chain.deposit, "deal {}", deal.id);
            assert_eq!(deal.endpoint, market.endpoint(deal.id).await.unwrap(), "deal {}", deal.id);
        }
    }
}

async fn follows_a_random_history(db: TestDb) {
    let devnet = devnet().await;
    let mut history = History::default();
    random_history(&devnet, 11, 30, &mut history).await;
    let (database, mut indexer) = indexer(&devnet, &db.url("follow")).await;
    let indexed = indexer.catch_up().await.unwrap();
    assert_eq!(indexed, Some(devnet.block_number().await.unwrap()));
    assert_same_as_chain(&devnet, &database).await;
    let stats = database.stats().await.unwrap();
    assert_eq!(stats.open_asks, history.asks.len() as u64);
    assert_eq!(stats.active_deals, history.deals.len() as u64);
    // It follows what comes next, block by block.
    random_history(&devnet, 12, 15, &mut history).await;
    indexer.catch_up().await.unwrap();
    assert_same_as_chain(&devnet, &database).await;
    assert!(database.stats().await.unwrap().total_deals > 0, "the history opened deals");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_follows_a_random_history() {
    follows_a_random_history(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_follows_a_random_history() {
    follows_a_random_history(TestDb::postgres()).await;
}

async fn rpc<T: alloy::rpc::json_rpc::RpcRecv>(
    devnet: &Devnet,
    method: &'static str,
    params: serde_json::Value,
) -> T {
    devnet.provider().raw_request::<_, T>(method.into(), params).await.unwrap()
}

async fn rolls_back_a_reorganisation(db: TestDb) {
    let devnet = devnet().await;
    let mut history = History::default();
    random_history(&devnet, 21, 12, &mut history).await;
    let (database, mut indexer) = indexer(&devnet, &db.url("reorg")).await;
    indexer.catch_up().await.unwrap();
    let before = database.asks(&AskFilter::default(), None, 1000).await.unwrap().asks;

    // A branch that places an ask and buys another, then is taken back.
    let snapshot: U256 = rpc(&devnet, "evm_snapshot", serde_json::json!([])).await;
    let supplier = devnet.supplier(1).unwrap();
    let machine = devnet.client(2).unwrap();
    let price = "0.36 USD/h".parse::<UsdPerHour>().unwrap().to_per_second().unwrap();
    let orphan =
        supplier.market().place_ask(&Ask::new(supplier.master(), machine.sender(), price)).await.unwrap();
    let bought = before.first().cloned().expect("the history left an open ask");
    let purchase =
        snm_sdk::market::Purchase::new("spot".parse().unwrap(), "1000 SNM".parse().unwrap(), "img");
    let deal = devnet.customer(3).unwrap().quick_buy(&bought, &purchase).await.unwrap();
    indexer.catch_up().await.unwrap();
    let open = database.asks(&AskFilter::default(), None, 1000).await.unwrap().asks;
    assert!(open.iter().any(|a| a.id == orphan.id) && !open.iter().any(|a| a.id == bought.id));
    assert!(database.deal(deal.id.0).await.unwrap().is_some());

    let reverted: bool = rpc(&devnet, "evm_revert", serde_json::json!([snapshot])).await;
    assert!(reverted);
    let _: serde_json::Value = rpc(&devnet, "anvil_dropAllTransactions", serde_json::json!([])).await;
    // The new branch, from accounts the orphaned one did not use (their nonces are still right),
    // longer than the old one.
    let other = devnet.supplier(5).unwrap();
    let other_machine = devnet.client(6).unwrap();
    other.register_worker(&other_machine).await.unwrap();
    let replacement =
        other.market().place_ask(&Ask::new(other.master(), other_machine.sender(), price)).await.unwrap();
    for _ in 0..3 {
        let _: serde_json::Value = rpc(&devnet, "evm_mine", serde_json::json!([])).await;
    }
    let mut rolled_back = false;
    loop {
        match indexer.step().await.unwrap() {
            snm_indexer::ingest::Step::RolledBack { .. } => rolled_back = true,
            snm_indexer::ingest::Step::UpToDate => break,
            _ => {}
        }
    }
    assert!(rolled_back, "the reorganisation was noticed");
    let open = database.asks(&AskFilter::default(), None, 1000).await.unwrap().asks;
    assert!(
        !open.iter().any(|a| a.id == orphan.id && a.ask.master == supplier.master()),
        "the orphaned ask is gone"
    );
    assert!(open.iter().any(|a| a.id == bought.id), "the ask bought in the orphaned branch is open again");
    assert!(open.iter().any(|a| a.id == replacement.id && a.ask.master == other.master()));
    assert!(
        database
            .deal(deal.id.0)
            .await
            .unwrap()
            .is_none_or(|d| d.deal.customer != devnet.accounts()[3] || d.deal.ask_id != bought.id)
    );
    assert_same_as_chain(&devnet, &database).await;
    // Row for row what an index made from scratch on the new branch holds.
    let (fresh, mut from_scratch) = common::indexer(&devnet, &db.url("reorgfresh")).await;
    from_scratch.catch_up().await.unwrap();
    assert_eq!(dump(&database).await, dump(&fresh).await, "the rolled-back index equals a fresh one");
    assert_every_block_stored(&devnet, &database).await;
}

/// Every block from the start block to the head is stored with the chain's hash, and with its
/// parent's hash as the hash stored for the block before.
async fn assert_every_block_stored(devnet: &Devnet, db: &Database) {
    let rows: Vec<(i64, String, Option<String>)> =
        sqlx::query_as("SELECT number, hash, parent_hash FROM blocks ORDER BY number")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let start = devnet.deployment().start_block;
    let head = devnet.block_number().await.unwrap();
    let numbers: Vec<u64> = rows.iter().map(|(n, _, _)| *n as u64).collect();
    assert_eq!(numbers, (start..=head).collect::<Vec<_>>(), "every applied block, none twice");
    for pair in rows.windows(2) {
        assert_eq!(pair[1].2.as_deref(), Some(pair[0].1.as_str()), "block {}'s parent", pair[1].0);
    }
    for (number, hash, _) in &rows {
        let block = devnet
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Number(*number as u64))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(format!("{:#x}", block.header.hash), *hash, "block {number}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rolls_back_a_reorganisation() {
    rolls_back_a_reorganisation(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rolls_back_a_reorganisation() {
    rolls_back_a_reorganisation(TestDb::postgres()).await;
}

/// An `events` row: block, log index, name, topics and data.
type EventRow = (i64, i64, String, Vec<u8>, Vec<u8>);

/// Every row of every table, in a fixed order, as text.
async fn dump(db: &Database) -> Vec<String> {
    let events: Vec<EventRow> =
        sqlx::query_as("SELECT block, log_index, name, topics, data FROM events ORDER BY block, log_index")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let mut rows = vec!["-- events".to_owned()];
    rows.extend(events.into_iter().map(|(block, log_index, name, topics, data)| {
        format!("{block}:{log_index}:{name}:{}:{}", alloy::hex::encode(topics), alloy::hex::encode(data))
    }));
    let queries = [
        "SELECT body || ':' || valid_from || ':' || COALESCE(valid_to, -1) FROM asks ORDER BY id, valid_from",
        "SELECT body || ':' || valid_from || ':' || COALESCE(valid_to, -1) FROM bids ORDER BY id, valid_from",
        "SELECT body || ':' || valid_from || ':' || COALESCE(valid_to, -1) FROM deals ORDER BY id, valid_from, valid_to",
        "SELECT worker || master || confirmed || ':' || valid_from || ':' || COALESCE(valid_to, -1) FROM workers ORDER BY worker, valid_from, valid_to",
        "SELECT owner || target || ':' || valid_from || ':' || COALESCE(valid_to, -1) FROM blacklists ORDER BY owner, target, valid_from, valid_to",
        "SELECT block || ':' || log_index || ':' || amount || fee FROM settlements ORDER BY block, log_index",
        "SELECT block || ':' || log_index || ':' || kind || amount || balance FROM escrow_moves ORDER BY block, log_index",
        "SELECT CAST(next_block AS TEXT) FROM sync_state",
    ];
    for query in queries {
        let found: Vec<String> = sqlx::query_scalar(query).fetch_all(db.pool()).await.unwrap();
        rows.push(format!("-- {query}"));
        rows.extend(found);
    }
    rows
}

async fn resumes_exactly(db: TestDb) {
    let devnet = devnet().await;
    random_history(&devnet, 31, 30, &mut History::default()).await;
    let (whole, mut straight) = indexer(&devnet, &db.url("straight")).await;
    straight.catch_up().await.unwrap();

    let url = db.url("interrupted");
    let cut = Database::connect(&url).await.unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let config = || {
        let mut config = IndexerConfig::new(*devnet.deployment(), 0);
        config.max_blocks_per_batch = 3;
        config
    };
    // Many batches of 3 blocks through `catch_up`, which reads each batch while the one before
    // commits: the same rows as one batch.
    let pipelined_db = Database::connect(&db.url("pipelined")).await.unwrap();
    let mut pipelined =
        Indexer::new(devnet.provider().clone(), pipelined_db.clone(), config()).await.unwrap();
    pipelined.catch_up().await.unwrap();
    assert_eq!(dump(&pipelined_db).await, dump(&whole).await);

    let mut interrupted = Indexer::new(devnet.provider().clone(), cut.clone(), config()).await.unwrap();
    let (mut cancelled, mut restarts) = (0, 0);
    loop {
        // Cancelled anywhere: before, during or after its transaction.
        let limit = Duration::from_micros(rng.gen_range(0..20_000));
        match tokio::time::timeout(limit, interrupted.step()).await {
            Err(_) => cancelled += 1,
            Ok(step) => {
                if step.unwrap() == snm_indexer::ingest::Step::UpToDate {
                    break;
                }
            }
        }
        if rng.gen_bool(0.3) {
            restarts += 1;
            interrupted = Indexer::new(devnet.provider().clone(), cut.clone(), config()).await.unwrap();
        }
    }
    assert!(cancelled > 0 && restarts > 0, "cancelled {cancelled} times, restarted {restarts} times");
    assert_eq!(dump(&cut).await, dump(&whole).await);

    // The pipelined catch-up cancelled anywhere: while a batch is read and the one before commits.
    let cut_catch_up = Database::connect(&db.url("interrupted_catch_up")).await.unwrap();
    let new_follower = || Indexer::new(devnet.provider().clone(), cut_catch_up.clone(), config());
    let mut interrupted = new_follower().await.unwrap();
    let mut cancelled = 0;
    loop {
        let limit = Duration::from_micros(rng.gen_range(0..5_000));
        match tokio::time::timeout(limit, interrupted.catch_up()).await {
            Err(_) => cancelled += 1,
            Ok(head) => {
                head.unwrap();
                break;
            }
        }
        if rng.gen_bool(0.5) {
            interrupted = new_follower().await.unwrap();
        }
    }
    assert!(cancelled > 0, "the catch-up was never cancelled");
    assert_eq!(dump(&cut_catch_up).await, dump(&whole).await);
    assert_every_block_stored(&devnet, &cut).await;
    assert_same_as_chain(&devnet, &cut).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_resumes_exactly_after_interruptions() {
    resumes_exactly(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_resumes_exactly_after_interruptions() {
    resumes_exactly(TestDb::postgres()).await;
}

/// Ask `id`'s placement in block `id + 1` as the follower decodes it from its log.
fn placement(id: u64) -> snm_indexer::apply::LoggedEvent {
    use alloy::{
        primitives::{Address, B256},
        sol_types::SolEvent,
    };
    use snm_sdk::bindings::Market::{self, MarketEvents};
    let ask = Ask::new(
        Address::with_last_byte(id as u8 + 1),
        Address::with_last_byte(7),
        UsdPerSecond::from_scaled(U256::from(1_000 + id * 7 % 5)),
    )
    .resources(Resources::new().cpu_cores(id + 1).ram(Bytes::from_gib(2)));
    let event = Market::AskPlaced {
        askId: U256::from(id),
        master: ask.master,
        worker: ask.worker,
        ask: (&ask).into(),
    };
    let log = event.encode_log_data();
    snm_indexer::apply::LoggedEvent {
        block: id + 1,
        log_index: 0,
        transaction: B256::with_last_byte(id as u8),
        address: Address::with_last_byte(9),
        topics: log.topics().to_vec(),
        data: log.data.clone(),
        event: snm_indexer::apply::ContractEvent::Market(MarketEvents::AskPlaced(event)),
    }
}

/// A database written by the indexer before events held bytes (migrations 1 to 6, the topics and
/// data as hexadecimal text): the new binary migrates it, its events read back as the same bytes,
/// it serves the same asks as a database filled by the new code, and it goes on ingesting.
async fn opens_a_database_of_the_previous_version(db: TestDb) {
    use snm_indexer::apply::{address_key, apply_batch, price_key};
    let events: Vec<_> = (1..=5).map(placement).collect();
    let old_url = db.url("previous");
    // What the previous version wrote: its migrations (the shared folder alone) and its rows.
    sqlx::any::install_default_drivers();
    let url = if old_url.starts_with("sqlite:") { format!("{old_url}?mode=rwc") } else { old_url.clone() };
    let old = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate!("./migrations").run(&old).await.unwrap();
    for event in &events {
        let topics: Vec<String> = event.topics.iter().map(|t| format!("{t:#x}")).collect();
        sqlx::query(
            "INSERT INTO events (block, log_index, tx_hash, contract, name, topics, data) \
             VALUES ($1, $2, $3, 'market', 'AskPlaced', $4, $5)",
        )
        .bind(event.block as i64)
        .bind(event.log_index as i64)
        .bind(format!("{:#x}", event.transaction))
        .bind(topics.join(","))
        .bind(format!("{:#x}", event.data))
        .execute(&old)
        .await
        .unwrap();
        let snm_indexer::apply::ContractEvent::Market(snm_sdk::bindings::Market::MarketEvents::AskPlaced(
            placed,
        )) = &event.event
        else {
            unreachable!("placements only")
        };
        let ask = PlacedAsk {
            id: snm_sdk::market::AskId::from_word(placed.askId),
            ask: Ask::from(&placed.ask),
            block: event.block,
        };
        let r = &ask.ask.resources;
        sqlx::query(
            "INSERT INTO asks (id, master, worker, cpu_milli_cores, ram_bytes, storage_bytes, gpu_count, gpu_mem_bytes, \
             net_up_bps, net_down_bps, flags, region, price_key, body, valid_from) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(ask.id.0 as i64)
        .bind(address_key(ask.ask.master))
        .bind(address_key(ask.ask.worker))
        .bind(r.cpu_milli_cores as i64)
        .bind(r.ram_bytes as i64)
        .bind(r.storage_bytes as i64)
        .bind(r.gpu_count as i64)
        .bind(r.gpu_mem_bytes as i64)
        .bind(r.net_up_bps as i64)
        .bind(r.net_down_bps as i64)
        .bind(ask.ask.flags.bits() as i64)
        .bind(i64::from(ask.ask.region))
        .bind(price_key(ask.ask.price))
        .bind(serde_json::to_string(&ask).unwrap())
        .bind(ask.block as i64)
        .execute(&old)
        .await
        .unwrap();
    }
    old.close().await;

    let upgraded = Database::connect(&old_url).await.unwrap();
    let stored: Vec<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT topics, data FROM events ORDER BY block, log_index")
            .fetch_all(upgraded.pool())
            .await
            .unwrap();
    let expected: Vec<(Vec<u8>, Vec<u8>)> =
        events.iter().map(|e| (e.topics.iter().flat_map(|t| t.0).collect(), e.data.to_vec())).collect();
    assert_eq!(stored, expected, "the events' hexadecimal text became the same bytes");
    assert!(stored.iter().all(|(topics, data)| topics.len() == 4 * 32 && !data.is_empty()));

    // The same events written by this version: the API serves the same.
    let fresh = Database::connect(&db.url("fresh")).await.unwrap();
    apply_batch(&fresh, &events).await.unwrap();
    let (upgraded_api, fresh_api) = (
        serve(upgraded.clone(), snm_indexer::Health::default()).await,
        serve(fresh.clone(), snm_indexer::Health::default()).await,
    );
    for path in ["/v1/asks?limit=10", "/v1/asks?cpu_cores=3&limit=10", "/v1/stats"] {
        let (status, served) = get(upgraded_api, path).await;
        assert_eq!(status, 200, "{path}: {served}");
        assert_eq!(served, get(fresh_api, path).await.1, "{path}");
    }
    let (_, page) = get(upgraded_api, "/v1/asks?limit=10").await;
    assert_eq!(page["asks"].as_array().unwrap().len(), 5);

    // It goes on: a later batch lands beside the converted rows.
    let later: Vec<_> = (6..=7).map(placement).collect();
    apply_batch(&upgraded, &later).await.unwrap();
    let (_, page) = get(upgraded_api, "/v1/asks?limit=10").await;
    assert_eq!(page["asks"].as_array().unwrap().len(), 7);
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(upgraded.pool()).await.unwrap();
    assert_eq!(count, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_opens_a_database_of_the_previous_version() {
    opens_a_database_of_the_previous_version(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_opens_a_database_of_the_previous_version() {
    opens_a_database_of_the_previous_version(TestDb::postgres()).await;
}
