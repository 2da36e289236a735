//! How the clients send a transaction, so that a refused one costs nothing, a stuck one is
//! replaced, and neither leaves a nonce gap:
//!
//! 1. **Simulate**: `eth_estimateGas` runs the call; a revert stops here, decoded into the
//!    contract's custom error ([`crate::Error`]), before any nonce is taken. The fees are fetched
//!    at the same time (the chain id once per client), and held under
//!    [`TxOptions::max_fee_per_gas_cap`]. Reads are retried after a transport failure; the send
//!    itself is not (it may have reached the node).
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
//!    [`TxOptions::poll_interval`]), until [`TxOptions::receipt_timeout`] ([`Error::NotMined`],
//!    which says whether the node still holds the transaction and what it waits for, the fees it
//!    offers, and why it was not bumped further).
//!    A transaction that passed the simulation but reverted when mined (someone took the ask in
//!    between) is replayed with `eth_call` on the block's state to decode why.
//! 4. **Replacement**: a transaction without a receipt after [`TxOptions::replace_after`] (the fee
//!    was too low, the base fee rose, the node dropped it) is sent again: the same call, nonce
//!    and gas limit, with both fees raised by [`TxOptions::fee_bump_percent`] (at least the 10 %
//!    geth and reth require of a replacement) and at least the node's current estimate; again
//!    after each interval, until one version is mined or the next would exceed
//!    [`TxOptions::max_fee_per_gas_cap`] (then it waits, unbumped, for the rest of the timeout).
//!    A replacement reuses its nonce, so it takes neither the account's lock nor a new nonce, and
//!    the nonce memory stays as step 2 describes (its transaction waits no longer than the
//!    receipt timeout, replaced or not). Once replaced, every version may be the one mined: each
//!    poll reads the account's mined nonce (one request) and, once it passed ours, looks for the
//!    receipt of each version, newest first; a version the SDK lost track of (a replacement whose
//!    answer never came back) is found in the latest blocks by its sender and nonce, and a
//!    transaction of the account that is not this call ([`Error::NonceTaken`]) means the call
//!    did not happen. The node's refusals of a replacement are expected and kept out of the
//!    caller's way: "nonce too low" (a version was just mined: stop replacing and find it),
//!    "already known" and "replacement transaction underpriced" (the node holds a version at
//!    least as dear: the next replacement bumps from the fees tried), a transport failure (it may
//!    have arrived: likewise). Any other refusal (insufficient funds for the higher fee, say)
//!    stops the bumping; the versions sent are still awaited, and the timeout error says why.
//!
//! The transaction goes out with its nonce, gas limit, fees and chain id set, so the provider only
//! signs it (a wallet filler) or sends it for the node to sign: a provider's own nonce filler is
//! not consulted. When the same account also sends transactions outside the SDK through a provider
//! with alloy's default cached nonce manager, that manager does not see the SDK's nonces: give such
//! providers `with_simple_nonce_management()`.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, LazyLock, Mutex, PoisonError},
    time::{Duration, Instant},
};

use alloy::{
    consensus::Transaction as _,
    eips::eip1559::Eip1559Estimation,
    network::{TransactionBuilder, TransactionResponse as _},
    primitives::{Address, B256, Bytes, TxKind, U256},
    providers::Provider,
    rpc::types::{Transaction, TransactionReceipt, TransactionRequest},
    sol_types::SolEvent,
    transports::{TransportError, TransportResult},
};

use crate::{
    Error,
    error::{Target, from_rpc},
    units::fmt_decimal,
};

/// The least raise of both fees that geth and reth accept for a replacement, in percent.
pub const MIN_FEE_BUMP_PERCENT: u64 = 10;

/// How many of the latest blocks are searched, at most, for a transaction of ours whose hash the
/// SDK does not know (see the module documentation).
const SEARCHED_BLOCKS: u64 = 128;

