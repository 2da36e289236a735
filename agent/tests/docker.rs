//! The agent's Docker runtime on a real dockerd, in a network namespace each test makes (see
//! `docker_netns`): the `snm-agent` program runs deals' containers with the deal's limits,
//! announces them, meters their traffic from the Engine's stats (through a kill and restart of the
//! agent, adopting the running container), removes them when the deal closes, and restarts a
//! container that exits a bounded number of times before it reports it and ends the deal.
//!
//! Metering tolerance: the Engine counts bytes on the container's interface, frames with their
//! Ethernet, IP and TCP headers and the acknowledgements; the payload the client sent and received
//! is a lower bound, and the count stays within 10 % above it (about 5 % with 1500-byte frames).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod docker_netns;

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{providers::DynProvider, signers::local::PrivateKeySigner};
use docker_netns::DockerNetns;
use snm_sdk::{
    Client, Customer,
    devnet::{Devnet, DevnetConfig},
    market::{DealId, DealOpened, PlacedAsk, Purchase},
    rewards::CSV_HEADER,
    units::{Snm, Term},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An echo server: busybox `nc` serving each connection with `cat`, for as long as it runs.
const ECHO: &[&str] = &["/bin/nc", "-ll", "-p", "3128", "-e", "/bin/cat"];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn key_hex(key: &PrivateKeySigner) -> String {
    format!("0x{}", alloy::hex::encode(key.to_bytes()))
}

/// A master whose worker asked to join it, and a customer with 1000 SNM approved to the market.
struct Parties {
    master_key: PrivateKeySigner,
    customer_key: PrivateKeySigner,
    master: Client<DynProvider>,
    worker: Client<DynProvider>,
    customer: Customer<DynProvider>,
}

impl Parties {
    async fn new(devnet: &Devnet) -> Self {
        let master_key = devnet.new_account(Snm::ZERO).await.unwrap();
        let master = devnet.connect(&master_key);
        let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
        let customer_key = devnet.new_account("1000 SNM".parse().unwrap()).await.unwrap();
        let customer = Customer::new(devnet.connect(&customer_key));
        customer.token().approve_market("1000 SNM".parse().unwrap()).await.unwrap();
        worker.market().request_worker(master.sender()).await.unwrap();
        Self { master_key, customer_key, master, worker, customer }
    }
}

/// The agent's configuration: Docker runtime on the namespace's dockerd, one worker on
/// 127.0.0.1 whose ask offers half a core and 64 MiB.
fn write_config(dir: &Path, docker: &DockerNetns, worker: &Client<DynProvider>, restarts: u32, extra: &str) {
    let config = format!(
        r#"state = "state.json"
usage_report = "usage.csv"
poll_every = "100ms"
settle_every = "1h"
retry_max = "1s"
[runtime]
kind = "docker"
dir = "workloads"
[runtime.docker]
host = "{host}"
port = 3128
restarts = {restarts}
pull = false
startup_grace = "300ms"
{extra}
[[worker]]
address = "{worker}"
ip = "127.0.0.1"
[[ask]]
worker = "{worker}"
price = "0.9 USD/h"
cpu_milli_cores = 500
ram_mib = 64
flags = "PUBLIC_IP | INCOMING"
"#,
        host = docker.host(),
        worker = worker.sender(),
    );
    std::fs::write(dir.join("agent.toml"), config).unwrap();
}

/// The `snm-agent` program, with everything it printed.
struct Agent {
    child: Child,
    output: Arc<Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Agent {
    fn spawn(devnet: &Devnet, dir: &Path, master: &PrivateKeySigner) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_snm-agent"))
            .args(["--rpc", devnet.endpoint().as_str(), "--deployment"])
            .arg(dir.join("deployment.json"))
            .args(["run", "--config"])
            .arg(dir.join("agent.toml"))
            .env("SNM_KEY", key_hex(master))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
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

    async fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let output = self.output();
            if let Some(at) = output.find(text) {
                return output[at..].lines().next().unwrap_or_default().to_owned();
            }
            assert!(start.elapsed() < Duration::from_secs(60), "the agent never said `{text}`:\n{output}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill(self) -> String {
        let Self { mut child, output, reader } = self;
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        output.lock().unwrap().clone()
    }
}

async fn wait_for_ask(customer: &Customer<DynProvider>, master: &Client<DynProvider>) -> PlacedAsk {
    let start = Instant::now();
    loop {
        let book = customer.market().order_book().await.unwrap();
        if let Some(ask) = book.asks().find(|a| a.ask.master == master.sender()) {
            return ask.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the agent placed no ask");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn buy(customer: &Customer<DynProvider>, ask: &PlacedAsk, image: &str) -> DealOpened {
    buy_with(customer, ask, image, alloy::primitives::B256::ZERO).await
}

async fn buy_with(
    customer: &Customer<DynProvider>,
    ask: &PlacedAsk,
    image: &str,
    config_hash: alloy::primitives::B256,
) -> DealOpened {
    let purchase = Purchase::new(Term::Spot, "100 SNM".parse().unwrap(), image).config_hash(config_hash);
    customer.quick_buy(ask, &purchase).await.unwrap()
}

/// Sends `bytes` to the echo container and reads them back: `2 * bytes` of payload.
async fn echo(endpoint: SocketAddr, bytes: usize) {
    let stream = tokio::net::TcpStream::connect(endpoint).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let data: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8).collect();
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        write.write_all(&sent).await.unwrap();
        write.shutdown().await.unwrap();
    });
    let mut back = Vec::with_capacity(bytes);
    tokio::time::timeout(Duration::from_secs(60), async {
        while back.len() < bytes {
            let mut chunk = vec![0; 64 * 1024];
            let n = read.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the echo stopped after {} of {bytes} bytes", back.len());
            back.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .expect("the echo took over 60 s");
    writer.await.unwrap();
    assert!(back == data, "the echo differs from what was sent");
}

/// Posts `body` to `path` on `to` and returns the whole answer.
async fn post(to: SocketAddr, path: &str, body: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(to).await.unwrap();
    let head = format!("POST {path} HTTP/1.1\r\nhost: {to}\r\ncontent-length: {}\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await.unwrap().unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A relay to `to` on a port of 127.0.0.1 for one connection, recording what the client sent.
async fn relay(to: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let wire = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&wire);
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = tokio::net::TcpStream::connect(to).await.unwrap();
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let answer = tokio::spawn(async move { tokio::io::copy(&mut server_read, &mut client_write).await });
        let mut chunk = vec![0; 16 * 1024];
        loop {
            let n = client_read.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            record.lock().unwrap().extend_from_slice(&chunk[..n]);
            if server_write.write_all(&chunk[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
        let _ = answer.await;
    });
    (address, wire)
}

/// The containers of a deal, running or not (by the agent's label).
fn containers(docker: &DockerNetns, deal: DealId) -> Vec<String> {
    let filter = format!("label={}={deal}", snm_agent::runtime::LABEL_DEAL);
    let out = docker.docker(&["ps", "-a", "-q", "--filter", &filter]).unwrap();
    out.lines().map(str::to_owned).collect()
}

/// The devnet (inside the namespace) and a scratch directory with its deployment file.
async fn scene(name: &str) -> (Devnet, PathBuf) {
    let devnet = Devnet::start_with(DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await.unwrap();
    let dir = std::env::temp_dir().join(format!("snm-docker-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    devnet.deployment().write_file(&dir.join("deployment.json")).unwrap();
    (devnet, dir)
}

#[test]
fn a_deal_runs_a_limited_container_metered_across_an_agent_kill_and_removed_when_it_closes() {
    let docker = DockerNetns::start();
    docker.busybox_image("snm-echo:test", ECHO);
    docker.enter(|| {
        runtime().block_on(async {
            let (devnet, dir) = scene("deal").await;
            let parties = Parties::new(&devnet).await;
            write_config(&dir, &docker, &parties.worker, 3, "");
            let agent = Agent::spawn(&devnet, &dir, &parties.master_key);
            let ask = wait_for_ask(&parties.customer, &parties.master).await;
            let deal = buy(&parties.customer, &ask, "snm-echo:test").await;
            agent.wait_for(&format!("deal {}: announced", deal.id)).await;
            let endpoint: SocketAddr = parties
                .customer
                .market()
                .wait_for_endpoint(deal.id, Duration::from_secs(30))
                .await
                .unwrap()
                .parse()
                .unwrap();

            // The deal's limits, read back from the Engine.
            let running = containers(&docker, deal.id);
            assert_eq!(running.len(), 1, "{running:?}");
            let limits = docker
                .docker(&["inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", &running[0]])
                .unwrap();
            assert_eq!(limits.trim(), format!("{} {}", 500_000_000, 64 << 20));

            // Traffic with the agent up, while it is killed, and after it adopted the container.
            let sizes = [1_000_000usize, 700_000, 300_000];
            echo(endpoint, sizes[0]).await;
            agent.wait_for(&format!("deal {}: announced", deal.id)).await;
            let before = agent.kill();
            echo(endpoint, sizes[1]).await;
            let agent = Agent::spawn(&devnet, &dir, &parties.master_key);
            agent.wait_for("resuming from block").await;
            echo(endpoint, sizes[2]).await;
            assert_eq!(containers(&docker, deal.id), running, "adopted, not started again");

            parties.customer.market().close_deal(deal.id, false).await.unwrap();
            let finished = agent.wait_for(&format!("deal {}: finished, ", deal.id)).await;
            let after = agent.kill();
            assert!(containers(&docker, deal.id).is_empty(), "the container is removed");
            let all = format!("{before}{after}");
            assert_eq!(all.matches(&format!("deal {}: workload running", deal.id)).count(), 1, "{all}");

            // The usage report holds the container's bytes: the payload both ways, plus headers.
            let payload: u64 = sizes.iter().map(|s| 2 * *s as u64).sum();
            let report = std::fs::read_to_string(dir.join("usage.csv")).unwrap();
            let lines: Vec<&str> = report.lines().collect();
            assert_eq!((lines.len(), lines[0]), (2, CSV_HEADER), "{report}");
            let metered: u64 = lines[1].split(',').nth(2).unwrap().parse().unwrap();
            println!("deal {}: payload {payload} B, metered {metered} B ({finished})", deal.id);
            assert!(
                metered >= payload && metered <= payload + payload / 10,
                "metered {metered} B for {payload} B of payload"
            );
            assert!(finished.contains(&format!("{metered} B carried")), "{finished}");
            let _ = std::fs::remove_dir_all(&dir);
        })
    });
}

#[test]
fn a_container_that_keeps_exiting_is_restarted_then_reported_and_its_deal_ended() {
    let docker = DockerNetns::start();
    // Serves a while, then crashes.
    docker.busybox_image("snm-crash:test", &["/bin/sh", "-c", "sleep 1; exit 3"]);
    // Echoes, and crashes a second after it echoed some bytes (which `/in` remembers across
    // restarts of the container).
    let crash_after_echo = "/bin/nc -ll -p 3128 -e /bin/sh -c 'cat >/in; cat /in' & \
                            while [ ! -s /in ]; do sleep 1; done; sleep 1; exit 3";
    docker.busybox_image("snm-crash-echo:test", &["/bin/sh", "-c", crash_after_echo]);
    docker.enter(|| {
        runtime().block_on(async {
            let (devnet, dir) = scene("crash").await;
            let parties = Parties::new(&devnet).await;
            write_config(&dir, &docker, &parties.worker, 2, "");
            let agent = Agent::spawn(&devnet, &dir, &parties.master_key);
            let ask = wait_for_ask(&parties.customer, &parties.master).await;
            let deal = buy(&parties.customer, &ask, "snm-crash:test").await;
            agent.wait_for(&format!("deal {}: closed (Unserved)", deal.id)).await;
            let output = agent.kill();
            // Started once by the agent, restarted twice by the runtime, then reported.
            assert_eq!(output.matches(&format!("deal {}: workload running", deal.id)).count(), 1, "{output}");
            assert!(output.contains(&format!("deal {}: workload stopped by itself", deal.id)), "{output}");
            assert!(output.contains("the container exited 3 times (last exit code 3)"), "{output}");
            // The crash loop is final: the deal is ended at once, not after more start attempts.
            assert!(
                !output.contains(&format!("deal {}: workload failed to start (attempt 2)", deal.id)),
                "{output}"
            );
            assert!(containers(&docker, deal.id).is_empty(), "the crashed container is removed");

            // With `close_on_crash = false` the container is restarted `restarts` times too, then
            // reported as crashed; the deal stays open, nothing is started again, its bytes kept.
            write_config(&dir, &docker, &parties.worker, 1, "close_on_crash = false");
            let agent = Agent::spawn(&devnet, &dir, &parties.master_key);
            let ask = wait_for_ask(&parties.customer, &parties.master).await;
            let kept = buy(&parties.customer, &ask, "snm-crash-echo:test").await;
            agent.wait_for(&format!("deal {}: announced", kept.id)).await;
            let endpoint: SocketAddr = parties
                .customer
                .market()
                .wait_for_endpoint(kept.id, Duration::from_secs(30))
                .await
                .unwrap()
                .parse()
                .unwrap();
            echo(endpoint, 200_000).await;
            let crashed = agent.wait_for(&format!("deal {}: crashed", kept.id)).await;
            assert!(crashed.contains("exited 2 times (last exit code 3)"), "{crashed}");
            let meter = snm_agent::runtime::Meter::path(&dir.join("workloads"), kept.id);
            let exits = snm_agent::runtime::Meter::load(&meter, kept.id).unwrap().unwrap().exits;
            assert_eq!(exits, 2, "started once, restarted once, then reported");
            // Nothing more is started: the Engine holds no container of the deal from now on.
            let state = dir.join("state.json");
            let usage = |state: &Path| {
                let state: snm_agent::AgentState =
                    serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
                snm_agent::deal_usage::deal_usage(&state, &dir.join("workloads"), 0)
                    .into_iter()
                    .find(|u| u.deal == kept.id)
                    .unwrap()
            };
            let start = Instant::now();
            while usage(&state).stage != snm_agent::deal_usage::DealStage::Crashed {
                assert!(start.elapsed() < Duration::from_secs(30), "not recorded as crashed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(containers(&docker, kept.id).is_empty(), "the crashed container is removed");
            let bytes = usage(&state).bytes.get();
            assert!(bytes >= 400_000, "the echo's bytes are kept: {bytes}");
            let stored = parties.customer.market().deal(kept.id).await.unwrap().unwrap();
            assert!(stored.is_active(), "the deal was closed: {stored:?}");
            parties.customer.market().close_deal(kept.id, false).await.unwrap();
            let finished = agent.wait_for(&format!("deal {}: finished, ", kept.id)).await;
            let output = agent.kill();
            assert!(finished.contains(&format!("{bytes} B carried")), "{finished} for {bytes}");
            assert!(!output.contains(&format!("deal {}: closed (Unserved)", kept.id)), "{output}");
            assert_eq!(output.matches(&format!("deal {}: workload running", kept.id)).count(), 1, "{output}");
            assert_eq!(output.matches(&format!("deal {}: crashed", kept.id)).count(), 1, "{output}");
            assert!(containers(&docker, kept.id).is_empty(), "no container after the close");
            let _ = std::fs::remove_dir_all(&dir);
        })
    });
}

#[test]
fn a_workloads_state_directory_outlives_its_container_so_its_announced_pin_holds() {
    let docker = DockerNetns::start();
    // As `snm-proxy --tls-dir "$SNM_STATE_DIR/tls"` does: a fingerprint made at the first start,
    // kept in the deal's state directory, printed at each start.
    let pinned = "d=$SNM_STATE_DIR; [ -s $d/pin ] || /bin/busybox head -c 32 /dev/urandom \
                  | /bin/busybox od -An -tx1 | /bin/busybox tr -d ' \\n' > $d/pin; \
                  echo \"listening on 0.0.0.0:3128#sha256=$(cat $d/pin)\"; exec /bin/nc -ll -p 3128 -e /bin/cat";
    docker.busybox_image("snm-pinned:test", &["/bin/sh", "-c", pinned]);
    docker.enter(|| {
        runtime().block_on(async {
            let (devnet, dir) = scene("pin").await;
            let parties = Parties::new(&devnet).await;
            write_config(&dir, &docker, &parties.worker, 3, "");
            let agent = Agent::spawn(&devnet, &dir, &parties.master_key);
            let ask = wait_for_ask(&parties.customer, &parties.master).await;
            let deal = buy(&parties.customer, &ask, "snm-pinned:test").await;
            let announced = format!("deal {}: announced ", deal.id);
            let first = agent.wait_for(&announced).await;
            let kept =
                std::fs::read_to_string(dir.join(format!("workloads/deal-{}/state/pin", deal.id))).unwrap();
            assert_eq!(kept.len(), 64, "{kept:?}");
            assert!(first.ends_with(&format!("#sha256={kept}")), "{first}");

            // The container is lost (removed behind the agent's back): the agent starts another
            // one, on another port, which shows the same fingerprint; the new endpoint keeps it.
            let lost = containers(&docker, deal.id);
            assert_eq!(lost.len(), 1);
            docker.docker(&["rm", "-f", &lost[0]]).unwrap();
            let start = Instant::now();
            let second = loop {
                let output = agent.output();
                if let Some(line) = output.lines().filter(|l| l.contains(&announced)).nth(1) {
                    break line.to_owned();
                }
                assert!(start.elapsed() < Duration::from_secs(60), "not announced again:\n{output}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            assert_ne!(first, second, "a new container, a new port");
            assert!(second.ends_with(&format!("#sha256={kept}")), "{second}");
            let again = containers(&docker, deal.id);
            assert_eq!(again.len(), 1);
            assert_ne!(again, lost);
            let env = docker.docker(&["inspect", "-f", "{{json .Config.Env}}", &again[0]]).unwrap();
            assert!(env.contains(&format!("SNM_STATE_DIR={}", snm_agent::runtime::STATE_MOUNT)), "{env}");
            let endpoint =
                parties.customer.market().wait_for_endpoint(deal.id, Duration::from_secs(30)).await;
            assert!(endpoint.unwrap().ends_with(&kept));
            agent.kill();
            let _ = std::fs::remove_dir_all(&dir);
        })
    });
}

/// What a container on `network` reads from `ip:port` within 2 s (empty when it cannot connect).
fn probe(docker: &DockerNetns, network: &str, ip: &str, port: u16) -> String {
    let script = format!("nc -w 2 {ip} {port} </dev/null || true");
    docker.docker(&["run", "--rm", "--network", network, "snm-echo:test", "/bin/sh", "-c", &script]).unwrap()
}

#[test]
fn containers_cannot_reach_the_machine_or_metadata_but_their_published_port_comes_in() {
    let docker = DockerNetns::start();
    docker.busybox_image("snm-echo:test", ECHO);
    // A metadata address on the machine, as clouds have.
    docker_netns::ip(&["-n", &docker.name, "addr", "add", "169.254.169.254/32", "dev", "lo"]);
    docker.enter(|| {
        runtime().block_on(async {
            // A service of the supplier's machine, on every address (on a thread: the probes
            // block this one).
            let service = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
            let port = service.local_addr().unwrap().port();
            std::thread::spawn(move || {
                while let Ok((mut stream, _)) = service.accept() {
                    let _ = std::io::Write::write_all(&mut stream, b"secret\n");
                }
            });
            // The machine's address on a bridge interface.
            let gateway = |interface: &str| {
                let shown = docker_netns::ip_output(
                    &docker.name,
                    &["ip", "-4", "-o", "addr", "show", "dev", interface],
                );
                let inet = shown.split_whitespace().skip_while(|word| *word != "inet").nth(1).unwrap();
                inet.split('/').next().unwrap().to_owned()
            };
            // Docker's default bridge reaches both: the probe works.
            let default_gateway = gateway("docker0");
            assert_eq!(
                probe(&docker, "bridge", &default_gateway, port).trim(),
                "secret",
                "{default_gateway}:{port}"
            );
            assert_eq!(probe(&docker, "bridge", "169.254.169.254", port).trim(), "secret");

            let dir = std::env::temp_dir().join(format!("snm-docker-isolation-{}", std::process::id()));
            let config = snm_agent::DockerConfig {
                host: Some(docker.host()),
                pull: false,
                ..snm_agent::DockerConfig::default()
            };
            let market = alloy::primitives::Address::repeat_byte(9);
            let runtime = snm_agent::DockerRuntime::connect(config, market, &dir).await.unwrap();
            let deals = gateway("snm-deals");
            for target in [deals.as_str(), default_gateway.as_str(), "169.254.169.254", "127.0.0.1"] {
                assert_eq!(probe(&docker, "snm-deals", target, port), "", "{target}:{port} answered");
            }

            // The deal's published port still comes in.
            let spec = snm_agent::WorkloadSpec {
                deal_id: DealId(1),
                image: "snm-echo:test".into(),
                config_hash: alloy::primitives::B256::ZERO,
                customer: alloy::primitives::Address::repeat_byte(1),
                master: alloy::primitives::Address::repeat_byte(2),
                worker: alloy::primitives::Address::repeat_byte(3),
                ip: "127.0.0.1".parse().unwrap(),
                resources: snm_sdk::units::Resources::new(),
            };
            use snm_agent::Runtime;
            let workload = runtime.start(&spec).await.unwrap();
            echo(workload.endpoint.as_deref().unwrap().parse().unwrap(), 10_000).await;
            let usage = runtime.stop(&workload).await.unwrap();
            assert!(usage.bytes.get() >= 20_000, "{usage:?}");
            assert!(containers(&docker, DealId(1)).is_empty());
            // Connecting again finds the rules in place and adds none.
            let rules = docker_netns::ip_output(&docker.name, &["iptables", "-S"]);
            snm_agent::DockerRuntime::connect(
                snm_agent::DockerConfig { host: Some(docker.host()), ..snm_agent::DockerConfig::default() },
                market,
                &dir,
            )
            .await
            .unwrap();
            assert_eq!(docker_netns::ip_output(&docker.name, &["iptables", "-S"]), rules);
            let _ = std::fs::remove_dir_all(&dir);
        })
    });
}

#[test]
fn the_customers_configuration_reaches_the_container_only_signed_by_the_customer_with_the_bids_hash() {
    use snm_sdk::{
        workload_config::{SignedWorkloadConfig, WorkloadConfig, deliver, is_config_endpoint},
        workload_seal::{SealedWorkloadConfig, split_key},
    };
    let docker = DockerNetns::start();
    docker.busybox_image("snm-echo:test", ECHO);
    docker.enter(|| {
        runtime().block_on(async {
            let (devnet, dir) = scene("config").await;
            let parties = Parties::new(&devnet).await;
            write_config(&dir, &docker, &parties.worker, 3, r#"config_listen = "127.0.0.1:0""#);
            let agent = Agent::spawn(&devnet, &dir, &parties.master_key);
            let ask = wait_for_ask(&parties.customer, &parties.master).await;
            let config = WorkloadConfig::default().env("MODE", "fast").secret("TOKEN", "s3cr3t");
            let deal = buy_with(&parties.customer, &ask, "snm-echo:test", config.hash()).await;
            let market = devnet.deployment().market;

            // The agent asks for the configuration: nothing runs until it comes.
            let url =
                parties.customer.market().wait_for_endpoint(deal.id, Duration::from_secs(30)).await.unwrap();
            assert!(is_config_endpoint(&url), "{url}");
            let stranger = PrivateKeySigner::random();
            let forged =
                SignedWorkloadConfig::sign(config.clone(), market, deal.id, &stranger).await.unwrap();
            let refused = deliver(&url, &forged).await.unwrap_err().to_string();
            assert!(refused.contains("403") && refused.contains("not by the deal's customer"), "{refused}");
            let other = config.clone().env("MODE", "slow");
            let mismatched =
                SignedWorkloadConfig::sign(other, market, deal.id, &parties.customer_key).await.unwrap();
            let refused = deliver(&url, &mismatched).await.unwrap_err().to_string();
            assert!(refused.contains("is not the deal's configHash"), "{refused}");
            assert!(
                containers(&docker, deal.id).is_empty(),
                "a container runs without a valid configuration"
            );

            let signed =
                SignedWorkloadConfig::sign(config, market, deal.id, &parties.customer_key).await.unwrap();
            // Sent in clear (not sealed), or sealed and changed on the way: refused, nothing runs.
            let (address, key) = split_key(&url).unwrap();
            let key = key.expect("the agent announces its key for the deal");
            let inbox: SocketAddr =
                address.trim_start_matches("config+http://").split('/').next().unwrap().parse().unwrap();
            let path = format!("/deals/{}/config", deal.id);
            let answer = post(inbox, &path, &serde_json::to_vec(&signed).unwrap()).await;
            assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("not a sealed"), "{answer}");
            let mut tampered = SealedWorkloadConfig::seal(&signed, &key).unwrap();
            let mut bytes = tampered.ciphertext.to_vec();
            bytes[10] ^= 0x20;
            tampered.ciphertext = bytes.into();
            let answer = post(inbox, &path, &serde_json::to_vec(&tampered).unwrap()).await;
            assert!(answer.starts_with("HTTP/1.1 403") && answer.contains("does not open"), "{answer}");
            assert!(
                containers(&docker, deal.id).is_empty(),
                "a container runs with a tampered configuration"
            );

            // Delivered through a relay that records what crosses the wire: no name, value or
            // secret of the configuration in it.
            let (relay, wire) = relay(inbox).await;
            let relayed = url.replace(&inbox.to_string(), &relay.to_string());
            deliver(&relayed, &signed).await.unwrap();
            let wire = String::from_utf8_lossy(&wire.lock().unwrap()).into_owned();
            assert!(wire.contains("ciphertext"), "{wire}");
            for clear in ["s3cr3t", "TOKEN", "MODE", "fast"] {
                assert!(!wire.contains(clear), "`{clear}` crossed the wire in clear: {wire}");
            }
            agent.wait_for(&format!("deal {}: announced 127.0.0.1:", deal.id)).await;
            let running = containers(&docker, deal.id);
            assert_eq!(running.len(), 1);
            let env = docker.docker(&["inspect", "-f", "{{json .Config.Env}}", &running[0]]).unwrap();
            assert!(env.contains("\"MODE=fast\"") && env.contains("\"TOKEN=s3cr3t\""), "{env}");
            let output = agent.kill();
            assert!(!output.contains("s3cr3t"), "a secret reached the agent's log");
            assert!(!output.contains(&format!("deal {}: workload failed", deal.id)), "{output}");
            let _ = std::fs::remove_dir_all(&dir);
        })
    });
}
