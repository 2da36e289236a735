//! Market figures of the SDK (`make bench-sdk`, release build):
//!
//! 1. The best ask among 100,000 (a pure in-memory query of the order book): the time to build the
//!    book from placement events and the time per query, for a common, a selective and an
//!    impossible requirement (the impossible one scans every ask under its price limit).
//! 2. 1,000 deals opened through the SDK (`Customer::quick_buy`) against a devnet: one customer,
//!    one deal at a time, which splits the time between the SDK and the node; then, on a fresh
//!    devnet, eight customers at once, for throughput.
//!
//! How the SDK's share is measured. Anvil runs in its own process, so the bench process's CPU time
//! (user + system, from `/proc/self/stat`) is the SDK's side of the work: its own code (checks,
//! ABI encoding, building, signing, decoding receipts and errors) with alloy, reqwest and tokio
//! under it. With one deal at a time, the rest of the wall time is waiting on the node: in
//! JSON-RPC requests (measured by a transport layer that adds up each request's wall time from
//! when it enters the HTTP transport until its response is back, per method), and between
//! receipt polls while anvil mines the block (the remainder).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is the point

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, U256},
    providers::DynProvider,
    rpc::{
        client::ClientBuilder,
        json_rpc::{RequestPacket, ResponsePacket},
    },
    signers::local::PrivateKeySigner,
    transports::{TransportError, TransportFut},
};
use snm_sdk::{
    Client, Customer, OrderBook, Supplier,
    bindings::Market::{AskPlaced, MarketEvents},
    devnet::{Devnet, DevnetConfig},
    events::Event,
    market::{Ask, PlacedAsk, Purchase, Requirements},
    provider::{self, NonceLayer, RetryReadsLayer},
    tx::TxOptions,
    units::{Bytes, NetFlags, Resources, Snm, Term, UsdPerSecond},
};
use tokio::task::JoinSet;

/// Asks in the order book: 100,000, or 1,000 under `cargo test`.
fn book_asks() -> usize {
    if full() { 100_000 } else { 1_000 }
}
/// Whether this is `cargo bench` (full sizes) rather than `cargo test --all-targets`, which runs
/// the bench at tiny sizes as a smoke test.
fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Deals per phase: 1,000, or `BENCH_DEALS`; 20 under `cargo test`.
fn deals() -> usize {
    let default = if full() { 1_000 } else { 20 };
    std::env::var("BENCH_DEALS").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}
const CUSTOMERS: usize = 8;

#[tokio::main]
async fn main() {
    if !full() {
        println!("market bench at tiny sizes (run `make bench-sdk` for the real figures)");
    }
    best_ask_among_100k();
    deals_against_devnet().await;
}

// ---------------------------------------------------------------- 1. best ask

/// xorshift64*: a fixed, reproducible sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_ask(rng: &mut Rng) -> Ask {
    const REGIONS: [u32; 5] = [0, 276, 250, 840, 392];
    let price = UsdPerSecond::from_scaled(U256::from(1_000_000_000_000 + rng.below(999_000_000_000_000)));
    let mut ask = Ask::new(Address::repeat_byte(1 + rng.below(200) as u8), Address::repeat_byte(7), price)
        .resources(
            Resources::new()
                .cpu_cores(1 + rng.below(64))
                .ram(Bytes::from_gib(1 + rng.below(256)))
                .storage(Bytes::from_gb(10 + rng.below(4_000)))
                .net_up_mbps(10 + rng.below(10_000))
                .net_down_mbps(10 + rng.below(10_000)),
        )
        .flags(NetFlags::from_bits_retain(rng.below(16)))
        .region(REGIONS[rng.below(5) as usize]);
    match rng.below(3) {
        0 => {}
        1 => ask = ask.durations(Duration::from_secs(60), Some(Duration::from_secs(86_400))),
        _ => ask = ask.durations(Duration::from_secs(3_600), None),
    }
    if rng.below(10) == 0 {
        ask = ask.expiry(500_000 + rng.below(1_000_000));
    }
    if rng.below(20) == 0 {
        ask = ask.counterparty(Address::repeat_byte(0xcc));
    }
    ask
}

