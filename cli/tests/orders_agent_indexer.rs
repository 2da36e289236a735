//! On one devnet: the chain options given before the subcommand (`snm --rpc … --account …
//! customer deposit`), `snm customer bid`, `snm agent run` on the configuration `snm supplier init`
//! wrote (it places its ask, serves the deal a customer buys, stops on SIGINT, JSON lines on
//! stdout), the order book read from a real `snm-indexer` (`--indexer`) equal to the one from the
//! chain's logs and used by `customer buy`, and `snm devnet --port` on a taken port failing at once.
//!
//! `snm-agent`, `snm-proxy` and `snm-indexer` are run from the directory of the `snm` under test
//! (`cargo test --workspace` builds them there).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod harness;

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use alloy::signers::local::PrivateKeySigner;
use harness::{
    Run, Scene, assert_has, closed_port,
    indexer::{Indexer, sibling, wait_until},
    key_hex, run_snm,
};
use serde::Deserialize;
use snm_sdk::{
    devnet::DevnetConfig,
    market::{DealOpened, PlacedBid},
    units::{Snm, Term, UsdPerSecond},
};
use tokio::io::{AsyncBufReadExt, BufReader};

const PASSWORD: &str = "orders-password";
/// The customer's proxy secret: 32 random bytes in hexadecimal.
const SECRET: &str = "5be1c0a9f3d24e7786a1b0c9d2e3f4a5c94e1d0b7a3f2e6d8c1b0a9f8e7d6c5b";

/// What the tests need to run `snm` as a user would: its home (keystores), the devnet.
struct Env {
    home: PathBuf,
    rpc: String,
    deployment: String,
    password_file: String,
}

impl Env {
    /// `snm` with `SNM_RPC`, `SNM_DEPLOYMENT` and `SNM_PASSWORD_FILE` set.
    async fn run(&self, args: &[&str]) -> Run {
        run_snm(
            &self.home,
            args,
            &[
                ("SNM_RPC", &self.rpc),
                ("SNM_DEPLOYMENT", &self.deployment),
                ("SNM_PASSWORD_FILE", &self.password_file),
            ],
        )
        .await
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, args: &[&str]) -> T {
        let run = self.run(&[&["--json"], args].concat()).await;
        run.ok();
        run.json()
    }
}

#[derive(Debug, Deserialize)]
struct Balance {
    free_balance: Snm,
}

#[derive(Debug, Deserialize)]
struct BidReport {
    bid: PlacedBid,
    deal: Option<DealOpened>,
}

#[derive(Debug, Deserialize)]
struct BidList {
    bids: Vec<PlacedBid>,
}

#[derive(Debug, Deserialize)]
struct BuyReport {
    deals: Vec<Bought>,
    endpoints: Vec<Endpoint>,
}

#[derive(Debug, Deserialize)]
struct Bought {
    deal: DealOpened,
}

#[derive(Debug, Deserialize)]
struct Endpoint {
    endpoint: String,
}

