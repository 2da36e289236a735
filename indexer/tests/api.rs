//! The HTTP service over an indexed devnet: answers match the database and the chain, malformed
//! queries get a 400 naming the parameter, the OpenAPI file lists exactly the routes served, the
//! SDK's `OrderBook::from_indexer` equals the book rebuilt from logs, and faults show: the node
//! gone in `/v1/health` (the follower retrying), the database gone stopping the follower.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{collections::BTreeSet, time::Duration};

use common::{History, TestDb, devnet, get, indexer, random_history, serve, wait_until};
use snm_indexer::api::{OPENAPI, ROUTES};
use snm_sdk::{OrderBook, market::Requirements, prelude::*};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_the_indexed_market() {
    let db = TestDb::sqlite();
    let devnet = devnet().await;
    let mut history = History::default();
    random_history(&devnet, 41, 40, &mut history).await;
    devnet.client(0).unwrap().oracle().report("110 SNM/USD".parse().unwrap()).await.unwrap();
    let (database, mut indexer) = indexer(&devnet, &db.url("api")).await;
    indexer.catch_up().await.unwrap();
    let address = serve(database.clone(), indexer.health()).await;

    // The order book, cheapest first, in pages that add up to the whole.
    let (status, all) = get(address, "/v1/asks?limit=1000").await;
    assert_eq!(status, 200, "{all}");
    let all = all["asks"].as_array().unwrap().clone();
    assert_eq!(all.len(), history.asks.len());
    let mut paged = Vec::new();
    let mut path = "/v1/asks?limit=3".to_owned();
    loop {
        let (_, page) = get(address, &path).await;
        paged.extend(page["asks"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => path = format!("/v1/asks?limit=3&after={next}"),
            None => break,
        }
    }
    assert_eq!(paged, all);
    // Filters: what passes is what the SDK's matching says.
    let book = devnet.client(0).unwrap().market().order_book().await.unwrap();
    let (_, filtered) = get(address, "/v1/asks?cpu_cores=16&flags=PUBLIC_IP&max_price=3.6&limit=1000").await;
    let ids: Vec<u64> =
        filtered["asks"].as_array().unwrap().iter().map(|a| a["id"].as_u64().unwrap()).collect();
    let max = UsdPerSecond::parse_rounding_down("3.6 USD/h").unwrap();
    let expected: Vec<u64> = book
        .asks()
        .filter(|a| {
            a.ask.resources.cpu_milli_cores >= 16_000
                && a.ask.flags.contains(NetFlags::PUBLIC_IP)
                && a.ask.price <= max
        })
        .map(|a| a.id.0)
        .collect();
    assert_eq!(ids, expected);

    // The SDK's book from the indexer is the book from logs, and matches the same way.
    let url: alloy::transports::http::reqwest::Url = format!("http://{address}/").parse().unwrap();
    let from_indexer = OrderBook::from_indexer(&url).await.unwrap();
    assert_eq!(from_indexer.asks().collect::<Vec<_>>(), book.asks().collect::<Vec<_>>());
    assert_eq!(from_indexer.bids().collect::<Vec<_>>(), book.bids().collect::<Vec<_>>());
    for cores in [1, 8, 24] {
        let wanted = Requirements::new(Term::Spot).resources(Resources::new().cpu_cores(cores));
        assert_eq!(from_indexer.best_ask(&wanted, u64::MAX / 2), book.best_ask(&wanted, u64::MAX / 2));
    }
    assert_eq!(from_indexer.cursor().block, devnet.block_number().await.unwrap() + 1);

    // Deals with their settlements and endpoints; lists by customer and status.
    let (_, deals) = get(address, "/v1/deals?limit=1000").await;
    let deals = deals.as_array().unwrap().clone();
    assert!(!deals.is_empty(), "the history opened deals");
    let market = devnet.client(0).unwrap().market();
    for deal in &deals {
        let id = deal["id"].as_u64().unwrap();
        let (status, detail) = get(address, &format!("/v1/deals/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(detail["customer"], deal["customer"]);
        let chain = market.deal(snm_sdk::market::DealId(id)).await.unwrap().unwrap();
        assert_eq!(detail["price"], serde_json::to_value(chain.price).unwrap());
        let settled = detail["settlements"].as_array().unwrap().len();
        assert_eq!(settled > 0, detail["paid"] != "0 SNM" || detail["status"] == "closed" || settled > 0);
    }
    let customer = devnet.accounts()[3];
    let (_, mine) = get(address, &format!("/v1/deals?customer={customer}&status=open")).await;
    let expected = deals
        .iter()
        .filter(|d| d["status"] == "open" && d["customer"] == serde_json::to_value(customer).unwrap())
        .count();
    assert_eq!(mine.as_array().unwrap().len(), expected);
    let (status, _) = get(address, "/v1/deals/999999").await;
    assert_eq!(status, 404);

    // The supplier, the figures, the health.
    let master = devnet.accounts()[1];
    let (_, supplier) = get(address, &format!("/v1/suppliers/{master}")).await;
    assert_eq!(supplier["workers"][0]["worker"], serde_json::to_value(devnet.accounts()[2]).unwrap());
    assert_eq!(supplier["asks"].as_array().unwrap().len(), history.asks.len());
    let (_, stats) = get(address, "/v1/stats").await;
    assert_eq!(stats["open_asks"], history.asks.len());
    assert_eq!(stats["active_deals"], history.deals.len());
    assert_eq!(stats["snm_per_usd"], "110 SNM/USD");
    let (_, health) = get(address, "/v1/health").await;
    assert_eq!((health["status"].as_str(), health["lag"].as_u64()), (Some("ok"), Some(0)), "{health}");
    let (status, rounds) = get(address, "/v1/campaigns/0/rounds").await;
    assert_eq!((status, rounds.as_array().map(Vec::len)), (200, Some(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_queries_get_a_400_naming_the_parameter() {
    let db = TestDb::sqlite();
    let devnet = devnet().await;
    let (database, indexer) = indexer(&devnet, &db.url("bad")).await;
    let address = serve(database, indexer.health()).await;
    let cases = [
        ("/v1/asks?max_price=abc", "max_price"),
        ("/v1/asks?limit=1000000000", "limit"),
        ("/v1/asks?limit=0", "limit"),
        ("/v1/asks?colour=red", "colour"),
        ("/v1/asks?cpu_cores=-1", "cpu_cores"),
        ("/v1/asks?ram=lots", "ram"),
        ("/v1/asks?term=forever", "term"),
        ("/v1/asks?after=nonsense", "after"),
        ("/v1/asks?flags=PUBLIC_IP&flags=INCOMING", "flags"),
        ("/v1/bids?customer=0x12", "customer"),
        ("/v1/deals?status=running", "status"),
        ("/v1/deals/abc", "id"),
        ("/v1/suppliers/nobody", "master"),
        ("/v1/claims/0xzz", "account"),
        ("/v1/stats?verbose=1", "verbose"),
        ("/?max_price=cheap", "max_price"),
    ];
    for (path, parameter) in cases {
        let (status, body) = get(address, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["parameter"], parameter, "{path}: {body}");
        assert!(body["error"].as_str().unwrap().contains(parameter), "{path}: {body}");
    }
}

#[test]
fn the_openapi_file_lists_exactly_the_routes_served() {
    let spec: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
    let documented: BTreeSet<&str> = spec["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    let served: BTreeSet<&str> = ROUTES.into_iter().collect();
    assert_eq!(documented, served);
    for (path, item) in spec["paths"].as_object().unwrap() {
        assert!(item["get"]["responses"]["200"].is_object(), "{path} documents its answer");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_in_the_openapi_file_answers() {
    let db = TestDb::sqlite();
    let devnet = devnet().await;
    random_history(&devnet, 3, 6, &mut History::default()).await;
    let (database, mut indexer) = indexer(&devnet, &db.url("routes")).await;
    indexer.catch_up().await.unwrap();
    let address = serve(database, indexer.health()).await;
    let some = devnet.accounts()[1];
    for route in ROUTES {
        let path = route
            .replace("{id}", "0")
            .replace("{master}", &some.to_string())
            .replace("{account}", &some.to_string());
        let (status, body) = get(address, &path).await;
        // No deal 0 and no registered round for the account: 404; everything else answers.
        let expected =
            if path.starts_with("/v1/deals/") || path.starts_with("/v1/claims/") { 404 } else { 200 };
        assert_eq!(status, expected, "{path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_going_away_shows_in_health_and_the_follower_retries() {
    let db = TestDb::sqlite();
    let devnet = devnet().await;
    let (database, indexer) = indexer(&devnet, &db.url("rpc")).await;
    let health = indexer.health();
    let address = serve(database, health.clone()).await;
    let follower = tokio::spawn(indexer.run(std::future::pending()));
    wait_until("the follower to catch up", Duration::from_secs(30), || {
        let health = health.clone();
        async move { health.view().status == "ok" && health.view().lag == Some(0) }
    })
    .await;
    drop(devnet); // anvil stops
    wait_until("health to report the node gone", Duration::from_secs(30), || async {
        get(address, "/v1/health").await.1["status"] == "rpc_unreachable"
    })
    .await;
    assert!(!follower.is_finished(), "the follower keeps retrying");
    follower.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_going_away_stops_the_follower_with_its_error() {
    let server = common::Postgres::start();
    let devnet = devnet().await;
    let (database, indexer) = indexer(&devnet, &server.database("gone")).await;
    let health = indexer.health();
    let follower = tokio::spawn(indexer.run(std::future::pending()));
    wait_until("the follower to catch up", Duration::from_secs(30), || {
        let health = health.clone();
        async move { health.view().lag == Some(0) }
    })
    .await;
    server.kill();
    let outcome =
        tokio::time::timeout(Duration::from_secs(60), follower).await.expect("the follower stops").unwrap();
    let error = outcome.expect_err("a database failure ends the follower");
    assert!(matches!(error, snm_indexer::IndexerError::Database(_)), "{error}");
    assert_eq!(health.view().status, "stopped");
    drop(database);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_round_serves_each_accounts_claim() {
    use snm_sdk::rewards::{StandardMerkleTree, merkle};
    let db = TestDb::sqlite();
    let database = snm_indexer::Database::connect(&db.url("claims")).await.unwrap();
    let accounts: Vec<alloy::primitives::Address> =
        (1..=5u8).map(alloy::primitives::Address::with_last_byte).collect();
    let values: Vec<_> =
        accounts.iter().enumerate().map(|(k, a)| (*a, Snm::from_whole(10 * (k as u64 + 1)))).collect();
    let tree = StandardMerkleTree::build(values.clone()).unwrap();
    let dir = common::temp_dir("round");
    let dump = dir.join("round-1.merkle.json");
    tree.write_dump(&mut std::fs::File::create(&dump).unwrap()).unwrap();
    let (loaded, registered) = snm_indexer::rounds::register_dump(&database, 1, &dump).await.unwrap();
    assert_eq!((loaded.root(), registered), (tree.root(), 5));
    let address = serve(database, snm_indexer::Health::default()).await;
    for (account, amount) in values {
        let (status, claim) = get(address, &format!("/v1/claims/{account}")).await;
        assert_eq!(status, 200, "{claim}");
        let served: snm_indexer::model::ClaimView = serde_json::from_value(claim).unwrap();
        assert_eq!((served.round, served.cumulative, served.claimed), (1, amount, Snm::ZERO));
        assert!(merkle::verify(tree.root(), account, served.cumulative, &served.proof), "the proof holds");
    }
    let (status, body) =
        get(address, &format!("/v1/claims/{}", alloy::primitives::Address::with_last_byte(9))).await;
    assert_eq!(status, 404, "{body}");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{}").unwrap();
    let db2 = snm_indexer::Database::connect(&db.url("claims")).await.unwrap();
    assert!(matches!(
        snm_indexer::rounds::register_dump(&db2, 2, &bad).await,
        Err(snm_indexer::rounds::RegisterError::Dump { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The demo's case: no report since the deployment, so the only `RateUpdated` is the oracle's
/// constructor's, before the market's start block; `/v1/stats` still has the rate, and a report
/// replaces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_show_the_oracle_rate_with_and_without_a_report() {
    let db = TestDb::sqlite();
    let devnet = devnet().await;
    let oracle = devnet.client(0).unwrap().oracle();
    let initial = oracle.snm_per_usd().await.unwrap();
    let (database, mut indexer) = indexer(&devnet, &db.url("rate")).await;
    indexer.catch_up().await.unwrap();
    let address = serve(database.clone(), indexer.health()).await;
    let (_, stats) = get(address, "/v1/stats").await;
    assert_eq!(stats["snm_per_usd"], serde_json::to_value(initial).unwrap(), "{stats}");
    assert!(!stats["snm_per_usd"].is_null());

    let reported: SnmPerUsd = "105 SNM/USD".parse().unwrap();
    assert_ne!(reported, initial);
    oracle.report(reported).await.unwrap();
    indexer.catch_up().await.unwrap();
    let (_, stats) = get(address, "/v1/stats").await;
    assert_eq!(stats["snm_per_usd"], "105 SNM/USD", "{stats}");
}

/// A round registered with its round file beside the dump: `/v1/suppliers/{master}` shows each
/// account's traffic and reward, per round and in all, as the reward engine computed them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppliers_show_their_traffic_and_rewards_from_registered_rounds() {
    use snm_sdk::rewards::{CSV_HEADER, Campaign, Round, compute_round};
    let db = TestDb::sqlite();
    let database = snm_indexer::Database::connect(&db.url("traffic")).await.unwrap();
    let dir = common::temp_dir("traffic");
    let (a, b) = (alloy::primitives::Address::repeat_byte(0xa), alloy::primitives::Address::repeat_byte(0xb));
    let campaign = Campaign { allow_private_ips: true, ..Campaign::operation_a(SnmPerUsd::from_whole(25)) };
    let mut previous = None;
    for (round, lines) in [
        (
            1u64,
            vec![
                (a, "10.0.0.1", 1_000_000_000_000u64),
                (a, "10.0.0.2", 0),
                (b, "10.0.0.3", 2_000_000_000_000),
            ],
        ),
        (2, vec![(a, "10.0.0.1", 3_000_000_000_000)]),
    ] {
        let report = dir.join(format!("usage-{round}.csv"));
        let mut text = format!("{CSV_HEADER}\n");
        for (account, ip, bytes) in lines {
            let start = round * 100_000;
            text.push_str(&format!("{account:#x},{ip},{bytes},{start},{}\n", start + 86_399));
        }
        std::fs::write(&report, text).unwrap();
        let computed = compute_round(&campaign, previous.as_deref(), &[report]).unwrap();
        let files = computed.write(&dir.join("rounds")).unwrap();
        snm_indexer::rounds::register_dump(&database, round, &files.merkle).await.unwrap();
        previous = Some(files.round);
    }
    let last = Round::load(previous.as_deref().unwrap()).unwrap();
    let address = serve(database, snm_indexer::Health::default()).await;

    let (status, supplier) = get(address, &format!("/v1/suppliers/{a}")).await;
    assert_eq!(status, 200, "{supplier}");
    let served: snm_indexer::model::SupplierView = serde_json::from_value(supplier).unwrap();
    let expected = last.account(a).unwrap();
    assert_eq!(served.traffic, expected.bytes);
    assert_eq!(served.traffic, Bytes::new(4_000_000_000_000), "1 TB in round 1, 3 TB in round 2");
    assert_eq!(
        (served.rewards_entitled, served.rewards_unclaimed),
        (expected.cumulative, expected.cumulative)
    );
    assert_eq!(served.rewards_claimed, Snm::ZERO);
    let rounds: Vec<_> = served.rounds.iter().map(|r| (r.round, r.round_bytes, r.ips)).collect();
    assert_eq!(rounds, [(2, Bytes::new(3_000_000_000_000), 2), (1, Bytes::new(1_000_000_000_000), 2)]);
    assert_eq!(
        served.rounds[0].round_amount.wei() + served.rounds[1].round_amount.wei(),
        expected.cumulative.wei()
    );

    // An account only in the first round keeps that round's figures.
    let (_, supplier) = get(address, &format!("/v1/suppliers/{b}")).await;
    let served: snm_indexer::model::SupplierView = serde_json::from_value(supplier).unwrap();
    assert_eq!(served.traffic, Bytes::new(2_000_000_000_000));
    assert!(served.rewards_entitled > Snm::ZERO);
    // An account in no round: zero, no rounds.
    let (_, supplier) =
        get(address, &format!("/v1/suppliers/{}", alloy::primitives::Address::repeat_byte(0xc))).await;
    assert_eq!(
        (supplier["traffic"].as_u64(), supplier["rounds"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
