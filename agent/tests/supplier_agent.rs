//! The `snm-agent` program against a devnet: it confirms its worker, keeps its ask open, runs
//! the metered proxy for each deal, and, killed with SIGKILL in the middle of a deal and started
//! again, neither misses nor repeats anything: the deal that closed while it was down is stopped and
//! metered once, the deal that opened while it was down is started once, and the usage report has
//! every byte the customer sent, exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{providers::DynProvider, signers::local::PrivateKeySigner};
use snm_agent::{AgentConfig, AgentEvent, ProcessRuntime, SupplierAgent};
use snm_proxy::{
    agent_command,
    traffic::{echo_server, send_through},
};
use snm_sdk::{
    Client, Customer, Supplier,
    devnet::{Devnet, DevnetConfig},
    market::{CloseReason, DealId, DealOpened, PlacedAsk, Purchase},
    proxy_client::ProxySecret,
    rewards::CSV_HEADER,
    units::{Snm, Term},
};

/// The customer's proxy secret: 128 random bits in hexadecimal, as the SDK requires.
const SECRET: &str = "5f0c3e9a7b21d4868ae9c1f20b7d3c54";

fn secret() -> ProxySecret {
    ProxySecret::new(SECRET).unwrap()
}

/// The customer's target is an echo server on loopback, which the proxy refuses unless allowed.
fn allow_loopback() -> Vec<snm_proxy::policy::Cidr> {
    vec!["127.0.0.1/32".parse().unwrap()]
}

/// A devnet, a scratch directory, and the deployment file in it.
struct Scene {
    devnet: Devnet,
    dir: PathBuf,
    deployment: PathBuf,
}

