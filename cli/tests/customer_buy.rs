//! `snm customer buy` against a devnet: a supplier's workers and asks placed through the SDK, then
//! the program run as a customer would run it; its output and the deals on chain checked. Also what
//! it says when nothing fits, its refusals (bad key, no tokens), and a supplier that announces no
//! endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod harness;

use std::time::Duration;

use alloy::{primitives::Address, providers::DynProvider};
use harness::{Scene, assert_has, snm};
use snm_cli::purchase::{self, Buyer, Needs, Order};
use snm_sdk::{
    Client, Supplier,
    devnet::DevnetConfig,
    events::EventCursor,
    market::{Ask, DealOpened, OpenAsk, PlacedAsk, Purchase},
    proxy_client::ProxySecret,
    supplier::DealEvent,
    units::{Bytes, NetFlags, Resources, Snm, Term, UsdPerHour},
};

const BUY: &[&str] = &["customer", "buy"];
/// The customer's proxy secret: 128 random bits in hexadecimal.
const SECRET: &str = "c2a4f0e19b7d3865a1f4e6b92d0c7a35";
/// The certificate fingerprint the suppliers' endpoints name (64 hexadecimal digits).
const PIN: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn config_hash(secret: &str) -> alloy::primitives::B256 {
    ProxySecret::new(secret).unwrap().config_hash()
}

/// A supplier (account 2) and its machines, each a new account with its own key.
struct Market {
    supplier: Supplier<DynProvider>,
    workers: Vec<Client<DynProvider>>,
}

impl Market {
    async fn new(scene: &Scene, machines: usize) -> Self {
        let supplier = scene.devnet.supplier(2).unwrap();
        let mut workers = Vec::new();
        for _ in 0..machines {
            let worker = scene.devnet.connect(&scene.devnet.new_account(Snm::ZERO).await.unwrap());
            supplier.register_worker(&worker).await.unwrap();
            workers.push(worker);
        }
        Self { supplier, workers }
    }

    /// An ask of machine `k` at `per_hour` with `cores` cores, 16 GiB (32 with 8 cores or more),
    /// public IP and incoming connections, region 276, any term.
    async fn offer(&self, k: usize, per_hour: &str, cores: u64) -> PlacedAsk {
        let price = per_hour.parse::<UsdPerHour>().unwrap().to_per_second().unwrap();
        let ram = Bytes::from_gib(if cores >= 8 { 32 } else { 16 });
        let ask = Ask::new(self.supplier.master(), self.workers[k].sender(), price)
            .resources(Resources::new().cpu_cores(cores).ram(ram))
            .flags(NetFlags::PUBLIC_IP | NetFlags::INCOMING)
            .region(276);
        self.supplier.market().place_ask(&ask).await.unwrap()
    }
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|line| line.contains(needle)).collect()
}

