//! How the clients send a transaction, so that a refused one costs nothing and never leaves a
//! nonce gap:
//!
//! 1. **Simulate**: `eth_estimateGas` runs the call; a revert stops here, decoded into the
//!    contract's custom error ([`crate::Error`]), before any nonce is taken. The fees are fetched
//!    at the same time (the chain id once per client). Reads are retried after a transport
//!    failure; the send itself is not (it may have reached the node).
//! 2. **Nonce**: under a per-account lock (shared by every client of the process), the nonce is the
//!    node's pending transaction count, read afresh, and the signed transaction is sent before the
//!    lock is released, so concurrent sends from one account get consecutive nonces. A nonce is
//!    remembered only once its transaction was accepted, so a failed send cannot leave a gap. The
//!    remembered next nonce covers a node whose pending count lags behind the transactions it
//!    accepted (anvil's does while it mines: without this, concurrent sends from one account were
//!    given a nonce twice in our tests): the larger of the two is used, the remembered one only
//!    while transactions sent with it can still be waiting for their receipt. Clone a client to
//!    share this memory; separate clients of one account only share the lock.
//! 3. **Receipt**: polled at once, then with a growing interval (up to
//!    [`TxOptions::poll_interval`]), until [`TxOptions::receipt_timeout`] ([`Error::Timeout`],
//!    which says whether the node still holds the transaction and what it waits for).
//!    A transaction that passed the simulation but reverted when mined (someone took the ask in
//!    between) is replayed with `eth_call` on the block's state to decode why.
//!
//! The transaction goes out with its nonce, gas limit, fees and chain id set, so the provider only
//! signs it (a wallet filler) or sends it for the node to sign: a provider's own nonce filler is
//! not consulted. When the same account also sends transactions outside the SDK through a provider
//! with alloy's default cached nonce manager, that manager does not see the SDK's nonces: give such
//! providers `with_simple_nonce_management()`.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex, PoisonError},
    time::{Duration, Instant},
};

use alloy::{
    consensus::Transaction as _,
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, TxKind},
    providers::Provider,
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::SolEvent,
    transports::TransportResult,
};

use crate::{
    Error,
    error::{Target, from_rpc},
};

/// How transactions are sent and awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxOptions {
    /// Longest wait for a receipt (default 120 s).
    pub receipt_timeout: Duration,
    /// Longest pause between two polls of a receipt, a match or a new block (default 100 ms; the
    /// first polls come sooner).
    pub poll_interval: Duration,
    /// Gas limit above the node's estimate, in percent (default 25): room for state that changes
    /// between the estimate and the block.
    pub gas_margin_percent: u64,
}

impl Default for TxOptions {
    fn default() -> Self {
        Self {
            receipt_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_millis(100),
            gas_margin_percent: 25,
        }
    }
}

/// A transaction to send: where, what, and whose errors to decode first.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) to: TxKind,
    pub(crate) input: Bytes,
    pub(crate) target: Target,
}

impl Call {
    pub(crate) fn new(to: Address, input: impl Into<Bytes>, target: Target) -> Self {
        Self { to: TxKind::Call(to), input: input.into(), target }
    }
}

/// The lock serialising "read the pending nonce, send" for `account`, shared process-wide.
fn account_lock(account: Address) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: LazyLock<Mutex<HashMap<Address, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Mutex::default);
    let mut locks = LOCKS.lock().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(locks.entry(account).or_default())
}

/// The next nonce of one account as its client last sent it, and when.
#[derive(Debug, Default)]
pub(crate) struct NonceMemory(Mutex<Option<(u64, Instant)>>);

impl NonceMemory {
    /// The nonce to use, given the node's pending count.
    fn next(&self, node: u64, options: &TxOptions) -> u64 {
        match *self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((next, at)) if next > node && at.elapsed() < options.receipt_timeout => next,
            _ => node,
        }
    }

    /// Remembers that `nonce` is taken: the next one is at least `nonce + 1` (never lower than
    /// before, so a nonce is not handed out twice).
    fn taken(&self, nonce: u64) {
        let mut memory = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let next = memory.map_or(0, |(next, _)| next).max(nonce + 1);
        *memory = Some((next, Instant::now()));
    }
}