/// How transactions are sent, awaited and replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxOptions {
    /// Longest wait for a receipt, replacements included (default 120 s).
    pub receipt_timeout: Duration,
    /// Longest pause between two polls of a receipt, a match or a new block (default 100 ms; the
    /// first polls come sooner).
    pub poll_interval: Duration,
    /// Gas limit above the node's estimate, in percent (default 25): room for state that changes
    /// between the estimate and the block.
    pub gas_margin_percent: u64,
    /// How long a transaction may wait for its receipt before it is replaced (same call and nonce,
    /// higher fees), and again after each replacement (default 30 s: two or three of Ethereum's
    /// blocks, by when a fairly priced transaction is mined; a devnet mines in milliseconds, so
    /// it never comes to this there). `None`: never replace.
    pub replace_after: Option<Duration>,
    /// How much each replacement raises both `maxFeePerGas` and `maxPriorityFeePerGas` over the
    /// version before, in percent (default 12). Less than [`MIN_FEE_BUMP_PERCENT`] counts as 10:
    /// geth and reth refuse a smaller raise as "replacement transaction underpriced". A
    /// replacement also offers at least the node's current fee estimate, so a base fee that rose
    /// is caught up with in one step.
    pub fee_bump_percent: u64,
    /// The most `maxFeePerGas` any version may offer, in wei per gas: "never pay more than this"
    /// (default `None`: no cap). The first version's fees are held under it too. When a
    /// replacement would have to go above it, the transaction waits for the rest of
    /// [`Self::receipt_timeout`] without bumping, and [`Error::NotMined`] says the cap was
    /// reached.
    pub max_fee_per_gas_cap: Option<u128>,
}

impl Default for TxOptions {
    fn default() -> Self {
        Self {
            receipt_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_millis(100),
            gas_margin_percent: 25,
            replace_after: Some(Duration::from_secs(30)),
            fee_bump_percent: 12,
            max_fee_per_gas_cap: None,
        }
    }
}

