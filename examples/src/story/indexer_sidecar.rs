//! The market data service beside the story (`make demo`): `snm-indexer` follows the story's
//! devnet into an SQLite file in the story's directory and serves its API on a loopback port; at
//! the end the story waits until it indexed the last block and prints one line of `/v1/stats`.
//! It is a process of its own, as a deployment would run it.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use snm_sdk::devnet::Devnet;

/// How long the indexer may take to start serving, and to catch up at the end.
const DEADLINE: Duration = Duration::from_secs(30);

/// A running `snm-indexer` (stopped on drop).
#[derive(Debug)]
pub struct IndexerSidecar {
    child: Child,
    url: String,
}

impl IndexerSidecar {
    /// Starts `program` on `devnet`, its database and the deployment file in `dir`, and waits
    /// for the address it serves on.
    pub async fn start(program: &Path, devnet: &Devnet, dir: &Path) -> anyhow::Result<Self> {
        let deployment = dir.join("deployment.json");
        devnet.deployment().write_file(&deployment)?;
        let database = format!("sqlite://{}", dir.join("indexer.db").display());
        let mut child = Command::new(program)
            .arg("--rpc")
            .arg(devnet.endpoint().as_str())
            .arg("--deployment")
            .arg(&deployment)
            .args(["--database", &database, "--listen", "127.0.0.1:0", "--confirmations", "0"])
            .args(["--poll-interval-ms", "100"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let stdout = child.stdout.take().context("the indexer's standard output")?;
        // Its first line names the address (`snm-indexer: serving http://ADDRESS/ …`).
        let first_line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = match tokio::time::timeout(DEADLINE, first_line).await {
            Ok(read) => read?.context("reading the indexer's output")?,
            Err(_) => {
                let _ = child.kill();
                bail!("snm-indexer did not start serving within {DEADLINE:?}");
            }
        };
        let Some(url) = line.split_whitespace().find(|word| word.starts_with("http://")) else {
            let _ = child.kill();
            bail!("snm-indexer printed {line:?}, not the address it serves on");
        };
        Ok(Self { url: url.to_owned(), child })
    }

    /// Where it serves (the web page; the API under `v1/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits until it indexed `block`, then reads `/v1/stats` as one line of JSON.
    pub async fn stats_after(&self, block: u64) -> anyhow::Result<String> {
        let client = alloy::transports::http::reqwest::Client::new();
        let get = |path: &str| {
            let request = client.get(format!("{}{path}", self.url));
            async move {
                let text = request.send().await?.error_for_status()?.text().await?;
                anyhow::Ok(serde_json::from_str::<serde_json::Value>(&text)?)
            }
        };
        let start = Instant::now();
        loop {
            let health = get("v1/health").await?;
            if health["indexed_block"].as_u64().is_some_and(|indexed| indexed >= block) {
                break;
            }
            if start.elapsed() > DEADLINE {
                bail!("snm-indexer did not reach block {block} within {DEADLINE:?}: {health}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(get("v1/stats").await?.to_string())
    }
}

impl Drop for IndexerSidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
