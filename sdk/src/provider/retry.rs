//! Requests that are safe to repeat, repeated after a transport failure: [`RetryReadsLayer`], a
//! tower layer of the provider's transport, so that every read of a provider built on it is
//! retried (a node restarting, a connection pooled to a process that is gone), whichever code
//! makes it.
//!
//! What is repeated, and why only that:
//! - a read (`eth_call`, `eth_getLogs`, `eth_getTransactionReceipt` ...: see [`is_read`]) after
//!   any transport failure: reading again changes nothing;
//! - any request, sends included, that never left: the connection was refused (the node is down
//!   or restarting), or the node asked for a pause (HTTP 429 or 503, or a rate-limit error
//!   answer);
//! - never a send whose fate is unknown (the connection broke after the request went out): it
//!   may have reached the node, and sending it again could be refused as "already known" although
//!   it was accepted, so the failure goes to the caller (the SDK's sends handle it, see
//!   [`crate::tx`]).
//!
//! alloy's `RetryBackoffLayer` repeats only rate-limit answers, and does not know which requests
//! are safe to repeat after a broken connection; hence this layer.

use std::{
    future::poll_fn,
    task::{Context, Poll},
    time::Duration,
};

use alloy::{
    rpc::json_rpc::{RequestPacket, ResponsePacket},
    transports::{RpcError, TransportError, TransportErrorKind, TransportFut, http::reqwest},
};

/// A tower layer repeating the requests that are safe to repeat after a transport failure (see
/// the module documentation), with pauses doubling from the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryReadsLayer {
    retries: u32,
    first_pause: Duration,
}

impl RetryReadsLayer {
    /// Up to `retries` repetitions of a request, the first after `first_pause`, each next after
    /// twice the pause before.
    pub fn new(retries: u32, first_pause: Duration) -> Self {
        Self { retries, first_pause }
    }
}

impl Default for RetryReadsLayer {
    /// Up to 4 repetitions, after 50, 100, 200 and 400 ms: a node restarting has 0.75 s to come
    /// back before a read fails.
    fn default() -> Self {
        Self::new(4, Duration::from_millis(50))
    }
}

impl<S> tower::Layer<S> for RetryReadsLayer {
    type Service = RetryReads<S>;

    fn layer(&self, inner: S) -> RetryReads<S> {
        RetryReads { inner, layer: *self }
    }
}

/// The service of a [`RetryReadsLayer`] over the transport `S`.
#[derive(Clone, Debug)]
pub struct RetryReads<S> {
    inner: S,
    layer: RetryReadsLayer,
}

impl<S> tower::Service<RequestPacket> for RetryReads<S>
where
    S: tower::Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        > + Clone
        + Send
        + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        // The service polled ready makes the first call; a clone takes its place.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let RetryReadsLayer { retries, first_pause } = self.layer;
        let reads = request.method_names().all(is_read);
        Box::pin(async move {
            let mut pause = first_pause;
            let mut attempt = 0;
            loop {
                let result = inner.call(request.clone()).await;
                let again = match &result {
                    Ok(response) => response.as_error().is_some_and(|error| error.is_retry_err()),
                    Err(error) => repeatable(error, reads),
                };
                if !again || attempt == retries {
                    return result;
                }
                attempt += 1;
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
                poll_fn(|cx| inner.poll_ready(cx)).await?;
            }
        })
    }
}

/// Whether a request that failed with `error` may be sent again: a read after any transport
/// failure, anything that did not leave or that the node asked to pause.
fn repeatable(error: &TransportError, reads: bool) -> bool {
    let RpcError::Transport(kind) = error else { return false };
    reads || kind.is_retry_err() || never_sent(kind)
}

/// Whether the request never reached the node: its connection could not be made.
fn never_sent(kind: &TransportErrorKind) -> bool {
    match kind {
        TransportErrorKind::Custom(error) => {
            error.downcast_ref::<reqwest::Error>().is_some_and(reqwest::Error::is_connect)
        }
        _ => false,
    }
}

/// Whether `method` only reads: sending it twice is as good as once. Filter changes are not (the
/// node hands each change out once), nor are sends, signatures and a node's own methods (anvil's
/// `evm_mine`).
pub fn is_read(method: &str) -> bool {
    (method.starts_with("eth_get") && method != "eth_getFilterChanges")
        || matches!(
            method,
            "eth_call"
                | "eth_callMany"
                | "eth_simulateV1"
                | "eth_estimateGas"
                | "eth_createAccessList"
                | "eth_feeHistory"
                | "eth_gasPrice"
                | "eth_maxPriorityFeePerGas"
                | "eth_blobBaseFee"
                | "eth_blockNumber"
                | "eth_chainId"
                | "eth_syncing"
                | "eth_accounts"
                | "net_version"
                | "web3_clientVersion"
                | "txpool_status"
                | "txpool_content"
                | "txpool_inspect"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_told_from_what_changes_state() {
        for read in ["eth_call", "eth_getLogs", "eth_getTransactionReceipt", "eth_feeHistory", "eth_chainId"]
        {
            assert!(is_read(read), "{read}");
        }
        for write in ["eth_sendRawTransaction", "eth_sendTransaction", "eth_getFilterChanges", "evm_mine"] {
            assert!(!is_read(write), "{write}");
        }
    }

    #[tokio::test]
    async fn a_refused_connection_counts_as_never_sent_and_a_node_error_as_final() {
        // Port 1 on the loopback: nothing listens there, so the connection is refused.
        let refused = reqwest::Client::new().post("http://127.0.0.1:1/").send().await;
        let Err(refused) = refused else { panic!("something answered on 127.0.0.1:1") };
        let refused = TransportErrorKind::custom(refused);
        assert!(repeatable(&refused, false), "{refused}");
        // A broken connection after the request went out: only a read is repeated.
        let broken = TransportErrorKind::custom_str("connection reset by peer");
        assert!(repeatable(&broken, true));
        assert!(!repeatable(&broken, false));
        // The node's own refusal is an answer, not a failure.
        let payload =
            alloy::rpc::json_rpc::ErrorPayload { code: -32000, message: "nonce too low".into(), data: None };
        assert!(!repeatable(&TransportError::ErrorResp(payload), true));
    }
}
