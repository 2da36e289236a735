//! Signed asks through `snm` against a devnet and a real `snm-indexer` relaying them: `snm supplier
//! ask place --signed` posts one (no transaction), `snm customer buy --indexer` chooses it and the
//! deal is opened by `quickBuySigned` (checked in the transaction and its `DealOpened`); a shortfall
//! counts signed asks; `--out` writes one, `ask cancel --signed` voids it and `ask publish` then
//! prints the relay's reason (the nonce) and fails; `customer buy --signed-ask FILE` buys a file's
//! ask, and a bad or tampered file is refused with nothing sent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod harness;

use std::time::Duration;

use alloy::{
    consensus::Transaction as _,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolEvent},
};
use harness::{
    Scene, assert_has,
    indexer::{Indexer, wait_until},
};
use serde::Deserialize;
use snm_sdk::{
    bindings::{Market, MarketSignedAsks},
    devnet::DevnetConfig,
    market::{AskId, DealOpened, SignedAsk},
    units::UsdPerHour,
};

const PLACE: &[&str] = &["supplier", "ask", "place"];
const BUY: &[&str] = &["customer", "buy"];
/// The customer's proxy secret: 128 random bits in hexadecimal.
const SECRET: &str = "7d1e0c9b8a6f5e4d3c2b1a0f9e8d7c6b";

#[derive(Debug, Deserialize)]
struct SignedReport {
    result: String,
    ask: SignedAsk,
    relayed: Option<Relayed>,
}

#[derive(Debug, Deserialize)]
struct Relayed {
    nonce: u64,
    replaced: bool,
}

#[derive(Debug, Deserialize)]
struct Cancelled {
    result: String,
    nonce: u64,
}

#[derive(Debug, Deserialize)]
struct BuyReport {
    picks: Vec<Pick>,
    deals: Vec<Bought>,
}

#[derive(Debug, Deserialize)]
struct Pick {
    ask: AskId,
    signed: bool,
}

#[derive(Debug, Deserialize)]
struct Bought {
    deal: DealOpened,
}

/// The function the transaction that opened `deal` called, and whether it succeeded.
async fn opened_by(provider: &DynProvider, market: Address, deal: &DealOpened) -> ([u8; 4], bool) {
    let filter = Filter::new()
        .address(market)
        .event_signature(Market::DealOpened::SIGNATURE_HASH)
        .topic1(B256::from(deal.id.word()))
        .from_block(0);
    let logs = provider.get_logs(&filter).await.unwrap();
    assert_eq!(logs.len(), 1, "one DealOpened of deal {}", deal.id);
    let opened = Market::DealOpened::decode_log_data(logs[0].data()).unwrap();
    assert_eq!(
        (opened.info.askId, opened.info.worker),
        (U256::ZERO, deal.worker),
        "a signed deal has ask id 0"
    );
    let hash = logs[0].transaction_hash.unwrap();
    let transaction = provider.get_transaction_by_hash(hash).await.unwrap().unwrap();
    let receipt = provider.get_transaction_receipt(hash).await.unwrap().unwrap();
    (transaction.input()[..4].try_into().unwrap(), receipt.status())
}

