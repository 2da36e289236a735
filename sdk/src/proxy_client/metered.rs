//! The customer's own count of a deal's traffic: a tunnel wrapped in [`Metered`] adds every byte it
//! reads and writes to a [`ByteCounter`] shared by the deal's tunnels, the figure a customer
//! writes in its usage report for a campaign that checks traffic from both sides.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::units::Bytes;

/// Bytes moved through a deal's tunnels, both ways; clones share the count.
#[derive(Clone, Debug, Default)]
pub struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// A counter at `bytes` (a count carried on, such as one saved in a traffic file).
    pub fn starting_at(bytes: Bytes) -> Self {
        Self(Arc::new(AtomicU64::new(u64::try_from(bytes.get()).unwrap_or(u64::MAX))))
    }

    /// The bytes counted so far.
    pub fn bytes(&self) -> Bytes {
        Bytes::new(u128::from(self.0.load(Ordering::Relaxed)))
    }

    fn add(&self, n: usize) {
        self.0.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// A stream (a [`Tunnel`](super::Tunnel)) whose bytes read and written are added to a
/// [`ByteCounter`]: what the customer's application sent and received, without TLS overhead.
#[derive(Debug)]
pub struct Metered<S> {
    inner: S,
    counter: ByteCounter,
}

impl<S> Metered<S> {
    /// Wraps `inner`, counting into `counter`.
    pub fn new(inner: S, counter: ByteCounter) -> Self {
        Self { inner, counter }
    }

    /// The counter.
    pub fn counter(&self) -> &ByteCounter {
        &self.counter
    }

    /// The stream, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.counter.add(buf.filled().len() - before);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = polled {
            self.counter.add(n);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn both_directions_of_every_tunnel_add_to_the_deals_count() -> std::io::Result<()> {
        let counter = ByteCounter::new();
        let (near, mut far) = tokio::io::duplex(64);
        let (other, mut other_far) = tokio::io::duplex(64);
        let (mut first, mut second) =
            (Metered::new(near, counter.clone()), Metered::new(other, counter.clone()));
        first.write_all(b"hello").await?;
        far.write_all(b"world!!").await?;
        let mut got = [0u8; 7];
        first.read_exact(&mut got).await?;
        second.write_all(b"abc").await?;
        let mut sent = [0u8; 3];
        other_far.read_exact(&mut sent).await?;
        assert_eq!((&got, &sent), (b"world!!", b"abc"));
        assert_eq!(counter.bytes(), Bytes::new(5 + 7 + 3));
        Ok(())
    }
}