fn best_ask_among_100k() {
    let book_asks = book_asks();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let events: Vec<Event<MarketEvents>> = (0..book_asks)
        .map(|k| {
            let ask = random_ask(&mut rng);
            let placed = AskPlaced {
                askId: U256::from(k + 1),
                master: ask.master,
                worker: ask.worker,
                ask: (&ask).into(),
            };
            Event {
                event: MarketEvents::AskPlaced(placed),
                block: k as u64 + 1,
                log_index: 0,
                transaction: B256::ZERO,
            }
        })
        .collect();
    let start = Instant::now();
    let mut book = OrderBook::new();
    for event in &events {
        book.apply(event);
    }
    let build = start.elapsed();
    assert_eq!(book.ask_count(), book_asks);
    println!("order book: {book_asks} asks applied from their placement events in {}", ms(build));

    let now = 1_000_000;
    let queries = [
        (
            "common (2 cores, public IP, spot)",
            Requirements::new(Term::Spot).resources(Resources::new().cpu_cores(2)).flags(NetFlags::PUBLIC_IP),
        ),
        (
            "selective (48 cores, 128 GiB, 3 flags, region 392, 2 h)",
            Requirements::new("2h".parse().unwrap())
                .resources(Resources::new().cpu_cores(48).ram(Bytes::from_gib(128)))
                .flags(NetFlags::PUBLIC_IP | NetFlags::INCOMING | NetFlags::OUTBOUND)
                .region(392),
        ),
        (
            "impossible (1,000 cores: scans every ask)",
            Requirements::new(Term::Spot).resources(Resources::new().cpu_cores(1_000)),
        ),
    ];
    println!("best ask among {book_asks} (100 runs each; target <= 100 ms):");
    for (name, wanted) in queries {
        let mut times = Vec::with_capacity(100);
        let mut found = None;
        for _ in 0..100 {
            let start = Instant::now();
            found = std::hint::black_box(book.best_placed_ask(&wanted, now)).map(|a| (a.id, a.ask.price));
            times.push(start.elapsed());
        }
        times.sort();
        let found =
            found.map_or("none".to_owned(), |(id, price)| format!("ask {id} at {}", price.to_per_hour()));
        println!("  {name:<58} median {:>9}  max {:>9}  -> {found}", ms(times[50]), ms(times[99]));
    }
}

// ---------------------------------------------------------------- 2. deals

/// Wall time spent in JSON-RPC requests, summed, in all and per method.
#[derive(Clone, Default)]
struct NodeWait {
    nanos: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    methods: Arc<Mutex<BTreeMap<String, (u64, Duration)>>>,
}

impl NodeWait {
    fn total(&self) -> (Duration, u64) {
        (Duration::from_nanos(self.nanos.load(Ordering::Relaxed)), self.requests.load(Ordering::Relaxed))
    }

    fn reset_methods(&self) {
        self.methods.lock().unwrap().clear();
    }

    fn counts(&self) -> BTreeMap<String, u64> {
        self.methods.lock().unwrap().iter().map(|(name, (count, _))| (name.clone(), *count)).collect()
    }

    fn methods(&self) -> String {
        let methods = self.methods.lock().unwrap();
        let parts: Vec<String> = methods
            .iter()
            .map(|(name, (count, time))| {
                format!("{name} {count} ({} each)", ms(*time / (*count).max(1) as u32))
            })
            .collect();
        parts.join(", ")
    }
}

impl<S> tower::Layer<S> for NodeWait {
    type Service = Timed<S>;

    fn layer(&self, inner: S) -> Timed<S> {
        Timed { inner, wait: self.clone() }
    }
}