#[tokio::test]
async fn buys_the_cheapest_fitting_machines_and_prints_the_deals() {
    let scene =
        Scene::start("customer-purchase-buys", DevnetConfig { accounts: 3, ..Default::default() }).await;
    let market = Market::new(&scene, 3).await;
    let cheap = market.offer(0, "0.72 USD/h", 4).await;
    let second_of_same_machine = market.offer(0, "0.9 USD/h", 4).await;
    let big = market.offer(1, "1.8 USD/h", 8).await;
    let too_small = market.offer(2, "0.36 USD/h", 2).await;
    let key = scene.devnet.signer(1).unwrap().clone();
    let customer = scene.devnet.customer(1).unwrap();
    let wanted = [
        "--term",
        "2h",
        "--budget",
        "400 SNM",
        "--cores",
        "4",
        "--ram",
        "16GiB",
        "--net",
        "public-ip,incoming",
    ];

    // A dry run (no key needed) shows the two machines it would take: the cheapest ask of each.
    let dry = scene.run(BUY, None, &[&wanted[..], &["--count", "2", "--dry-run"]].concat()).await;
    let out = dry.ok();
    assert_has(
        out,
        &["2 machines, for 2h, up to 400 SNM each, at 100 SNM/USD:", "total deposit 504 SNM", "dry run"],
    );
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.contains(&market.workers[0].sender().to_string())
                || l.contains(&market.workers[1].sender().to_string())
        })
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[0].trim_start().starts_with(&cheap.id.to_string())
            && rows[0].contains("0.72 USD/h")
            && rows[0].contains("144 SNM"),
        "{out}"
    );
    assert!(
        rows[1].trim_start().starts_with(&big.id.to_string())
            && rows[1].contains("1.8 USD/h")
            && rows[1].contains("360 SNM"),
        "{out}"
    );
    assert!(rows[1].contains("public-ip,incoming") && rows[1].contains("32 GiB"), "{out}");
    assert!(!out.contains(&too_small.ask.worker.to_string()), "{out}");
    assert!(
        customer.market().deals_of(customer.sender()).await.unwrap().is_empty(),
        "a dry run buys nothing"
    );

    // The suppliers' side announces an endpoint for each deal as it opens.
    let announcer = {
        let supplier = market.supplier.clone();
        let from = EventCursor::from_block(scene.devnet.block_number().await.unwrap());
        tokio::spawn(async move {
            let mut watch = supplier.watch_deals(from);
            let mut opened: Vec<DealOpened> = Vec::new();
            while opened.len() < 2 {
                if let DealEvent::Opened(deal) = watch.next().await.unwrap().event {
                    supplier
                        .market()
                        .announce_endpoint(deal.id, &format!("198.51.100.{}:3128#sha256={PIN}", deal.id.0))
                        .await
                        .unwrap();
                    opened.push(deal);
                }
            }
            opened
        })
    };
    let before = customer.token().balance(customer.sender()).await.unwrap();
    let args = [
        &wanted[..],
        &["--count", "2", "--image", "ghcr.io/acme/proxy:1.2", "--secret", SECRET, "--wait-endpoint", "20s"],
    ]
    .concat();
    let bought = scene.run(BUY, Some(&key), &args).await;
    let out = bought.ok();
    let opened = tokio::time::timeout(Duration::from_secs(10), announcer).await.unwrap().unwrap();
    assert_has(out, &["approved the market to take 504 SNM", "bought 2 deals for 504 SNM in deposits"]);
    assert_has(
        out,
        &[&format!("config   {} (keccak256 of the workload configuration)", config_hash(SECRET))],
    );
    for deal in &opened {
        assert_has(
            out,
            &[
                &format!("deal {}\n", deal.id),
                &format!("deal {} serves at 198.51.100.{}:3128#sha256={PIN}\n", deal.id, deal.id.0),
                &format!("TLS certificate sha256 {PIN}"),
            ],
        );
        assert_eq!(deal.config_hash, config_hash(SECRET));
        assert_eq!(deal.image, "ghcr.io/acme/proxy:1.2");
    }
    assert_eq!(lines_with(out, "runway   2h, covers the term").len(), 2, "{out}");

    // On chain: two deals of this customer, on the two machines, at the asks' prices, for 2 h.
    let deals = customer.market().deals_of(customer.sender()).await.unwrap();
    let terms: Vec<(Address, Snm, Option<u64>)> =
        deals.iter().map(|d| (d.worker, d.deposit, d.end_time.map(|end| end - d.settled_until))).collect();
    assert_eq!(
        terms,
        vec![(cheap.ask.worker, snm("144 SNM"), Some(7_200)), (big.ask.worker, snm("360 SNM"), Some(7_200))]
    );
    assert_eq!((deals[0].price, deals[1].price), (cheap.ask.price, big.ask.price));
    assert!(deals.iter().all(|d| d.customer == customer.sender() && d.master == market.supplier.master()));
    assert_eq!(
        customer.token().balance(customer.sender()).await.unwrap(),
        before.checked_sub(snm("504 SNM")).unwrap()
    );

    // Spot with a permit: the other ask of the first machine (still open), the whole budget as deposit.
    let allowance = customer.token().allowance(customer.sender(), customer.market().address()).await.unwrap();
    let spot = scene
        .run(
            BUY,
            Some(&key),
            &["--term", "spot", "--budget", "100 SNM", "--cores", "4", "--image", "nginx", "--permit"],
        )
        .await;
    let out = spot.ok();
    assert_has(
        out,
        &[
            "spot (runs while the deposit lasts)",
            "deposit  100 SNM",
            "runway   1h6m",
            "bought 1 deal for 100 SNM",
        ],
    );
    assert!(!out.contains("approved"), "{out}");
    let deals = customer.market().deals_of(customer.sender()).await.unwrap();
    let last = deals.last().unwrap();
    assert_eq!(
        (last.worker, last.price, last.deposit, last.end_time),
        (second_of_same_machine.ask.worker, second_of_same_machine.ask.price, snm("100 SNM"), None)
    );
    assert_eq!(
        customer.token().allowance(customer.sender(), customer.market().address()).await.unwrap(),
        allowance,
        "a permit leaves the allowance alone"
    );
}

