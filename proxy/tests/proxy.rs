//! The proxy workload as a process: serves TLS with the certificate its stats file names, tunnels
//! for the right secret only and to allowed destinations only, counts every byte both ways, and
//! leaves its final counts in the stats file when it is stopped with SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use snm_proxy::{ProxyStats, traffic::echo_server};
use snm_sdk::proxy_client::{CertFingerprint, ProxyClientError, ProxyEndpoint, ProxySecret, connect};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// How long a condition may take to come true on a loaded machine before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snm-proxy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn secret() -> ProxySecret {
    ProxySecret::generate().unwrap()
}

/// Starts the proxy binary with `extra` arguments and waits for its first stats file, which names
/// the bound address and the certificate.
#[allow(clippy::zombie_processes)] // the caller waits for the child; a panic here fails the test anyway
async fn start_proxy(stats: &Path, secret: &ProxySecret, extra: &[&str]) -> (Child, ProxyEndpoint) {
    let child = Command::new(env!("CARGO_BIN_EXE_snm-proxy"))
        .args(["--listen", "127.0.0.1:0", "--deal", "7", "--stats"])
        .arg(stats)
        .args(["--auth-hash", &secret.config_hash().to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Ok(s) = ProxyStats::read(stats) {
            return (child, s.endpoint().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the proxy wrote no stats file within {PATIENCE:?}");
}

/// Waits until the stats file satisfies `done`, and returns it.
async fn stats_when(stats: &Path, done: impl Fn(&ProxyStats) -> bool) -> ProxyStats {
    let deadline = Instant::now() + PATIENCE;
    let mut last = ProxyStats::default();
    while Instant::now() < deadline {
        last = ProxyStats::read(stats).unwrap();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the stats file never reached the expected state: {last:?}");
}

fn stop(mut child: Child) {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn tunnels_count_every_byte_and_survive_in_the_stats_file() {
    let dir = temp_dir("count");
    let stats = dir.join("deal-7.json");
    let target = echo_server().await.unwrap().to_string();
    let secret = secret();
    let (child, proxy) = start_proxy(&stats, &secret, &["--allow", "127.0.0.1/32"]).await;

    // Two tunnels, each sends 100 KB and reads the echo back.
    for _ in 0..2 {
        let mut tunnel = connect(&proxy, &target, &secret).await.unwrap();
        let payload = vec![7u8; 100_000];
        tunnel.write_all(&payload).await.unwrap();
        let mut echoed = vec![0u8; payload.len()];
        tunnel.read_exact(&mut echoed).await.unwrap();
        assert_eq!(echoed, payload);
    }

    // A wrong secret is refused and counted as such.
    let wrong = connect(&proxy, &target, &ProxySecret::generate().unwrap()).await.unwrap_err();
    assert!(matches!(&wrong, ProxyClientError::Refused { status, .. } if status.contains("407")), "{wrong}");

    // The counts reach the file while running ...
    let running = stats_when(&stats, |s| s.total_bytes() == 400_000 && s.refused == 1).await;
    assert_eq!(
        (running.bytes_up, running.bytes_down, running.tunnels, running.refused),
        (200_000, 200_000, 2, 1)
    );
    assert!(!running.stopped);

    // ... and are final after SIGTERM.
    stop(child);
    let last = ProxyStats::read(&stats).unwrap();
    assert!(last.stopped);
    assert_eq!((last.deal, last.total_bytes(), last.tunnels), (7, 400_000, 2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn refuses_unreachable_targets_and_bad_arguments() {
    let dir = temp_dir("refuse");
    let stats = dir.join("deal.json");
    let secret = secret();
    let (mut child, proxy) = start_proxy(&stats, &secret, &["--allow", "127.0.0.1/32"]).await;
    // A port nothing listens on (bound, then released).
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let error = connect(&proxy, &closed.to_string(), &secret).await.unwrap_err();
    assert!(error.to_string().contains("502"), "{error}");
    child.kill().unwrap();
    child.wait().unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_snm-proxy")).args(["--listen", "nowhere"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen `nowhere`"));
    let out =
        Command::new(env!("CARGO_BIN_EXE_snm-proxy")).args(["--allow", "10.0.0.0/33"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`10.0.0.0/33` is not an address range"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_supplier_s_own_network_is_refused_unless_allowed() {
    let dir = temp_dir("policy");
    let stats = dir.join("deal.json");
    let secret = secret();
    // An echo server on loopback stands in for a service of the supplier's machine.
    let local = echo_server().await.unwrap();
    let (child, proxy) = start_proxy(&stats, &secret, &[]).await;
    // Literals only: the proxy refuses each before connecting anywhere.
    let targets = [
        (local.to_string(), "127.0.0.1 is loopback"),
        (format!("[::ffff:127.0.0.1]:{}", local.port()), "127.0.0.1 is loopback"),
        ("[::1]:22".to_owned(), "::1 is loopback"),
        ("10.0.0.1:5432".to_owned(), "10.0.0.1 is private"),
        ("172.16.0.1:80".to_owned(), "172.16.0.1 is private"),
        ("192.168.1.1:80".to_owned(), "192.168.1.1 is private"),
        ("[fd00::1]:80".to_owned(), "fd00::1 is private"),
        ("169.254.169.254:80".to_owned(), "169.254.169.254 is link-local"),
        ("[fe80::1]:80".to_owned(), "fe80::1 is link-local"),
        ("0.0.0.0:80".to_owned(), "0.0.0.0 is unspecified"),
        ("255.255.255.255:80".to_owned(), "255.255.255.255 is broadcast"),
        ("224.0.0.1:80".to_owned(), "224.0.0.1 is multicast"),
        ("100.64.0.1:80".to_owned(), "100.64.0.1 is shared address space"),
    ];
    for (target, reason) in &targets {
        let error = connect(&proxy, target, &secret).await.unwrap_err();
        let ProxyClientError::Refused { status, reason: given } = &error else { panic!("{target}: {error}") };
        assert!(status.contains("403"), "{target}: {status}");
        assert!(given.contains(reason), "{target}: {given}");
    }
    // Refusals are counted as such, and as no traffic.
    let refused = targets.len() as u64;
    let now = stats_when(&stats, |s| s.refused == refused).await;
    assert_eq!((now.total_bytes(), now.tunnels), (0, 0));
    stop(child);

    // An allow-list opens exactly its ranges.
    let stats = dir.join("allowed.json");
    let (child, proxy) = start_proxy(&stats, &secret, &["--allow", "127.0.0.1/32"]).await;
    let mut tunnel = connect(&proxy, &local.to_string(), &secret).await.unwrap();
    tunnel.write_all(b"ping").await.unwrap();
    let mut echoed = [0u8; 4];
    tunnel.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"ping");
    let error = connect(&proxy, &format!("127.0.0.2:{}", local.port()), &secret).await.unwrap_err();
    assert!(error.to_string().contains("127.0.0.2 is loopback"), "{error}");
    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn only_a_client_pinning_the_announced_certificate_gets_through() {
    let dir = temp_dir("pin");
    let stats = dir.join("deal.json");
    let secret = secret();
    let target = echo_server().await.unwrap().to_string();
    let (child, proxy) = start_proxy(&stats, &secret, &["--allow", "127.0.0.1/32"]).await;

    // Another certificate's fingerprint: the client refuses the proxy before sending the secret.
    let impostor = ProxyEndpoint::new(proxy.address(), CertFingerprint::of(b"another certificate")).unwrap();
    let error = connect(&impostor, &target, &secret).await.unwrap_err();
    assert!(matches!(error, ProxyClientError::CertificateMismatch { .. }), "{error}");

    // A client in plain TCP, with the right secret, gets no tunnel.
    let mut plain = TcpStream::connect(proxy.address()).await.unwrap();
    let request = format!(
        "CONNECT {target} HTTP/1.1\r\nProxy-Authorization: {}\r\n\r\n",
        snm_sdk::proxy_client::authorization_header(&secret)
    );
    plain.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, plain.read_to_end(&mut answer)).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
    assert!(answer.ends_with("this proxy serves TLS only: connect with the certificate its endpoint names (host:port#sha256=...)"), "{answer}");

    // Both counted as refused, with no tunnel and no traffic; the pinned client still works.
    let now = stats_when(&stats, |s| s.refused == 2).await;
    assert_eq!((now.tunnels, now.total_bytes()), (0, 0));
    connect(&proxy, &target, &secret).await.unwrap();
    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_certificate_from_files_is_served_and_announced() {
    let dir = temp_dir("files");
    let stats = dir.join("deal.json");
    let made = rcgen::generate_simple_self_signed(vec!["proxy.test".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let secret = secret();
    let args = ["--allow", "127.0.0.1/32", "--cert", cert.to_str().unwrap(), "--key", key.to_str().unwrap()];
    let (child, proxy) = start_proxy(&stats, &secret, &args).await;
    assert_eq!(*proxy.fingerprint(), CertFingerprint::of(made.cert.der()));
    let target = echo_server().await.unwrap().to_string();
    connect(&proxy, &target, &secret).await.unwrap();
    stop(child);

    let out = Command::new(env!("CARGO_BIN_EXE_snm-proxy"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--stats",
            stats.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cert and --key go together"));
    let _ = std::fs::remove_dir_all(&dir);
}