#[derive(Clone)]
struct Timed<S> {
    inner: S,
    wait: NodeWait,
}

impl<S> tower::Service<RequestPacket> for Timed<S>
where
    S: tower::Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        >,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let wait = self.wait.clone();
        let method = request.method_names().collect::<Vec<_>>().join("+");
        let start = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            let elapsed = start.elapsed();
            wait.nanos.fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
            wait.requests.fetch_add(1, Ordering::Relaxed);
            let mut methods = wait.methods.lock().unwrap();
            let entry = methods.entry(method).or_default();
            entry.0 += 1;
            entry.1 += elapsed;
            response
        })
    }
}

/// A client for `signer` over the SDK's provider whose transport adds its requests' time to
/// `wait` (under the read retries: each attempt is a request).
fn timed_client(devnet: &Devnet, signer: &PrivateKeySigner, wait: &NodeWait) -> Client<DynProvider> {
    let rpc = ClientBuilder::default()
        .layer(RetryReadsLayer::default())
        .layer(wait.clone())
        .http(devnet.endpoint());
    let options = TxOptions::default();
    let provider = provider::connect_client(
        rpc,
        signer.clone(),
        &options,
        &NonceLayer::remember_for(options.receipt_timeout),
    );
    Client::new(provider, *devnet.deployment(), signer.address())
}

/// CPU time (user + system) of this process so far, if the platform says.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10)) // USER_HZ is 100 on Linux
}

async fn place_asks(suppliers: &[(Supplier<DynProvider>, Address)], count: usize) -> Vec<PlacedAsk> {
    let price = UsdPerSecond::from_scaled(U256::from(250_000_000_000_000u64));
    let mut placing = JoinSet::new();
    for k in 0..count {
        let (supplier, worker) = suppliers[k % suppliers.len()].clone();
        placing.spawn(async move {
            let ask = Ask::new(supplier.master(), worker, price).resources(Resources::new().cpu_cores(4));
            supplier.market().place_ask(&ask).await.unwrap()
        });
    }
    placing.join_all().await
}

/// A devnet with four suppliers (one worker each), `customers` customers (1,000,000 SNM each, the
/// market approved) over `wait`'s transport, and `asks` asks placed by the suppliers at once.
async fn market(
    customers: usize,
    asks: usize,
    wait: &NodeWait,
) -> (Devnet, Vec<Customer<DynProvider>>, Vec<PlacedAsk>) {
    let devnet = Devnet::start_with(DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await.unwrap();
    let mut suppliers = Vec::new();
    for _ in 0..4 {
        let supplier = Supplier::new(devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap()));
        let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
        supplier.register_worker(&worker).await.unwrap();
        suppliers.push((supplier, worker.sender()));
    }
    let mut buyers = Vec::new();
    for _ in 0..customers {
        let key = devnet.new_account(Snm::from_whole(1_000_000)).await.unwrap();
        let customer = Customer::new(timed_client(&devnet, &key, wait));
        customer.token().approve_market(Snm::from_whole(1_000_000)).await.unwrap();
        buyers.push(customer);
    }
    let before = devnet.requests().by_method();
    let start = Instant::now();
    let placed = place_asks(&suppliers, asks).await;
    let took = start.elapsed();
    println!(
        "  setup: {asks} asks placed by {} suppliers at once in {} ({:.0} asks/s)",
        suppliers.len(),
        ms(took),
        asks as f64 / took.as_secs_f64()
    );
    println!("  setup requests per ask: {}", per_transaction(&before, &devnet.requests().by_method(), asks));
    (devnet, buyers, placed)
}