#[tokio::test]
async fn says_why_nothing_fits_and_refuses_bad_keys() {
    let scene =
        Scene::start("customer-purchase-refuses", DevnetConfig { accounts: 3, ..Default::default() }).await;
    let market = Market::new(&scene, 2).await;
    let fitting = market.offer(0, "1.8 USD/h", 4).await;
    market.offer(1, "0.36 USD/h", 2).await;
    let key = scene.devnet.signer(1).unwrap().clone();
    let customer = scene.devnet.customer(1).unwrap();
    let before = customer.token().balance(customer.sender()).await.unwrap();
    let buy = |budget: &'static str, count: &'static str| {
        ["--term", "2h", "--budget", budget, "--cores", "4", "--image", "nginx", "--count", count]
    };

    // Over budget: it says how many asks there are, which fit, and what the cheapest costs.
    let over = scene.run(BUY, Some(&key), &buy("100 SNM", "1")).await;
    let err = over.failed();
    assert_has(
        err,
        &[
            "nothing fits: 0 machines within the budget, 1 wanted",
            "open asks                  2",
            "left out                   1 short of resources",
            "meeting the requirements   1 ask on 1 machine",
            "budget                     100 SNM pays up to about 0.5 USD/h for 2h at 100 SNM/USD",
            &format!(
                "cheapest meeting them      ask {} at 1.8 USD/h: 360 SNM for 2h, above the budget",
                fitting.id
            ),
        ],
    );
    // More machines than fit.
    let too_many = scene.run(BUY, Some(&key), &buy("400 SNM", "2")).await;
    assert_has(too_many.failed(), &["nothing fits: 1 machine within the budget, 2 wanted"]);

    // Keys: malformed, missing, or an account without tokens.
    let malformed = scene.run(BUY, None, &[&["--key", "0x1234"], &buy("400 SNM", "1")[..]].concat()).await;
    assert_has(malformed.failed(), &["(SNM_KEY) is not a private key"]);
    let missing = scene.run(BUY, None, &buy("400 SNM", "1")).await;
    assert_has(missing.failed(), &["no account: pass --account NAME (SNM_ACCOUNT) or --private-key-env VAR"]);
    let poor = scene.devnet.new_account(Snm::ZERO).await.unwrap();
    let broke = scene.run(BUY, Some(&poor), &buy("400 SNM", "1")).await;
    assert_has(broke.failed(), &[&format!("{} has 0 SNM of token balance, 360 SNM needed", poor.address())]);
    // A secret whose public keccak could be reversed by guessing.
    let guessable =
        scene.run(BUY, Some(&key), &[&buy("400 SNM", "1")[..], &["--secret", "s3cret"]].concat()).await;
    assert_has(guessable.failed(), &["the proxy secret (6 characters) holds at most about", "must hold 128"]);
    // A requirement that does not parse is refused by the argument parser (exit code 2).
    let bad_flag =
        scene.run(BUY, Some(&key), &[&buy("400 SNM", "1")[..], &["--net", "public"]].concat()).await;
    assert_eq!(bad_flag.code, Some(2));
    assert_has(
        &bad_flag.stderr,
        &[
            "invalid value 'public' for '--net <FLAGS>'",
            "it names no known flag",
            "public-ip, incoming, outbound, ipv6",
        ],
    );

    // Nothing was bought or spent.
    assert!(customer.market().deals_of(customer.sender()).await.unwrap().is_empty());
    assert_eq!(customer.token().balance(customer.sender()).await.unwrap(), before);

    // Bought, but the supplier announces no endpoint in time: the deal stands, the run fails.
    let silent =
        scene.run(BUY, Some(&key), &[&buy("400 SNM", "1")[..], &["--wait-endpoint", "1s"]].concat()).await;
    let err = silent.failed();
    let deals = customer.market().deals_of(customer.sender()).await.unwrap();
    assert_eq!((deals.len(), deals[0].worker), (1, fitting.ask.worker));
    assert_has(&silent.stdout, &[&format!("deal {}\n", deals[0].id), "bought 1 deal for 360 SNM"]);
    assert_has(err, &[&format!("no endpoint announced within 1s for deal {}", deals[0].id)]);
}

