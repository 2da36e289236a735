//! What the indexer's tests share: databases (an SQLite file, a throwaway PostgreSQL server), a
//! devnet with a random history of market operations, the HTTP service on a loopback port.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // test helpers

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use snm_indexer::{Database, Health, Indexer, IndexerConfig, api};
use snm_sdk::{
    devnet::{Devnet, DevnetConfig},
    market::{Ask, Bid, DealId, PlacedAsk, PlacedBid, Purchase},
    prelude::*,
};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "snm-indexer-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A database the test owns: an SQLite file, or a PostgreSQL server stopped on drop.
pub enum TestDb {
    /// `sqlite://…` in a temporary directory.
    Sqlite(PathBuf),
    /// A server of its own.
    Postgres(Postgres),
}

impl TestDb {
    pub fn sqlite() -> Self {
        Self::Sqlite(temp_dir("sqlite"))
    }

    pub fn postgres() -> Self {
        Self::Postgres(Postgres::start())
    }

    /// A PostgreSQL server started with `settings` (`name=value`) beside the tests' own.
    #[allow(dead_code)] // the benchmark's
    pub fn postgres_with(settings: &[&str]) -> Self {
        Self::Postgres(Postgres::start_with(settings))
    }

    /// A URL to a database of this server named `name` (created for PostgreSQL).
    pub fn url(&self, name: &str) -> String {
        match self {
            Self::Sqlite(dir) => format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
            Self::Postgres(server) => server.database(name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Sqlite(dir) = self {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A PostgreSQL server on a temporary directory and a loopback port (as the `postgres` user
/// when the tests run as root, since PostgreSQL refuses root).
pub struct Postgres {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
}

fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// Installs `package` with the project's script when missing; panics with what to do otherwise.
pub fn ensure_package(package: &str) {
    // Tests run in parallel threads, and two apt-get at once fail on dpkg's lock.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let script = repo_root().join("scripts/install-postgres-chromium.sh");
    let status = Command::new(&script).arg(package).status();
    match status {
        Ok(status) if status.success() => {}
        other => panic!(
            "{package} is needed by this test and cannot be had ({other:?}): run {} {package} as root on Debian, \
             or install it by hand",
            script.display()
        ),
    }
}

impl Postgres {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server started with `settings` (`name=value`, each passed as `-c`).
    pub fn start_with(settings: &[&str]) -> Self {
        let bin = postgres_bin().unwrap_or_else(|| {
            ensure_package("postgresql");
            postgres_bin().expect("PostgreSQL is installed but no /usr/lib/postgresql/*/bin/pg_ctl")
        });
        let dir = temp_dir("postgres");
        let root = is_root();
        if root {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().unwrap();
            assert!(status.success(), "chown of {} to postgres", dir.display());
        }
        let run = |program: &str, args: &[&str]| {
            let program = bin.join(program);
            let mut command = if root {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(&program);
                command
            } else {
                Command::new(&program)
            };
            let output = command.args(args).output().unwrap();
            assert!(
                output.status.success(),
                "{} {args:?} failed: {}{}",
                program.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let data = dir.join("data");
        let data_text = data.to_str().unwrap().to_owned();
        run("initdb", &["-D", &data_text, "-A", "trust", "-U", "postgres", "--no-sync"]);
        let port = free_port();
        let mut options = format!(
            "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            dir.display()
        );
        for setting in settings {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        let log = dir.join("log").to_str().unwrap().to_owned();
        run("pg_ctl", &["-D", &data_text, "-o", &options, "-l", &log, "-w", "start"]);
        Self { dir, port, bin }
    }

    /// A new database on the server.
    pub fn database(&self, name: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "CREATE DATABASE {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Stops the server at once (as a crash would).
    pub fn kill(&self) {
        let data = self.dir.join("data");
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl"));
            command
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = command.arg("-D").arg(&data).args(["-m", "immediate", "-w", "stop"]).output();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until `check` holds, up to `deadline`.
pub async fn wait_until<F, Fut>(what: &str, deadline: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A devnet that mines a block per transaction and none in between.
pub async fn devnet() -> Devnet {
    Devnet::start_with(DevnetConfig { sweep_interval: None, ..DevnetConfig::default() }).await.unwrap()
}

/// An indexer of `devnet` into `url`, with no confirmations.
pub async fn indexer(devnet: &Devnet, url: &str) -> (Database, Indexer<alloy::providers::DynProvider>) {
    let db = Database::connect(url).await.unwrap();
    let mut config = IndexerConfig::new(*devnet.deployment(), 0);
    config.poll_interval = Duration::from_millis(50);
    let indexer = Indexer::new(devnet.provider().clone(), db.clone(), config).await.unwrap();
    (db, indexer)
}

/// Serves the API on a loopback port; returns its address.
pub async fn serve(db: Database, health: Health) -> SocketAddr {
    serve_relaying(db, health, None).await
}

/// [`serve`] with a relay of signed asks.
pub async fn serve_relaying(db: Database, health: Health, relay: Option<api::Relay>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(
        async move { axum::serve(listener, api::router(api::AppState { db, health, relay })).await },
    );
    address
}

/// A POST of `body` (JSON) to `path`: status and JSON body.
pub async fn post(address: SocketAddr, path: &str, body: &impl serde::Serialize) -> (u16, serde_json::Value) {
    let response = alloy::transports::http::reqwest::Client::new()
        .post(format!("http://{address}{path}"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// A GET of `path` on the service: status and JSON body.
pub async fn get(address: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let response = alloy::transports::http::reqwest::get(format!("http://{address}{path}")).await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// What a random history left open, to act on next.
#[derive(Default)]
pub struct History {
    pub asks: Vec<PlacedAsk>,
    pub bids: Vec<PlacedBid>,
    pub deals: Vec<DealId>,
    pub operations: usize,
}

/// A supplier (account 1, worker account 2) and customers (3, 4) doing `steps` random operations:
/// placing, cancelling and buying asks, placing and cancelling bids, settling, announcing
/// endpoints, closing deals, blacklisting.
pub async fn random_history(devnet: &Devnet, seed: u64, steps: usize, history: &mut History) {
    let mut rng = StdRng::seed_from_u64(seed);
    let supplier = devnet.supplier(1).unwrap();
    let machine = devnet.client(2).unwrap();
    if history.operations == 0 {
        supplier.register_worker(&machine).await.unwrap();
        for customer in [3, 4] {
            devnet.customer(customer).unwrap().deposit("5000 SNM".parse().unwrap()).await.unwrap();
        }
    }
    for _ in 0..steps {
        history.operations += 1;
        let customer = devnet.customer(rng.gen_range(3..=4)).unwrap();
        match rng.gen_range(0..10) {
            0..=3 => {
                let price = UsdPerSecond::from_scaled(alloy::primitives::U256::from(
                    rng.gen_range(1..2000u64) * 1_000_000_000_000,
                ));
                let flags = NetFlags::from_bits_retain(rng.gen_range(0..16));
                let ask = Ask::new(supplier.master(), machine.sender(), price)
                    .resources(
                        Resources::new()
                            .cpu_cores(rng.gen_range(1..32))
                            .ram(Bytes::from_gib(rng.gen_range(1..64))),
                    )
                    .flags(flags)
                    .region(rng.gen_range(0..3));
                history.asks.push(supplier.market().place_ask(&ask).await.unwrap());
            }
            4 if !history.asks.is_empty() => {
                let ask = history.asks.swap_remove(rng.gen_range(0..history.asks.len()));
                supplier.market().cancel_ask(&ask).await.unwrap();
            }
            5 if !history.asks.is_empty() => {
                let ask = history.asks.swap_remove(rng.gen_range(0..history.asks.len()));
                let purchase = Purchase::new(
                    "spot".parse().unwrap(),
                    "1000 SNM".parse().unwrap(),
                    "ghcr.io/acme/proxy:1",
                );
                let opened = customer.quick_buy(&ask, &purchase).await.unwrap();
                history.deals.push(opened.id);
            }
            6 => {
                let bid = Bid::new(
                    customer.sender(),
                    UsdPerSecond::from_scaled(alloy::primitives::U256::from(
                        rng.gen_range(1..2000u64) * 1_000_000_000_000,
                    )),
                    "1h".parse().unwrap(),
                    "10 SNM".parse().unwrap(),
                )
                .resources(Resources::new().cpu_cores(rng.gen_range(1..8)));
                history.bids.push(customer.market().place_bid(&bid).await.unwrap());
            }
            7 if !history.bids.is_empty() => {
                let bid = history.bids.swap_remove(rng.gen_range(0..history.bids.len()));
                let owner =
                    devnet.customer(if bid.bid.customer == devnet.accounts()[3] { 3 } else { 4 }).unwrap();
                owner.market().cancel_bid(&bid).await.unwrap();
            }
            8 if !history.deals.is_empty() => {
                let deal = history.deals[rng.gen_range(0..history.deals.len())];
                devnet.advance_time(Duration::from_secs(rng.gen_range(60..240))).await.unwrap();
                supplier.market().settle(deal).await.unwrap();
                machine
                    .market()
                    .announce_endpoint(deal, &format!("10.0.0.{}:3128", rng.gen_range(1..5)))
                    .await
                    .unwrap();
            }
            9 if !history.deals.is_empty() => {
                let deal = history.deals.swap_remove(rng.gen_range(0..history.deals.len()));
                supplier.market().close_deal(deal, false).await.unwrap();
            }
            _ => {
                let target = devnet.accounts()[rng.gen_range(5..8)];
                customer.market().set_blacklist(target, rng.gen_bool(0.7)).await.unwrap();
            }
        }
    }
}
