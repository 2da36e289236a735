//! The devnet's periodic block: `evm_mine` every interval, which also takes any ready transaction
//! anvil's automatic mining left in its pool
//! ([foundry#10122](https://github.com/foundry-rs/foundry/issues/10122)); with a block time
//! (automatic mining off) it mines every block.
//!
//! Anvil's own timer (`--mixed-mining --block-time`) would do the same, but anvil 1.7.1 then keeps
//! up to 1,500 blocks' states in memory whatever `--prune-history` says (its interval mode raises
//! the limit for block times of 2 s or less), each a copy of the whole state: its memory grows with
//! blocks × state, 3,138 MiB against 779 MiB after 600 blocks at 50,000 accounts (BENCHMARKS.md).
//! Mining from outside keeps anvil out of its interval mode, where `--prune-history` holds.
//!
//! The ticks run on a thread of their own, so that they go on while the devnet's owner blocks its
//! runtime (a test waiting for a child process, say), as anvil's timer did.

use std::{
    sync::mpsc::{self, RecvTimeoutError},
    thread::JoinHandle,
    time::Duration,
};

use alloy::{
    providers::{Provider, ProviderBuilder},
    transports::http::reqwest::Url,
};

/// Longest wait for one `evm_mine`: a node being restarted may hold the connection.
const MINE_TIMEOUT: Duration = Duration::from_secs(10);

/// Mines a block every interval until dropped.
#[derive(Debug)]
pub(crate) struct Sweeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Sweeper {
    /// Starts ticking against the node at `endpoint`.
    pub(crate) fn start(endpoint: Url, interval: Duration) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name("devnet-sweeper".into()).spawn(move || {
            let provider = ProviderBuilder::new().connect_http(endpoint);
            // Disconnected (the devnet dropped) or a message: stop.
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                let mined = runtime.block_on(async {
                    tokio::time::timeout(
                        MINE_TIMEOUT,
                        provider.raw_request::<_, String>("evm_mine".into(), ()),
                    )
                    .await
                });
                match mined {
                    Ok(Ok(_)) => {}
                    // The node is restarting or gone: the next tick tries again.
                    Ok(Err(error)) => tracing::debug!(%error, "devnet sweep: evm_mine failed"),
                    Err(_) => tracing::debug!(timeout = ?MINE_TIMEOUT, "devnet sweep: evm_mine timed out"),
                }
            }
        })?;
        Ok(Self { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // At most one `evm_mine` in flight, bounded by its timeout.
            let _ = thread.join();
        }
    }
}
