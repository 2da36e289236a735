//! Real traffic through a proxy: a target server standing in for the internet, and a customer's
//! data sent through a proxy to it and back (the main job and the tests use both).

use std::{io, net::SocketAddr};

use snm_sdk::proxy_client::{ProxyClientError, ProxyEndpoint, ProxySecret, connect};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpListener,
};

/// A TCP echo server on `127.0.0.1`, serving until the process ends; returns its address.
pub async fn echo_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    Ok(addr)
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