/// The cheapest ask is taken by another customer between the plan and the purchase: the buyer
/// takes the next best machine instead; when no other machine fits, it says so (`None`).
#[tokio::test]
async fn replaces_an_ask_taken_meanwhile_by_the_next_best_machine() {
    let scene =
        Scene::start("customer-purchase-replaces", DevnetConfig { accounts: 4, ..Default::default() }).await;
    let market = Market::new(&scene, 2).await;
    let cheap = market.offer(0, "0.72 USD/h", 4).await;
    let next = market.offer(1, "0.9 USD/h", 4).await;
    let customer = scene.devnet.customer(1).unwrap();
    let rival = scene.devnet.customer(3).unwrap();
    let needs = Needs { cores: Some(4), ..Needs::default() };
    let order = Order {
        wanted: needs.requirements(Term::Fixed(Duration::from_secs(7200))),
        budget: snm("400 SNM"),
        count: 1,
    };

    let book = customer.market().order_book().await.unwrap();
    let plan = purchase::plan(&customer, &book, &order).await.unwrap();
    assert_eq!(plan.picks.len(), 1);
    let pick = plan.picks[0].clone();
    assert_eq!(pick.ask, OpenAsk::Placed(cheap), "the plan takes the cheapest ask");

    // Another customer buys it first.
    rival.token().approve_market(pick.deposit).await.unwrap();
    let taken = rival.buy(&pick.ask, &Purchase::new(order.wanted.term, pick.deposit, "rival")).await.unwrap();

    let mut buyer = Buyer {
        customer: &customer,
        book,
        order: &order,
        rule: plan.rule,
        machines: [pick.ask.worker()].into(),
        image: "proxy:1".into(),
        config_hash: config_hash(SECRET),
        permit: None,
        frame: snm_cli::output::Frame::default(),
    };
    let deal = buyer.buy(pick.clone(), pick.deposit).await.unwrap().expect("the next best machine");
    assert_eq!(deal.ask, next.id, "bought the next best ask");
    assert_eq!(deal.worker, market.workers[1].sender());
    assert_ne!(deal.id, taken.id);
    assert_eq!(
        customer.market().deals_of(customer.sender()).await.unwrap().len(),
        1,
        "one deal, on the other machine"
    );

    // Both machines are taken now: nothing else fits.
    let again = buyer.buy(pick, snm("144 SNM")).await.unwrap();
    assert!(again.is_none(), "no machine left: {again:?}");
    assert_eq!(customer.market().deals_of(customer.sender()).await.unwrap().len(), 1, "nothing more bought");
}