async fn deals_against_devnet() {
    let deals = deals();
    let purchase = Purchase::new(Term::Spot, Snm::from_whole(100), "ghcr.io/acme/proxy:1.2");

    // One customer, one deal at a time: the time splits between the SDK and the node.
    println!("{deals} deals, one customer, one at a time (quick buys on a fresh devnet):");
    let wait = NodeWait::default();
    let (devnet, customers, asks) = market(1, deals, &wait).await;
    wait.reset_methods();
    let (waited_before, requests_before) = wait.total();
    let cpu_before = cpu_time();
    let start = Instant::now();
    for ask in &asks {
        customers[0].quick_buy(ask, &purchase).await.unwrap();
    }
    let wall = start.elapsed();
    let cpu = cpu_time().zip(cpu_before).map(|(after, before)| after - before);
    let (waited, requests) = wait.total();
    let (waited, requests) = (waited - waited_before, requests - requests_before);
    let per_deal = |d: Duration| ms(d / deals as u32);
    let share = |d: Duration| 100.0 * d.as_secs_f64() / wall.as_secs_f64();
    println!(
        "  {} = {:.0} deals/s, {} per deal",
        ms(wall),
        deals as f64 / wall.as_secs_f64(),
        per_deal(wall)
    );
    match cpu {
        Some(cpu) => {
            let mining = wall.saturating_sub(waited).saturating_sub(cpu);
            println!(
                "  in the SDK (client CPU): {} per deal, {:.0} % of the time",
                per_deal(cpu),
                share(cpu)
            );
            println!(
                "  waiting on the node: in requests {} per deal ({:.0} %; {:.1} requests per deal), \
                 for blocks between receipt polls {} ({:.0} %)",
                per_deal(waited),
                share(waited),
                requests as f64 / deals as f64,
                per_deal(mining),
                share(mining)
            );
        }
        None => println!(
            "  waiting on the node in requests: {} per deal ({:.0} %)",
            per_deal(waited),
            share(waited)
        ),
    }
    println!("  requests: {}", wait.methods());
    println!("  requests per deal: {}", per_transaction(&BTreeMap::new(), &wait.counts(), deals));
    assert_eq!(customers[0].market().order_book().await.unwrap().ask_count(), 0, "every ask was bought");
    drop(devnet);

    // Eight customers at once.
    println!("{deals} deals, {CUSTOMERS} customers at once (quick buys on a fresh devnet):");
    let (devnet, customers, asks) = market(CUSTOMERS, deals, &wait).await;
    wait.reset_methods();
    let cpu_before = cpu_time();
    let start = Instant::now();
    let mut buying = JoinSet::new();
    for (k, ask) in asks.into_iter().enumerate() {
        let (customer, purchase) = (customers[k % CUSTOMERS].clone(), purchase.clone());
        buying.spawn(async move { customer.quick_buy(&ask, &purchase).await.unwrap() });
    }
    let opened = buying.join_all().await.len();
    let wall = start.elapsed();
    let cpu = cpu_time().zip(cpu_before).map(|(after, before)| after - before);
    println!("  {} = {:.0} deals/s", ms(wall), opened as f64 / wall.as_secs_f64());
    if let Some(cpu) = cpu {
        println!(
            "  in the SDK (client CPU): {} per deal, {:.0} % of one core",
            ms(cpu / opened as u32),
            100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
        );
    }
    println!("  requests per deal: {}", per_transaction(&BTreeMap::new(), &wait.counts(), opened));
    assert_eq!(customers[0].market().order_book().await.unwrap().ask_count(), 0, "every ask was bought");
    drop(devnet);
}

/// The requests counted between `before` and `after`, per transaction (`transactions` sent), by
/// method and in all: what each transaction cost the node.
fn per_transaction(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    transactions: usize,
) -> String {
    let transactions = transactions.max(1) as f64;
    let mut total = 0;
    let mut parts = Vec::new();
    for (method, count) in after {
        let count = count - before.get(method).copied().unwrap_or_default();
        if count > 0 {
            total += count;
            parts.push(format!("{method} {:.2}", count as f64 / transactions));
        }
    }
    format!("{:.2} ({})", total as f64 / transactions, parts.join(", "))
}

fn ms(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1e3)
}
