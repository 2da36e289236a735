//! The nonce of every transaction sent through a provider: [`NonceLayer`] wraps the provider in a
//! [`NonceProvider`], which gives each account's transactions consecutive nonces without a gap or
//! a nonce given twice, whoever sends them (the SDK's clients or the raw bindings).
//!
//! For a transaction without a nonce it takes the account's turn (one send at a time per account),
//! picks the nonce, and keeps the turn until the node answered the send; the provider's fillers run
//! in the turn, so a transaction that comes without its gas and fees (a raw binding's) is also
//! estimated there, while the clients' come filled (their simulation is done before). The nonce is the one after the last this layer saw accepted, while
//! that is recent (within [`NonceLayer::remember_for`]; no request), else the node's pending
//! transaction count. A nonce counts as taken only once the node accepted its transaction, so a
//! refused send leaves no gap; a send that got no answer (it may have arrived) makes the layer
//! ask the node next time. The remembered nonce also covers a node whose pending count lags
//! behind the transactions it accepted: anvil's does while it mines (reading it afresh for each
//! send, concurrent sends from one account were given a nonce twice in our tests).
//!
//! A nonce the node refuses as used ("nonce too low": a transaction sent elsewhere was mined;
//! "replacement transaction underpriced" while the node's pending count is past it: one waits in
//! its pool) is replaced by the node's next, up to twice. A transaction that carries its nonce (a
//! replacement of a stuck one, see [`crate::tx`]) is sent as it is, without waiting for the turn,
//! and remembered once accepted; a transaction signed before it reaches this layer is sent as it
//! is.
//!
//! The layer goes outside the provider's fillers, so that the nonce is set before they run: wrap
//! the built provider (`NonceLayer::new().layer(provider)`), not `ProviderBuilder::layer` (which
//! puts layers under the fillers, where a wallet filler has already signed). Clones of a layer
//! share what it remembers: give one layer to every provider that sends for the same accounts on
//! the same chain.

use std::{
    cell::Cell,
    collections::HashMap,
    fmt,
    marker::PhantomData,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use alloy::{
    network::{Ethereum, Network, TransactionBuilder},
    primitives::{Address, Bytes, U64},
    providers::{
        EthCall, PendingTransactionBuilder, Provider, ProviderLayer, RootProvider, RpcWithBlock, SendableTx,
        WalletProvider,
    },
    rpc::types::{AccessListResult, TransactionRequest},
    transports::TransportResult,
};

use crate::tx::refusal::Refusal;

/// How often a nonce the node refused as used is replaced by the node's next.
const RETRIES: usize = 2;

/// Wraps a provider in a [`NonceProvider`] (see the module documentation).
#[derive(Clone, Debug)]
pub struct NonceLayer {
    book: Arc<NonceBook>,
    sender: Option<Address>,
}

impl NonceLayer {
    /// A layer that remembers each account's next nonce for two minutes after its last send (the
    /// default [`TxOptions::receipt_timeout`](crate::tx::TxOptions::receipt_timeout)).
    pub fn new() -> Self {
        Self::remember_for(Duration::from_secs(120))
    }

    /// A layer that trusts each account's remembered next nonce for `period` after its last send
    /// through it, and asks the node once that is older.
    pub fn remember_for(period: Duration) -> Self {
        Self { book: Arc::new(NonceBook { accounts: Mutex::default(), period }), sender: None }
    }

    /// The same layer (sharing what it remembers) for a provider whose transactions without a
    /// `from` are sent by `sender`: the default signer of its wallet. Without it, such
    /// transactions are left to the provider's own nonce filler.
    pub fn sending_as(&self, sender: Address) -> Self {
        Self { book: Arc::clone(&self.book), sender: Some(sender) }
    }
}

impl Default for NonceLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Provider<N>, N: Network> ProviderLayer<P, N> for NonceLayer {
    type Provider = NonceProvider<P, N>;

    fn layer(&self, inner: P) -> NonceProvider<P, N> {
        NonceProvider { inner, layer: self.clone(), network: PhantomData }
    }
}

/// What a [`NonceLayer`] and its clones remember, per account.
#[derive(Debug)]
struct NonceBook {
    accounts: Mutex<HashMap<Address, Arc<Account>>>,
    period: Duration,
}

impl NonceBook {
    fn account(&self, address: Address) -> Arc<Account> {
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(accounts.entry(address).or_default())
    }
}

/// One account's turn to send and its next nonce as last seen accepted, with when.
#[derive(Debug, Default)]
struct Account {
    turn: tokio::sync::Mutex<()>,
    next: Mutex<Option<(u64, Instant)>>,
}

impl Account {
    /// The remembered next nonce, if it was seen within `period`.
    fn recent(&self, period: Duration) -> Option<u64> {
        match *self.next.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((next, at)) if at.elapsed() < period => Some(next),
            _ => None,
        }
    }

    /// Remembers that `nonce` is taken: the next one is at least `nonce + 1` (never lower than
    /// before, so that a nonce is not given twice).
    fn taken(&self, nonce: u64) {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let after = next.map_or(0, |(next, _)| next).max(nonce.saturating_add(1));
        *next = Some((after, Instant::now()));
    }

    /// Forgets the next nonce: the node is asked next time.
    fn forget(&self) {
        *self.next.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// A provider whose sends get their nonce from a [`NonceLayer`]; everything else goes to the
/// provider inside.
pub struct NonceProvider<P, N = Ethereum> {
    inner: P,
    layer: NonceLayer,
    network: PhantomData<fn() -> N>,
}

impl<P: Clone, N> Clone for NonceProvider<P, N> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), layer: self.layer.clone(), network: PhantomData }
    }
}