/// The EIP-1559 fees one version of a transaction offers, in wei per gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fees {
    /// `maxFeePerGas`: the most paid per gas, base fee and tip together.
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas`: the most of it that goes to the block's producer as a tip.
    pub max_priority_fee_per_gas: u128,
}

impl Fees {
    /// These fees with `maxFeePerGas` at most `cap` (and the tip at most that).
    fn capped(self, cap: Option<u128>) -> Self {
        let max_fee_per_gas = cap.map_or(self.max_fee_per_gas, |cap| self.max_fee_per_gas.min(cap));
        Self { max_fee_per_gas, max_priority_fee_per_gas: self.max_priority_fee_per_gas.min(max_fee_per_gas) }
    }

    /// Both fees raised by `percent`, rounded up (so that a node's "at least +10 %" holds).
    fn raised(self, percent: u64) -> Self {
        let raise = |fee: u128| fee.saturating_mul(100 + u128::from(percent)).div_ceil(100);
        Self {
            max_fee_per_gas: raise(self.max_fee_per_gas),
            max_priority_fee_per_gas: raise(self.max_priority_fee_per_gas),
        }
    }

    /// The fees of a replacement of a version that offered `self` (or was tried with it): both
    /// raised by the options' bump, at least `estimate` (the node's current one, if it answered),
    /// under the cap. `None` when the cap leaves no room for a raise the node would accept.
    fn replacement(self, estimate: Option<Self>, options: &TxOptions) -> Option<Self> {
        let bumped = self.raised(options.fee_bump_percent.max(MIN_FEE_BUMP_PERCENT));
        let estimate = estimate.unwrap_or(bumped);
        let max_priority_fee_per_gas = bumped.max_priority_fee_per_gas.max(estimate.max_priority_fee_per_gas);
        let max_fee_per_gas =
            bumped.max_fee_per_gas.max(estimate.max_fee_per_gas).max(max_priority_fee_per_gas);
        let fees = Self { max_fee_per_gas, max_priority_fee_per_gas }.capped(options.max_fee_per_gas_cap);
        let least = self.raised(MIN_FEE_BUMP_PERCENT);
        (fees.max_fee_per_gas >= least.max_fee_per_gas
            && fees.max_priority_fee_per_gas >= least.max_priority_fee_per_gas)
            .then_some(fees)
    }
}

impl From<Eip1559Estimation> for Fees {
    fn from(estimate: Eip1559Estimation) -> Self {
        Self {
            max_fee_per_gas: estimate.max_fee_per_gas,
            max_priority_fee_per_gas: estimate.max_priority_fee_per_gas,
        }
    }
}

impl fmt::Display for Fees {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "maxFeePerGas {}, maxPriorityFeePerGas {}",
            Gwei(self.max_fee_per_gas),
            Gwei(self.max_priority_fee_per_gas)
        )
    }
}

/// A fee in wei per gas, written in gwei ("1.5 gwei").
struct Gwei(u128);

impl fmt::Display for Gwei {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A gwei is 10^9 wei.
        fmt_decimal(f, U256::from(self.0), 9)?;
        f.write_str(" gwei")
    }
}

/// A transaction that had no receipt within [`TxOptions::receipt_timeout`]
/// ([`Error::NotMined`]): its versions, what the node holds, and why bumping stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmined {
    /// The sending account.
    pub account: Address,
    /// The transaction's nonce (every version has it).
    pub nonce: u64,
    /// The hash of every version the node accepted: the original first, then its replacements.
    pub versions: Vec<B256>,
    /// The fees of the last version the node accepted.
    pub fees: Fees,
    /// What the node knows of it.
    pub state: PoolState,
    /// Why it was not replaced any further, when that stopped before the timeout.
    pub stopped: Option<ReplacementStop>,
    /// How long the receipt was awaited.
    pub waited: Duration,
}

impl Unmined {
    /// The last version the node accepted.
    pub fn latest(&self) -> B256 {
        self.versions.last().copied().unwrap_or_default()
    }
}

impl fmt::Display for Unmined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting for the receipt of transaction {} (nonce {} of {}, {}",
            self.waited,
            self.latest(),
            self.nonce,
            self.account,
            self.fees
        )?;
        if let [earlier @ .., _] = self.versions.as_slice()
            && !earlier.is_empty()
        {
            write!(f, "; it replaced {}", Hashes(earlier))?;
        }
        write!(f, "): {}", self.state)?;
        match &self.stopped {
            Some(stop) => write!(f, "; {stop}"),
            None => Ok(()),
        }
    }
}

/// What the node knows of a transaction that was not mined in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolState {
    /// The node holds version `hash`, ready to be mined but not mined.
    Pending {
        /// The version the node holds.
        hash: B256,
    },
    /// The node holds version `hash`, which waits for the account's earlier nonces: `behind` is
    /// the first of them not mined.
    Queued {
        /// The version the node holds.
        hash: B256,
        /// The account's next nonce to be mined.
        behind: u64,
    },
    /// The node knows none of the versions, and the nonce is still free: they were dropped.
    Dropped,
    /// The account's mined nonce passed this one, but through none of the versions found (a
    /// transaction the SDK did not send, mined before the blocks searched).
    NonceUsed,
    /// The node could not be asked.
    Unknown,
}

impl fmt::Display for PoolState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pending { hash } => write!(f, "{hash} is in the node's pool but not mined"),
            Self::Queued { hash, behind } => {
                write!(f, "{hash} waits in the node's pool behind nonce {behind}")
            }
            Self::Dropped => f.write_str("no version is known to the node (dropped)"),
            Self::NonceUsed => {
                f.write_str("the nonce was used, by none of the versions found in the latest blocks")
            }
            Self::Unknown => f.write_str("the node could not be asked what became of it"),
        }
    }
}

/// Why a transaction was not replaced any further.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplacementStop {
    /// The next replacement would have offered more than [`TxOptions::max_fee_per_gas_cap`].
    FeeCapReached {
        /// The cap, in wei per gas.
        cap: u128,
    },
    /// The node refused a replacement for a reason more fees cannot fix (insufficient funds for
    /// the higher fee, a fee above the node's own cap).
    Refused {
        /// The fees that were refused.
        fees: Fees,
        /// The node's message.
        reason: String,
    },
}

impl fmt::Display for ReplacementStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FeeCapReached { cap } => {
                write!(
                    f,
                    "the fee cap (maxFeePerGas {}) is reached, so it was not bumped further",
                    Gwei(*cap)
                )
            }
            Self::Refused { fees, reason } => {
                write!(f, "a replacement with {fees} was refused ({reason}), so it was not bumped further")
            }
        }
    }
}

/// Transaction hashes, comma-separated.
pub(crate) struct Hashes<'a>(pub(crate) &'a [B256]);

impl fmt::Display for Hashes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, hash) in self.0.iter().enumerate() {
            if k > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{hash}")?;
        }
        Ok(())
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

/// Why a node refused a transaction, as far as sending acts on it (node messages differ: geth,
/// reth and anvil write "nonce too low", Besu `NONCE_TOO_LOW`, Nethermind `OldNonce`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// The nonce was used: a version of this transaction (or another of the account) was mined.
    NonceTooLow,
    /// The node already holds this very transaction ("already known"; anvil: "transaction
    /// already imported").
    AlreadyKnown,
    /// The node holds a version with the same nonce and fees the new one does not beat by its
    /// required margin, or the fees are below its minimum.
    Underpriced,
    /// No answer from the node: the transaction may or may not have arrived.
    NoAnswer,
    /// Anything else.
    Other,
}

impl Refusal {
    fn of(error: &TransportError) -> Self {
        if error.is_transport_error() {
            return Self::NoAnswer;
        }
        Self::of_message(&node_message(error))
    }

    fn of_message(message: &str) -> Self {
        let message = message.to_lowercase().replace('_', " ");
        let says = |phrases: &[&str]| phrases.iter().any(|phrase| message.contains(phrase));
        if says(&["nonce too low", "oldnonce"]) {
            Self::NonceTooLow
        } else if says(&["already known", "already imported", "alreadyknown"]) {
            Self::AlreadyKnown
        } else if says(&["underpriced", "feetoolow"]) {
            Self::Underpriced
        } else {
            Self::Other
        }
    }
}

/// What the node said when it refused a transaction: its JSON-RPC error message, or the transport's
/// error when there is none.
fn node_message(error: &TransportError) -> String {
    error.as_error_resp().map_or_else(|| error.to_string(), |e| e.message.to_string())
}

/// Simulates, sends and awaits `call` from `from`, replacing it while it is not mined (see the
/// module documentation).
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
    let fees = Fees::from(fees?).capped(options.max_fee_per_gas_cap);
    let gas_limit = gas.saturating_add(gas.saturating_mul(options.gas_margin_percent) / 100);
    let unsigned = simulation.clone().with_gas_limit(gas_limit).with_chain_id(chain_id);

    // 2. Nonce and send, under the account's lock. A nonce taken by a transaction sent outside the
    //    SDK between the read and the send is retried once with the next one.
    let (nonce, hash) = {
        let lock = account_lock(from);
        let _guard = lock.lock().await;
        let mut attempt = 0;
        loop {
            let node = read(|| provider.get_transaction_count(from).pending().into_future()).await?;
            let nonce = memory.next(node, options);
            match provider.send_transaction(with_fees(unsigned.clone().with_nonce(nonce), fees)).await {
                Ok(pending) => {
                    memory.taken(nonce);
                    break (nonce, *pending.tx_hash());
                }
                Err(error) if attempt == 0 && Refusal::of(&error) == Refusal::NonceTooLow => {
                    memory.taken(nonce);
                    attempt += 1;
                }
                Err(error) => return Err(from_rpc(error, call.target)),
            }
        }
    };

    // 3 and 4. Receipt, replacing while it does not come; a transaction reverted on chain is
    //    replayed to say why.
    let mut sent = InFlight::new(from, nonce, unsigned.with_nonce(nonce), Version { hash, fees });
    let receipt = sent.wait_mined(provider, options).await?;
    if !receipt.status() {
        let block = receipt.block_number.unwrap_or_default();
        return Err(match provider.call(simulation).block(block.into()).await {
            Err(error) => from_rpc(error, call.target),
            Ok(_) => Error::reverted(format!(
                "transaction {} reverted in block {block} (out of gas?)",
                receipt.transaction_hash
            )),
        });
    }
    Ok(receipt)
}

/// `request` offering `fees`.
fn with_fees(request: TransactionRequest, fees: Fees) -> TransactionRequest {
    request
        .with_max_fee_per_gas(fees.max_fee_per_gas)
        .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas)
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

/// One version of a sent transaction that the node accepted.
#[derive(Clone, Copy, Debug)]
struct Version {
    hash: B256,
    fees: Fees,
}

/// A sent transaction awaiting its receipt: its versions, and how replacing it goes.
#[derive(Debug)]
struct InFlight {
    from: Address,
    nonce: u64,
    /// The transaction without its fees: call, nonce, gas limit, chain id.
    unsigned: TransactionRequest,
    /// Every version the node accepted, oldest first (never empty).
    versions: Vec<Version>,
    /// The highest fees sent, accepted or not: the next replacement must beat them, since a send
    /// that got no answer may have reached the node.
    tried: Fees,
    /// When the last version was sent (or tried).
    last_sent: Instant,
    /// Whether a replacement was tried: from then on, polls go by the account's mined nonce.
    replaced: bool,
    /// The node answered a replacement with "nonce too low": one version (or a transaction the
    /// SDK did not send) was mined, so there is nothing left to replace.
    nonce_used: bool,
    /// Why replacing stopped before the receipt came, if it did.
    stopped: Option<ReplacementStop>,
    /// The latest block already searched for the transaction with our nonce.
    searched_to: Option<u64>,
}

impl InFlight {
    fn new(from: Address, nonce: u64, unsigned: TransactionRequest, first: Version) -> Self {
        Self {
            from,
            nonce,
            unsigned,
            versions: vec![first],
            tried: first.fees,
            last_sent: Instant::now(),
            replaced: false,
            nonce_used: false,
            stopped: None,
            searched_to: None,
        }
    }

    /// Polls for the receipt of any version: at once, every millisecond for the first few (a
    /// devnet mines in about that), then every 2, 4, 8 ... ms up to the poll interval, until the
    /// receipt timeout, replacing the transaction every [`TxOptions::replace_after`]. Transport
    /// failures (a node restarting) are retried until then.
    async fn wait_mined<P: Provider>(
        &mut self,
        provider: &P,
        options: &TxOptions,
    ) -> Result<TransactionReceipt, Error> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        let mut polls = 0;
        loop {
            if let Some(receipt) = self.poll(provider).await? {
                return Ok(receipt);
            }
            let waited = start.elapsed();
            if waited >= options.receipt_timeout {
                return self.timed_out(provider, waited).await;
            }
            if self.replacement_due(options) {
                self.replace(provider, options).await;
            }
            tokio::time::sleep(pause.min(options.receipt_timeout - waited)).await;
            polls += 1;
            if polls >= 4 {
                pause = (pause * 2).min(options.poll_interval);
            }
        }
    }

    /// The receipt, if a version was mined. Before any replacement that is one request for the
    /// one version's receipt; after, one for the account's mined nonce, and only once that
    /// passed ours, the versions' receipts (and, when none has one, a search of the latest
    /// blocks).
    async fn poll<P: Provider>(&mut self, provider: &P) -> Result<Option<TransactionReceipt>, Error> {
        if !self.replaced {
            return receipt(provider, self.versions[0].hash).await;
        }
        match provider.get_transaction_count(self.from).await {
            Ok(mined) if mined > self.nonce => {}
            Ok(_) => return Ok(None),
            Err(error) if error.is_transport_error() => return Ok(None),
            Err(error) => return Err(error.into()),
        }
        for version in self.versions.iter().rev() {
            if let Some(receipt) = receipt(provider, version.hash).await? {
                return Ok(Some(receipt));
            }
        }
        // None of the versions we know was mined (or the node's receipts lag behind its nonce):
        // find the transaction that used our nonce.
        let Some(found) = self.search_blocks(provider).await else { return Ok(None) };
        let hash = found.tx_hash();
        if !self.versions.iter().any(|v| v.hash == hash) {
            if found.kind() != self.unsigned.kind().unwrap_or_default() || found.input() != self.input() {
                return Err(Error::NonceTaken {
                    account: self.from,
                    nonce: self.nonce,
                    by: hash,
                    sent: self.versions.iter().map(|v| v.hash).collect(),
                });
            }
            // Our call, sent by a replacement whose answer was lost.
            let fees = Fees {
                max_fee_per_gas: alloy::consensus::Transaction::max_fee_per_gas(&found),
                max_priority_fee_per_gas: alloy::consensus::Transaction::max_priority_fee_per_gas(&found)
                    .unwrap_or_default(),
            };
            self.versions.push(Version { hash, fees });
        }
        receipt(provider, hash).await
    }

    fn input(&self) -> &Bytes {
        static EMPTY: Bytes = Bytes::new();
        self.unsigned.input.input().unwrap_or(&EMPTY)
    }

    /// The transaction of our account with our nonce in the blocks not searched yet (at most the
    /// latest [`SEARCHED_BLOCKS`]), newest first. Failures to read are retried at the next poll.
    async fn search_blocks<P: Provider>(&mut self, provider: &P) -> Option<Transaction> {
        let latest = provider.get_block_number().await.ok()?;
        let oldest = latest.saturating_sub(SEARCHED_BLOCKS - 1);
        let first = self.searched_to.map_or(oldest, |searched| (searched + 1).max(oldest));
        for number in (first..=latest).rev() {
            let block = provider.get_block_by_number(number.into()).full().await.ok()??;
            let mut transactions = block.transactions.into_transactions();
            if let Some(found) = transactions.find(|tx| tx.from() == self.from && tx.nonce() == self.nonce) {
                // Found once is enough: a version of ours is awaited among the versions from now
                // on, and a transaction of someone else ends the wait.
                self.searched_to = Some(latest);
                return Some(found);
            }
        }
        self.searched_to = Some(latest);
        None
    }

    fn replacement_due(&self, options: &TxOptions) -> bool {
        self.stopped.is_none()
            && !self.nonce_used
            && options.replace_after.is_some_and(|after| self.last_sent.elapsed() >= after)
    }

    /// Sends the next version; the node's refusals change what happens next, they are no error.
    async fn replace<P: Provider>(&mut self, provider: &P, options: &TxOptions) {
        self.replaced = true;
        self.last_sent = Instant::now();
        let estimate = read(|| provider.estimate_eip1559_fees()).await.ok().map(Fees::from);
        let Some(fees) = self.tried.replacement(estimate, options) else {
            // Under the cap there is no raise the node would take: wait for what was sent.
            self.stopped = options.max_fee_per_gas_cap.map(|cap| ReplacementStop::FeeCapReached { cap });
            return;
        };
        self.tried = fees;
        match provider.send_transaction(with_fees(self.unsigned.clone(), fees)).await {
            Ok(pending) => self.versions.push(Version { hash: *pending.tx_hash(), fees }),
            Err(error) => match Refusal::of(&error) {
                Refusal::NonceTooLow => self.nonce_used = true,
                // The node holds a version at least this dear, or perhaps got this one: the next
                // replacement bumps from the fees tried.
                Refusal::AlreadyKnown | Refusal::Underpriced | Refusal::NoAnswer => {}
                Refusal::Other => {
                    self.stopped = Some(ReplacementStop::Refused { fees, reason: node_message(&error) });
                }
            },
        }
    }

    /// [`Error::NotMined`], saying what the node holds, unless a version was mined after all.
    async fn timed_out<P: Provider>(
        &self,
        provider: &P,
        waited: Duration,
    ) -> Result<TransactionReceipt, Error> {
        let mined = provider.get_transaction_count(self.from).await.ok();
        let mut state = None;
        let mut unanswered = mined.is_none();
        for version in self.versions.iter().rev() {
            match provider.get_transaction_by_hash(version.hash).await {
                Ok(Some(tx)) if tx.block_number.is_some() => {
                    if let Some(receipt) = receipt(provider, version.hash).await? {
                        return Ok(receipt);
                    }
                }
                Ok(Some(_)) => {
                    let hash = version.hash;
                    state = Some(match mined {
                        Some(behind) if self.nonce > behind => PoolState::Queued { hash, behind },
                        _ => PoolState::Pending { hash },
                    });
                    break;
                }
                Ok(None) => {}
                Err(_) => unanswered = true,
            }
        }
        let state = state.unwrap_or(match mined {
            _ if unanswered => PoolState::Unknown,
            Some(mined) if mined > self.nonce => PoolState::NonceUsed,
            _ => PoolState::Dropped,
        });
        let last = self.versions.last().map_or(self.tried, |v| v.fees);
        Err(Error::NotMined(Box::new(Unmined {
            account: self.from,
            nonce: self.nonce,
            versions: self.versions.iter().map(|v| v.hash).collect(),
            fees: last,
            state,
            stopped: self.stopped.clone(),
            waited,
        })))
    }
}

/// The receipt of `hash`, if mined; a transport failure counts as "not yet".
async fn receipt<P: Provider>(provider: &P, hash: B256) -> Result<Option<TransactionReceipt>, Error> {
    match provider.get_transaction_receipt(hash).await {
        Ok(receipt) => Ok(receipt),
        Err(error) if error.is_transport_error() => Ok(None),
        Err(error) => Err(error.into()),
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

#[cfg(test)]
mod tests {
    use super::*;

    const GWEI: u128 = 1_000_000_000;

    fn fees(max: u128, tip: u128) -> Fees {
        Fees { max_fee_per_gas: max, max_priority_fee_per_gas: tip }
    }

    #[test]
    fn a_replacement_raises_both_fees_by_the_bump_rounded_up() {
        let options = TxOptions::default();
        assert_eq!(fees(100, 10).replacement(None, &options), Some(fees(112, 12)));
        // 1 wei tips (alloy's floor) still rise.
        assert_eq!(fees(3, 1).replacement(None, &options), Some(fees(4, 2)));
        // Less than the nodes' 10 % counts as 10 %.
        let small = TxOptions { fee_bump_percent: 1, ..options };
        assert_eq!(fees(100 * GWEI, GWEI).replacement(None, &small), Some(fees(110 * GWEI, 1_100_000_000)));
    }

    #[test]
    fn a_replacement_offers_at_least_the_nodes_estimate() {
        let options = TxOptions::default();
        let estimate = Some(fees(40 * GWEI, 2 * GWEI));
        assert_eq!(fees(3 * GWEI, GWEI).replacement(estimate, &options), Some(fees(40 * GWEI, 2 * GWEI)));
        // A tip above the bumped max fee lifts the max fee with it.
        let estimate = Some(fees(GWEI, 5 * GWEI));
        assert_eq!(fees(2 * GWEI, GWEI).replacement(estimate, &options), Some(fees(5 * GWEI, 5 * GWEI)));
    }

    #[test]
    fn the_cap_holds_replacements_and_ends_them() {
        let capped = TxOptions { max_fee_per_gas_cap: Some(115), ..TxOptions::default() };
        assert_eq!(fees(100, 10).replacement(None, &capped), Some(fees(112, 12)));
        // From 112 a replacement needs at least 124 (+10 %): the cap of 115 leaves no room.
        assert_eq!(fees(112, 12).replacement(None, &capped), None);
        let capped = TxOptions { max_fee_per_gas_cap: Some(111), ..capped };
        // The estimate is above the cap: the replacement offers the cap, still more than +10 %.
        assert_eq!(fees(100, 10).replacement(Some(fees(500, 1)), &capped), Some(fees(111, 12)));
        // The tip never exceeds the capped max fee.
        assert_eq!(fees(500, 400).capped(Some(300)), fees(300, 300));
    }

    #[test]
    fn node_refusals_are_told_apart_across_clients() {
        for (message, refusal) in [
            ("nonce too low", Refusal::NonceTooLow),
            ("nonce too low: next nonce 5, tx nonce 4", Refusal::NonceTooLow),
            ("NONCE_TOO_LOW", Refusal::NonceTooLow),
            ("OldNonce", Refusal::NonceTooLow),
            ("already known", Refusal::AlreadyKnown),
            ("transaction already imported", Refusal::AlreadyKnown),
            ("replacement transaction underpriced", Refusal::Underpriced),
            ("REPLACEMENT_UNDERPRICED", Refusal::Underpriced),
            ("insufficient funds for gas * price + value", Refusal::Other),
        ] {
            assert_eq!(Refusal::of_message(message), refusal, "{message}");
        }
    }

    #[test]
    fn fees_are_written_in_gwei() {
        assert_eq!(
            fees(2_500_000_000, 1).to_string(),
            "maxFeePerGas 2.5 gwei, maxPriorityFeePerGas 0.000000001 gwei"
        );
        assert_eq!(Gwei(30 * GWEI).to_string(), "30 gwei");
    }
}
