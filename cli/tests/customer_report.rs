//! `snm customer report` against a devnet: a deal bought through the SDK, its traffic counted by
//! the SDK's `DealMeters` and saved, the report written and signed by the program, then a round in
//! which the supplier inflates its figure: paid on the customer's count and listed, exact amounts.
//! Also its refusals: a deal not in the traffic file, a deal of another customer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod harness;

use std::time::Duration;

use harness::{Scene, assert_has};
use snm_sdk::{
    devnet::DevnetConfig,
    market::{Ask, Purchase},
    proxy_client::{DealMeters, ProxyEndpoint},
    rewards::{Campaign, ReportSignature, RoundInputs, compute_round_with},
    units::{Bytes, Snm, SnmPerUsd, Term, UsdPerHour},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REPORT: &[&str] = &["customer", "report"];
/// An endpoint as the supplier's agent announces it (no proxy needs to run: the bytes are metered
/// on an in-memory stream).
const ENDPOINT: &str =
    "127.0.0.11:4000#sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[tokio::test]
async fn the_customers_signed_count_pays_an_inflating_supplier_on_its_figure() {
    let scene = Scene::start("customer-report", DevnetConfig { accounts: 4, ..Default::default() }).await;
    let supplier = scene.devnet.supplier(2).unwrap();
    let worker = scene.devnet.connect(&scene.devnet.new_account(Snm::ZERO).await.unwrap());
    supplier.register_worker(&worker).await.unwrap();
    let price = "0.36 USD/h".parse::<UsdPerHour>().unwrap().to_per_second().unwrap();
    let ask =
        supplier.market().place_ask(&Ask::new(supplier.master(), worker.sender(), price)).await.unwrap();
    let customer = scene.devnet.customer(1).unwrap();
    let key = scene.devnet.signer(1).unwrap().clone();
    let term = Duration::from_secs(3_600);
    let purchase = Purchase::new(Term::Fixed(term), Snm::from_whole(100), "snm/proxy:1");
    let opened = customer.quick_buy(&ask, &purchase).await.unwrap();

    // The customer's program moves 600,000 bytes out and 400,000 back through the deal's tunnel.
    let meters = DealMeters::new();
    meters.track(&opened, &ENDPOINT.parse::<ProxyEndpoint>().unwrap()).unwrap();
    let (near, mut far) = tokio::io::duplex(1 << 16);
    let mut tunnel = meters.meter(opened.id, near).unwrap();
    let echo = tokio::spawn(async move {
        let mut got = vec![0u8; 600_000];
        far.read_exact(&mut got).await.unwrap();
        far.write_all(&got[..400_000]).await.unwrap();
    });
    tunnel.write_all(&[7u8; 600_000]).await.unwrap();
    let mut back = vec![0u8; 400_000];
    tunnel.read_exact(&mut back).await.unwrap();
    echo.await.unwrap();
    let traffic = scene.path("traffic.json");
    meters.save(&traffic).unwrap();

    let out = scene.path("customer.csv");
    let (traffic_arg, out_arg) = (traffic.display().to_string(), out.display().to_string());
    let id = opened.id.to_string();
    let run =
        scene.run(REPORT, Some(&key), &["--traffic", &traffic_arg, "--deal", &id, "--out", &out_arg]).await;
    let start = opened.start_time;
    assert_has(
        run.ok(),
        &[
            &format!(
                "deal {id}: 1000000 B on 127.0.0.11 of {}, {start} to {}",
                supplier.master(),
                start + 3_600
            ),
            &format!("signed by {}", key.address()),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!(
            "account,ip,bytes,period_start,period_end\n{},127.0.0.11,1000000,{start},{}\n",
            supplier.master(),
            start + 3_600
        )
    );
    assert_eq!(ReportSignature::verify_file(&out).unwrap(), key.address());

    // The supplier says 3,000,000 bytes for the same deal: paid on the customer's 1,000,000 and
    // listed. At 25 SNM/USD, 1 TB is 100 SNM: 50 SNM for the IP + 0.0001 SNM.
    let supplier_report = scene.path("supplier.csv");
    std::fs::write(
        &supplier_report,
        format!(
            "account,ip,bytes,period_start,period_end\n{},127.0.0.11,3000000,{start},{}\n",
            supplier.master(),
            start + 3_599
        ),
    )
    .unwrap();
    let campaign = Campaign {
        allow_private_ips: true,
        traffic_tolerance: Some("5%".parse().unwrap()),
        ..Campaign::operation_a(SnmPerUsd::from_whole(25))
    };
    let inputs = RoundInputs {
        reports: vec![supplier_report],
        customer_reports: vec![out.clone()],
        ..RoundInputs::default()
    };
    let round = compute_round_with(&campaign, None, &inputs).unwrap();
    let account = round.account(supplier.master()).unwrap();
    assert_eq!(
        (account.ips, account.bytes, account.cumulative),
        (1, Bytes::new(1_000_000), Snm::from_wei(50_000_100_000_000_000_000u128.try_into().unwrap()))
    );
    let listed: Vec<_> = round
        .discrepancies()
        .iter()
        .map(|d| (d.account, d.period_start, d.supplier_bytes, d.customer_bytes, d.paid_bytes))
        .collect();
    assert_eq!(
        listed,
        vec![(
            supplier.master(),
            start,
            Some(Bytes::new(3_000_000)),
            Some(Bytes::new(1_000_000)),
            Bytes::new(1_000_000)
        )]
    );

    // A deal the traffic file does not meter: not found, nothing written.
    let other_out = scene.path("other.csv");
    let other_arg = other_out.display().to_string();
    let run = scene
        .run(REPORT, Some(&key), &["--traffic", &traffic_arg, "--deal", "999", "--out", &other_arg])
        .await;
    assert_has(run.failed_with(5), &["deal 999 is not in the traffic file"]);
    // Another account cannot report the customer's deal.
    let stranger = scene.devnet.signer(3).unwrap().clone();
    let run = scene.run(REPORT, Some(&stranger), &["--traffic", &traffic_arg, "--out", &other_arg]).await;
    assert_has(
        run.failed_with(2),
        &[&format!("deal {id} was bought by {}, not by {}", key.address(), stranger.address())],
    );
    assert!(!other_out.exists());
}
