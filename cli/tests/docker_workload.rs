//! `snm customer buy --env-file` and `snm supplier usage` against a supplier agent running its
//! deals as containers on a real dockerd, in a network namespace the test makes (the Docker
//! harness of the agent's tests, `agent/tests/docker_netns`). The agent runs in this process (the
//! `snm_agent` library, as `snm-agent` runs it); `snm` runs as a program.
//!
//! A configuration file with a bad line is refused before anything is bought; a configuration
//! delivered by the CLI reaches the container's environment (the container prints it) and the
//! announced endpoint names the certificate fingerprint the container printed; a tampered
//! configuration is refused by the agent and no container runs; `snm supplier usage` shows the
//! deal's bytes in and out.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

#[path = "../../agent/tests/docker_netns/mod.rs"]
mod docker_netns;
mod harness;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{providers::DynProvider, signers::local::PrivateKeySigner};
use docker_netns::DockerNetns;
use harness::{Scene, assert_has};
use snm_agent::{AgentConfig, DockerRuntime, SupplierAgent};
use snm_cli::{output::Frame, workload_delivery};
use snm_sdk::{
    Client, Customer, Supplier,
    devnet::DevnetConfig,
    market::{DealId, PlacedAsk, Purchase},
    units::{Snm, Term},
    workload_config::WorkloadConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The certificate fingerprint the test's container prints, as `snm-proxy` prints its own.
const PIN: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
/// What the container runs (`--arg`s): prints what it was given, then echoes on port 3128.
const SCRIPT: &str = "echo \"mode=$MODE token-length=${#TOKEN}\"; \
                      echo \"snm-proxy: listening on 0.0.0.0:3128#sha256=$PIN\"; \
                      exec nc -ll -p 3128 -e /bin/cat";

/// The in-process agent and what it logged.
struct RunningAgent {
    log: Arc<Mutex<String>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningAgent {
    async fn start(scene: &Scene, master: &PrivateKeySigner, config: &std::path::Path) -> Self {
        let config = AgentConfig::from_file(config).unwrap();
        let supplier = Supplier::new(scene.devnet.connect(master).with_confirmations(0));
        let market = scene.devnet.deployment().market;
        let docker = config.docker.clone().unwrap();
        let runtime = DockerRuntime::connect(docker, market, config.workload_dir.clone()).await.unwrap();
        let (mut agent, _) = SupplierAgent::start(supplier, config, runtime).await.unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            agent
                .run(
                    async {
                        let _ = stopped.await;
                    },
                    |event| {
                        println!("agent | {event}");
                        let mut log = sink.lock().unwrap();
                        log.push_str(&event.to_string());
                        log.push('\n');
                    },
                )
                .await;
        });
        Self { log, stop: Some(stop), task }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    async fn wait_for(&self, text: &str) {
        let start = Instant::now();
        while !self.log().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the agent never said `{text}`:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) -> String {
        let Self { log, stop, task } = self;
        let _ = stop.unwrap().send(());
        task.await.unwrap();
        log.lock().unwrap().clone()
    }
}

fn containers(docker: &DockerNetns, deal: DealId) -> Vec<String> {
    let filter = format!("label={}={deal}", snm_agent::runtime::LABEL_DEAL);
    docker.docker(&["ps", "-a", "-q", "--filter", &filter]).unwrap().lines().map(str::to_owned).collect()
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

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Sends `bytes` through the echo and reads them back.
async fn echo(endpoint: &str, bytes: usize) {
    let address = endpoint.split('#').next().unwrap();
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let data: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8).collect();
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        write.write_all(&sent).await.unwrap();
        write.shutdown().await.unwrap();
    });
    let mut back = Vec::new();
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
    assert!(back == data);
}

