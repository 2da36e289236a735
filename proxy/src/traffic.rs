//! Real traffic through a proxy: a target server standing in for the internet, and a customer's
//! data sent through a proxy to it and back (the main job and the tests use both).

use std::{
    io,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use snm_sdk::proxy_client::{ProxyClientError, ProxyEndpoint, ProxySecret, connect};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpSocket},
};

/// Connections the echo server's listen queue holds before the kernel drops new ones (the kernel
/// caps it at `net.core.somaxconn`, 4096 on current Linux). The main job opens a tunnel through
/// every proxy at once, up to a thousand targets' connections arriving together; a full queue makes
/// a proxy's connect wait for SYN retransmits (1, 3, 7, 15 s), past its 10 s connect timeout.
const ECHO_BACKLOG: u32 = 4096;

/// How long the echo server waits after an accept error that a retry at once would meet again
/// (no file descriptor or memory left) before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A TCP echo server on `127.0.0.1`, serving until the process ends; returns its address.
pub async fn echo_server() -> io::Result<SocketAddr> {
    EchoServer::start().await.map(|server| server.addr())
}

/// A TCP echo server on `127.0.0.1` that serves until the process ends, and counts the accept
/// errors it went on after (so a caller can say why a connection to it was slow or refused).
#[derive(Clone, Debug)]
pub struct EchoServer {
    addr: SocketAddr,
    accept_errors: Arc<AtomicU64>,
}

impl EchoServer {
    /// Listens on a free port of `127.0.0.1` and serves every connection in a task of its own.
    /// An accept error (out of file descriptors, a connection aborted before it was accepted)
    /// does not end it: it is logged and counted, and the server accepts again, after
    /// a short pause (50 ms) when the cause is a shortage.
    pub async fn start() -> io::Result<Self> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let listener = socket.listen(ECHO_BACKLOG)?;
        let addr = listener.local_addr()?;
        let accept_errors = Arc::new(AtomicU64::new(0));
        tokio::spawn(serve(listener, accept_errors.clone()));
        Ok(Self { addr, accept_errors })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many accepts failed so far (each was logged, and the server went on).
    pub fn accept_errors(&self) -> u64 {
        self.accept_errors.load(Ordering::Relaxed)
    }
}

async fn serve(listener: TcpListener, accept_errors: Arc<AtomicU64>) {
    loop {
        match listener.accept().await {
            Ok((mut stream, _)) => {
                tokio::spawn(async move {
                    let (mut r, mut w) = stream.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
            Err(error) => {
                accept_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "the echo server could not accept a connection; accepting again");
                if is_shortage(&error) {
                    // The connection waits in the listen queue meanwhile; at once would fail again.
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
}

/// Whether an accept failed for want of a resource (file descriptors, socket buffers, memory)
/// that only time frees, rather than for the one connection it was about to hand out.
fn is_shortage(error: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    const ENOBUFS: i32 = 105;
    const ENOMEM: i32 = 12;
    matches!(error.raw_os_error(), Some(EMFILE | ENFILE | ENOBUFS | ENOMEM))
}

/// Sends `bytes` through the proxy at `proxy` to `target` and reads them back, checking every
/// byte: `2 * bytes` cross the proxy. Data goes in chunks while the echo is read concurrently.
pub async fn send_through(
    proxy: &ProxyEndpoint,
    target: SocketAddr,
    secret: &ProxySecret,
    bytes: u64,
) -> Result<(), TrafficError> {
    let tunnel = connect(proxy, &target.to_string(), secret).await?;
    round_trip(tunnel, bytes).await
}

/// Sends `bytes` through an open tunnel (any stream to an echo server, such as a tunnel metered by
/// the customer) and reads them back, checking every byte.
pub async fn round_trip<S: AsyncRead + AsyncWrite>(tunnel: S, bytes: u64) -> Result<(), TrafficError> {
    let (mut reader, mut writer) = tokio::io::split(tunnel);
    let pattern = |i: u64| (i % 251) as u8;
    let send = async move {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut sent = 0u64;
        while sent < bytes {
            let n = chunk.len().min((bytes - sent) as usize);
            for (k, byte) in chunk[..n].iter_mut().enumerate() {
                *byte = pattern(sent + k as u64);
            }
            writer.write_all(&chunk[..n]).await?;
            sent += n as u64;
        }
        writer.shutdown().await
    };
    let receive = async move {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut received = 0u64;
        while received < bytes {
            let n = reader.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("echo ended at {received} of {bytes}"),
                ));
            }
            if chunk[..n].iter().enumerate().any(|(k, b)| *b != pattern(received + k as u64)) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the echo differs from what was sent",
                ));
            }
            received += n as u64;
        }
        Ok(())
    };
    tokio::try_join!(send, receive).map(drop).map_err(TrafficError::Io)
}

/// Why traffic through a proxy failed.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    /// The tunnel could not be opened.
    #[error(transparent)]
    Tunnel(#[from] ProxyClientError),
    /// The data did not make the round trip.
    #[error("through the tunnel: {0}")]
    Io(#[source] io::Error),
}
