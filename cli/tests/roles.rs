//! Every role's commands against one chain started by `snm devnet` itself: wallets from the
//! devnet's keys, a supplier linking a worker and placing an ask, a customer buying it, waiting on
//! its endpoint, funding and closing it, the supplier withdrawing, the operator reporting a rate;
//! every `--json` output parsed into typed structs. Then the bad inputs: each one clear line, its
//! exit code, and no transaction sent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod harness;

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use alloy::{primitives::Address, providers::Provider, signers::local::PrivateKeySigner};
use harness::{Run, closed_port, run_snm, scratch};
use serde::Deserialize;
use snm_sdk::{
    Client, Deployment,
    customer::Runway,
    market::{CloseReason, Deal, DealClosed, DealId, DealOpened, PlacedAsk},
    tx::TxOptions,
    units::{Snm, SnmPerUsd},
};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug, Deserialize)]
struct DevnetReport {
    rpc: String,
    chain_id: u64,
    deployment_file: PathBuf,
    deployment: Deployment,
    accounts: Vec<FundedAccount>,
}

#[derive(Debug, Deserialize)]
struct FundedAccount {
    address: Address,
    private_key: String,
    snm: Snm,
}

#[derive(Debug, Deserialize)]
struct WorkerLink {
    worker: Address,
    master: Option<Address>,
    pending_master: Option<Address>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
enum AskResult {
    Placed { ask: Box<PlacedAsk> },
    Cancelled,
}

#[derive(Debug, Deserialize)]
struct AskList {
    asks: Vec<PlacedAsk>,
}

#[derive(Debug, Deserialize)]
struct BidList {
    bids: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct BuyReport {
    dry_run: bool,
    picks: Vec<Pick>,
    total_deposit: Snm,
    deals: Vec<Bought>,
}

#[derive(Debug, Deserialize)]
struct Pick {
    ask: u64,
    worker: Address,
    deposit: Snm,
}

#[derive(Debug, Deserialize)]
struct Bought {
    deal: DealOpened,
    runway: Runway,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
enum Step {
    Waiting { deal: DealId },
    Endpoint { deal: DealId, endpoint: String },
    Closed,
}

#[derive(Debug, Deserialize)]
struct TopUp {
    deal: DealId,
    added: Snm,
    deposit: Snm,
}

#[derive(Debug, Deserialize)]
struct Balance {
    free_balance: Snm,
}

#[derive(Debug, Deserialize)]
struct Withdrawn {
    withdrawn: Snm,
    free_balance: Snm,
}

#[derive(Debug, Deserialize)]
struct DealList {
    deals: Vec<Deal>,
}

#[derive(Debug, Deserialize)]
struct DealReport {
    deal: Deal,
    endpoint: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Earnings {
    master: Address,
    earnings: Snm,
}

#[derive(Debug, Deserialize)]
struct EarningsWithdrawn {
    withdrawn: Snm,
    earnings_left: Snm,
}

#[derive(Debug, Deserialize)]
struct RateReport {
    rate: SnmPerUsd,
}

#[derive(Debug, Deserialize)]
struct Doctor {
    checks: Vec<DoctorCheck>,
}

#[derive(Debug, Deserialize)]
struct DoctorCheck {
    check: String,
    ok: bool,
}

#[derive(Debug, Deserialize)]
struct Deployed {
    deployment: Deployment,
    owner: Address,
}

/// `snm devnet` running, with what it printed. Dropped, it is sent SIGTERM (not killed), so that
/// it stops its anvil.
struct DevnetProcess {
    child: tokio::process::Child,
    report: DevnetReport,
}

impl DevnetProcess {
    fn terminate(&self) {
        if let Some(id) = self.child.id() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(id).unwrap());
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
    }
}

impl Drop for DevnetProcess {
    fn drop(&mut self) {
        self.terminate();
    }
}

async fn start_devnet(dir: &Path) -> DevnetProcess {
    let port = closed_port();
    let out = dir.join("devnet.json");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_snm"))
        .args(["--json", "devnet", "--port", &port.to_string(), "--accounts", "5", "--deployment-out"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
        .await
        .expect("snm devnet printed nothing in 2 minutes")
        .unwrap()
        .expect("snm devnet ended before printing");
    let report: DevnetReport = serde_json::from_str(&first).unwrap();
    assert_eq!(report.rpc, format!("http://127.0.0.1:{port}"));
    assert_eq!(report.deployment_file, out);
    assert_eq!(Deployment::from_file(&out).unwrap(), report.deployment);
    // Nothing else on stdout while it runs: the rest goes to logs on stderr.
    tokio::spawn(async move {
        if let Ok(Some(line)) = lines.next_line().await {
            panic!("more on stdout: {line}")
        }
    });
    DevnetProcess { child, report }
}

/// Runs `snm` against the devnet, with the keystores and password of `home`.
struct Env {
    home: PathBuf,
    rpc: String,
    deployment: String,
    password_file: String,
}

impl Env {
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
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let run = self.run(&all).await;
        run.ok();
        run.json()
    }
}

fn signer(account: &FundedAccount) -> PrivateKeySigner {
    account.private_key.parse().unwrap()
}

#[tokio::test]
async fn every_role_against_snm_devnet_then_bad_input_sends_nothing() {
    let dir = scratch("roles");
    let devnet = start_devnet(&dir).await;
    let report = &devnet.report;
    assert_eq!(report.chain_id, 31337);
    let (operator, master, worker, customer) =
        (&report.accounts[0], &report.accounts[1], &report.accounts[2], &report.accounts[3]);
    assert_eq!(customer.snm, Snm::from_whole(1_000_000));

    let password_file = dir.join("password");
    std::fs::write(&password_file, "devnet-password\n").unwrap();
    let env = Env {
        home: dir.clone(),
        rpc: report.rpc.clone(),
        deployment: report.deployment_file.display().to_string(),
        password_file: password_file.display().to_string(),
    };
    for (name, account) in [("master", master), ("worker", worker), ("customer", customer)] {
        let key_file = dir.join(format!("{name}.key"));
        std::fs::write(&key_file, &account.private_key).unwrap();
        env.run(&["wallet", "import", name, "--private-key-file", &key_file.display().to_string()])
            .await
            .ok();
    }
    let (master_address, worker_address) = (master.address.to_string(), worker.address.to_string());

    // The supplier: the worker asks to join, the master confirms, then places an ask.
    let link: WorkerLink = env
        .json(&["supplier", "worker", "request", "--master", &master_address, "--account", "worker"])
        .await;
    assert_eq!((link.worker, link.master, link.pending_master), (worker.address, None, Some(master.address)));
    let link: WorkerLink =
        env.json(&["supplier", "worker", "confirm", &worker_address, "--account", "master"]).await;
    assert_eq!(link.master, Some(master.address));
    let placed: AskResult = env
        .json(&[
            "supplier",
            "ask",
            "place",
            "--worker",
            &worker_address,
            "--price",
            "3.6 USD/h",
            "--cores",
            "4",
            "--ram",
            "16GiB",
            "--net",
            "public-ip,incoming",
            "--account",
            "master",
        ])
        .await;
    let AskResult::Placed { ask } = placed else { panic!("not placed: {placed:?}") };
    assert_eq!(
        (ask.ask.master, ask.ask.worker, ask.ask.resources.cpu_milli_cores),
        (master.address, worker.address, 4_000)
    );
    assert_eq!(ask.ask.price.to_per_hour().to_string(), "3.6 USD/h");
    let mine: AskList = env.json(&["supplier", "ask", "list", "--account", "master"]).await;
    assert_eq!(mine.asks, vec![(*ask).clone()]);

    // The market, read-only: filters apply.
    let fitting: AskList = env.json(&["market", "asks", "--cores", "2", "--net", "public-ip"]).await;
    assert_eq!(fitting.asks.len(), 1);
    let too_big: AskList = env.json(&["market", "asks", "--cores", "8"]).await;
    assert!(too_big.asks.is_empty());
    let table = env.run(&["market", "asks"]).await;
    harness::assert_has(table.ok(), &["ask", "worker", "price", "3.6 USD/h", "16 GiB"]);
    let bids: BidList = env.json(&["market", "bids"]).await;
    assert!(bids.bids.is_empty());

    // The customer buys it (a dry run first: nothing bought).
    let dry: BuyReport = env
        .json(&[
            "customer",
            "buy",
            "--term",
            "2h",
            "--budget",
            "1000 SNM",
            "--cores",
            "2",
            "--dry-run",
            "--account",
            "customer",
        ])
        .await;
    assert!(dry.dry_run && dry.deals.is_empty());
    assert_eq!((dry.picks.len(), dry.picks[0].ask, dry.picks[0].worker), (1, ask.id.0, worker.address));
    let bought: BuyReport = env
        .json(&[
            "customer",
            "buy",
            "--term",
            "2h",
            "--budget",
            "1000 SNM",
            "--cores",
            "2",
            "--image",
            "busybox",
            "--account",
            "customer",
        ])
        .await;
    assert_eq!(bought.deals.len(), 1);
    // 3.6 USD/h for 2 h at 100 SNM/USD.
    assert_eq!((bought.total_deposit, bought.picks[0].deposit), (Snm::from_whole(720), Snm::from_whole(720)));
    let deal = bought.deals[0].deal.id;
    assert_eq!(bought.deals[0].deal.customer, customer.address);
    assert!(bought.deals[0].runway.covers_term);
    let deal_arg = deal.0.to_string();

    // Waiting: a JSON line per step; no endpoint yet within 1 s is a timeout (exit 8).
    let waited = env.run(&["--json", "customer", "wait", &deal_arg, "--timeout", "1s"]).await;
    waited.failed_with(8);
    let first: Step = serde_json::from_str(waited.stdout.lines().next().unwrap()).unwrap();
    assert!(matches!(first, Step::Waiting { deal: d } if d == deal), "{first:?}");
    assert_eq!(
        serde_json::from_str::<harness::ErrorDocument>(waited.stderr.trim()).unwrap().error.kind,
        "timeout"
    );
    // The supplier announces; wait prints it and ends.
    let master_client = Client::new(
        snm_sdk::provider::connect_http(report.rpc.parse().unwrap(), signer(master), &TxOptions::default()),
        report.deployment,
        master.address,
    );
    master_client.market().announce_endpoint(deal, "127.0.0.1:3128").await.unwrap();
    let waited = env.run(&["--json", "customer", "wait", &deal_arg, "--timeout", "30s"]).await;
    waited.ok();
    let last: Step = serde_json::from_str(waited.stdout.lines().last().unwrap()).unwrap();
    assert!(
        matches!(&last, Step::Endpoint { deal: d, endpoint } if *d == deal && endpoint == "127.0.0.1:3128"),
        "{last:?}"
    );

    // Runway, top-up, free balance in and out.
    let runway: Runway = env.json(&["customer", "runway", &deal_arg]).await;
    assert_eq!(runway.deal, deal);
    let topped: TopUp = env.json(&["customer", "top-up", &deal_arg, "10 SNM", "--account", "customer"]).await;
    assert_eq!((topped.deal, topped.added), (deal, Snm::from_whole(10)));
    assert!(topped.deposit > runway.deposit_left);
    let deposited: Balance = env.json(&["customer", "deposit", "50 SNM", "--account", "customer"]).await;
    assert_eq!(deposited.free_balance, Snm::from_whole(50));
    let withdrawn: Withdrawn = env.json(&["customer", "withdraw", "--all", "--account", "customer"]).await;
    assert_eq!((withdrawn.withdrawn, withdrawn.free_balance), (Snm::from_whole(50), Snm::ZERO));

    // The deal seen from both sides.
    let mine: DealList = env.json(&["customer", "deals", "--account", "customer"]).await;
    assert_eq!(mine.deals.iter().map(|d| d.id).collect::<Vec<_>>(), [deal]);
    let theirs: DealList = env.json(&["market", "deals", "--master", &master_address]).await;
    assert_eq!(theirs.deals.iter().map(|d| d.id).collect::<Vec<_>>(), [deal]);
    let shown: DealReport = env.json(&["market", "deal", &deal_arg]).await;
    assert_eq!((shown.deal.worker, shown.endpoint.as_deref()), (worker.address, Some("127.0.0.1:3128")));
    let missing = env.run(&["--json", "market", "deal", "999999"]).await;
    missing.failed_with(5);
    assert_eq!(missing.json_error().kind, "not-found");

    // The customer closes it, blacklisting the supplier; the supplier withdraws what it earned.
    let closed: DealClosed =
        env.json(&["customer", "close", &deal_arg, "--blacklist", "--account", "customer"]).await;
    assert_eq!((closed.id, closed.reason, closed.blacklisted), (deal, CloseReason::ByCustomer, true));
    let earned: Earnings = env.json(&["supplier", "earnings", "--account", "master"]).await;
    assert_eq!(earned.master, master.address);
    assert!(earned.earnings > Snm::ZERO, "{earned:?}");
    let took: EarningsWithdrawn = env.json(&["supplier", "withdraw", "--all", "--account", "master"]).await;
    assert_eq!((took.withdrawn, took.earnings_left), (earned.earnings, Snm::ZERO));
    let no_ask = env.run(&["supplier", "ask", "cancel", "999999", "--account", "master"]).await;
    harness::assert_has(no_ask.failed_with(5), &["no open ask 999999"]);

    // The operator, with its key in an environment variable (CI's way).
    let rate = run_snm(
        &env.home,
        &["--json", "oracle", "report", "101", "--private-key-env", "OPERATOR_KEY"],
        &[
            ("SNM_RPC", &env.rpc),
            ("SNM_DEPLOYMENT", &env.deployment),
            ("OPERATOR_KEY", &operator.private_key),
        ],
    )
    .await;
    rate.ok();
    assert_eq!(rate.json::<RateReport>().rate, SnmPerUsd::from_whole(101));

    // The supplier's doctor: every check passes for the master and its worker; an unlinked
    // worker fails with the fix.
    let doctor: Doctor =
        env.json(&["supplier", "doctor", "--worker", &worker_address, "--account", "master"]).await;
    assert!(doctor.checks.iter().all(|c| c.ok), "{doctor:?}");
    let names: Vec<&str> = doctor.checks.iter().map(|c| c.check.as_str()).collect();
    for expected in ["rpc", "chain id", "market code", "account", "gas", "worker"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let stranger = Address::repeat_byte(0x77).to_string();
    let sick = env.run(&["supplier", "doctor", "--worker", &stranger, "--account", "master"]).await;
    harness::assert_has(sick.failed_with(1), &["1 check(s) failed"]);
    harness::assert_has(&sick.stdout, &["FAIL", "snm supplier worker request --master"]);

    // A second deployment on the same chain, written where asked.
    let deployed_file = env.home.join("deployments/31337.json");
    let deployed = run_snm(
        &env.home,
        &[
            "--json",
            "deploy",
            "--reward-delay",
            "0",
            "--out",
            &deployed_file.display().to_string(),
            "--private-key-env",
            "OPERATOR_KEY",
        ],
        &[("SNM_RPC", &env.rpc), ("OPERATOR_KEY", &operator.private_key)],
    )
    .await;
    deployed.ok();
    let second: Deployed = deployed.json();
    assert_eq!((second.owner, second.deployment.chain_id), (operator.address, Some(31337)));
    assert_ne!(second.deployment.market, report.deployment.market);
    assert_eq!(Deployment::from_file(&deployed_file).unwrap(), second.deployment);

    // Shell completions.
    for shell in ["bash", "zsh", "fish"] {
        let script = env.run(&["completions", shell]).await;
        harness::assert_has(script.ok(), &["snm", "customer", "wallet"]);
    }

    supplier_init(&env, report, &report.accounts[4], operator).await;

    bad_input_sends_nothing(&env, report, customer).await;

    // SIGTERM stops the devnet cleanly.
    let mut devnet = devnet;
    devnet.terminate();
    let status = tokio::time::timeout(Duration::from_secs(60), devnet.child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn bad_input_sends_nothing(env: &Env, report: &DevnetReport, customer: &FundedAccount) {
    let provider = alloy::providers::ProviderBuilder::new().connect_http(report.rpc.parse().unwrap());
    let nonce_before = provider.get_transaction_count(customer.address).await.unwrap();
    let buy = ["customer", "buy", "--budget", "100 SNM", "--image", "busybox", "--account", "customer"];

    // Values: each named with what is expected; usage errors (exit 2).
    let negative = env.run(&["customer", "deposit", "-5 SNM", "--account", "customer"]).await;
    harness::assert_has(negative.failed_with(2), &["-5 SNM"]);
    let zero_term = env.run(&[&buy[..], &["--term", "0s"]].concat()).await;
    harness::assert_has(zero_term.failed_with(2), &["0s", "at least 1s"]);
    let lots = env.run(&[&buy[..], &["--term", "1h", "--ram", "lots"]].concat()).await;
    harness::assert_has(lots.failed_with(2), &["lots"]);
    let unknown = env.run(&["--json", "customer", "deposit", "5 SNM", "--frobnicate"]).await;
    unknown.failed_with(2);
    let error = unknown.json_error();
    assert_eq!(error.kind, "usage");
    assert!(error.message.contains("--frobnicate"), "{}", error.message);
    for run in [&negative, &zero_term, &lots] {
        assert_eq!(run.stderr.lines().count(), 1, "one line:\n{}", run.stderr);
        assert!(run.stdout.is_empty());
    }

    // The node: unreachable (exit 4).
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let unreachable = run_snm(
        &env.home,
        &["--json", "customer", "deposit", "5 SNM", "--account", "customer", "--rpc", &closed],
        &[("SNM_DEPLOYMENT", &env.deployment), ("SNM_PASSWORD_FILE", &env.password_file)],
    )
    .await;
    unreachable.failed_with(4);
    assert_eq!(unreachable.json_error().kind, "network");

    // The deployment: another chain's, or addresses with no code (exit 6).
    let mut other_chain = report.deployment;
    other_chain.chain_id = Some(1);
    let other_chain_file = env.home.join("chain-1.json");
    other_chain.write_file(&other_chain_file).unwrap();
    let wrong_chain = env
        .run(&[
            "customer",
            "deposit",
            "5 SNM",
            "--account",
            "customer",
            "--deployment",
            &other_chain_file.display().to_string(),
        ])
        .await;
    harness::assert_has(wrong_chain.failed_with(6), &["31337"]);
    let mut no_code = report.deployment;
    no_code.market = Address::repeat_byte(0x42);
    let no_code_file = env.home.join("no-code.json");
    no_code.write_file(&no_code_file).unwrap();
    let empty = env
        .run(&[
            "--json",
            "customer",
            "deposit",
            "5 SNM",
            "--account",
            "customer",
            "--deployment",
            &no_code_file.display().to_string(),
        ])
        .await;
    empty.failed_with(6);
    let error = empty.json_error();
    assert_eq!(error.kind, "deployment");
    assert!(error.message.to_lowercase().contains(&"0x4242424242".to_string()), "{}", error.message);

    // The key: a wrong password (exit 7); no account at all.
    let wrong_password = env.home.join("wrong-password");
    std::fs::write(&wrong_password, "not-it").unwrap();
    let refused = env
        .run(&[
            "customer",
            "deposit",
            "5 SNM",
            "--account",
            "customer",
            "--password-file",
            &wrong_password.display().to_string(),
        ])
        .await;
    harness::assert_has(refused.failed_with(7), &["wrong password for account `customer`"]);
    let nobody = env.run(&["customer", "deposit", "5 SNM"]).await;
    harness::assert_has(nobody.failed_with(7), &["no account", "snm wallet new"]);

    // A key that is not a key: a key file imported, a variable of --private-key-env (exit 7),
    // neither echoed.
    let not_key_file = env.home.join("not-a-key");
    std::fs::write(&not_key_file, "this is not a key\n").unwrap();
    let bad_file = env
        .run(&["wallet", "import", "bad", "--private-key-file", &not_key_file.display().to_string()])
        .await;
    harness::assert_has(bad_file.failed_with(7), &["not-a-key does not hold a private key"]);
    let bad_env = run_snm(
        &env.home,
        &["customer", "deposit", "5 SNM", "--private-key-env", "CUSTOMER_KEY"],
        &[("SNM_RPC", &env.rpc), ("SNM_DEPLOYMENT", &env.deployment), ("CUSTOMER_KEY", "this is not a key")],
    )
    .await;
    harness::assert_has(bad_env.failed_with(7), &["CUSTOMER_KEY"]);
    for run in [&bad_file, &bad_env] {
        assert!(!run.stderr.contains("this is not a key"), "a key's text is never echoed:\n{}", run.stderr);
    }

    // The chain refuses: more than the wallet holds (exit 3).
    let too_much =
        env.run(&["--json", "customer", "deposit", "999999999 SNM", "--account", "customer"]).await;
    too_much.failed_with(3);
    assert_eq!(too_much.json_error().kind, "refused");

    // Every refusal above is one line on stderr and nothing on stdout.
    for run in [
        &negative,
        &zero_term,
        &lots,
        &unknown,
        &unreachable,
        &wrong_chain,
        &empty,
        &refused,
        &nobody,
        &bad_file,
        &bad_env,
        &too_much,
    ] {
        assert_eq!(run.stderr.lines().count(), 1, "one line:\n{}", run.stderr);
        assert!(run.stdout.is_empty(), "nothing on stdout:\n{}", run.stdout);
    }

    assert_eq!(
        provider.get_transaction_count(customer.address).await.unwrap(),
        nonce_before,
        "a transaction was sent"
    );
}

#[derive(Debug, Deserialize)]
struct Onboarded {
    master: Address,
    worker: Address,
    steps: Vec<String>,
    config: PathBuf,
    next: String,
}

/// `snm supplier init` with a master imported from a devnet key and a worker made by `snm wallet
/// new` (given ether for gas), its port answering on loopback.
async fn supplier_init(env: &Env, report: &DevnetReport, master: &FundedAccount, operator: &FundedAccount) {
    let key_file = env.home.join("acme.key");
    std::fs::write(&key_file, &master.private_key).unwrap();
    env.run(&["wallet", "import", "acme", "--private-key-file", &key_file.display().to_string()]).await.ok();
    #[derive(Deserialize)]
    struct Created {
        address: Address,
    }
    let created: Created = env.json(&["wallet", "new", "box1"]).await;
    let sent = tokio::process::Command::new(harness::cast())
        .args([
            "send",
            "--private-key",
            &operator.private_key,
            "--rpc-url",
            &report.rpc,
            &created.address.to_string(),
            "--value",
            "1ether",
        ])
        .output()
        .await
        .unwrap();
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let out = env.home.join("box1/agent.toml");
    let out_arg = out.display().to_string();
    let init = [
        "supplier",
        "init",
        "--master",
        "acme",
        "--worker",
        "box1",
        "--ip",
        "127.0.0.1",
        "--price",
        "0.36 USD/h",
        "--cores",
        "2",
        "--ram",
        "4GiB",
        "--out",
        &out_arg,
    ];
    let onboarded: Onboarded = env.json(&[&init[..], &["--port", &port]].concat()).await;
    assert_eq!(
        (onboarded.master, onboarded.worker, &onboarded.config),
        (master.address, created.address, &out)
    );
    assert_eq!(onboarded.next, format!("snm agent run --config {out_arg} --account acme"));
    assert!(onboarded.steps.iter().any(|s| s.contains("confirmed worker")), "{:?}", onboarded.steps);
    let config = snm_agent::AgentConfig::from_file(&out).unwrap();
    assert_eq!(config.workers[0].address, created.address);
    assert_eq!(
        (config.asks[0].resources.cpu_milli_cores, config.asks[0].resources.ram_bytes),
        (2_000, 4 << 30)
    );

    // Run again: the link is kept; a port that does not answer stops it with the fix.
    let again: Onboarded = env.json(&[&init[..], &["--port", &port]].concat()).await;
    assert!(again.steps.iter().any(|s| s.contains("already belongs")), "{:?}", again.steps);
    drop(listener);
    let closed = closed_port().to_string();
    let refused = env.run(&[&init[..], &["--port", &closed]].concat()).await;
    harness::assert_has(refused.failed_with(1), &["does not answer", "open the port"]);
}
