//! [`ConfigInbox`]: where customers post their deals' workload configurations (see
//! [`snm_sdk::workload_config`]).
//!
//! A small HTTP/1.1 endpoint on the worker: `POST /deals/<id>/config` with a
//! [`SealedWorkloadConfig`] as JSON: a [`SignedWorkloadConfig`] encrypted to the deal's
//! [`ConfigKey`] (made per deal, kept in the deal's directory with mode 0600, its public half
//! announced with the address). It accepts a configuration only for a deal the runtime is waiting
//! on ([`expect`](ConfigInbox::expect)), that opens with the deal's key, signed by that deal's
//! customer and hashing to its `configHash`; anything else is refused with a status and the
//! reason, and is not stored. An accepted configuration is written decrypted (mode 0600) under
//! the deal's directory, where the runtime reads it when it starts the container.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use alloy::primitives::{Address, B256};
use snm_sdk::{
    market::DealId,
    workload_config::{MAX_CONFIG_BYTES, SignedWorkloadConfig},
    workload_seal::{ConfigKey, SealedWorkloadConfig},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::RuntimeError;

/// What a deal's configuration must be: sealed to which key, who signs it, and its hash.
#[derive(Clone, Debug)]
struct Expected {
    key: ConfigKey,
    customer: Address,
    config_hash: B256,
}

/// The configuration endpoint: see the module documentation of `snm_agent::runtime` and
/// `docs/DOCKER_RUNTIME.md`. Serving stops when it is
/// dropped.
#[derive(Debug)]
pub struct ConfigInbox {
    address: SocketAddr,
    market: Address,
    root: PathBuf,
    expected: Arc<Mutex<HashMap<DealId, Expected>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for ConfigInbox {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl ConfigInbox {
    /// Listens on `listen` and stores configurations under `root` (`deal-<id>/config.json`).
    pub async fn bind(listen: SocketAddr, market: Address, root: PathBuf) -> Result<Self, RuntimeError> {
        let listener = TcpListener::bind(listen).await.map_err(|source| RuntimeError::Io {
            deal: DealId(0),
            path: PathBuf::from(listen.to_string()),
            source,
        })?;
        let address = listener.local_addr().unwrap_or(listen);
        let expected: Arc<Mutex<HashMap<DealId, Expected>>> = Arc::default();
        let (shared, dir) = (Arc::clone(&expected), root.clone());
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (shared, dir) = (Arc::clone(&shared), dir.clone());
                tokio::spawn(async move { serve(stream, market, &dir, &shared).await });
            }
        });
        Ok(Self { address, market, root, expected, server })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Accepts a configuration for `deal` from now on: sealed to the deal's key (made now, or
    /// kept from an earlier call, also by an agent that ran before), signed by `customer`, hashing
    /// to `config_hash`. Returns the key, whose public half the customer seals to.
    pub fn expect(
        &self,
        deal: DealId,
        customer: Address,
        config_hash: B256,
    ) -> Result<ConfigKey, RuntimeError> {
        let key = deal_key(&self.root, deal)?;
        self.expected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(deal, Expected { key: key.clone(), customer, config_hash });
        Ok(key)
    }

    /// The deal's accepted configuration, checked again, `None` while none was posted.
    pub fn delivered(
        &self,
        deal: DealId,
        customer: Address,
        config_hash: B256,
    ) -> Result<Option<SignedWorkloadConfig>, RuntimeError> {
        let path = config_path(&self.root, deal);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(RuntimeError::Io { deal, path, source }),
        };
        let signed: SignedWorkloadConfig = serde_json::from_slice(&text).map_err(|e| RuntimeError::Io {
            deal,
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        signed
            .verify(self.market, deal, customer, config_hash)
            .map_err(|source| RuntimeError::ConfigRefused { deal, source })?;
        Ok(Some(signed))
    }
}

fn config_path(root: &Path, deal: DealId) -> PathBuf {
    root.join(format!("deal-{deal}")).join("config.json")
}

/// The deal's configuration key, kept in its directory (made the first time): a restarted agent
/// announces the same key, and a configuration sealed to it before the restart still opens.
fn deal_key(root: &Path, deal: DealId) -> Result<ConfigKey, RuntimeError> {
    let path = root.join(format!("deal-{deal}")).join("config.key");
    let io = |source| RuntimeError::Io { deal, path: path.clone(), source };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let bytes: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| {
                io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} bytes, a key has 32", bytes.len()),
                ))
            })?;
            Ok(ConfigKey::from_bytes(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = ConfigKey::generate().map_err(|e| io(std::io::Error::other(e)))?;
            write_private(&path, &key.to_bytes()).map_err(io)?;
            Ok(key)
        }
        Err(source) => Err(io(source)),
    }
}

