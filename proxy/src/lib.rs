//! `snm-proxy`: a metered HTTP `CONNECT` proxy, the workload a supplier's agent starts for a proxy
//! deal.
//!
//! One proxy process serves one deal. It tunnels TCP for clients that send
//! `CONNECT host:port HTTP/1.1`, and counts every byte it relays in each direction. The counts are
//! the traffic the reward campaign pays for, so they are written to a stats file (JSON, replaced
//! atomically) twice a second while they change and once more when the proxy stops, so that a
//! reader never sees a torn file and the final figure survives the process.
//!
//! Access is limited to the deal's customer without the supplier ever learning a password: the
//! bid's `configHash` is `keccak256(secret)`, the proxy is started with that hash, and a client
//! authenticates with `Proxy-Authorization: Basic base64(<anything>:<secret>)`. The hash is public
//! on chain, so the secret must hold 128 bits of randomness (`snm_sdk::proxy_client::ProxySecret`
//! refuses weaker ones).
//!
//! The proxy serves TLS only ([`tls`]): with a certificate it makes at start, or one from files.
//! Its stats file carries the certificate's SHA-256, and the endpoint the agent announces is
//! `host:port#sha256=<64 hex digits>` ([`ProxyStats::endpoint`]), which the customer's client
//! (`snm_sdk::proxy_client::connect`) pins: the secret never crosses the network in clear.
//!
//! Tunnels reach the public internet only ([`policy`]): loopback, private, link-local (cloud
//! metadata), carrier-NAT, multicast, broadcast and reserved addresses are refused with
//! `403 Forbidden` and a reason, checked on every address a target name resolves to, unless the
//! configuration's allow-list names their range.

pub mod policy;
pub mod tls;
pub mod traffic;

use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy::primitives::{B256, keccak256};
use base64::Engine;
use serde::{Deserialize, Serialize};
use snm_sdk::proxy_client::{CertFingerprint, EndpointError, ProxyEndpoint};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};
use tokio_rustls::TlsAcceptor;

use crate::{
    policy::{Cidr, DestinationPolicy, Forbidden},
    tls::{TlsError, TlsIdentity, TlsSource},
};

/// Largest request head (request line and headers) the proxy reads before refusing.
const MAX_HEAD: usize = 16 * 1024;
/// How often changed counters are written to the stats file.
const STATS_INTERVAL: Duration = Duration::from_millis(500);
/// Time allowed to reach the tunnel's target (resolving its name included).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The content type of a TLS handshake record, the first byte a TLS client sends.
const TLS_HANDSHAKE: u8 = 0x16;
/// Time allowed for a client's TLS handshake and request head: a silent client must not hold a
/// task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a proxy serves and where it reports.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Address to listen on; port 0 lets the system choose (the stats file tells which).
    pub listen: SocketAddr,
    /// The stats file, rewritten atomically.
    pub stats: PathBuf,
    /// The deal this proxy serves (recorded in the stats file).
    pub deal: u64,
    /// `keccak256` of the secret a client must present; `None` lets anyone in.
    pub auth_hash: Option<B256>,
    /// The destinations tunnels may reach: public addresses, and the ranges it allows.
    pub policy: DestinationPolicy,
    /// The certificate the proxy serves TLS with.
    pub tls: TlsSource,
}

/// The stats file's content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyStats {
    /// The deal served.
    pub deal: u64,
    /// The address the proxy listens on.
    pub listen: String,
    /// The SHA-256 of the certificate the proxy serves (64 hexadecimal digits).
    #[serde(default)]
    pub fingerprint: String,
    /// Bytes relayed from clients to targets.
    pub bytes_up: u64,
    /// Bytes relayed from targets to clients.
    pub bytes_down: u64,
    /// Tunnels opened.
    pub tunnels: u64,
    /// Connections refused (not TLS, a failed handshake, a bad request, wrong credentials, a
    /// forbidden destination, an unreachable target). None of them counts as traffic.
    pub refused: u64,
    /// Unix time of this snapshot, seconds.
    pub updated_at: u64,
    /// Whether the proxy has stopped (the figures are final).
    pub stopped: bool,
}

impl ProxyStats {
    /// Both directions together: the traffic the deal's workload processed.
    pub fn total_bytes(&self) -> u64 {
        self.bytes_up.saturating_add(self.bytes_down)
    }

    /// The endpoint customers connect to: `listen#sha256=fingerprint`.
    pub fn endpoint(&self) -> Result<ProxyEndpoint, EndpointError> {
        ProxyEndpoint::new(self.listen.clone(), self.fingerprint.parse()?)
    }

    /// Reads a stats file.
    pub fn read(path: &Path) -> io::Result<Self> {
        let text = std::fs::read(path)?;
        serde_json::from_slice(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Writes the file atomically: a temporary file beside it, then a rename.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, path)
    }
}

