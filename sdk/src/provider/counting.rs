//! How many JSON-RPC requests a provider sends, by method: [`RequestCounter`], a tower layer of
//! the transport. What a program costs a node (a public one counts requests against a rate limit)
//! is measured where the requests leave, whichever code makes them.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use alloy::{
    rpc::json_rpc::{RequestPacket, ResponsePacket},
    transports::{TransportError, TransportFut},
};

/// A tower layer counting the JSON-RPC requests that pass (each request of a batch counts), by
/// method. Clones share their counts, so one counter can sit in the transports of many providers.
#[derive(Clone, Debug, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RequestCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests counted so far, all methods.
    pub fn total(&self) -> u64 {
        self.by_method().values().sum()
    }

    /// Requests counted so far, by method name.
    pub fn by_method(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|counts| counts.clone()).unwrap_or_default()
    }

    fn count(&self, request: &RequestPacket) {
        if let Ok(mut counts) = self.counts.lock() {
            for method in request.method_names() {
                *counts.entry(method.to_owned()).or_default() += 1;
            }
        }
    }
}

impl<S> tower::Layer<S> for RequestCounter {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted { inner, counter: self.clone() }
    }
}

/// The service of a [`RequestCounter`] over the transport `S`.
#[derive(Clone, Debug)]
pub struct Counted<S> {
    inner: S,
    counter: RequestCounter,
}

impl<S> tower::Service<RequestPacket> for Counted<S>
where
    S: tower::Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        >,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        self.counter.count(&request);
        self.inner.call(request)
    }
}
