//! Opening a tunnel through a deal's proxy: TLS pinned to the announced certificate, then an HTTP
//! `CONNECT` carrying the secret.

use std::{io, sync::Arc};

use base64::Engine;
use rustls::pki_types::ServerName;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, client::TlsStream};

use super::{ProxyEndpoint, ProxySecret, pin::pinned_config};

/// An open tunnel: bytes written reach the target, bytes read come from it.
pub type Tunnel = TlsStream<TcpStream>;

/// The most a proxy's response head may take before the client gives up on it.
const MAX_HEAD: usize = 16 * 1024;

/// The `Proxy-Authorization` header value that presents `secret`.
pub fn authorization_header(secret: &ProxySecret) -> String {
    let credentials = format!("deal:{}", secret.expose());
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
}

/// Opens a tunnel to `target` (`host:port`) through the proxy at `endpoint`: a TLS connection that
/// accepts only the certificate the endpoint names, then `CONNECT target` with `secret`.
pub async fn connect(
    endpoint: &ProxyEndpoint,
    target: &str,
    secret: &ProxySecret,
) -> Result<Tunnel, ProxyClientError> {
    let config = pinned_config(*endpoint.fingerprint()).map_err(ProxyClientError::Tls)?;
    let name = ServerName::try_from(endpoint.host().to_owned())
        .map_err(|_| ProxyClientError::BadHost(endpoint.host().to_owned()))?;
    let tcp = TcpStream::connect(endpoint.address())
        .await
        .map_err(|source| ProxyClientError::Connect { address: endpoint.address().to_owned(), source })?;
    // Both directions carry small records (the request, then interactive traffic).
    tcp.set_nodelay(true).map_err(ProxyClientError::Io)?;
    let mut tls =
        TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|source| {
            match source.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(rustls::Error::InvalidCertificate(_)) => {
                    ProxyClientError::CertificateMismatch { endpoint: endpoint.clone() }
                }
                _ => ProxyClientError::Handshake(source),
            }
        })?;
    let request = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: {}\r\n\r\n",
        authorization_header(secret)
    );
    tls.write_all(request.as_bytes()).await.map_err(ProxyClientError::Io)?;
    let head = read_head(&mut tls).await?;
    let status = head.lines().next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("200") {
        return Err(ProxyClientError::Refused { status: status.to_owned(), reason: reason_of(&head) });
    }
    Ok(tls)
}

/// Reads the response head one byte at a time, so that nothing the target sends after it is
/// taken from the tunnel; a refusal's short body (its reason) is read too.
async fn read_head(tls: &mut Tunnel) -> Result<String, ProxyClientError> {
    let mut head = Vec::with_capacity(128);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return Err(ProxyClientError::BadResponse);
        }
        match tls.read_u8().await {
            Ok(byte) => head.push(byte),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(ProxyClientError::BadResponse),
            Err(e) => return Err(ProxyClientError::Io(e)),
        }
    }
    let mut head = String::from_utf8_lossy(&head).into_owned();
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if length > 0 && length <= MAX_HEAD {
        let mut body = vec![0u8; length];
        if tls.read_exact(&mut body).await.is_ok() {
            head.push_str(&String::from_utf8_lossy(&body));
        }
    }
    Ok(head)
}

/// A refusal's body: the proxy's sentence on why.
fn reason_of(response: &str) -> String {
    response.split_once("\r\n\r\n").map(|(_, body)| body.trim().to_owned()).unwrap_or_default()
}

/// Why a tunnel could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ProxyClientError {
    /// The TLS client could not be configured.
    #[error("TLS configuration: {0}")]
    Tls(#[source] rustls::Error),
    /// The endpoint's host is neither an address nor a valid name.
    #[error("the proxy's host `{0}` is not an address or a DNS name")]
    BadHost(String),
    /// The proxy's address could not be reached.
    #[error("cannot reach the proxy at {address}: {source}")]
    Connect {
        /// `host:port`.
        address: String,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
    /// The proxy showed a certificate other than the one its endpoint names: someone else
    /// answers at that address.
    #[error("the proxy at {endpoint} showed another certificate than the pinned one: refused")]
    CertificateMismatch {
        /// The endpoint, with the fingerprint expected.
        endpoint: ProxyEndpoint,
    },
    /// The TLS handshake failed (for example a server that does not speak TLS).
    #[error("TLS handshake with the proxy failed: {0}")]
    Handshake(#[source] io::Error),
    /// The proxy refused the tunnel.
    #[error("the proxy refused the tunnel: `{status}`{}", if reason.is_empty() { String::new() } else { format!(" ({reason})") })]
    Refused {
        /// The response's status line (`HTTP/1.1 407 …`).
        status: String,
        /// The reason the proxy gave, if any.
        reason: String,
    },
    /// The proxy closed the connection or sent something that is not an HTTP response head.
    #[error("the proxy sent no valid response head")]
    BadResponse,
    /// Reading or writing the connection failed.
    #[error("proxy connection: {0}")]
    Io(#[source] io::Error),
}