#[derive(Debug, Default)]
struct Counters {
    up: AtomicU64,
    down: AtomicU64,
    tunnels: AtomicU64,
    refused: AtomicU64,
}

/// Why a proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No TLS identity.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The listening address could not be bound.
    #[error("cannot listen on {listen}: {source}")]
    Bind {
        /// The address.
        listen: SocketAddr,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
    /// The stats file could not be written.
    #[error("cannot write the stats file {}: {source}", path.display())]
    Stats {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
}

/// A bound proxy, ready to [`run`](Proxy::run).
#[derive(Debug)]
pub struct Proxy {
    config: ProxyConfig,
    listener: TcpListener,
    counters: Arc<Counters>,
    tls: TlsIdentity,
}

impl Proxy {
    /// Makes or reads the certificate, binds the listening socket and writes the first stats file
    /// (with the bound address and the certificate's fingerprint).
    pub async fn bind(config: ProxyConfig) -> Result<Self, ProxyError> {
        let tls = TlsIdentity::load(&config.tls)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| ProxyError::Bind { listen: config.listen, source })?;
        let proxy = Self { config, listener, counters: Arc::default(), tls };
        let stats_error = |source| ProxyError::Stats { path: proxy.config.stats.clone(), source };
        proxy.snapshot(false).and_then(|s| s.write(&proxy.config.stats)).map_err(stats_error)?;
        Ok(proxy)
    }

    /// The SHA-256 of the certificate the proxy serves.
    pub fn fingerprint(&self) -> CertFingerprint {
        self.tls.fingerprint()
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` turns true, then closes every tunnel and writes the final stats.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> io::Result<ProxyStats> {
        let mut tunnels = JoinSet::new();
        let acceptor = TlsAcceptor::from(self.tls.config());
        let policy = Arc::new(self.config.policy.clone());
        let mut ticker = tokio::time::interval(STATS_INTERVAL);
        let mut written = self.snapshot(false)?;
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    // A failed accept (for example out of file descriptors) must not stop the proxy.
                    if let Ok((stream, _)) = accepted {
                        let counters = Arc::clone(&self.counters);
                        let gate = Gate { auth: self.config.auth_hash, policy: Arc::clone(&policy) };
                        let acceptor = acceptor.clone();
                        tunnels.spawn(async move { serve(stream, acceptor, gate, &counters).await });
                    }
                }
                _ = ticker.tick() => {
                    let now = self.snapshot(false)?;
                    if !same_counts(&now, &written) {
                        now.write(&self.config.stats)?;
                        written = now;
                    }
                }
                Some(_) = tunnels.join_next(), if !tunnels.is_empty() => {}
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
            }
        }
        tunnels.shutdown().await;
        let last = self.snapshot(true)?;
        last.write(&self.config.stats)?;
        Ok(last)
    }

    fn snapshot(&self, stopped: bool) -> io::Result<ProxyStats> {
        let c = &self.counters;
        Ok(ProxyStats {
            deal: self.config.deal,
            listen: self.local_addr()?.to_string(),
            fingerprint: self.fingerprint().to_string(),
            bytes_up: c.up.load(Ordering::Relaxed),
            bytes_down: c.down.load(Ordering::Relaxed),
            tunnels: c.tunnels.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            updated_at: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            stopped,
        })
    }
}

fn same_counts(a: &ProxyStats, b: &ProxyStats) -> bool {
    (a.bytes_up, a.bytes_down, a.tunnels, a.refused) == (b.bytes_up, b.bytes_down, b.tunnels, b.refused)
}

/// Why a request was refused, with the status line sent back.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    BadRequest,
    MethodNotAllowed,
    AuthRequired,
    Forbidden(Forbidden),
    Unreachable,
    NotTls,
}

impl Refusal {
    fn response(&self) -> Vec<u8> {
        let (status, extra, reason) = match self {
            Self::BadRequest => ("400 Bad Request", "", String::new()),
            Self::MethodNotAllowed => ("405 Method Not Allowed", "Allow: CONNECT\r\n", String::new()),
            Self::AuthRequired => (
                "407 Proxy Authentication Required",
                "Proxy-Authenticate: Basic realm=\"snm-deal\"\r\n",
                String::new(),
            ),
            Self::Forbidden(forbidden) => ("403 Forbidden", "", forbidden.to_string()),
            Self::Unreachable => ("502 Bad Gateway", "", String::new()),
            Self::NotTls => (
                "400 Bad Request",
                "",
                "this proxy serves TLS only: connect with the certificate its endpoint names (host:port#sha256=...)"
                    .to_owned(),
            ),
        };
        let kind = if reason.is_empty() { "" } else { "Content-Type: text/plain\r\n" };
        format!(
            "HTTP/1.1 {status}\r\n{extra}{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{reason}",
            reason.len()
        )
        .into_bytes()
    }
}

/// The parsed head of a `CONNECT` request.
#[derive(Debug, PartialEq, Eq)]
struct ConnectRequest {
    target: String,
    secret: Option<Vec<u8>>,
}

/// Parses a request head (everything before the blank line).
fn parse_head(head: &[u8]) -> Result<ConnectRequest, Refusal> {
    let text = std::str::from_utf8(head).map_err(|_| Refusal::BadRequest)?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().ok_or(Refusal::BadRequest)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::BadRequest);
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Refusal::BadRequest);
    }
    if method != "CONNECT" {
        return Err(Refusal::MethodNotAllowed);
    }
    // authority-form: host:port, with a port.
    match target.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
        _ => return Err(Refusal::BadRequest),
    }
    let mut secret = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        if name.trim().eq_ignore_ascii_case("proxy-authorization") {
            secret = basic_password(value.trim());
        }
    }
    Ok(ConnectRequest { target: target.to_owned(), secret })
}

/// The password of a `Basic` credential, if it is one.
fn basic_password(value: &str) -> Option<Vec<u8>> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some(decoded[colon + 1..].to_vec())
}

/// The command template that runs this proxy (the program at `program`) for each deal of a
/// supplier's agent (see `snm_agent::ProcessRuntime`): on the worker's IP and a port the
/// system picks, metered into the deal's stats file, open to the secret behind the bid's
/// configuration hash, reaching public addresses and the ranges in `allow`.
pub fn agent_command(program: &str, allow: &[Cidr]) -> Vec<String> {
    let mut command: Vec<String> = [
        program,
        "--listen",
        "{ip}:0",
        "--stats",
        "{stats}",
        "--deal",
        "{deal}",
        "--auth-hash",
        "{config_hash}",
    ]
    .map(str::to_owned)
    .to_vec();
    for range in allow {
        command.extend(["--allow".to_owned(), range.to_string()]);
    }
    command
}

/// Reads the request head; returns it and any bytes the client sent after it.
async fn read_head<R: AsyncRead + Unpin>(stream: &mut R) -> Result<(Vec<u8>, Vec<u8>), Refusal> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| Refusal::BadRequest)?;
        if n == 0 {
            return Err(Refusal::BadRequest);
        }
        let searched_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf[searched_from..].windows(4).position(|w| w == b"\r\n\r\n") {
            let end = searched_from + end;
            let rest = buf[end + 4..].to_vec();
            buf.truncate(end);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(Refusal::BadRequest);
        }
    }
}

/// What a request must pass: the secret, and the destination policy.
#[derive(Clone, Debug)]
struct Gate {
    auth: Option<B256>,
    policy: Arc<DestinationPolicy>,
}

async fn serve(tcp: TcpStream, acceptor: TlsAcceptor, gate: Gate, counters: &Counters) {
    // Tunnels carry interactive traffic: small writes must not wait for more.
    let _ = tcp.set_nodelay(true);
    // A client in plain text (its first byte is not a TLS handshake record's) is told why in
    // plain text; one that fails the handshake or stalls gets nothing. Both are counted, not served.
    let mut first = [0u8; 1];
    let plain = matches!(
        tokio::time::timeout(HANDSHAKE_TIMEOUT, tcp.peek(&mut first)).await,
        Ok(Ok(1)) if first[0] != TLS_HANDSHAKE
    );
    if plain {
        counters.refused.fetch_add(1, Ordering::Relaxed);
        let mut tcp = tcp;
        let _ = tcp.write_all(&Refusal::NotTls.response()).await;
        let _ = tcp.shutdown().await;
        return;
    }
    let Ok(Ok(mut client)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
        counters.refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    match open_tunnel(&mut client, &gate).await {
        Ok((target, early)) => {
            counters.tunnels.fetch_add(1, Ordering::Relaxed);
            relay(client, target, early, counters).await;
        }
        Err(refusal) => {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            // The client may already be gone; nothing more to do either way.
            let _ = client.write_all(&refusal.response()).await;
            let _ = client.shutdown().await;
        }
    }
}

async fn open_tunnel<C>(client: &mut C, gate: &Gate) -> Result<(TcpStream, Vec<u8>), Refusal>
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let (head, early) = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_head(client))
        .await
        .map_err(|_| Refusal::BadRequest)??;
    let request = parse_head(&head)?;
    if let Some(expected) = gate.auth {
        match &request.secret {
            Some(secret) if keccak256(secret) == expected => {}
            _ => return Err(Refusal::AuthRequired),
        }
    }
    let target = tokio::time::timeout(CONNECT_TIMEOUT, async {
        let addresses = resolve(&request.target).await?;
        gate.policy.check_all(&addresses).map_err(Refusal::Forbidden)?;
        // The addresses checked, not the name again: a second lookup could answer otherwise.
        TcpStream::connect(addresses.as_slice()).await.map_err(|error| {
            // The client is told only 502; the cause stays in the proxy's log.
            tracing::warn!(target = %request.target, %error, "the tunnel's target is unreachable");
            Refusal::Unreachable
        })
    })
    .await
    .map_err(|_| {
        tracing::warn!(
            target = %request.target,
            timeout = ?CONNECT_TIMEOUT,
            "the tunnel's target did not answer in time (unreachable)"
        );
        Refusal::Unreachable
    })??;
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .map_err(|_| Refusal::BadRequest)?;
    Ok((target, early))
}

/// The addresses of `host:port`: the address itself for a literal (`127.0.0.1:80`,
/// `[::1]:80`), the system resolver's answer for a name.
async fn resolve(target: &str) -> Result<Vec<SocketAddr>, Refusal> {
    if let Ok(address) = target.parse::<SocketAddr>() {
        return Ok(vec![address]);
    }
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host(target)
        .await
        .map_err(|error| {
            tracing::warn!(%target, %error, "the tunnel's target name did not resolve (unreachable)");
            Refusal::Unreachable
        })?
        .collect();
    if addresses.is_empty() {
        tracing::warn!(%target, "the tunnel's target name resolved to no address (unreachable)");
        return Err(Refusal::Unreachable);
    }
    Ok(addresses)
}

/// Copies both ways until both sides are done, counting as it goes (so a cut tunnel still counts
/// what it carried).
async fn relay<C>(client: C, mut target: TcpStream, early: Vec<u8>, counters: &Counters)
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    if !early.is_empty() {
        if target.write_all(&early).await.is_err() {
            return;
        }
        counters.up.fetch_add(early.len() as u64, Ordering::Relaxed);
    }
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut target_read, mut target_write) = target.into_split();
    let up = copy_counted(&mut client_read, &mut target_write, &counters.up);
    let down = copy_counted(&mut target_read, &mut client_write, &counters.down);
    let _ = tokio::join!(up, down);
}

async fn copy_counted<R, W>(from: &mut R, to: &mut W, counter: &AtomicU64) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            // Half-close: the other direction may still be carrying data.
            return to.shutdown().await;
        }
        to.write_all(&buf[..n]).await?;
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_connect_with_credentials() {
        let secret = snm_sdk::proxy_client::ProxySecret::new("9f86d081884c7d659a2feaa0c55ad015").unwrap();
        let auth = snm_sdk::proxy_client::authorization_header(&secret);
        let head = format!(
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: {auth}"
        );
        let request = parse_head(head.as_bytes()).unwrap();
        assert_eq!(request.target, "example.com:443");
        assert_eq!(request.secret.as_deref(), Some(secret.expose().as_bytes()));
    }

    #[test]
    fn refuses_what_is_not_a_connect() {
        assert_eq!(parse_head(b"GET http://a/ HTTP/1.1"), Err(Refusal::MethodNotAllowed));
        assert_eq!(parse_head(b"CONNECT example.com HTTP/1.1"), Err(Refusal::BadRequest));
        assert_eq!(parse_head(b"CONNECT example.com:99999 HTTP/1.1"), Err(Refusal::BadRequest));
        assert_eq!(parse_head(b"CONNECT a:1 HTTP/2"), Err(Refusal::BadRequest));
        assert_eq!(parse_head(b"CONNECT a:1"), Err(Refusal::BadRequest));
        assert_eq!(parse_head(&[0xff, 0xfe]), Err(Refusal::BadRequest));
    }

    #[test]
    fn a_refusal_for_a_forbidden_destination_says_why() {
        let forbidden = DestinationPolicy::default().check("169.254.169.254".parse().unwrap()).unwrap_err();
        let response = String::from_utf8(Refusal::Forbidden(forbidden).response()).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{head}");
        assert!(head.contains(&format!("Content-Length: {}", body.len())), "{head}");
        assert!(body.contains("169.254.169.254 is link-local"), "{body}");
    }

    #[tokio::test]
    async fn literal_targets_are_not_resolved() {
        assert_eq!(resolve("127.0.0.9:80").await, Ok(vec!["127.0.0.9:80".parse().unwrap()]));
        assert_eq!(resolve("[::1]:443").await, Ok(vec!["[::1]:443".parse().unwrap()]));
    }

    #[test]
    fn ignores_other_auth_schemes() {
        assert_eq!(basic_password("Bearer abc"), None);
        assert_eq!(basic_password("Basic !!!"), None);
        assert_eq!(basic_password("Basic dXNlcg=="), None); // "user", no colon
    }
}