#[test]
fn buy_delivers_the_env_file_to_the_container_and_supplier_usage_shows_its_traffic() {
    let docker = DockerNetns::start();
    docker.busybox_image("snm-echo:test", &["/bin/nc", "-ll", "-p", "3128", "-e", "/bin/cat"]);
    docker.enter(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            let scene =
                Scene::start("docker-workload", DevnetConfig { accounts: 2, ..Default::default() }).await;
            let devnet = &scene.devnet;
            let master_key = devnet.new_account(Snm::ZERO).await.unwrap();
            let master = devnet.connect(&master_key);
            let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
            worker.market().request_worker(master.sender()).await.unwrap();
            let customer_key = devnet.new_account("1000 SNM".parse().unwrap()).await.unwrap();
            let customer = Customer::new(devnet.connect(&customer_key));
            let config_path = scene.path("agent.toml");
            std::fs::write(
                &config_path,
                format!(
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
pull = false
startup_grace = "300ms"
config_listen = "127.0.0.1:0"
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
                ),
            )
            .unwrap();
            let agent = RunningAgent::start(&scene, &master_key, &config_path).await;
            // The agent's ask is open: `snm` buys it.
            wait_for_ask(&customer, &master).await;

            let env_file = scene.path("workload.env");
            std::fs::write(&env_file, format!("# the workload's settings\nMODE=fast\nPIN={PIN}\n")).unwrap();
            let secret_file = scene.path("secret.env");
            std::fs::write(&secret_file, "TOKEN=s3cr3t-value\n").unwrap();
            let env = env_file.display().to_string();
            let secrets = secret_file.display().to_string();
            let buy = |env: &str| -> Vec<String> {
                [
                    "--term",
                    "spot",
                    "--budget",
                    "100 SNM",
                    "--image",
                    "snm-echo:test",
                    "--env-file",
                    env,
                    "--secret-file",
                    &secrets,
                    "--arg",
                    "/bin/sh",
                    "--arg",
                    "-c",
                    "--arg",
                    SCRIPT,
                    "--wait-endpoint",
                    "60s",
                ]
                .map(str::to_owned)
                .to_vec()
            };

            // A file with a bad line: refused before anything is bought.
            let bad = scene.path("bad.env");
            std::fs::write(&bad, "MODE=fast\nnot a setting\n").unwrap();
            let balance = customer.token().balance(customer.sender()).await.unwrap();
            let refused = scene
                .run(&["customer", "buy"], Some(&customer_key), &strs(&buy(&bad.display().to_string())))
                .await;
            assert_has(refused.failed_with(2), &[&bad.display().to_string(), "line 2: `not a setting`"]);
            assert_eq!(
                customer.token().balance(customer.sender()).await.unwrap(),
                balance,
                "something was paid"
            );

            // Bought with the file: delivered, and the container runs with it.
            let bought = scene.run(&["customer", "buy"], Some(&customer_key), &strs(&buy(&env))).await;
            let out = bought.ok();
            let deal = customer.market().deals_of(customer.sender()).await.unwrap()[0].id;
            let expected = WorkloadConfig::from_env_file(&std::fs::read_to_string(&env_file).unwrap())
                .unwrap()
                .secret("TOKEN", "s3cr3t-value")
                .args(["/bin/sh", "-c", SCRIPT]);
            assert_has(
                out,
                &[
                    &format!("configuration {}", expected.hash()),
                    &format!("deal {deal}: configuration delivered to config+http://127.0.0.1:"),
                    &format!("deal {deal} serves at 127.0.0.1:"),
                    &format!("#sha256={PIN}"),
                ],
            );
            let running = containers(&docker, deal);
            assert_eq!(running.len(), 1);
            let logs = docker.docker(&["logs", &running[0]]).unwrap();
            assert!(logs.contains("mode=fast token-length=12"), "{logs}");
            let endpoint = customer.market().endpoint(deal).await.unwrap().unwrap();
            assert!(endpoint.ends_with(&format!("#sha256={PIN}")), "{endpoint}");
            echo(&endpoint, 100_000).await;

            // `snm supplier usage` while it runs, then once closed: the container's bytes in and
            // out, each at least the payload.
            let usage = scene
                .run(&["supplier", "usage"], None, &["--config", &config_path.display().to_string()])
                .await;
            assert_has(
                usage.ok(),
                &["deal", "bytes in", "bytes out", "running", &running[0][..12], "snm-echo:test"],
            );
            customer.market().close_deal(deal, false).await.unwrap();
            agent.wait_for(&format!("deal {deal}: finished, ")).await;
            let usage = scene
                .run(
                    &["--json", "supplier", "usage"],
                    None,
                    &["--config", &config_path.display().to_string()],
                )
                .await;
            let report: serde_json::Value = usage.json();
            let row = &report["deals"][0];
            assert_eq!(
                (row["deal"].as_u64(), row["stage"].as_str()),
                (Some(deal.0), Some("closed")),
                "{report}"
            );
            let figure = |key: &str| row[key].as_u64().unwrap_or_else(|| panic!("{key} in {row}"));
            let (bytes_in, bytes_out, bytes) = (figure("bytes_in"), figure("bytes_out"), figure("bytes"));
            assert!(bytes_in >= 100_000 && bytes_out >= 100_000, "{row}");
            assert_eq!(bytes, bytes_in + bytes_out, "{row}");

            // A tampered configuration for the next deal: refused by the agent, nothing runs;
            // the true one then starts it.
            let ask = wait_for_ask(&customer, &master).await;
            let purchase = Purchase::new(Term::Spot, "100 SNM".parse().unwrap(), "snm-echo:test")
                .config_hash(expected.hash());
            let next = customer.quick_buy(&ask, &purchase).await.unwrap().id;
            let tampered = expected.clone().env("MODE", "slow");
            let customer_client = customer.clone();
            let error = workload_delivery::deliver_all(
                &customer_client,
                &[next],
                &tampered,
                &customer_key,
                Duration::from_secs(60),
                Frame::new(false),
            )
            .await
            .unwrap_err()
            .to_string();
            assert!(error.contains("403") && error.contains("is not the deal's configHash"), "{error}");
            assert!(containers(&docker, next).is_empty(), "a container runs with a tampered configuration");
            workload_delivery::deliver_all(
                &customer,
                &[next],
                &expected,
                &customer_key,
                Duration::from_secs(60),
                Frame::new(false),
            )
            .await
            .unwrap();
            assert_eq!(containers(&docker, next).len(), 1);

            let log = agent.stop().await;
            assert!(!log.contains("s3cr3t"), "a secret reached the agent's log");
        })
    });
}