impl<P: fmt::Debug, N> fmt::Debug for NonceProvider<P, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceProvider").field("inner", &self.inner).field("layer", &self.layer).finish()
    }
}

impl<P, N> NonceProvider<P, N> {
    /// The provider inside.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: Provider<N>, N: Network> NonceProvider<P, N> {
    /// Sends `tx` with `send` (the inner provider's), giving it a nonce first when it has none
    /// (see the module documentation).
    async fn with_nonce<T, F, Fut>(&self, tx: SendableTx<N>, send: F) -> TransportResult<T>
    where
        F: Fn(SendableTx<N>) -> Fut + Send + Sync,
        Fut: Future<Output = TransportResult<T>> + Send,
        T: Send,
    {
        let SendableTx::Builder(mut request) = tx else { return send(tx).await };
        if request.from().is_none()
            && let Some(sender) = self.layer.sender
        {
            request.set_from(sender);
        }
        let Some(from) = request.from() else { return send(SendableTx::Builder(request)).await };
        let account = self.layer.book.account(from);
        if let Some(nonce) = request.nonce() {
            let sent = send(SendableTx::Builder(request)).await;
            if sent.is_ok() {
                account.taken(nonce);
            }
            return sent;
        }

        let _turn = account.turn.lock().await;
        let mut nonce = match account.recent(self.layer.book.period) {
            Some(next) => next,
            None => self.inner.get_transaction_count(from).pending().await?,
        };
        let mut retries = 0;
        loop {
            request.set_nonce(nonce);
            let error = match send(SendableTx::Builder(request.clone())).await {
                Ok(sent) => {
                    account.taken(nonce);
                    tell(nonce);
                    return Ok(sent);
                }
                Err(error) => error,
            };
            let refusal = Refusal::of(&error);
            if refusal == Refusal::NoAnswer {
                // It may have arrived, and taken the nonce: let the node say next time.
                account.forget();
            }
            if retries == RETRIES || !matches!(refusal, Refusal::NonceTooLow | Refusal::Underpriced) {
                return Err(error);
            }
            let node = self.inner.get_transaction_count(from).pending().await?;
            nonce = match refusal {
                Refusal::NonceTooLow => node.max(nonce + 1),
                // Underpriced: a transaction of the account waits with this nonce in the pool, if
                // the node's count is past it; else the fees are below the node's minimum.
                _ if node > nonce => node,
                _ => return Err(error),
            };
            retries += 1;
        }
    }
}

#[cfg_attr(not(target_family = "wasm"), async_trait::async_trait)]
#[cfg_attr(target_family = "wasm", async_trait::async_trait(?Send))]
impl<P: Provider<N>, N: Network> Provider<N> for NonceProvider<P, N> {
    fn root(&self) -> &RootProvider<N> {
        self.inner.root()
    }

    // Calls and estimates go through the inner provider, whose fillers may prepare them (a wallet
    // filler sets `from`).
    fn call(&self, tx: N::TransactionRequest) -> EthCall<N, Bytes> {
        self.inner.call(tx)
    }

    fn estimate_gas(&self, tx: N::TransactionRequest) -> EthCall<N, U64, u64> {
        self.inner.estimate_gas(tx)
    }

    fn create_access_list<'a>(
        &self,
        request: &'a N::TransactionRequest,
    ) -> RpcWithBlock<&'a N::TransactionRequest, AccessListResult> {
        self.inner.create_access_list(request)
    }

    async fn send_raw_transaction(&self, encoded_tx: &[u8]) -> TransportResult<PendingTransactionBuilder<N>> {
        self.inner.send_raw_transaction(encoded_tx).await
    }

    async fn send_transaction_internal(
        &self,
        tx: SendableTx<N>,
    ) -> TransportResult<PendingTransactionBuilder<N>> {
        self.with_nonce(tx, |tx| self.inner.send_transaction_internal(tx)).await
    }

    async fn send_transaction_sync_internal(&self, tx: SendableTx<N>) -> TransportResult<N::ReceiptResponse> {
        self.with_nonce(tx, |tx| self.inner.send_transaction_sync_internal(tx)).await
    }

    async fn sign_transaction(&self, tx: N::TransactionRequest) -> TransportResult<Bytes> {
        self.inner.sign_transaction(tx).await
    }

    fn get_transaction_count(&self, address: Address) -> RpcWithBlock<Address, U64, u64, fn(U64) -> u64> {
        self.inner.get_transaction_count(address)
    }
}

impl<P: WalletProvider<N>, N: Network> WalletProvider<N> for NonceProvider<P, N> {
    type Wallet = P::Wallet;

    fn wallet(&self) -> &Self::Wallet {
        self.inner.wallet()
    }

    fn wallet_mut(&mut self) -> &mut Self::Wallet {
        self.inner.wallet_mut()
    }
}

tokio::task_local! {
    /// The nonce the layer gave the transaction that [`send_telling_nonce`] sends.
    static GIVEN: Cell<Option<u64>>;
}

/// Tells the SDK's send in progress on this task, if any, the nonce its transaction was given.
fn tell(nonce: u64) {
    // Outside `send_telling_nonce` (a send of the raw bindings) nobody asks.
    let _ = GIVEN.try_with(|given| given.set(Some(nonce)));
}

/// Sends `request` through `provider`, with the nonce a [`NonceLayer`] in it gave the transaction
/// (`None` when no layer gave one: the provider has none, or the request carried its nonce).
pub(crate) async fn send_telling_nonce<P: Provider>(
    provider: &P,
    request: TransactionRequest,
) -> (TransportResult<PendingTransactionBuilder<Ethereum>>, Option<u64>) {
    GIVEN
        .scope(Cell::new(None), async {
            let sent = provider.send_transaction(request).await;
            (sent, GIVEN.with(Cell::get))
        })
        .await
}