#[derive(Debug, Deserialize)]
struct AgentLine {
    event: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_flags_bids_agent_and_indexer_on_one_devnet() {
    let scene = Scene::start("orders", DevnetConfig::default()).await;
    let home = scene.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let password_file = scene.path("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let env = Env {
        home: home.clone(),
        rpc: scene.devnet.endpoint().to_string(),
        deployment: scene.deployment.display().to_string(),
        password_file: password_file.display().to_string(),
    };
    let signer = |index: usize| -> PrivateKeySigner { scene.devnet.signer(index).unwrap().clone() };
    let (master, worker, customer) = (signer(1), signer(2), signer(3));

    // Global options before the subcommand, no SNM_* variable: the keystore directory and the
    // password for `wallet import`, then the whole chain context for a deposit.
    for (name, key) in [("acme", &master), ("box1", &worker), ("customer", &customer)] {
        let key_file = scene.path(&format!("{name}.key"));
        std::fs::write(&key_file, key_hex(key)).unwrap();
        run_snm(
            &home,
            &[
                "--password-file",
                &env.password_file,
                "wallet",
                "import",
                name,
                "--private-key-file",
                &key_file.display().to_string(),
            ],
            &[],
        )
        .await
        .ok();
    }
    let deposited = run_snm(
        &home,
        &[
            "--rpc",
            &env.rpc,
            "--deployment",
            &env.deployment,
            "--account",
            "customer",
            "--password-file",
            &env.password_file,
            "--json",
            "customer",
            "deposit",
            "100 SNM",
        ],
        &[],
    )
    .await;
    deposited.ok();
    assert_eq!(deposited.json::<Balance>().free_balance, Snm::from_whole(100));
    // Between the role and the command too, and the command's own flag still wins over the
    // global one (a wrong password given first, the right one after).
    let wrong = scene.path("wrong-password");
    std::fs::write(&wrong, "not-it\n").unwrap();
    let mixed = env
        .run(&[
            "--password-file",
            &wrong.display().to_string(),
            "customer",
            "--account",
            "customer",
            "deposit",
            "1 SNM",
            "--password-file",
            &env.password_file,
        ])
        .await;
    assert_has(mixed.ok(), &["free balance 101 SNM"]);

    bids(&env, &customer).await;

    // The supplier: `supplier init` writes the agent's configuration; `agent run` places its ask.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = home.join("box1/agent.toml");
    env.json::<serde_json::Value>(&[
        "supplier",
        "init",
        "--master",
        "acme",
        "--worker",
        "box1",
        "--ip",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--price",
        "0.72 USD/h",
        "--cores",
        "2",
        "--ram",
        "2GiB",
        "--out",
        &config.display().to_string(),
    ])
    .await;
    drop(listener);
    let mut agent = Agent::start(&env, &config).await;
    let market = scene.devnet.client(0).unwrap().market();
    wait_until("the agent's ask on the market", Duration::from_secs(90), || async {
        market.order_book().await.unwrap().asks().any(|ask| ask.ask.master == master.address())
    })
    .await;

    // The indexer, caught up; the book through it is the book from the logs.
    let mut indexer = Indexer::start(&scene).await;
    let url = indexer.url.clone();
    let mine = ["supplier", "ask", "list", "--account", "acme"];
    for what in [&["market", "asks"][..], &["market", "asks", "--cores", "2"], &["market", "bids"], &mine] {
        let from_logs = env.run(&[&["--json"], what].concat()).await;
        let from_indexer = env.run(&[&["--json", "--indexer", &url], what].concat()).await;
        assert_eq!(from_indexer.ok(), from_logs.ok(), "{what:?}");
    }
    let dead = format!("http://127.0.0.1:{}/", closed_port());
    let down = env.run(&["--json", "market", "asks", "--indexer", &dead]).await;
    down.failed_with(4);
    let error = down.json_error();
    assert!(error.message.contains("--indexer") && error.message.contains(&dead), "{}", error.message);

    // The customer buys through the indexer's book; the agent serves the deal.
    let bought: BuyReport = env
        .json(&[
            "--indexer",
            &url,
            "customer",
            "buy",
            "--term",
            "1h",
            "--budget",
            "1000 SNM",
            "--cores",
            "2",
            "--image",
            "snm-proxy",
            "--secret",
            SECRET,
            "--wait-endpoint",
            "90s",
            "--account",
            "customer",
        ])
        .await;
    assert_eq!(bought.deals.len(), 1);
    assert_eq!(
        (bought.deals[0].deal.master, bought.deals[0].deal.worker),
        (master.address(), worker.address())
    );
    assert_eq!(bought.endpoints.len(), 1);
    assert!(bought.endpoints[0].endpoint.contains(&format!("127.0.0.1:{port}")), "{:?}", bought.endpoints);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(), "the workload serves");

    // Closed: the agent stops the workload; then SIGINT stops the agent, every line JSON.
    let deal = bought.deals[0].deal.id.0.to_string();
    env.run(&["customer", "close", &deal, "--account", "customer"]).await.ok();
    wait_until("the workload to stop", Duration::from_secs(60), || async {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    })
    .await;
    let lines = agent.interrupt().await;
    assert!(lines.len() >= 2, "{lines:?}");
    let events: Vec<AgentLine> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect();
    for said in [
        format!("deal {deal} opened"),
        format!("deal {deal}: announced 127.0.0.1:{port}"),
        format!("deal {deal}: finished"),
        "stopped".to_owned(),
    ] {
        assert!(events.iter().any(|e| e.event.contains(&said)), "no event {said:?}: {lines:?}");
    }
    indexer.stop();

    busy_devnet_port().await;
}