/// Answers one request.
async fn serve(
    mut stream: TcpStream,
    market: Address,
    root: &Path,
    expected: &Mutex<HashMap<DealId, Expected>>,
) {
    let (status, reason) = match handle(&mut stream, market, root, expected).await {
        Ok(()) => ("202 Accepted", "accepted".to_owned()),
        Err((status, reason)) => (status, reason),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reason}\n",
        reason.len() + 1
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

type Refusal = (&'static str, String);

async fn handle(
    stream: &mut TcpStream,
    market: Address,
    root: &Path,
    expected: &Mutex<HashMap<DealId, Expected>>,
) -> Result<(), Refusal> {
    const HEAD_MAX: usize = 8 * 1024;
    let bad = |reason: &str| ("400 Bad Request", reason.to_owned());
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > HEAD_MAX {
            return Err(bad("request head over 8 KiB"));
        }
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .map_err(|_| bad("request too slow"))?
            .map_err(|e| bad(&e.to_string()))?;
        if read == 0 {
            return Err(bad("request ended early"));
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.lines();
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let deal = target
        .strip_prefix("/deals/")
        .and_then(|rest| rest.strip_suffix("/config"))
        .and_then(|id| id.parse::<u64>().ok())
        .map(DealId)
        .ok_or_else(|| ("404 Not Found", format!("no such resource `{target}` (POST /deals/<id>/config)")))?;
    if method != "POST" {
        return Err(("405 Method Not Allowed", format!("`{method}`: only POST")));
    }
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .ok_or_else(|| ("411 Length Required", "a content-length is required".to_owned()))?;
    if length > MAX_CONFIG_BYTES {
        return Err(("413 Payload Too Large", format!("{length} bytes; at most {MAX_CONFIG_BYTES}")));
    }
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(16 * 1024)];
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .map_err(|_| bad("request too slow"))?
            .map_err(|e| bad(&e.to_string()))?;
        if read == 0 {
            return Err(bad("request ended early"));
        }
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(length);
    let sealed: SealedWorkloadConfig = serde_json::from_slice(&body)
        .map_err(|e| bad(&format!("not a sealed workload configuration: {e}")))?;
    let Some(wanted) = expected.lock().unwrap_or_else(|e| e.into_inner()).get(&deal).cloned() else {
        return Err(("404 Not Found", format!("deal {deal} is not waiting for a configuration here")));
    };
    let signed =
        wanted.key.open(&sealed, market, deal).map_err(|e| ("403 Forbidden", format!("refused: {e}")))?;
    signed
        .verify(market, deal, wanted.customer, wanted.config_hash)
        .map_err(|e| ("403 Forbidden", format!("refused: {e}")))?;
    let plain = serde_json::to_vec(&signed).map_err(|e| ("500 Internal Server Error", e.to_string()))?;
    let path = config_path(root, deal);
    write_private(&path, &plain).map_err(|e| ("500 Internal Server Error", e.to_string()))
}

/// Writes `bytes` readable by the agent's user only (a configuration may hold secrets).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = path.with_extension("partial");
    {
        let mut file =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&partial)?;
        std::io::Write::write_all(&mut file, bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&partial, path)
}
