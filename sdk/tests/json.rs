//! The SDK's results print as JSON through `serde` (money and prices as exact decimal text,
//! durations as text, times as unix seconds) and as sentences through `Display`, without a mirror
//! struct of one's own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::time::Duration;

use common::{World, shared, snm};
use serde_json::{Value, json};
use snm_sdk::units::Term;

#[tokio::test]
async fn a_deal_a_runway_and_a_reward_status_print_as_json() {
    let world = World::new(shared().await).await;
    let opened = world.buy(&world.place(|a| a).await, Term::Fixed(Duration::from_secs(7_200))).await.unwrap();
    let deal = world.customer.market().deal(opened.id).await.unwrap().unwrap();

    let printed = serde_json::to_string_pretty(&deal).unwrap();
    println!("{printed}");
    let value: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(value["id"], json!(opened.id.0));
    assert_eq!(value["customer"], json!(format!("{:#x}", world.customer.sender())));
    assert_eq!(value["price"], json!("0.00025 USD/s"), "0.9 USD/h, exactly");
    assert_eq!(value["deposit"], json!("200 SNM"));
    assert_eq!(value["end_time"], json!(opened.start_time + 7_200));
    assert_eq!((&value["closed"], &value["fee_bps"]), (&Value::Null, &json!(0)));
    assert_eq!(serde_json::from_value::<snm_sdk::market::Deal>(value).unwrap(), deal, "and back");
    let opened_json = serde_json::to_value(&opened).unwrap();
    assert_eq!((&opened_json["id"], &opened_json["bid"]), (&json!(opened.id.0), &Value::Null));
    assert_eq!(opened_json["image"], json!("ghcr.io/acme/proxy:1.2"));

    let runway = world.customer.runway(opened.id).await.unwrap();
    let value = serde_json::to_value(runway).unwrap();
    println!("{value}");
    assert_eq!(value["deal"], json!(opened.id.0));
    assert_eq!(value["covers_term"], json!(true));
    assert_eq!(value["until"], json!(opened.start_time + 7_200));
    let lasts = value["lasts"].as_str().unwrap();
    assert_eq!(lasts.parse::<Term>().unwrap().secs(), runway.lasts.as_secs(), "{lasts}");
    assert!(value["deposit_left"].as_str().unwrap().ends_with(" SNM"), "{value}");
    assert!(runway.to_string().starts_with(&format!("deal {}: ", opened.id)), "{runway}");
    assert!(runway.to_string().ends_with(", to the end of its term"), "{runway}");

    let status = world.operator().distributor().unwrap().status().await.unwrap();
    let value = serde_json::to_value(&status).unwrap();
    println!("{value}");
    assert_eq!(
        (&value["round"], &value["total"], &value["pending"]),
        (&json!(0), &json!("0 SNM"), &Value::Null)
    );
    assert!(value["funded"].as_str().unwrap().ends_with(" SNM"), "{value}");
    assert_eq!(value["root"], json!(format!("{:#x}", alloy::primitives::B256::ZERO)));
    assert!(status.to_string().starts_with("no round accepted yet"), "{status}");

    let closed = world.customer.market().close_deal(opened.id, false).await.unwrap();
    let value = serde_json::to_value(&closed).unwrap();
    assert_eq!((&value["id"], &value["reason"]), (&json!(opened.id.0), &json!("by_customer")));
    assert_eq!(closed.paid.checked_add(closed.refund), Some(snm("200 SNM")));
    assert!(
        closed.to_string().starts_with(&format!("deal {} closed (closed by its customer) by ", opened.id)),
        "{closed}"
    );
}