/// `snm customer buy --signed-ask FILE` for an hour, 200 SNM at most.
async fn buy_file(scene: &Scene, key: &PrivateKeySigner, path: &std::path::Path) -> harness::Run {
    let path = path.display().to_string();
    let args = [
        "--signed-ask",
        &path,
        "--term",
        "1h",
        "--budget",
        "200 SNM",
        "--image",
        "proxy:1",
        "--secret",
        SECRET,
        "--json",
    ];
    scene.run(BUY, Some(key), &args).await
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

async fn sent_by(provider: &DynProvider, account: Address) -> u64 {
    provider.get_transaction_count(account).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_asks_placed_relayed_bought_cancelled_and_taken_from_a_file() {
    let scene = Scene::start("signed-asks", DevnetConfig { accounts: 3, ..Default::default() }).await;
    let provider = scene.devnet.provider().clone();
    let market = scene.devnet.deployment().market;
    let master = scene.devnet.signer(2).unwrap().clone();
    let supplier = scene.devnet.supplier(2).unwrap();
    let worker = scene.devnet.connect(&scene.devnet.new_account(snm_sdk::units::Snm::ZERO).await.unwrap());
    supplier.register_worker(&worker).await.unwrap();
    let worker_hex = worker.sender().to_string();
    let customer_key = scene.devnet.signer(1).unwrap().clone();
    let customer = scene.devnet.customer(1).unwrap();
    let mut indexer = Indexer::start(&scene).await;
    let url = indexer.url.clone();
    let ask_args = |price: &'static str| -> Vec<String> {
        ["--signed", "--worker", worker_hex.as_str(), "--price", price, "--cores", "4", "--ram", "8GiB"]
            .map(str::to_owned)
            .to_vec()
    };

    // A signed ask must go somewhere; nothing is signed or sent otherwise.
    let nowhere = scene.run(PLACE, Some(&master), &refs(&ask_args("0.72 USD/h"))).await;
    assert_has(nowhere.failed_with(2), &["--indexer", "--out"]);

    // Placed signed to the relay: no transaction of the master's, nonce 0, served by the indexer.
    let sent = sent_by(&provider, master.address()).await;
    let mut args = ask_args("0.72 USD/h");
    args.extend(["--indexer".to_owned(), url.clone(), "--json".to_owned()]);
    let run = scene.run(PLACE, Some(&master), &refs(&args)).await;
    run.ok();
    let placed: SignedReport = run.json();
    assert_eq!(placed.result, "signed");
    assert_eq!(
        (placed.ask.nonce, placed.relayed.as_ref().map(|r| (r.nonce, r.replaced))),
        (0, Some((0, false)))
    );
    assert_eq!(placed.ask.ask.price, "0.72 USD/h".parse::<UsdPerHour>().unwrap().to_per_second().unwrap());
    assert_eq!(sent_by(&provider, master.address()).await, sent, "signing an ask sends nothing");
    let page: serde_json::Value =
        alloy::transports::http::reqwest::get(format!("{url}v1/asks")).await.unwrap().json().await.unwrap();
    assert_eq!(page["signed_asks"], serde_json::to_value(vec![&placed.ask]).unwrap());

    // Nothing fits 64 cores: the shortfall counts the signed ask.
    let short = scene
        .run(
            BUY,
            Some(&customer_key),
            &["--indexer", &url, "--term", "2h", "--budget", "200 SNM", "--cores", "64", "--dry-run"],
        )
        .await;
    assert_has(short.failed_with(5), &["open asks                  1", "1 short of resources"]);

    // The customer buys through the indexer's book: the signed ask, by quickBuySigned.
    let run = scene
        .run(
            BUY,
            Some(&customer_key),
            &[
                "--json",
                "--indexer",
                &url,
                "--term",
                "2h",
                "--budget",
                "200 SNM",
                "--cores",
                "4",
                "--image",
                "proxy:1",
                "--secret",
                SECRET,
            ],
        )
        .await;
    run.ok();
    let bought: BuyReport = run.json();
    assert_eq!(bought.picks.iter().map(|p| (p.ask, p.signed)).collect::<Vec<_>>(), vec![(AskId(0), true)]);
    let deal = &bought.deals[0].deal;
    assert_eq!(
        (deal.worker, deal.master, deal.price),
        (worker.sender(), master.address(), placed.ask.ask.price)
    );
    let (selector, succeeded) = opened_by(&provider, market, deal).await;
    assert_eq!(selector, MarketSignedAsks::quickBuySignedCall::SELECTOR, "opened by quickBuySigned");
    assert!(succeeded);
    assert_eq!(supplier.market().ask_nonce(worker.sender()).await.unwrap(), 1, "buying moved the nonce on");
    customer.market().close_deal(deal.id, false).await.unwrap();

    // Signed to a file for nonce 1, then every signed ask of the worker cancelled: the relay
    // refuses the file's ask, naming the nonce, and `publish` fails.
    let file = scene.path("ask.json");
    let mut args = ask_args("0.9 USD/h");
    args.extend(["--out".to_owned(), file.display().to_string()]);
    scene.run(PLACE, Some(&master), &refs(&args)).await.ok();
    let written: SignedAsk = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written.nonce, 1);
    let run = scene
        .run(&["supplier", "ask", "cancel"], Some(&master), &["--signed", "--worker", &worker_hex, "--json"])
        .await;
    run.ok();
    let cancelled: Cancelled = run.json();
    assert_eq!((cancelled.result.as_str(), cancelled.nonce), ("signed-cancelled", 2));
    let refused = scene
        .run(&["supplier", "ask", "publish"], None, &[&file.display().to_string(), "--indexer", &url])
        .await;
    assert_has(
        refused.failed_with(3),
        &["refused the signed ask (nonce)", "signed for nonce 1", "current ask nonce is 2"],
    );

    // The SDK's stream of market events reads past the cancellation's event (a `MarketEvents` it
    // is not: it comes from the market's delegatecalled part).
    let events = customer.market().events(snm_sdk::events::EventCursor::default()).poll().await.unwrap();
    assert!(events.iter().any(|e| matches!(e.event, Market::MarketEvents::DealOpened(_))));

    // The indexer ingests the cancellation's event (emitted from the market's address by its
    // delegatecalled part) and keeps serving.
    let head = provider.get_block_number().await.unwrap();
    let health = format!("{url}v1/health");
    wait_until("the indexer past the cancellation", Duration::from_secs(30), || {
        let health = health.clone();
        async move {
            let Ok(answer) = alloy::transports::http::reqwest::get(&health).await else { return false };
            let body: serde_json::Value = answer.json().await.unwrap_or_default();
            body["indexed_block"].as_u64() >= Some(head) && body["status"] == "ok"
        }
    })
    .await;

    // `customer buy --signed-ask FILE`: a bad file and a tampered ask are refused, nothing sent.
    let fresh = scene.path("fresh.json");
    let mut args = ask_args("0.9 USD/h");
    args.extend(["--out".to_owned(), fresh.display().to_string()]);
    scene.run(PLACE, Some(&master), &refs(&args)).await.ok();
    let garbage = scene.path("garbage.json");
    std::fs::write(&garbage, "{\"ask\": 1}").unwrap();
    let mut tampered: SignedAsk = serde_json::from_slice(&std::fs::read(&fresh).unwrap()).unwrap();
    tampered.ask.price = "0.09 USD/h".parse::<UsdPerHour>().unwrap().to_per_second().unwrap();
    let tampered_file = scene.path("tampered.json");
    std::fs::write(&tampered_file, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let sent = sent_by(&provider, customer.sender()).await;
    let bad = buy_file(&scene, &customer_key, &garbage).await;
    assert_eq!(bad.code, Some(2));
    assert_has(&bad.json_error().message, &[&garbage.display().to_string(), "not a signed ask"]);
    let forged = buy_file(&scene, &customer_key, &tampered_file).await;
    assert_eq!(forged.code, Some(2));
    assert_has(&forged.json_error().message, &[&tampered_file.display().to_string(), "not by its master"]);
    let missing = buy_file(&scene, &customer_key, &scene.path("missing.json")).await;
    assert_eq!(missing.code, Some(5));
    assert_eq!(sent_by(&provider, customer.sender()).await, sent, "nothing sent for a bad file");

    let run = buy_file(&scene, &customer_key, &fresh).await;
    run.ok();
    let bought: BuyReport = run.json();
    let deal = &bought.deals[0].deal;
    assert_eq!((deal.ask, deal.worker), (AskId(0), worker.sender()));
    assert_eq!(deal.price, "0.9 USD/h".parse::<UsdPerHour>().unwrap().to_per_second().unwrap());
    let (selector, succeeded) = opened_by(&provider, market, deal).await;
    assert_eq!((selector, succeeded), (MarketSignedAsks::quickBuySignedCall::SELECTOR, true));
    assert_eq!(supplier.market().ask_nonce(worker.sender()).await.unwrap(), 3);
    indexer.stop();
}
