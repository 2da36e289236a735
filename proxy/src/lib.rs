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
//! authenticates with `Proxy-Authorization: Basic base64(<anything>:<secret>)`.

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
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};

/// Largest request head (request line and headers) the proxy reads before refusing.
const MAX_HEAD: usize = 16 * 1024;
/// How often changed counters are written to the stats file.
const STATS_INTERVAL: Duration = Duration::from_millis(500);
/// Time allowed to reach the tunnel's target.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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
}

/// The stats file's content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyStats {
    /// The deal served.
    pub deal: u64,
    /// The address the proxy listens on.
    pub listen: String,
    /// Bytes relayed from clients to targets.
    pub bytes_up: u64,
    /// Bytes relayed from targets to clients.
    pub bytes_down: u64,
    /// Tunnels opened.
    pub tunnels: u64,
    /// Requests refused (bad request, wrong credentials, unreachable target).
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

/// A bound proxy, ready to [`run`](Proxy::run).
#[derive(Debug)]
pub struct Proxy {
    config: ProxyConfig,
    listener: TcpListener,
    counters: Arc<Counters>,
}

impl Proxy {
    /// Binds the listening socket and writes the first stats file (with the bound address).
    pub async fn bind(config: ProxyConfig) -> io::Result<Self> {
        let listener = TcpListener::bind(config.listen).await?;
        let proxy = Self { config, listener, counters: Arc::default() };
        proxy.snapshot(false)?.write(&proxy.config.stats)?;
        Ok(proxy)
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` turns true, then closes every tunnel and writes the final stats.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> io::Result<ProxyStats> {
        let mut tunnels = JoinSet::new();
        let mut ticker = tokio::time::interval(STATS_INTERVAL);
        let mut written = self.snapshot(false)?;
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    // A failed accept (for example out of file descriptors) must not stop the proxy.
                    if let Ok((stream, _)) = accepted {
                        let counters = Arc::clone(&self.counters);
                        let auth = self.config.auth_hash;
                        tunnels.spawn(async move { serve(stream, auth, &counters).await });
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
    Unreachable,
}

impl Refusal {
    fn response(&self) -> &'static [u8] {
        match self {
            Self::BadRequest => b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            Self::MethodNotAllowed => {
                b"HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            }
            Self::AuthRequired => {
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"snm-deal\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            }
            Self::Unreachable => b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        }
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

/// The `Proxy-Authorization` header value a client sends for `secret`.
pub fn authorization_header(secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("deal:{secret}")))
}

/// The command template that runs this proxy (the program at `program`) for each deal of a
/// supplier's agent (see `snm_agent::ProcessRuntime`): on the worker's IP and a port the
/// system picks, metered into the deal's stats file, open to the secret behind the bid's
/// configuration hash.
pub fn agent_command(program: &str) -> Vec<String> {
    [program, "--listen", "{ip}:0", "--stats", "{stats}", "--deal", "{deal}", "--auth-hash", "{config_hash}"]
        .map(str::to_owned)
        .to_vec()
}

/// The `configHash` a customer puts in its bid for a proxy protected by `secret`.
pub fn config_hash(secret: &str) -> B256 {
    keccak256(secret.as_bytes())
}

/// Opens a tunnel to `target` (`host:port`) through the proxy at `proxy`, presenting `secret`:
/// what a customer's program does to use the proxy it bought.
pub async fn connect_via(proxy: SocketAddr, target: &str, secret: &str) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(proxy).await?;
    let request = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: {}\r\n\r\n",
        authorization_header(secret)
    );
    stream.write_all(request.as_bytes()).await?;
    let (head, early) = read_head(&mut stream)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the proxy sent no response head"))?;
    let status = String::from_utf8_lossy(&head);
    let status = status.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200") || !early.is_empty() {
        return Err(io::Error::new(io::ErrorKind::ConnectionRefused, format!("proxy answered `{status}`")));
    }
    Ok(stream)
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

async fn serve(mut client: TcpStream, auth: Option<B256>, counters: &Counters) {
    match open_tunnel(&mut client, auth).await {
        Ok((target, early)) => {
            counters.tunnels.fetch_add(1, Ordering::Relaxed);
            relay(client, target, early, counters).await;
        }
        Err(refusal) => {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            // The client may already be gone; nothing more to do either way.
            let _ = client.write_all(refusal.response()).await;
        }
    }
}

async fn open_tunnel(client: &mut TcpStream, auth: Option<B256>) -> Result<(TcpStream, Vec<u8>), Refusal> {
    let (head, early) = read_head(client).await?;
    let request = parse_head(&head)?;
    if let Some(expected) = auth {
        match &request.secret {
            Some(secret) if keccak256(secret) == expected => {}
            _ => return Err(Refusal::AuthRequired),
        }
    }
    let target = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(request.target.as_str()))
        .await
        .map_err(|_| Refusal::Unreachable)?
        .map_err(|_| Refusal::Unreachable)?;
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .map_err(|_| Refusal::BadRequest)?;
    Ok((target, early))
}

/// Copies both ways until both sides are done, counting as it goes (so a cut tunnel still counts
/// what it carried).
async fn relay(client: TcpStream, mut target: TcpStream, early: Vec<u8>, counters: &Counters) {
    if !early.is_empty() {
        if target.write_all(&early).await.is_err() {
            return;
        }
        counters.up.fetch_add(early.len() as u64, Ordering::Relaxed);
    }
    let (mut client_read, mut client_write) = client.into_split();
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
        let auth = authorization_header("s3cret");
        let head = format!(
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: {auth}"
        );
        let request = parse_head(head.as_bytes()).unwrap();
        assert_eq!(request.target, "example.com:443");
        assert_eq!(request.secret.as_deref(), Some(&b"s3cret"[..]));
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
    fn ignores_other_auth_schemes() {
        assert_eq!(basic_password("Bearer abc"), None);
        assert_eq!(basic_password("Basic !!!"), None);
        assert_eq!(basic_password("Basic dXNlcg=="), None); // "user", no colon
    }
}
