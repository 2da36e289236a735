//! `quickstart`, the main job (`make demo`): the whole Operation A story on an embedded devnet
//! (see `snm_examples::story`). Suppliers with workers on distinct IPs publish proxy capacity, a
//! customer buys a proxy from each, the suppliers' agents deploy the metered proxies, real traffic
//! flows through them, the deals settle and close, the Operation A campaign pays 50 SNM per unique
//! IP plus $4 per TB and publishes its root, and the suppliers claim. It ends with a table per
//! supplier, the gas of every kind of transaction beside SONM's, and a check that every SNM minted
//! is accounted for.
//!
//! ```text
//! quickstart [--suppliers 20] [--traffic-mb 16] [--dir DIR] [--without-indexer] [--block-ms 50]
//! ```

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::Parser;
use snm_examples::story::{self, StoryConfig, Summary};
use snm_sdk::units::{Bytes, Snm};

#[derive(Debug, Parser)]
#[command(about = "The Operation A story on an embedded devnet")]
struct Cli {
    /// Suppliers, one worker and one IP each (1 to 1,000; IPs 127.0.0.11 on, a proxy process each).
    #[arg(long, default_value_t = 20)]
    suppliers: usize,
    /// Most megabytes (10^6 bytes) sent through one proxy each way.
    #[arg(long, default_value_t = 16)]
    traffic_mb: u64,
    /// Working directory for the agents' state, workloads and reports, and the round files.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run without the market data service even when `snm-indexer` is built beside this program:
    /// every ask is then placed on chain rather than signed (the path without an indexer).
    #[arg(long)]
    without_indexer: bool,
    /// The devnet mines a block every this many milliseconds with every transaction that arrived
    /// (0: a block per transaction instead). Fewer, fuller blocks keep a large story quick: the
    /// node's work per block grows with its whole state (BENCHMARKS.md, "At scale").
    #[arg(long, default_value_t = 50)]
    block_ms: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(proxy) = beside_this_program("snm-proxy") else {
        eprintln!(
            "quickstart: the `snm-proxy` program is not built next to this one: run `cargo build -p snm-proxy` with the same profile (make demo does)"
        );
        return ExitCode::FAILURE;
    };
    let config = StoryConfig {
        suppliers: cli.suppliers,
        traffic_per_proxy: Bytes::from_mb(cli.traffic_mb),
        proxy,
        dir: cli
            .dir
            .unwrap_or_else(|| std::env::temp_dir().join(format!("snm-quickstart-{}", std::process::id()))),
        // Built beside it by `make demo`; the story runs without it otherwise.
        indexer: if cli.without_indexer { None } else { beside_this_program("snm-indexer") },
        block_time: (cli.block_ms > 0).then(|| Duration::from_millis(cli.block_ms)),
    };
    match story::run(&config).await {
        Ok(summary) => {
            print_summary(&summary);
            if summary.ledger.balances() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(error) => {
            eprintln!("quickstart: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_summary(s: &Summary) {
    println!();
    println!("Suppliers");
    println!(
        "{:>3}  {:<42}  {:<11} {:>5} {:>6} {:>12} {:>12} {:>12} {:>22} {:>22} {:>22}",
        "#",
        "master",
        "IP",
        "stage",
        "online",
        "agent bytes",
        "cust. bytes",
        "paid bytes",
        "deal earnings",
        "reward",
        "claimed"
    );
    for (i, line) in s.suppliers.iter().enumerate() {
        let c = &line.campaign;
        println!(
            "{:>3}  {:<42}  {:<11} {:>5} {:>6} {:>12} {:>12} {:>12} {:>22} {:>22} {:>22}",
            i + 1,
            line.master.to_string(),
            line.ip.to_string(),
            c.stage.map_or("-".to_owned(), |n| n.to_string()),
            format!("{}s", c.online_seconds),
            c.supplier_bytes.get(),
            c.customer_bytes.get(),
            line.bytes.get(),
            line.earned.to_string(),
            line.reward.to_string(),
            line.claimed.to_string()
        );
    }
    let total = |f: fn(&story::SupplierLine) -> Snm| s.suppliers.iter().map(f).sum::<Snm>();
    let bytes = |f: fn(&story::SupplierLine) -> Bytes| s.suppliers.iter().map(|l| f(l).get()).sum::<u128>();
    println!(
        "{:>3}  {:<42}  {:<11} {:>5} {:>6} {:>12} {:>12} {:>12} {:>22} {:>22} {:>22}",
        "",
        "total",
        format!("{} IPs", s.suppliers.len()),
        "",
        "",
        bytes(|l| l.campaign.supplier_bytes),
        bytes(|l| l.campaign.customer_bytes),
        bytes(|l| l.bytes),
        total(|l| l.earned).to_string(),
        total(|l| l.reward).to_string(),
        total(|l| l.claimed).to_string()
    );
    println!(
        "(stage: admission stage; online: seconds available since admission; agent and customer bytes: both counts; paid: the smaller)"
    );
    println!();
    println!("Gas per kind of transaction (receipt gasUsed, 21,000 base included), beside SONM's");
    print!("{}", s.gas);
    let sonm = snm_sdk::gas::sonm_gas("whole fixed-term deal").unwrap_or_default();
    let cycle = |ops: &[&str]| -> Option<u64> { ops.iter().map(|op| s.gas.get(op).map(|g| g.mean())).sum() };
    // Today's cycle (an ask placed on chain) and, when the market data service ran, the signed
    // one (the ask signed off chain: nothing to place), each from this run's receipts.
    // The supplier's close: the agents close ended terms with their payout in it when they
    // withdraw (`closeDealAndWithdraw`); a close and a withdrawal where that did not run.
    let close = cycle(&["close and withdraw"]).or_else(|| cycle(&["close deal", "withdraw earnings"]));
    let settle = cycle(&["settle"]);
    if let (Some(open), Some(settle), Some(close)) = (cycle(&["place ask", "quick buy"]), settle, close) {
        let whole = open + settle + close;
        println!(
            "a whole deal here (ask, quick buy, one settle, close, withdraw): {whole} gas; SONM's (ask, bid, open, one bill, close): about {sonm}, {:.1}x as much",
            sonm as f64 / whole.max(1) as f64
        );
    }
    if let (Some(buy), Some(close)) = (cycle(&["quick buy signed"]), close) {
        // The close settles the deal's last stretch itself: a deal settled only by its close.
        let whole = buy + close;
        let settled = whole + settle.unwrap_or_default();
        println!(
            "a whole deal with a signed ask (quick buy signed, close with payout; placing and re-pricing the ask cost 0 gas): {whole} gas; with one settle during it: {settled} gas, SONM's {:.1}x as much",
            sonm as f64 / settled.max(1) as f64
        );
        // Each master here is paid for the first time at its close: the token writes a new
        // balance slot (20,000 gas, 17,100 more than an update), which a master paid before does
        // not pay again; docs/GAS.md measures the deal for a master already holding SNM.
        println!(
            "  (each master's first payout: the close creates its SNM balance, 17,100 gas once per payee; docs/GAS.md: the same deal for a paid master)"
        );
    }
    println!("transactions: {} sent, {} reverted on chain", s.gas.transactions(), s.gas.reverted());
    println!();
    println!("Every SNM minted");
    println!("{}", s.ledger);
    println!();
    println!(
        "done in {:.1} s; Operation A round {} root {}",
        s.elapsed.as_secs_f64(),
        s.round.number(),
        s.round.root()
    );
    print_cost(s);
}

/// What the story cost: memory of the story and of the node, requests to the node, transactions;
/// the last line is for `make bench-scale` (scripts/bench-scale.sh) to read.
fn print_cost(s: &Summary) {
    let n = s.suppliers.len().max(1) as f64;
    let requests: u64 = s.requests.values().sum();
    let minutes = s.elapsed.as_secs_f64() / 60.0;
    let mib = |b: Option<Bytes>| b.map_or(0.0, |b| b.get() as f64 / f64::from(1 << 20));
    let top: Vec<String> = {
        let mut by_count: Vec<_> = s.requests.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1));
        by_count.iter().take(6).map(|(m, c)| format!("{m} {c}")).collect()
    };
    println!("requests to the node: {requests} ({})", top.join(", "));
    if let Some((url, stats)) = &s.indexer {
        println!("market data service: {url} (API {url}v1); /v1/stats {stats}");
    }
    println!(
        "scale: suppliers={} seconds={:.1} story_peak_mib={:.0} node_peak_mib={:.0} requests={requests} \
         requests_per_supplier_minute={:.0} transactions={} reverted={}",
        s.suppliers.len(),
        s.elapsed.as_secs_f64(),
        mib(s.story_peak_memory),
        mib(s.node_peak_memory),
        requests as f64 / n / minutes.max(1e-9),
        s.gas.transactions(),
        s.gas.reverted()
    );
    println!("{}", story::steps::scale_line(&s.steps));
    for line in story::steps::method_lines(&s.steps) {
        println!("{line}");
    }
}

/// A program built next to this one (such as `snm-proxy` beside `quickstart`), if it is there.
fn beside_this_program(name: &str) -> Option<PathBuf> {
    let candidate = std::env::current_exe().ok()?.parent()?.join(name);
    candidate.is_file().then_some(candidate)
}
