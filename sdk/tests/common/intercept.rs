//! A transport layer for tests that gets every request before the node does: an `Intercept` runs
//! its closure with the request and a `Pass` that forwards it (or not) and returns the node's
//! answer, so a test can fail, hold back, rewrite or record requests and answers.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use alloy::{
    rpc::json_rpc::{RequestPacket, ResponsePacket},
    transports::{TransportError, TransportFut},
};

type Send = Pin<Box<dyn Future<Output = Result<ResponsePacket, TransportError>> + std::marker::Send>>;

/// Forwards a request to the node (the transport under the layer).
pub struct Pass(Box<dyn FnOnce(RequestPacket) -> Send + std::marker::Send>);

impl Pass {
    /// Sends `request` on and returns the node's answer.
    pub async fn send(self, request: RequestPacket) -> Result<ResponsePacket, TransportError> {
        (self.0)(request).await
    }
}

/// The layer: `hook(request, pass)` answers each request.
#[derive(Clone)]
pub struct Intercept<F>(Arc<F>);

impl<F> Intercept<F>
where
    F: Fn(RequestPacket, Pass) -> TransportFut<'static> + std::marker::Send + Sync + 'static,
{
    pub fn new(hook: F) -> Self {
        Self(Arc::new(hook))
    }
}

impl<S, F> tower::Layer<S> for Intercept<F> {
    type Service = Intercepted<S, F>;

    fn layer(&self, inner: S) -> Intercepted<S, F> {
        Intercepted { inner, hook: Arc::clone(&self.0) }
    }
}

pub struct Intercepted<S, F> {
    inner: S,
    hook: Arc<F>,
}

impl<S: Clone, F> Clone for Intercepted<S, F> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), hook: Arc::clone(&self.hook) }
    }
}

impl<S, F> tower::Service<RequestPacket> for Intercepted<S, F>
where
    S: tower::Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        > + Clone
        + std::marker::Send
        + 'static,
    F: Fn(RequestPacket, Pass) -> TransportFut<'static> + std::marker::Send + Sync + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        // Readiness is awaited on the clone that sends (the request may be held meanwhile).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let mut inner = self.inner.clone();
        let pass = Pass(Box::new(move |request| {
            Box::pin(async move {
                std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
                inner.call(request).await
            })
        }));
        (self.hook)(request, pass)
    }
}
