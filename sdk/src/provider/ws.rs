//! The recommended provider over WebSocket (feature `ws`): the same fillers, nonces and retries as
//! over HTTP, and subscriptions (`eth_subscribe`), with which a program learns of a new block
//! without asking the node for it.

use std::future::Future;

use alloy::{
    network::EthereumWallet,
    providers::DynProvider,
    pubsub::{ConnectionHandle, PubSubConnect},
    rpc::client::{ClientBuilder, RpcClient},
    transports::{TransportError, TransportErrorKind, TransportResult, http::reqwest::Url, ws::WsConnect},
};

use super::{NonceLayer, RequestCounter, RetryReadsLayer, connect_client};
use crate::tx::TxOptions;

/// Why a WebSocket client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// The URL is not a WebSocket one.
    #[error("{url} is not a WebSocket endpoint (ws:// or wss://)")]
    NotWebSocket {
        /// The URL given.
        url: Url,
    },
    /// The node did not accept the connection.
    #[error("cannot connect to the WebSocket endpoint {url}")]
    Connect {
        /// The endpoint.
        url: Url,
        /// What the transport said.
        #[source]
        source: Box<TransportError>,
    },
}

/// Whether `url` names a WebSocket endpoint (`ws://` or `wss://`).
pub fn is_ws(url: &Url) -> bool {
    matches!(url.scheme(), "ws" | "wss")
}

/// [`connect_client`] over a WebSocket connection to `url` ([`ws_client`]): the recommended
/// provider, which can also subscribe to what the node pushes.
pub async fn connect_ws(
    url: Url,
    wallet: impl Into<EthereumWallet>,
    options: &TxOptions,
    nonces: &NonceLayer,
) -> Result<DynProvider, WsError> {
    Ok(connect_client(ws_client(url).await?, wallet, options, nonces))
}

/// The JSON-RPC client over WebSocket that [`connect_ws`] uses: reads retried
/// ([`RetryReadsLayer::default`]); the connection is re-established whenever it drops (a node
/// restart of any length), and the subscriptions with it.
pub async fn ws_client(url: Url) -> Result<RpcClient, WsError> {
    let connect = reconnecting(&url)?;
    ClientBuilder::default()
        .layer(RetryReadsLayer::default())
        .ws(connect)
        .await
        .map_err(|source| WsError::Connect { url, source: Box::new(source) })
}

/// [`ws_client`] with `counter` under the retries, so that every request sent to the node is
/// counted (what the node pushes on a subscription is no request and is not counted).
pub async fn counted_ws_client(url: Url, counter: &RequestCounter) -> Result<RpcClient, WsError> {
    let connect = reconnecting(&url)?;
    ClientBuilder::default()
        .layer(RetryReadsLayer::default())
        .layer(counter.clone())
        .ws(connect)
        .await
        .map_err(|source| WsError::Connect { url, source: Box::new(source) })
}

/// A WebSocket client to `url` for subscriptions, requests counted by `counter`, that is not
/// re-established when its connection drops: its subscriptions then end (and its requests fail).
/// [`ws_client`]'s subscriptions survive a reconnection, but silently miss what the node pushed
/// while it was down; one that ends tells its reader to catch up.
pub async fn ws_subscription_client(url: Url, counter: &RequestCounter) -> Result<RpcClient, WsError> {
    check_scheme(&url)?;
    ClientBuilder::default()
        .layer(counter.clone())
        .pubsub(Once(WsConnect::new(url.clone())))
        .await
        .map_err(|source| WsError::Connect { url, source: Box::new(source) })
}

fn check_scheme(url: &Url) -> Result<(), WsError> {
    if !is_ws(url) {
        return Err(WsError::NotWebSocket { url: url.clone() });
    }
    if url.scheme() == "wss" {
        install_crypto_provider();
    }
    Ok(())
}

fn reconnecting(url: &Url) -> Result<WsConnect, WsError> {
    check_scheme(url)?;
    // alloy gives up after 10 attempts by default, leaving the provider dead for good; its pause
    // between attempts doubles up to 30 s, so trying forever costs a down node little.
    Ok(WsConnect::new(url.clone()).with_max_retries(u32::MAX))
}

/// rustls is built here with both ring (the SDK's) and aws-lc-rs (reqwest's): with two, it picks
/// no process default, and tungstenite's TLS configuration would panic on the first `wss://`.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile: either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A WebSocket connection that is never re-established.
#[derive(Clone, Debug)]
struct Once(WsConnect);

impl PubSubConnect for Once {
    fn is_local(&self) -> bool {
        self.0.is_local()
    }

    fn connect(&self) -> impl Future<Output = TransportResult<ConnectionHandle>> + Send {
        self.0.connect()
    }

    fn try_reconnect(&self) -> impl Future<Output = TransportResult<ConnectionHandle>> + Send {
        // Non-retryable: the service shuts down at once, which ends its subscriptions.
        std::future::ready(Err(TransportErrorKind::non_retryable_str("the connection is not re-established")))
    }
}
