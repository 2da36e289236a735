//! The agent's market-following pricing against a real market: a devnet, `snm-indexer` following
//! it and relaying signed asks, three other suppliers whose asks (two signed, one placed on chain)
//! move up and down. The agent's pricer (median, floor 1 USD/h, cap 3 USD/h) and its signed-ask
//! publisher re-price its ask each round: the price the relay serves stays within floor and cap,
//! follows the market's median between them, is not re-signed when unchanged, and is not read
//! again before the policy's interval.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use alloy::{primitives::Address, transports::http::reqwest::Url};
use common::Seller;
use snm_agent::{
    AskTemplate,
    pricing::{FollowPolicy, Pricer, PricingPolicy},
    signed_ask_publisher::SignedAskPublisher,
};
use snm_indexer::{Database, Indexer, IndexerConfig, api};
use snm_sdk::{
    devnet::{Devnet, DevnetConfig},
    market::{Ask, PlacedAsk},
    prelude::*,
};

impl Seller {
    fn template(&self, price: &str) -> AskTemplate {
        AskTemplate {
            worker: self.worker,
            price: price.parse().unwrap(),
            resources: Resources::new().cpu_cores(4),
            flags: NetFlags::PUBLIC_IP,
            region: 0,
            min_duration: Duration::from_secs(60),
            max_duration: None,
        }
    }

    fn ask(&self, price: UsdPerSecond) -> Ask {
        Ask { price, ..self.template("3.6 USD/h").ask(self.supplier.master()).unwrap() }
    }
}

fn per_hour(text: &str) -> UsdPerSecond {
    text.parse::<UsdPerHour>().unwrap().to_per_second_up()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_following_the_market_stays_within_floor_and_cap() {
    let devnet =
        Devnet::start_with(DevnetConfig { sweep_interval: None, ..DevnetConfig::default() }).await.unwrap();
    let dir = std::env::temp_dir().join(format!("snm-agent-pricing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = Database::connect(&format!("sqlite://{}", dir.join("index.db").display())).await.unwrap();
    let mut config = IndexerConfig::new(*devnet.deployment(), 0);
    config.poll_interval = Duration::from_millis(50);
    let mut follower = Indexer::new(devnet.provider().clone(), db.clone(), config).await.unwrap();
    let chain_id = alloy::providers::Provider::get_chain_id(devnet.provider()).await.unwrap();
    let relay = api::Relay::new(devnet.provider().clone(), chain_id, devnet.deployment().market);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let indexer: Url = format!("http://{}/", listener.local_addr().unwrap()).parse().unwrap();
    let state = api::AppState { db: db.clone(), health: follower.health(), relay: Some(relay) };
    tokio::spawn(async move { axum_serve(listener, api::router(state)).await });

    let others = [Seller::new(&devnet).await, Seller::new(&devnet).await, Seller::new(&devnet).await];
    let mut others_publisher = SignedAskPublisher::new(&indexer).unwrap();
    let agent = Seller::new(&devnet).await;
    let follow = FollowPolicy {
        percentile: 50,
        floor: "1 USD/h".parse().unwrap(),
        cap: "3 USD/h".parse().unwrap(),
        every: Duration::ZERO,
    };
    let mut pricer = Pricer::new(PricingPolicy::Follow(follow), Some(indexer.clone()));
    let mut publisher = SignedAskPublisher::new(&indexer).unwrap();
    let template = agent.template("7.2 USD/h");

    // The market moves up beyond the cap, down below the floor, back between them.
    let rounds = [
        (["1.5 USD/h", "2 USD/h", "2.5 USD/h"], "2 USD/h"),
        (["5 USD/h", "6 USD/h", "7 USD/h"], "3 USD/h"),
        (["0.2 USD/h", "0.3 USD/h", "0.4 USD/h"], "1 USD/h"),
        (["1.2 USD/h", "1.6 USD/h", "1.4 USD/h"], "1.4 USD/h"),
    ];
    let mut placed: Option<PlacedAsk> = None;
    for (market, expected) in rounds {
        // Two sellers re-price their signed asks (free), the third re-places on chain.
        for (seller, price) in others[..2].iter().zip(&market[..2]) {
            let ask = seller.ask(per_hour(price));
            others_publisher.publish(seller.supplier.market(), &seller.key, ask).await.unwrap();
        }
        let third = &others[2].supplier;
        if let Some(old) = placed.take() {
            third.market().cancel_ask(&old).await.unwrap();
        }
        placed = Some(third.market().place_ask(&others[2].ask(per_hour(market[2]))).await.unwrap());
        follower.catch_up().await.unwrap();

        let price = pricer.price(&template, agent.supplier.master()).await.unwrap();
        let posted = publisher.publish(agent.supplier.market(), &agent.key, agent.ask(price)).await.unwrap();
        assert!(posted.is_some(), "a new price is signed and posted");
        let served = served_price(&indexer, agent.supplier.master()).await;
        eprintln!("market {market:?}: the agent asks {}", served.to_per_hour());
        assert_eq!(served, price);
        assert!(
            per_hour("1 USD/h") <= served && served <= per_hour("3 USD/h"),
            "{served:?} within floor and cap"
        );
        assert!(
            about(served, per_hour(expected)),
            "{served:?}: the median within floor and cap is {expected}"
        );
        // Unchanged: nothing signed again.
        let again = pricer.price(&template, agent.supplier.master()).await.unwrap();
        assert_eq!(again, price);
        assert!(
            publisher.publish(agent.supplier.market(), &agent.key, agent.ask(again)).await.unwrap().is_none()
        );
    }

    // At most every `every`: a pricer that just read the market keeps its price however it moves.
    let hourly = FollowPolicy { every: Duration::from_secs(3600), ..follow };
    let mut slow = Pricer::new(PricingPolicy::Follow(hourly), Some(indexer.clone()));
    let before = slow.price(&template, agent.supplier.master()).await.unwrap();
    for seller in &others[..2] {
        others_publisher
            .publish(seller.supplier.market(), &seller.key, seller.ask(per_hour("2.9 USD/h")))
            .await
            .unwrap();
    }
    assert_eq!(slow.price(&template, agent.supplier.master()).await.unwrap(), before);
    assert_eq!(pricer.price(&template, agent.supplier.master()).await.unwrap(), per_hour("2.9 USD/h"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Equal but for the rounding of a price per hour to one per second.
fn about(a: UsdPerSecond, b: UsdPerSecond) -> bool {
    a.max(b).scaled() - a.min(b).scaled() <= alloy::primitives::U256::from(1u8)
}

async fn axum_serve(listener: tokio::net::TcpListener, router: axum::Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

/// The price of `master`'s signed ask as the relay serves it.
async fn served_price(indexer: &Url, master: Address) -> UsdPerSecond {
    let url = indexer.join(&format!("v1/asks?master={master}")).unwrap();
    let page: serde_json::Value =
        alloy::transports::http::reqwest::get(url).await.unwrap().json().await.unwrap();
    let signed = page["signed_asks"].as_array().unwrap();
    assert_eq!(signed.len(), 1, "{page}");
    serde_json::from_value(signed[0]["ask"]["price"].clone()).unwrap()
}