/// Simulates, sends and awaits `call` from `from` (see the module documentation).
pub(crate) async fn send<P: Provider>(
    provider: &P,
    from: Address,
    chain_id: u64,
    memory: &NonceMemory,
    call: Call,
    options: &TxOptions,
) -> Result<TransactionReceipt, Error> {
    let simulation = TransactionRequest::default().with_from(from).with_kind(call.to).with_input(call.input);

    // 1. Simulate (and estimate), with the fees fetched meanwhile.
    let (gas, fees) = tokio::join!(
        read(|| provider.estimate_gas(simulation.clone()).into_future()),
        read(|| provider.estimate_eip1559_fees())
    );
    let gas = gas.map_err(|e| from_rpc(e, call.target))?;
    let fees = fees?;
    let gas_limit = gas.saturating_add(gas.saturating_mul(options.gas_margin_percent) / 100);
    let transaction = |nonce| {
        simulation
            .clone()
            .with_nonce(nonce)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas)
            .with_chain_id(chain_id)
    };

    // 2. Nonce and send, under the account's lock. A nonce taken by a transaction sent outside the
    //    SDK between the read and the send is retried once with the next one.
    let hash = {
        let lock = account_lock(from);
        let _guard = lock.lock().await;
        let mut attempt = 0;
        loop {
            let node = read(|| provider.get_transaction_count(from).pending().into_future()).await?;
            let nonce = memory.next(node, options);
            match provider.send_transaction(transaction(nonce)).await {
                Ok(pending) => {
                    memory.taken(nonce);
                    break *pending.tx_hash();
                }
                Err(error) if attempt == 0 && error.to_string().contains("nonce too low") => {
                    memory.taken(nonce);
                    attempt += 1;
                }
                Err(error) => return Err(from_rpc(error, call.target)),
            }
        }
    };

    // 3. Receipt; a transaction reverted on chain is replayed to say why.
    let receipt = wait_receipt(provider, from, hash, options).await?;
    if !receipt.status() {
        let block = receipt.block_number.unwrap_or_default();
        return Err(match provider.call(simulation).block(block.into()).await {
            Err(error) => from_rpc(error, call.target),
            Ok(_) => Error::reverted(format!("transaction {hash} reverted in block {block} (out of gas?)")),
        });
    }
    Ok(receipt)
}

/// Runs a read-only request, again up to twice after a transport failure (a node restarting, a
/// connection pooled to a process that is gone): reads are safe to repeat, sends are not.
pub(crate) async fn read<T, F, Fut>(mut request: F) -> TransportResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = TransportResult<T>>,
{
    let mut attempt = 0;
    loop {
        match request().await {
            Err(error) if attempt < 2 && error.is_transport_error() => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            result => return result,
        }
    }
}

/// Polls for `hash`'s receipt: at once, every millisecond for the first few (a devnet mines in
/// about that), then every 2, 4, 8 ... ms up to the poll interval, until the receipt timeout.
/// Transport failures (a node restarting) are retried until then.
pub(crate) async fn wait_receipt<P: Provider>(
    provider: &P,
    from: Address,
    hash: B256,
    options: &TxOptions,
) -> Result<TransactionReceipt, Error> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    let mut polls = 0;
    loop {
        match provider.get_transaction_receipt(hash).await {
            Ok(Some(receipt)) => return Ok(receipt),
            Ok(None) => {}
            Err(error) if error.is_transport_error() => {}
            Err(error) => return Err(error.into()),
        }
        let waited = start.elapsed();
        if waited >= options.receipt_timeout {
            // Say whether the node still has the transaction (and what it waits for) or lost it.
            let known = provider.get_transaction_by_hash(hash).await.ok().flatten();
            let mined = provider.get_transaction_count(from).await.ok();
            let state = match (known.map(|tx| tx.nonce()), mined) {
                (Some(nonce), Some(next)) if nonce > next => {
                    format!("nonce {nonce}, waiting in the node's pool behind nonce {next}")
                }
                (Some(nonce), _) => format!("nonce {nonce}, in the node's pool but not mined"),
                (None, _) => "unknown to the node (dropped)".to_owned(),
            };
            return Err(Error::Timeout {
                what: format!("the receipt of transaction {hash} ({state})"),
                waited,
            });
        }
        tokio::time::sleep(pause.min(options.receipt_timeout - waited)).await;
        polls += 1;
        if polls >= 4 {
            pause = (pause * 2).min(options.poll_interval);
        }
    }
}

/// The first `E` event `address` emitted in `receipt`.
pub(crate) fn event<E: SolEvent>(receipt: &TransactionReceipt, address: Address) -> Result<E, Error> {
    events::<E>(receipt, address)
        .next()
        .ok_or_else(|| Error::MissingEvent { event: E::SIGNATURE, transaction: receipt.transaction_hash })
}

/// Every `E` event `address` emitted in `receipt`, in order.
pub(crate) fn events<E: SolEvent>(receipt: &TransactionReceipt, address: Address) -> impl Iterator<Item = E> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(move |log| log.address() == address)
        .filter_map(|log| E::decode_log(&log.inner).ok().map(|decoded| decoded.data))
}
