//! How the clients send a transaction, so that a refused one costs nothing, a stuck one is
//! replaced, and neither leaves a nonce gap:
//!
//! 1. **Simulate**: `eth_estimateGas` runs the call; a revert stops here, decoded into the
//!    contract's custom error ([`crate::Error`]), before any nonce is taken. The fees are fetched
//!    at the same time (the chain id once per client; the fees at most once a second per client,
//!    see `fee_memory`), and held under
//!    [`TxOptions::max_fee_per_gas_cap`]. Reads that meet a transport failure are retried by the
//!    provider's transport ([`RetryReadsLayer`](crate::provider::RetryReadsLayer)); a send is
//!    not (it may have reached the node).
//! 2. **Nonce**: the provider gives it. The SDK's [`NonceLayer`](crate::provider::NonceLayer)
//!    (in every provider of [`crate::provider::connect_http`]) takes the account's turn, picks
//!    the nonce and keeps the turn until the node answered the send, so concurrent sends from one
//!    account get consecutive nonces, whether they come from the clients or from the raw
//!    bindings on the same provider, and a refused send leaves no gap. It tells the SDK which
//!    nonce it gave; a provider without it uses its own nonce filler, and the SDK reads the nonce
//!    back from the node (`eth_getTransactionByHash`, one more request).
//! 3. **Receipt**: once the client's transactions of earlier nonces have their receipts (they
//!    are mined first; see `receipt_order`), polled at once, then with a growing interval (up to
//!    [`TxOptions::poll_interval`]; the polls after the first at least a quarter of the time the
//!    client's last transaction took to be mined apart, see `pace`), until
//!    [`TxOptions::receipt_timeout`] ([`Error::NotMined`],
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
//!    A replacement carries its nonce, so the nonce layer lets it through without a turn or a new
//!    nonce. Once replaced, every version may be the one mined: each
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
//! A call that does more the later it is mined (`settle`, `closeDeal`, `endDealUnserved`) gets at
//! least the gas limit of its costliest path ([`SETTLE_GAS_LIMIT`] and the others), whatever its
//! estimate said: time always moves between the estimate and the block.
//!
//! The transaction goes out with its gas limit, fees and chain id set, so the provider's own
//! fillers only add the nonce (the nonce layer does, before them) and sign it (a wallet filler),
//! or the node signs it.

pub(crate) mod fee_memory;
pub(crate) mod fees;
mod inclusion;
mod options;
pub(crate) mod pace;
mod receipt_order;
pub(crate) mod refusal;
mod replacement;
pub(crate) mod unmined;

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, TxKind},
    providers::Provider,
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::SolEvent,
};

use self::{
    fee_memory::FeeMemory,
    pace::MiningPace,
    replacement::{InFlight, Version, nonce_of},
};
pub use self::{
    fees::{Fees, MIN_FEE_BUMP_PERCENT},
    inclusion::{CLOSE_DEAL_GAS_LIMIT, END_UNSERVED_GAS_LIMIT, SETTLE_GAS_LIMIT},
    options::TxOptions,
    unmined::{PoolState, ReplacementStop, Unmined},
};
use crate::{
    Error,
    error::{Target, from_rpc},
    provider::nonce::send_telling_nonce,
};

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

/// Simulates, sends and awaits `call` from `from`, replacing it while it is not mined (see the
/// module documentation).
pub(crate) async fn send<P: Provider>(
    provider: &P,
    from: Address,
    chain_id: u64,
    call: Call,
    options: &TxOptions,
    fee_memory: &FeeMemory,
    pace: &MiningPace,
) -> Result<TransactionReceipt, Error> {
    let floor = inclusion::gas_floor(call.target, &call.input);
    let simulation = TransactionRequest::default().with_from(from).with_kind(call.to).with_input(call.input);

    // 1. Simulate (and estimate), with the fees fetched meanwhile.
    let (gas, fees) =
        tokio::join!(provider.estimate_gas(simulation.clone()).into_future(), fee_memory.estimate(provider));
    let gas = gas.map_err(|e| from_rpc(e, call.target))?;
    let fees = fees?.capped(options.max_fee_per_gas_cap);
    // A call whose path grows with the time of its block gets the gas of its costliest path: the
    // estimate saw the state of now, the block comes later (see `inclusion`).
    let gas_limit = gas.saturating_add(gas.saturating_mul(options.gas_margin_percent) / 100).max(floor);
    let unsigned = simulation.clone().with_gas_limit(gas_limit).with_chain_id(chain_id);

    // 2. Send; the provider gives the nonce.
    let (sent, nonce) = send_telling_nonce(provider, with_fees(unsigned.clone(), fees)).await;
    let hash = *sent.map_err(|e| from_rpc(e, call.target))?.tx_hash();
    let first = Version { hash, fees };
    let nonce = match nonce {
        Some(nonce) => Some(nonce),
        None => nonce_of(provider, &[first]).await,
    };

    // 3 and 4. Receipt, replacing while it does not come; a transaction reverted on chain is
    //    replayed to say why.
    let receipt = InFlight::new(from, nonce, unsigned, first).wait_mined(provider, options, pace).await?;
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
