//! The proxy workload as a process: tunnels for the right secret only, counts every byte both ways,
//! and leaves its final counts in the stats file when it is stopped with SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use snm_proxy::{ProxyStats, config_hash, connect_via, traffic::echo_server};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// How long a condition may take to come true on a loaded machine before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snm-proxy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the proxy binary and waits for its first stats file, which names the bound address.
#[allow(clippy::zombie_processes)] // the caller waits for the child; a panic here fails the test anyway
async fn start_proxy(stats: &PathBuf, secret: &str) -> (Child, std::net::SocketAddr) {
    let child = Command::new(env!("CARGO_BIN_EXE_snm-proxy"))
        .args(["--listen", "127.0.0.1:0", "--deal", "7", "--stats"])
        .arg(stats)
        .args(["--auth-hash", &config_hash(secret).to_string()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Ok(s) = ProxyStats::read(stats) {
            return (child, s.listen.parse().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the proxy wrote no stats file within {PATIENCE:?}");
}

#[tokio::test]
async fn tunnels_count_every_byte_and_survive_in_the_stats_file() {
    let dir = temp_dir("count");
    let stats = dir.join("deal-7.json");
    let target = echo_server().await.unwrap().to_string();
    let (mut child, proxy) = start_proxy(&stats, "s3cret").await;

    // Two tunnels, each sends 100 KB and reads the echo back.
    for _ in 0..2 {
        let mut tunnel = connect_via(proxy, &target, "s3cret").await.unwrap();
        let payload = vec![7u8; 100_000];
        tunnel.write_all(&payload).await.unwrap();
        let mut echoed = vec![0u8; payload.len()];
        tunnel.read_exact(&mut echoed).await.unwrap();
        assert_eq!(echoed, payload);
    }

    // Wrong and missing secrets are refused and counted as such.
    let wrong = connect_via(proxy, &target, "guess").await.unwrap_err();
    assert!(wrong.to_string().contains("407"), "{wrong}");

    // The counts reach the file while running ...
    let mut running = ProxyStats::default();
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        running = ProxyStats::read(&stats).unwrap();
        if running.total_bytes() == 400_000 && running.refused == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        (running.bytes_up, running.bytes_down, running.tunnels, running.refused),
        (200_000, 200_000, 2, 1)
    );
    assert!(!running.stopped);

    // ... and are final after SIGTERM.
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
    let last = ProxyStats::read(&stats).unwrap();
    assert!(last.stopped);
    assert_eq!((last.deal, last.total_bytes(), last.tunnels), (7, 400_000, 2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn refuses_unreachable_targets_and_bad_arguments() {
    let dir = temp_dir("refuse");
    let stats = dir.join("deal.json");
    let (mut child, proxy) = start_proxy(&stats, "pw").await;
    // A port nothing listens on (bound, then released).
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let error = connect_via(proxy, &closed.to_string(), "pw").await.unwrap_err();
    assert!(error.to_string().contains("502"), "{error}");
    child.kill().unwrap();
    child.wait().unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_snm-proxy")).args(["--listen", "nowhere"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen `nowhere`"));
    let _ = std::fs::remove_dir_all(&dir);
}
