//! Throughput of a tunnel through the proxy against a direct TCP connection to the same echo
//! server, measured in the same run: the ratio is what the proxy (TLS, metering, relaying) costs.
//!
//! `cargo bench -p snm-proxy --bench throughput`. With `SNM_PROXY_BEFORE=<snm-proxy binary>` (a
//! build from before TLS, which tunnels in plain TCP) it also measures that binary, for a
//! before/after figure in one run. Each figure is the median of 5 rounds of 256 MiB each way;
//! without `--bench` in its arguments (as `cargo test --all-targets` runs it), one round of 1 MiB.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failure is a panic

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use snm_proxy::{
    Proxy, ProxyConfig, ProxyStats, policy::DestinationPolicy, tls::TlsSource, traffic::echo_server,
};
use snm_sdk::proxy_client::{ProxySecret, connect};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
    sync::watch,
};

/// Bytes sent (and echoed back) per round, and rounds per figure: `(full, quick)`.
const SIZES: [(u64, usize); 2] = [(256 << 20, 5), (1 << 20, 1)];

/// Sends `BYTES` and reads the echo back at once; returns the time taken.
async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(stream: S, bytes: u64) -> Duration {
    let started = Instant::now();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let send = async move {
        let chunk = vec![0x5au8; 64 * 1024];
        let mut sent = 0;
        while sent < bytes {
            writer.write_all(&chunk).await.unwrap();
            sent += chunk.len() as u64;
        }
        writer.shutdown().await.unwrap();
    };
    let receive = async move {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut received = 0;
        while received < bytes {
            let n = reader.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the echo ended early");
            received += n as u64;
        }
    };
    tokio::join!(send, receive);
    started.elapsed()
}

/// The median of `rounds` runs of `measure` carrying `bytes` each, in MB/s one way.
async fn rate<F, Fut>((bytes, rounds): (u64, usize), mut measure: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut rates = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        rates.push(bytes as f64 / 1e6 / measure().await.as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates[rounds / 2]
}

/// A plain `CONNECT` through a proxy that takes no secret and speaks TCP (the binary before TLS).
async fn plain_tunnel(proxy: SocketAddr, target: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    stream
        .write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));
    stream
}

#[tokio::main]
async fn main() {
    let size = SIZES[usize::from(!std::env::args().any(|a| a == "--bench"))];
    let bytes = size.0;
    let dir = std::env::temp_dir().join(format!("snm-proxy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = echo_server().await.unwrap();

    let secret = ProxySecret::generate().unwrap();
    let proxy = Proxy::bind(ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        stats: dir.join("tls.json"),
        deal: 1,
        auth_hash: Some(secret.config_hash()),
        policy: DestinationPolicy::allowing(vec!["127.0.0.1/32".parse().unwrap()]),
        tls: TlsSource::SelfSigned,
    })
    .await
    .unwrap();
    let endpoint = ProxyStats::read(&dir.join("tls.json")).unwrap().endpoint().unwrap();
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(proxy.run(stopped));

    let direct =
        rate(size, || async { round_trip(TcpStream::connect(target).await.unwrap(), bytes).await }).await;
    let tls = rate(size, || async {
        round_trip(connect(&endpoint, &target.to_string(), &secret).await.unwrap(), bytes).await
    })
    .await;
    println!("direct TCP to the echo server      {direct:>8.0} MB/s each way (baseline)");
    println!("through the proxy, TLS             {tls:>8.0} MB/s each way ({:.2} of direct)", tls / direct);

    if let Some(before) = std::env::var_os("SNM_PROXY_BEFORE").map(PathBuf::from) {
        let stats = dir.join("before.json");
        let mut child = Command::new(&before)
            .args(["--listen", "127.0.0.1:0", "--stats"])
            .arg(&stats)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let listen = loop {
            if let Ok(s) = ProxyStats::read(&stats) {
                break s.listen.parse::<SocketAddr>().unwrap();
            }
            assert!(Instant::now() < deadline, "{} wrote no stats file", before.display());
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let plain =
            rate(size, || async { round_trip(plain_tunnel(listen, target).await, bytes).await }).await;
        println!(
            "through the proxy before TLS       {plain:>8.0} MB/s each way ({:.2} of direct)",
            plain / direct
        );
        println!("TLS against before                 {:.2}", tls / plain);
        child.kill().unwrap();
        child.wait().unwrap();
    }

    stop.send(true).unwrap();
    let stats = running.await.unwrap().unwrap();
    // Every byte of every round, both ways, metered exactly.
    assert_eq!(stats.total_bytes(), 2 * bytes * size.1 as u64);
    let _ = std::fs::remove_dir_all(&dir);
}