impl Scene {
    async fn start(name: &str, config: DevnetConfig) -> Self {
        let devnet = Devnet::start_with(config).await.unwrap();
        let dir = std::env::temp_dir().join(format!("snm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let deployment = dir.join("deployment.json");
        devnet.deployment().write_file(&deployment).unwrap();
        Self { devnet, dir, deployment }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        // A workload runs in a process group of its own and outlives its agent on purpose (the
        // next agent adopts it); the agents these tests kill leave theirs: stop them with the scene.
        kill_workloads_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Kills the process groups whose leader's command line names `dir` (the workloads started under
/// it, whichever process is their parent now).
fn kill_workloads_under(dir: &std::path::Path) {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    for pid in entries.flatten().filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok()) {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains(&needle) {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // `pid (comm) state ppid pgrp ...`: the group is the third field after the parenthesis.
        let group =
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(2).map(str::to_owned));
        if group == Some(pid.to_string()) {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(-pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// A private key as `SNM_KEY` takes it: `0x` and 64 hex digits.
fn key_hex(key: &PrivateKeySigner) -> String {
    format!("0x{}", alloy::hex::encode(key.to_bytes()))
}

/// The workload the agent runs: the `snm-proxy` binary, which a workspace build puts beside this
/// test's directory (`make test` builds every binary first).
fn proxy_program() -> String {
    let exe = std::env::current_exe().unwrap();
    let program = exe.parent().and_then(Path::parent).unwrap().join("snm-proxy");
    assert!(
        program.is_file(),
        "{} is missing: build it first (`cargo build -p snm-proxy`; `make test` does)",
        program.display()
    );
    program.display().to_string()
}

/// `snm-agent run` on the scene's `agent.toml`, as `master`.
fn agent_process(scene: &Scene, master: &PrivateKeySigner) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snm-agent"));
    command
        .args(["--rpc", scene.devnet.endpoint().as_str(), "--deployment"])
        .arg(&scene.deployment)
        .args(["run", "--config"])
        .arg(scene.path("agent.toml"))
        .env("SNM_KEY", key_hex(master));
    command
}

/// Runs an agent that should refuse to start: its exit status and what it wrote to stderr.
async fn refused_agent(scene: &Scene, master: &PrivateKeySigner) -> (std::process::ExitStatus, String) {
    let mut command = tokio::process::Command::from(agent_process(scene, master));
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the agent neither refused to start nor stopped within 60 s")
        .unwrap();
    (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The agent as a process, with everything it printed.
struct Agent {
    child: Child,
    output: Arc<Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Agent {
    fn spawn(scene: &Scene, master: &PrivateKeySigner) -> Self {
        let mut child =
            agent_process(scene, master).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("agent | {line}");
                let mut out = sink.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        });
        Self { child, output, reader }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    async fn wait_for(&self, text: &str) {
        let start = Instant::now();
        while !self.output().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the agent never said `{text}`:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the agent and returns everything it printed: the pipe ends with the process (its
    /// workloads write to log files of their own, so none holds it open), and the reader has taken
    /// every line once it joins.
    fn kill(self) -> String {
        let Self { mut child, output, reader } = self;
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        output.lock().unwrap().clone()
    }
}

/// Sends `bytes` through the deal's proxy and checks the echo: `2 * bytes` carried.
async fn traffic(customer: &Customer<DynProvider>, deal: DealId, target: SocketAddr, bytes: u64) {
    let endpoint = customer.market().wait_for_endpoint(deal, Duration::from_secs(30)).await.unwrap();
    send_through(&endpoint.parse().unwrap(), target, &secret(), bytes).await.unwrap();
}

/// The agent's ask once it is on the order book.
async fn wait_for_ask(customer: &Customer<DynProvider>, master: &Client<DynProvider>) -> PlacedAsk {
    let start = Instant::now();
    loop {
        let book = customer.market().order_book().await.unwrap();
        if let Some(ask) = book.asks().find(|a| a.ask.master == master.sender()) {
            return ask.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the agent placed no ask");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn buy(customer: &Customer<DynProvider>, ask: &PlacedAsk) -> DealOpened {
    buy_for(customer, ask, Term::Spot).await
}

async fn buy_for(customer: &Customer<DynProvider>, ask: &PlacedAsk, term: Term) -> DealOpened {
    let purchase =
        Purchase::new(term, "100 SNM".parse().unwrap(), "snm/proxy:1").config_hash(secret().config_hash());
    customer.quick_buy(ask, &purchase).await.unwrap()
}

/// A fixed term of two hours: the supplier could not close it early but for `end_unserved`.
const TWO_HOURS: Term = Term::Fixed(Duration::from_secs(7_200));

/// The agent's configuration: one worker on 127.0.0.1, one ask, workloads run by `command`.
fn write_config(dir: &Path, worker: &Client<DynProvider>, command: &[String]) {
    let config = common::agent_toml(worker, command, "100ms");
    std::fs::write(dir.join("agent.toml"), config).unwrap();
}

#[tokio::test]
async fn killed_and_restarted_mid_deal_the_agent_misses_and_repeats_nothing() {
    let scene = Scene::start("agent-test", DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await;
    let (devnet, dir) = (&scene.devnet, &scene.dir);
    let master_key = devnet.new_account(Snm::ZERO).await.unwrap();
    let master = devnet.connect(&master_key);
    let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let customer =
        Customer::new(devnet.connect(&devnet.new_account("1000 SNM".parse().unwrap()).await.unwrap()));
    customer.token().approve_market("1000 SNM".parse().unwrap()).await.unwrap();
    let target = echo_server().await.unwrap();

    // The machine asks to join; the agent confirms it and places its ask.
    worker.market().request_worker(master.sender()).await.unwrap();
    write_config(dir, &worker, &agent_command(&proxy_program(), &allow_loopback()));
    let agent = Agent::spawn(&scene, &master_key);
    agent.wait_for(&format!("confirmed worker {}", worker.sender())).await;

    // Deal 1 runs, carries 100 KB each way, then the agent is killed.
    let first = buy(&customer, &wait_for_ask(&customer, &master).await).await;
    traffic(&customer, first.id, target, 100_000).await;
    // The agent prints a round's events once the round is done: the customer can see the endpoint
    // on chain before the agent has said so.
    agent.wait_for(&format!("deal {}: announced", first.id)).await;
    let before = agent.kill();
    assert_eq!(before.matches(&format!("deal {}: workload running", first.id)).count(), 1, "{before}");

    // While the agent is down the proxy keeps serving, and the customer closes the deal.
    traffic(&customer, first.id, target, 50_000).await;
    let first_closed = customer.market().close_deal(first.id, false).await.unwrap();

    // Started again: deal 1 is stopped and metered (not started again), a new ask goes up.
    let agent = Agent::spawn(&scene, &master_key);
    agent.wait_for(&format!("deal {}: finished, 300000 B carried", first.id)).await;
    let second = buy(&customer, &wait_for_ask(&customer, &master).await).await;
    traffic(&customer, second.id, target, 70_000).await;

    // Killed again right after the second deal opened and served: started once, across both runs.
    agent.wait_for(&format!("deal {}: announced", second.id)).await;
    let during = agent.kill();
    let second_closed = customer.market().close_deal(second.id, false).await.unwrap();
    let agent = Agent::spawn(&scene, &master_key);
    agent.wait_for(&format!("deal {}: finished, 140000 B carried", second.id)).await;
    let after = agent.kill();
    let all = format!("{before}{during}{after}");
    assert_eq!(all.matches(&format!("deal {}: workload running", first.id)).count(), 1, "{all}");
    assert_eq!(all.matches(&format!("deal {}: workload running", second.id)).count(), 1, "{all}");
    assert_eq!(all.matches(&format!("deal {}: finished", first.id)).count(), 1, "{all}");
    assert_eq!(all.matches(&format!("deal {} opened", second.id)).count(), 1, "{all}");

    // The usage report: one line per deal, every byte once, the deal's period.
    let report = std::fs::read_to_string(dir.join("usage.csv")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], CSV_HEADER);
    assert_eq!(lines.len(), 3, "{report}");
    let line = |deal: &DealOpened, bytes: u64, end: u64| {
        format!("{},127.0.0.1,{bytes},{},{end}", master.sender(), deal.start_time)
    };
    assert!(lines.contains(&line(&first, 300_000, first_closed.settled_until).as_str()), "{report}");
    assert!(lines.contains(&line(&second, 140_000, second_closed.settled_until).as_str()), "{report}");
}

/// A master with a worker that asked to join it, and a customer with 1000 SNM approved to the market.
struct Parties {
    master_key: PrivateKeySigner,
    master: Client<DynProvider>,
    worker: Client<DynProvider>,
    customer: Customer<DynProvider>,
}

impl Parties {
    async fn new(devnet: &Devnet) -> Self {
        let master_key = devnet.new_account(Snm::ZERO).await.unwrap();
        let master = devnet.connect(&master_key);
        let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
        let customer =
            Customer::new(devnet.connect(&devnet.new_account("1000 SNM".parse().unwrap()).await.unwrap()));
        customer.token().approve_market("1000 SNM".parse().unwrap()).await.unwrap();
        worker.market().request_worker(master.sender()).await.unwrap();
        Self { master_key, master, worker, customer }
    }
}

#[tokio::test]
async fn a_second_agent_on_the_same_state_is_refused_naming_the_first_until_it_died() {
    let scene = Scene::start("agent-lock", DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await;
    let parties = Parties::new(&scene.devnet).await;
    write_config(&scene.dir, &parties.worker, &agent_command(&proxy_program(), &allow_loopback()));
    let first = Agent::spawn(&scene, &parties.master_key);
    first.wait_for("resuming from block").await;
    let pid = first.child.id();

    let (status, stderr) = refused_agent(&scene, &parties.master_key).await;
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains(&format!("another agent (pid {pid}) is running on the state file")), "{stderr}");
    assert!(stderr.contains("state.json"), "{stderr}");

    // Killed, the first agent leaves no lock behind: the next one starts and serves.
    first.kill();
    let next = Agent::spawn(&scene, &parties.master_key);
    next.wait_for("resuming from block").await;
    let deal = buy(&parties.customer, &wait_for_ask(&parties.customer, &parties.master).await).await;
    next.wait_for(&format!("deal {}: announced", deal.id)).await;
    let lock = std::fs::read_to_string(scene.path("state.json.lock")).unwrap();
    assert_eq!(lock.trim(), next.child.id().to_string());
    next.kill();
}

#[tokio::test]
async fn an_agent_whose_workload_program_is_missing_refuses_to_start_and_places_no_ask() {
    let scene = Scene::start("agent-missing", DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await;
    let parties = Parties::new(&scene.devnet).await;
    let command = agent_command("/nonexistent/proxy", &allow_loopback());
    write_config(&scene.dir, &parties.worker, &command);

    let (status, stderr) = refused_agent(&scene, &parties.master_key).await;
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("the program /nonexistent/proxy cannot be used"), "{stderr}");
    let book = parties.customer.market().order_book().await.unwrap();
    assert_eq!(book.asks().filter(|a| a.ask.master == parties.master.sender()).count(), 0);
    // Nothing was confirmed nor remembered: a corrected configuration starts as if new.
    assert_eq!(parties.master.market().master_of(parties.worker.sender()).await.unwrap(), None);
    assert!(!scene.path("state.json").exists());
}

#[tokio::test]
async fn a_fixed_term_deal_whose_workload_cannot_start_is_ended_unserved_refunding_the_whole_deposit() {
    let scene = Scene::start("agent-unserved", DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await;
    let parties = Parties::new(&scene.devnet).await;
    // The program is there when the agent starts, and gone when the deal comes.
    let program = common::workload_program(&scene.dir);
    write_config(&scene.dir, &parties.worker, &[program.display().to_string(), "{stats}".into()]);
    let agent = Agent::spawn(&scene, &parties.master_key);
    let ask = wait_for_ask(&parties.customer, &parties.master).await;
    std::fs::remove_file(&program).unwrap();

    let customer = &parties.customer;
    let free_before = customer.escrow().free_balance(customer.sender()).await.unwrap();
    let deal = buy_for(customer, &ask, TWO_HOURS).await;
    agent.wait_for(&format!("deal {}: closed", deal.id)).await;
    let output = agent.kill();
    for attempt in 1..=snm_agent::MAX_START_ATTEMPTS {
        let failed = format!("deal {}: workload failed to start (attempt {attempt})", deal.id);
        assert!(output.contains(&failed), "{output}");
    }
    let gave_up = format!(
        "deal {}: the workload cannot start; no longer settled, ending it as served until block time {}",
        deal.id, deal.start_time
    );
    assert!(output.contains(&gave_up), "{output}");
    assert!(output.contains(&format!("deal {}: closed (Unserved)", deal.id)), "{output}");
    assert!(!output.contains(&format!("deal {}: settled", deal.id)), "{output}");

    // Never served: the customer gets every wei of the deposit back, the supplier nothing.
    let closed = customer.market().deal(deal.id).await.unwrap().unwrap();
    assert_eq!((closed.closed, closed.deposit), (Some(CloseReason::Unserved), Snm::ZERO));
    let free_after = customer.escrow().free_balance(customer.sender()).await.unwrap();
    assert_eq!(free_after, free_before.checked_add(deal.deposit).unwrap());
    assert_eq!(parties.master.escrow().earnings(parties.master.sender()).await.unwrap(), Snm::ZERO);
}

#[tokio::test]
async fn a_deal_whose_workload_died_and_cannot_start_again_is_paid_only_while_it_ran() {
    let scene = Scene::start("agent-died", DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await;
    let parties = Parties::new(&scene.devnet).await;
    let program = common::workload_program(&scene.dir);
    write_config(&scene.dir, &parties.worker, &[program.display().to_string(), "{stats}".into()]);
    let agent = Agent::spawn(&scene, &parties.master_key);
    let ask = wait_for_ask(&parties.customer, &parties.master).await;
    let customer = &parties.customer;
    let free_before = customer.escrow().free_balance(customer.sender()).await.unwrap();
    let deal = buy_for(customer, &ask, TWO_HOURS).await;
    agent.wait_for(&format!("deal {}: announced", deal.id)).await;

    // Served a few block seconds, then the workload dies and its program is gone.
    let client = parties.master.clone();
    let start = Instant::now();
    while client.now().await.unwrap() < deal.start_time + 5 {
        assert!(start.elapsed() < Duration::from_secs(30), "the chain's clock does not move");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = {
        let output = agent.output();
        let running = format!("deal {}: workload running (pid ", deal.id);
        let at = output.find(&running).unwrap() + running.len();
        output[at..].split(')').next().unwrap().to_owned()
    };
    std::fs::remove_file(&program).unwrap();
    assert!(Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
    let killed_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    agent.wait_for(&format!("deal {}: closed", deal.id)).await;
    let output = agent.kill();
    assert!(output.contains(&format!("deal {}: workload stopped by itself", deal.id)), "{output}");
    assert!(output.contains(&format!("deal {}: closed (Unserved)", deal.id)), "{output}");
    assert!(!output.contains(&format!("deal {}: settled", deal.id)), "{output}");

    // Paid from the start up to the last time the agent saw it running, no further.
    let closed = customer.market().deal(deal.id).await.unwrap().unwrap();
    assert_eq!(closed.closed, Some(CloseReason::Unserved));
    assert!(
        closed.settled_until > deal.start_time && closed.settled_until <= killed_at,
        "paid until {}, started at {}, killed at {killed_at}",
        closed.settled_until,
        deal.start_time
    );
    let refunded =
        customer.escrow().free_balance(customer.sender()).await.unwrap().checked_sub(free_before).unwrap();
    let earned = parties.master.escrow().earnings(parties.master.sender()).await.unwrap();
    assert!(earned > Snm::ZERO && refunded < deal.deposit, "earned {earned}, refunded {refunded}");
    // Exactly the served seconds were paid at the deal's price; every other wei went back.
    let rate = customer.oracle().rate().await.unwrap().snm_per_usd;
    let served = closed.settled_until - deal.start_time;
    let paid = deal.deposit.checked_sub(refunded).unwrap();
    assert_eq!(paid, deal.price.snm_owed_down(served, rate).unwrap(), "{served} s served");
}

#[tokio::test]
async fn rounds_failing_with_the_node_down_are_retried_after_doubling_pauses_not_every_poll() {
    let devnet = Devnet::start_with(DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await.unwrap();
    let dir = std::env::temp_dir().join(format!("snm-agent-backoff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let parties = Parties::new(&devnet).await;
    write_config(&dir, &parties.worker, &agent_command(&proxy_program(), &allow_loopback()));
    let config = AgentConfig::from_file(&dir.join("agent.toml")).unwrap();
    let poll = config.poll_every;
    let runtime = ProcessRuntime::new(config.command.clone(), config.workload_dir.clone()).unwrap();
    let (mut agent, _) =
        SupplierAgent::start(Supplier::new(parties.master.clone()), config, runtime).await.unwrap();
    // The node goes away for good.
    drop(devnet);

    let pauses = Arc::new(Mutex::new(Vec::new()));
    let (enough, stop) = tokio::sync::oneshot::channel::<()>();
    let mut enough = Some(enough);
    let seen = Arc::clone(&pauses);
    let started = Instant::now();
    let run = agent.run(
        async {
            let _ = stop.await;
        },
        |event| {
            if let AgentEvent::Retrying { doing, retry_in, .. } = event {
                assert_eq!(doing, "a round", "{event}");
                let mut seen = seen.lock().unwrap();
                seen.push(*retry_in);
                if seen.len() == 5 {
                    enough.take().map(|tx| tx.send(()));
                }
            }
        },
    );
    tokio::time::timeout(Duration::from_secs(120), run).await.expect("five failed rounds within 120 s");
    let pauses = pauses.lock().unwrap().clone();
    // Each pause is drawn from the upper half of poll_every × 2^k.
    for (k, pause) in pauses.iter().enumerate() {
        let ceiling = poll * (1 << k);
        assert!(*pause >= ceiling / 2 && *pause <= ceiling, "pause {k} is {pause:?}: {pauses:?}");
    }
    // The agent waited them: the first four pauses passed before the fifth failure.
    assert!(started.elapsed() >= pauses[..4].iter().sum::<Duration>(), "{pauses:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_example_configuration_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/agent.toml");
    let config = snm_agent::AgentConfig::from_file(&path).unwrap();
    assert_eq!((config.workers.len(), config.asks.len()), (1, 1));
    assert_eq!(config.command[0], "snm-proxy");
}
