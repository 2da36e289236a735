//! `snm-indexer --rpc … --deployment …` runs with SQLite and nothing else: it creates the database,
//! catches up with a devnet, serves what it indexed, and stops cleanly on SIGTERM; its
//! `register-round` subcommand refuses a file that is not a round dump, naming it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use common::{History, devnet, random_history, temp_dir, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_indexes_a_devnet_into_a_new_sqlite_file() {
    let devnet = devnet().await;
    let mut history = History::default();
    random_history(&devnet, 61, 10, &mut history).await;
    let dir = temp_dir("binary");
    let deployment = dir.join("deployment.json");
    devnet.deployment().write_file(&deployment).unwrap();
    let database = dir.join("snm.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_snm-indexer"))
        .arg("--rpc")
        .arg(devnet.endpoint().as_str())
        .arg("--deployment")
        .arg(&deployment)
        .arg("--database")
        .arg(format!("sqlite://{}", database.display()))
        .args(["--listen", "127.0.0.1:0", "--poll-interval-ms", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).expect("the URL is printed").to_owned();
    assert!(database.exists(), "the database file was created");
    let health = format!("{url}v1/health");
    wait_until("the indexer to catch up", Duration::from_secs(30), || {
        let health = health.clone();
        async move {
            let Ok(response) = alloy::transports::http::reqwest::get(&health).await else { return false };
            let body: serde_json::Value =
                serde_json::from_str(&response.text().await.unwrap_or_default()).unwrap_or_default();
            body["lag"] == 0 && body["status"] == "ok"
        }
    })
    .await;
    let stats =
        alloy::transports::http::reqwest::get(format!("{url}v1/stats")).await.unwrap().text().await.unwrap();
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["open_asks"], history.asks.len());
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "stops cleanly on SIGTERM: {status}");

    let output = Command::new(env!("CARGO_BIN_EXE_snm-indexer"))
        .args(["register-round", "--round", "1"])
        .arg(&deployment)
        .arg("--database")
        .arg(format!("sqlite://{}", database.display()))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("deployment.json"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}
