//! `make bench-agent`: how long a deal waits for its workload, per runtime, on a devnet.
//!
//! For the process runtime and for the Docker runtime (a dockerd in a network namespace the bench
//! makes, as the tests do), the `snm-agent` program serves 20 deals one after the other; for each,
//! the time from the deal's opening (its transaction mined) to its endpoint on chain (read every
//! 10 ms), and the agent's CPU time (user + system, from /proc) over the 20 deals. The process
//! workload is a shell that writes its stats file and sleeps; the container is busybox's `nc`
//! echo server with the deal's limits (half a core, 64 MiB). The figures include the agent's poll
//! period (100 ms) and the announcement's transaction; the ratio is Docker over process, measured
//! in the same run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark program

#[path = "../tests/docker_netns/mod.rs"]
mod docker_netns;

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{primitives::B256, providers::DynProvider, signers::local::PrivateKeySigner};
use docker_netns::DockerNetns;
use snm_sdk::{
    Client, Customer,
    devnet::{Devnet, DevnetConfig},
    market::{PlacedAsk, Purchase},
    units::{Snm, Term},
};

const DEALS: usize = 20;

struct Agent {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Agent {
    fn spawn(devnet: &Devnet, dir: &Path, master: &PrivateKeySigner) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_snm-agent"))
            .args(["--rpc", devnet.endpoint().as_str(), "--deployment"])
            .arg(dir.join("deployment.json"))
            .args(["run", "--config"])
            .arg(dir.join("agent.toml"))
            .env("SNM_KEY", format!("0x{}", alloy::hex::encode(master.to_bytes())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let (stdout, sink) = (child.stdout.take().unwrap(), Arc::clone(&output));
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut out = sink.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        });
        Self { child, output }
    }

    async fn wait_for(&self, text: &str) {
        let start = Instant::now();
        while !self.output.lock().unwrap().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the agent never said `{text}`:\n{}",
                self.output.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// User + system CPU time so far (`/proc/<pid>/stat` fields 14 and 15, in clock ticks).
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100);
        Duration::from_secs_f64(ticks as f64 / per_second as f64)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Figures {
    p50: Duration,
    p95: Duration,
    cpu_per_deal: Duration,
}

/// Serves [`DEALS`] deals with the agent configured by `runtime` (the `[runtime]` table).
async fn run(name: &str, runtime: &str) -> Figures {
    let devnet = Devnet::start_with(DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await.unwrap();
    let dir = std::env::temp_dir().join(format!("snm-bench-agent-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    devnet.deployment().write_file(&dir.join("deployment.json")).unwrap();
    let master_key = devnet.new_account(Snm::ZERO).await.unwrap();
    let master = devnet.connect(&master_key);
    let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let customer =
        Customer::new(devnet.connect(&devnet.new_account("100000 SNM".parse().unwrap()).await.unwrap()));
    customer.token().approve_market("100000 SNM".parse().unwrap()).await.unwrap();
    worker.market().request_worker(master.sender()).await.unwrap();
    let config = format!(
        "state = \"state.json\"\npoll_every = \"100ms\"\nsettle_every = \"1h\"\n{runtime}\n\
         [[worker]]\naddress = \"{w}\"\nip = \"127.0.0.1\"\n\
         [[ask]]\nworker = \"{w}\"\nprice = \"0.9 USD/h\"\ncpu_milli_cores = 500\nram_mib = 64\n\
         flags = \"PUBLIC_IP | INCOMING\"\n",
        w = worker.sender()
    );
    std::fs::write(dir.join("agent.toml"), config).unwrap();
    let agent = Agent::spawn(&devnet, &dir, &master_key);
    let mut waits = Vec::with_capacity(DEALS);
    let mut cpu = Duration::ZERO;
    for _ in 0..DEALS {
        let ask = wait_for_ask(&customer, &master).await;
        let before = agent.cpu();
        let purchase =
            Purchase::new(Term::Spot, "100 SNM".parse().unwrap(), "snm-echo:bench").config_hash(B256::ZERO);
        let deal = customer.quick_buy(&ask, &purchase).await.unwrap();
        let opened = Instant::now();
        while customer.market().endpoint(deal.id).await.unwrap().is_none() {
            assert!(opened.elapsed() < Duration::from_secs(60), "deal {} was never announced", deal.id);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        waits.push(opened.elapsed());
        customer.market().close_deal(deal.id, false).await.unwrap();
        agent.wait_for(&format!("deal {}: finished", deal.id)).await;
        cpu += agent.cpu().saturating_sub(before);
        eprintln!("{name}: deal {} announced after {:?}", deal.id, waits[waits.len() - 1]);
    }
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
    waits.sort();
    let at = |q: f64| waits[((waits.len() as f64 - 1.0) * q).round() as usize];
    Figures { p50: at(0.5), p95: at(0.95), cpu_per_deal: cpu / DEALS as u32 }
}

fn main() {
    let docker = DockerNetns::start();
    docker.busybox_image("snm-echo:bench", &["/bin/nc", "-ll", "-p", "3128", "-e", "/bin/cat"]);
    let workload = docker.dir.join("workload.sh");
    std::fs::write(
        &workload,
        "#!/bin/sh\necho '{\"bytes\": 0, \"listen\": \"127.0.0.1:9\"}' > \"$1\"\nexec sleep 600\n",
    )
    .unwrap();
    std::fs::set_permissions(&workload, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let process_runtime =
        format!("[runtime]\ncommand = [\"{}\", \"{{stats}}\"]\ndir = \"workloads\"", workload.display());
    let docker_runtime = format!(
        "[runtime]\nkind = \"docker\"\ndir = \"workloads\"\n[runtime.docker]\nhost = \"{}\"\npull = false\n\
         startup_grace = \"300ms\"",
        docker.host()
    );
    let (process, containers) = docker.enter(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            (run("process", &process_runtime).await, run("docker", &docker_runtime).await)
        })
    });
    println!("deal opened -> endpoint announced, {DEALS} deals each, agent polling every 100 ms:");
    for (name, f) in [("process", &process), ("docker", &containers)] {
        println!(
            "  {name:<8} p50 {:>7.1} ms   p95 {:>7.1} ms   agent CPU {:>6.1} ms/deal",
            f.p50.as_secs_f64() * 1e3,
            f.p95.as_secs_f64() * 1e3,
            f.cpu_per_deal.as_secs_f64() * 1e3
        );
    }
    println!(
        "  docker / process: p50 x{:.2}, p95 x{:.2}, CPU x{:.2}",
        containers.p50.as_secs_f64() / process.p50.as_secs_f64(),
        containers.p95.as_secs_f64() / process.p95.as_secs_f64(),
        containers.cpu_per_deal.as_secs_f64() / process.cpu_per_deal.as_secs_f64().max(1e-9)
    );
}
