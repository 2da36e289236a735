//! `snm-indexer` (and the other programs built beside `snm`) run by the tests, and waiting on a
//! condition with a deadline.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use super::Scene;

/// A program built beside `snm` (panics with how to build it when missing).
pub fn sibling(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_snm")).with_file_name(name);
    assert!(path.is_file(), "{} is missing: build it with `cargo build --bins` first", path.display());
    path
}

/// `snm-indexer` on an SQLite file of the scene, caught up with the devnet.
pub struct Indexer {
    child: std::process::Child,
    pub url: String,
}

impl Indexer {
    pub async fn start(scene: &Scene) -> Self {
        let database = scene.path("indexer.db");
        let mut child = std::process::Command::new(sibling("snm-indexer"))
            .arg("--rpc")
            .arg(scene.devnet.endpoint().as_str())
            .arg("--deployment")
            .arg(&scene.deployment)
            .arg("--database")
            .arg(format!("sqlite://{}", database.display()))
            .args(["--listen", "127.0.0.1:0", "--poll-interval-ms", "100"])
            .stdout(Stdio::piped())
            // Its log, for a failing test to show.
            .stderr(std::fs::File::create(scene.path("indexer.log")).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // The first line names the URL; the rest is drained for the indexer's life, so that a
        // later line never meets a closed pipe.
        let (first, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let _ = std::io::BufRead::read_line(&mut reader, &mut line);
            let _ = first.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = tokio::task::spawn_blocking(move || rx.recv().unwrap()).await.unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("the URL is printed")
            .to_owned();
        let health = format!("{url}v1/health");
        wait_until("the indexer to catch up", Duration::from_secs(60), || {
            let health = health.clone();
            async move {
                let Ok(response) = alloy::transports::http::reqwest::get(&health).await else { return false };
                let body: serde_json::Value =
                    serde_json::from_str(&response.text().await.unwrap_or_default()).unwrap_or_default();
                body["lag"] == 0 && body["status"] == "ok"
            }
        })
        .await;
        Self { child, url }
    }

    pub fn stop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 200 ms until it holds; panics naming `what` after `deadline`.
pub async fn wait_until<F, Fut>(what: &str, deadline: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < deadline, "waited {deadline:?} for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