/// `snm customer bid`: placed from the free balance and listed; refused without a price or
/// beyond the free balance, with nothing sent.
async fn bids(env: &Env, customer: &PrivateKeySigner) {
    let placed: BidReport = env
        .json(&[
            "customer",
            "bid",
            "--term",
            "1h",
            "--deposit",
            "20 SNM",
            "--max-price",
            "2 USD/h",
            "--cores",
            "1",
            "--ram",
            "1GiB",
            "--expires-in",
            "1d",
            "--account",
            "customer",
        ])
        .await;
    let bid = &placed.bid.bid;
    assert!(placed.deal.is_none());
    assert_eq!(
        (bid.customer, bid.deposit, bid.term),
        (customer.address(), Snm::from_whole(20), "1h".parse::<Term>().unwrap())
    );
    // Per hour, rounded down to whole attodollars per second: never above what was written.
    assert_eq!(bid.max_price, UsdPerSecond::parse_rounding_down("2 USD/h").unwrap());
    assert_eq!(bid.resources.cpu_milli_cores, 1_000);
    assert!(bid.expiry.is_some());
    let listed: BidList = env.json(&["market", "bids"]).await;
    assert_eq!(listed.bids, vec![placed.bid.clone()]);
    let text =
        env.run(&["customer", "bid", "--term", "1h", "--deposit", "5 SNM", "--account", "customer"]).await;
    assert_has(text.failed_with(2), &["--max-price"]);
    let short = env
        .run(&[
            "--json",
            "customer",
            "bid",
            "--term",
            "1h",
            "--deposit",
            "5000 SNM",
            "--max-price",
            "2 USD/h",
            "--account",
            "customer",
        ])
        .await;
    short.failed_with(3);
    assert_eq!(short.json_error().kind, "refused");
    let listed: BidList = env.json(&["market", "bids"]).await;
    assert_eq!(listed.bids.len(), 1, "nothing placed by the refused bid");
    // Waiting for a match: a spinner on a terminal, none with --json (a bid no ask can match).
    let wait =
        "customer bid --term 1h --deposit 1SNM --max-price 0.000001USD/h --account customer --wait-match 2s";
    let (shown, code) = on_terminal(env, wait).await;
    assert_eq!(code, Some(8), "{shown}");
    assert_has(&shown, &[", waiting for a match (", "snm: timed out after 2", "waiting for a match of bid"]);
    let (shown, code) = on_terminal(env, &format!("--json {wait}")).await;
    assert_eq!(code, Some(8), "{shown}");
    assert!(!shown.contains("waiting for a match ("), "a spinner with --json:\n{shown}");
    assert_has(&shown, &[r#"{"error":{"kind":"timeout""#]);

    // --ledger in an snm built without the feature: the fix, before anything is read or sent.
    if !cfg!(feature = "ledger") {
        let ledger = env.run(&["--ledger", "customer", "deposit", "5 SNM"]).await;
        assert_has(ledger.failed_with(2), &["built without Ledger support", "--features ledger"]);
    }
}

/// Runs `snm args` on a pseudo-terminal (`script`), as `env` says; what the terminal showed and
/// the exit code.
async fn on_terminal(env: &Env, args: &str) -> (String, Option<i32>) {
    use tokio::io::AsyncReadExt;
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_snm"));
    let mut child = tokio::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("HOME", &env.home)
        .env("SNM_RPC", &env.rpc)
        .env("SNM_DEPLOYMENT", &env.deployment)
        .env("SNM_PASSWORD_FILE", &env.password_file)
        .env_remove("SNM_KEY")
        .env_remove("SNM_ACCOUNT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let _stdin = child.stdin.take();
    let mut shown = String::new();
    let mut stdout = child.stdout.take().unwrap();
    tokio::time::timeout(Duration::from_secs(60), stdout.read_to_string(&mut shown)).await.unwrap().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await.unwrap().unwrap();
    println!("$ snm {args} (on a terminal)\n{shown}[exit {:?}]", status.code());
    (shown, status.code())
}

/// `snm devnet --port P` with P taken: a usage error naming the port, at once.
async fn busy_devnet_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let home = harness::scratch("orders-devnet");
    let started = Instant::now();
    let refused = tokio::time::timeout(
        Duration::from_secs(30),
        run_snm(&home, &["devnet", "--port", &port, "--deployment-out", "/dev/null"], &[]),
    )
    .await
    .expect("snm devnet on a taken port did not fail within 30 s");
    assert_has(refused.failed_with(2), &[&format!("--port {port}"), "pass a free port"]);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    println!("refused in {:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&home);
}

/// `snm --json agent run` as a subprocess, its stdout lines collected.
struct Agent {
    child: tokio::process::Child,
    lines: tokio::task::JoinHandle<Vec<String>>,
}

impl Agent {
    async fn start(env: &Env, config: &Path) -> Self {
        let bin = Path::new(env!("CARGO_BIN_EXE_snm")).parent().unwrap().to_owned();
        let _ = (sibling("snm-agent"), sibling("snm-proxy"));
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_snm"));
        command
            .args(["--json", "agent", "run", "--config"])
            .arg(config)
            .args(["--account", "acme"])
            .current_dir(config.parent().unwrap())
            .env("HOME", &env.home)
            .env("PATH", path)
            .env("SNM_RPC", &env.rpc)
            .env("SNM_DEPLOYMENT", &env.deployment)
            .env("SNM_PASSWORD_FILE", &env.password_file)
            .env_remove("SNM_KEY")
            .env_remove("SNM_ACCOUNT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut all = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                println!("agent: {line}");
                all.push(line);
            }
            all
        });
        Self { child, lines }
    }

    /// SIGINT, as Ctrl-C; the agent must stop cleanly within a minute. Its lines.
    async fn interrupt(&mut self) -> Vec<String> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id().unwrap()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("snm agent run did not stop within a minute of SIGINT")
            .unwrap();
        assert!(status.success(), "{status:?}");
        (&mut self.lines).await.unwrap()
    }
}

impl Drop for Agent {
    /// SIGTERM to `snm` (a failed test's cleanup), which passes it on to the agent it runs.
    fn drop(&mut self) {
        if let Some(id) = self.child.id() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(id).unwrap());
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
    }
}
