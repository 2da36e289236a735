//! The SDK's error type: every custom error of the contracts decoded and told as a sentence, the
//! checks made before sending, and the failures of the SDK's own modules
//! ([`DeploymentError`](crate::deployment::DeploymentError),
//! [`DevnetError`](crate::devnet::DevnetError), the reward engine's
//! [`RewardsError`](crate::rewards::RewardsError)), each keeping its source.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, Bytes},
    sol_types::SolInterface,
    transports::TransportError,
};

use crate::{
    bindings::{
        Market::MarketErrors, MarketSignedAsks::MarketSignedAsksErrors, PriceOracle::PriceOracleErrors,
        RewardDistributor::RewardDistributorErrors, SNMToken::SNMTokenErrors,
    },
    deployment::DeploymentError,
    market::{DealId, SignedAskError},
    reverts,
    services::SignedAskRefusal,
    shortfall::Shortfall,
    tx::unmined::{Hashes, Unmined},
    units::{InexactPrice, ParseError, Snm},
};

/// Whose funds fell short, in [`Error::InsufficientFunds`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Funds {
    /// The account's SNM tokens (ERC-20 balance).
    TokenBalance,
    /// What the account allowed a contract to take from its tokens (ERC-20 `approve`, or an
    /// EIP-2612 permit through the `*_with_permit` methods).
    Allowance,
    /// The account's free balance in the market's escrow (deposited, not locked in a deal).
    FreeBalance,
    /// A master's earnings in the market's escrow.
    Earnings,
}

impl std::fmt::Display for Funds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TokenBalance => "token balance",
            Self::Allowance => "allowance",
            Self::FreeBalance => "free balance in the market",
            Self::Earnings => "earnings in the market",
        })
    }
}

/// Everything that can go wrong in the SDK.
///
/// A transaction that the contracts refuse arrives as the contract's own custom error, decoded with
/// its fields into the generated enum of the contract that raised it, so it can be matched; its
/// `Display` is a sentence a person understands, with the amounts in SNM, prices in USD an hour,
/// times and, where there is one, what to do about it:
///
/// ```
/// use snm_sdk::{Error, bindings::Market::MarketErrors};
///
/// fn explain(error: &Error) -> String {
///     match error {
///         Error::Market(MarketErrors::DepositBelowRunway(e)) => {
///             format!("deposit {} wei is below the {} wei the minimum runway needs", e.deposit, e.required)
///         }
///         Error::InsufficientFunds { funds, available, needed, .. } => {
///             format!("{funds}: {available} available, {needed} needed")
///         }
///         other => other.to_string(),
///     }
/// }
/// ```
///
/// ```
/// use alloy::primitives::U256;
/// use snm_sdk::{Error, bindings::Market::{self, MarketErrors}};
///
/// let refused = Error::Market(MarketErrors::DepositBelowRunway(Market::DepositBelowRunway {
///     deposit: U256::from(10u64).pow(U256::from(18)),
///     required: U256::from(90u64) * U256::from(10u64).pow(U256::from(18)),
/// }));
/// assert_eq!(
///     refused.to_string(),
///     "market: a deposit of 1 SNM is below the 90 SNM that the minimum runway needs at the ask's \
///      price and the current rate: deposit at least 90 SNM"
/// );
/// ```
///
/// Market calls can also fail with the oracle's errors (`StaleRate`, raised inside the market's
/// call to the oracle) or the token's (`ERC20InsufficientAllowance`); each arrives as the variant of
/// the contract that raised it. The SDK's clients simulate every transaction before sending it, so
/// a refused transaction is reported without spending gas or a nonce.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The market (with its escrow and identity parts) refused: one of its custom errors.
    #[error("market: {}", reverts::market(.0))]
    Market(MarketErrors),
    /// The market refused a signed ask (a bad signature, a stale nonce); its other refusals of
    /// signed asks are [`Error::Market`].
    #[error("market: {0}")]
    SignedAskRefused(SignedAskRefusal),
    /// A signed ask was refused before anything was sent (see [`SignedAskError`]).
    #[error("signed ask: {0}")]
    SignedAsk(#[from] SignedAskError),
    /// The price oracle refused (for example `StaleRate` while opening a deal).
    #[error("price oracle: {}", reverts::oracle(.0))]
    Oracle(PriceOracleErrors),
    /// The reward distributor refused. Boxed (its `StaleProof` carries three hashes) so that every
    /// `Result` of the SDK stays small; match it through [`Error::as_distributor`] or `*boxed`.
    #[error("reward distributor: {}", reverts::distributor(.0))]
    Distributor(Box<RewardDistributorErrors>),
    /// The SNM token refused (for example `ERC20InsufficientAllowance`).
    #[error("SNM token: {}", reverts::token(.0))]
    Token(SNMTokenErrors),
    /// The market refused to close a deal (its `CloseNotAllowed`), as
    /// [`MarketService::close_deal`](crate::services::MarketService::close_deal) reports it: with
    /// the deal's end read back, so that the sentence says when the caller may close.
    #[error("market: {}", reverts::close_not_allowed(*deal, *caller, *end_time))]
    CloseNotAllowed {
        /// The deal.
        deal: DealId,
        /// Who tried to close it.
        caller: Address,
        /// The end of its fixed term; `None` for spot (or when the deal could not be read).
        end_time: Option<u64>,
    },
    /// A revert none of the contracts' custom errors describes: a `require` message, a panic, or
    /// no data at all.
    #[error("reverted: {reason}")]
    Reverted {
        /// The decoded reason (`Error(string)`, `Panic(uint256)`) or the node's message.
        reason: String,
        /// The raw revert data.
        data: Bytes,
    },
    /// Checked before sending: an account does not have the funds an action needs.
    #[error("{account} has {available} of {funds}, {needed} needed")]
    InsufficientFunds {
        /// The account short of funds.
        account: Address,
        /// Which of its funds.
        funds: Funds,
        /// What it has.
        available: Snm,
        /// What the action needs.
        needed: Snm,
    },
    /// Waited too long (for a match, an endpoint, a proposal's delay; a transaction's receipt is
    /// [`Error::NotMined`]).
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        waited: Duration,
    },
    /// A transaction the SDK sent had no receipt within
    /// [`TxOptions::receipt_timeout`](crate::tx::TxOptions::receipt_timeout), replacements
    /// included: every version sent, the fees last offered, whether the node still holds it (and
    /// what it waits for), and why it was not bumped further (the fee cap was reached, a
    /// replacement was refused). A version may still be mined later: the nonce stays taken until
    /// then. Boxed so that every `Result` of the SDK stays small.
    #[error("{0}")]
    NotMined(Box<Unmined>),
    /// The nonce of a transaction the SDK sent was used by another transaction of the same account
    /// (sent outside the SDK, after the node dropped ours): this call did not happen.
    #[error(
        "nonce {nonce} of {account} was used by transaction {by}, which is not this call (sent as {}): \
         the call did not happen",
        Hashes(sent)
    )]
    NonceTaken {
        /// The sending account.
        account: Address,
        /// The nonce.
        nonce: u64,
        /// The transaction mined with it.
        by: B256,
        /// The versions of this call that were sent with it, none of them mined.
        sent: Vec<B256>,
    },
    /// The JSON-RPC endpoint could not be reached (a read, after the retries of the provider's
    /// [`RetryReadsLayer`](crate::provider::RetryReadsLayer)), a send's answer was lost (it may
    /// have reached the node: it is not sent again), or the node answered with an error that is
    /// not a revert (for example a transaction it refuses for its fees).
    #[error("transport: {0}")]
    Transport(#[source] TransportError),
    /// A call through the generated bindings failed in a way that is not a revert (for example an
    /// undecodable return value).
    #[error("contract call: {0}")]
    Contract(alloy::contract::Error),
    /// A transaction sent through the generated bindings could not be watched to its receipt.
    #[error("pending transaction: {0}")]
    PendingTransaction(#[from] alloy::providers::PendingTransactionError),
    /// Signing (a permit, a transaction) failed.
    #[error("signer: {0}")]
    Signer(#[from] alloy::signers::Error),
    /// A price per hour is not a whole number of 10^-18 USD per second; the error names both
    /// roundings.
    #[error(transparent)]
    InexactPrice(#[from] InexactPrice),
    /// No ask of the order book meets the requirements within the budget
    /// ([`Customer::best_ask`](crate::Customer::best_ask)): why, ask by ask. Boxed so that every
    /// `Result` of the SDK stays small.
    #[error("{0}")]
    NothingFits(Box<Shortfall>),
    /// No deal has this id (orders and deals share one id sequence: it may be an order's).
    #[error("no deal has id {0} (asks, bids and deals share one id sequence: is it an order's id?)")]
    DealNotFound(DealId),
    /// The deployment names no reward distributor, and the call needs one.
    #[error("the deployment names no reward distributor: set `Deployment::distributor` to its address")]
    NoDistributor,
    /// A batch claim of no accounts, refused before sending (the distributor would refuse it as
    /// `EmptyBatch`).
    #[error("a batch claim needs at least one claim")]
    EmptyClaimBatch,
    /// A permit signed by another key than the account whose tokens it allows, refused before
    /// sending (the token would refuse it as `ERC2612InvalidSigner`).
    #[error("the permit's signer {signer} is not the sender {owner}: sign with the sender's key")]
    PermitSigner {
        /// The key's account.
        signer: Address,
        /// The account whose tokens the permit allows (the sender).
        owner: Address,
    },
    /// A bid whose customer is not the sender, refused before sending (the market would refuse it
    /// as `NotOrderOwner`).
    #[error("the bid's customer {customer} is not the sender {sender}: a bid is placed by its customer")]
    ForeignBid {
        /// The bid's customer.
        customer: Address,
        /// The sender.
        sender: Address,
    },
    /// An ask the sender may not place, refused before sending (the market would refuse it as
    /// `NotOrderOwner`).
    #[error(
        "the sender {sender} is neither the ask's master {master} nor its worker {worker}: an ask is placed by one \
         of them"
    )]
    ForeignAsk {
        /// The ask's master.
        master: Address,
        /// The ask's worker.
        worker: Address,
        /// The sender.
        sender: Address,
    },
    /// An account has no leaf in a round's Merkle dump: nothing to claim with it.
    #[error("{account} has no leaf in {}: nothing to claim with this dump", dump.display())]
    NoLeaf {
        /// The account.
        account: Address,
        /// The dump.
        dump: std::path::PathBuf,
    },
    /// The node answered that it has no latest block.
    #[error("the node has no latest block")]
    NoLatestBlock,
    /// The chain reorganised past events an [`EventStream::next`](crate::events::EventStream::next)
    /// had returned: undo what came from the events after `to_block`; the stream continues with
    /// the canonical chain's events from `to_block + 1`.
    #[error("the chain reorganised: events after block {to_block} were taken back")]
    Reorged {
        /// The newest block still on the chain.
        to_block: u64,
    },
    /// None of the blocks an event stream remembers is still on the chain: it reorganised deeper
    /// than [`RECENT_BLOCKS`](crate::events::RECENT_BLOCKS) blocks, or the node was reset to
    /// another chain. What was derived from its events must be read again from the deployment.
    #[error(
        "block {block} ({hash}) that events were read from is no longer on the chain (head {head}): the \
         chain reorganised deeper than the blocks remembered, or the node was reset; read the events again \
         from the deployment block"
    )]
    ReorgTooDeep {
        /// The newest block the stream read.
        block: u64,
        /// Its hash then.
        hash: alloy::primitives::B256,
        /// The chain's head now.
        head: u64,
    },
    /// The node serves another chain than the deployment file was written for.
    #[error(
        "the node serves chain {found} but the deployment is for chain {expected}: use the deployment file \
         of chain {found}, or an RPC endpoint of chain {expected}"
    )]
    WrongChain {
        /// The deployment's `chainId`.
        expected: u64,
        /// The node's chain id.
        found: u64,
    },
    /// No contract is deployed at one of the deployment's addresses on this chain.
    #[error(
        "no contract code at the deployment's {contract} address {address} on chain {chain_id}: the \
         deployment file does not belong to this chain (or the node was reset)"
    )]
    NoContractCode {
        /// Which contract (`market`, `token`, `oracle`, `distributor`).
        contract: &'static str,
        /// Its address in the deployment.
        address: alloy::primitives::Address,
        /// The node's chain id.
        chain_id: u64,
    },
    /// The deployment file could not be read, parsed or written.
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    /// The local devnet could not be started or used.
    #[cfg(feature = "devnet")]
    #[error(transparent)]
    Devnet(#[from] crate::devnet::error::DevnetError),
    /// Reading or writing failed where no file of the SDK's is involved (for example hashing a
    /// round's Merkle dump, or an integrator's own file read with `?`).
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A transaction succeeded without the event it should have emitted (the address is not the
    /// contract it should be).
    #[error("transaction {transaction} emitted no {event}")]
    MissingEvent {
        /// The event's signature.
        event: &'static str,
        /// The transaction.
        transaction: B256,
    },
    /// An order was cancelled while waiting for it to be matched.
    #[error("order {0} was cancelled")]
    OrderCancelled(u64),
    /// A log of a contract could not be decoded as one of its events (wrong address or ABI).
    #[error("log {log_index} of block {block} from {address} is not one of its events: {reason}")]
    UndecodableEvent {
        /// The contract that emitted it.
        address: alloy::primitives::Address,
        /// Its block.
        block: u64,
        /// Its index in the block.
        log_index: u64,
        /// The decoder's message.
        reason: String,
    },
    /// A text is not a value of its unit (an amount, a price, a duration, a size, flags): the
    /// text, what is wrong with it and what was expected.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The reward engine failed (bad input, config or previous round; names file and line).
    #[error(transparent)]
    #[cfg(feature = "rewards")]
    Rewards(#[from] crate::rewards::RewardsError),
}

impl Error {
    /// Whether this is a revert of one of the contracts (a typed custom error or an undecoded
    /// revert), as opposed to a failure to reach the node, a timeout or a local check.
    pub fn is_revert(&self) -> bool {
        matches!(
            self,
            Self::Market(_)
                | Self::Oracle(_)
                | Self::Distributor(_)
                | Self::Token(_)
                | Self::CloseNotAllowed { .. }
                | Self::Reverted { .. }
        )
    }

    /// The market's custom error, if this is one.
    pub fn as_market(&self) -> Option<&MarketErrors> {
        match self {
            Self::Market(error) => Some(error),
            _ => None,
        }
    }

    /// The oracle's custom error, if this is one.
    pub fn as_oracle(&self) -> Option<&PriceOracleErrors> {
        match self {
            Self::Oracle(error) => Some(error),
            _ => None,
        }
    }

    /// The reward distributor's custom error, if this is one.
    pub fn as_distributor(&self) -> Option<&RewardDistributorErrors> {
        match self {
            Self::Distributor(error) => Some(error),
            _ => None,
        }
    }

    /// The token's custom error, if this is one.
    pub fn as_token(&self) -> Option<&SNMTokenErrors> {
        match self {
            Self::Token(error) => Some(error),
            _ => None,
        }
    }

    /// A revert known only by the node's message.
    pub(crate) fn reverted(reason: String) -> Self {
        Self::Reverted { reason, data: Bytes::new() }
    }
}

/// The contract a call was sent to: its custom errors are tried first when decoding a revert (some
/// selectors, such as `ZeroAmount()` or `OwnableUnauthorizedAccount(address)`, exist in several).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Market,
    /// The market's signed-ask functions (at the market's address).
    SignedAsks,
    Oracle,
    Distributor,
    Token,
}

impl Target {
    const ALL: [Self; 5] = [Self::Market, Self::SignedAsks, Self::Oracle, Self::Distributor, Self::Token];

    fn decode(self, data: &[u8]) -> Option<Error> {
        match self {
            Self::Market => MarketErrors::abi_decode(data).ok().map(Error::Market),
            Self::SignedAsks => MarketSignedAsksErrors::abi_decode(data)
                .ok()
                .and_then(SignedAskRefusal::from_errors)
                .map(Error::SignedAskRefused),
            Self::Oracle => PriceOracleErrors::abi_decode(data).ok().map(Error::Oracle),
            Self::Distributor => {
                RewardDistributorErrors::abi_decode(data).ok().map(|e| Error::Distributor(Box::new(e)))
            }
            Self::Token => SNMTokenErrors::abi_decode(data).ok().map(Error::Token),
        }
    }
}

/// Decodes revert data: `target`'s custom errors first, then the other contracts', then
/// `Error(string)` / `Panic(uint256)`.
pub(crate) fn decode_revert(data: Bytes, target: Target) -> Error {
    std::iter::once(target)
        .chain(Target::ALL.into_iter().filter(|t| *t != target))
        .find_map(|t| t.decode(&data))
        .unwrap_or_else(|| {
            let reason = alloy::sol_types::decode_revert_reason(&data)
                .unwrap_or_else(|| format!("no reason given (data {data})"));
            Error::Reverted { reason, data }
        })
}

/// A node's error, with a revert decoded as `target`'s (or another contract's) custom error.
pub(crate) fn from_rpc(error: TransportError, target: Target) -> Error {
    if let Some(payload) = error.as_error_resp() {
        if let Some(data) = payload.as_revert_data() {
            return decode_revert(data, target);
        }
        if payload.message.contains("revert") {
            return Error::reverted(payload.message.to_string());
        }
    }
    Error::Transport(error)
}

/// A bindings call's error, with a revert decoded as `target`'s custom error.
pub(crate) fn from_contract(error: alloy::contract::Error, target: Target) -> Error {
    match error {
        alloy::contract::Error::TransportError(error) => from_rpc(error, target),
        other => Error::Contract(other),
    }
}

impl From<TransportError> for Error {
    /// A revert is decoded (the market's errors tried first); anything else is
    /// [`Error::Transport`].
    fn from(error: TransportError) -> Self {
        from_rpc(error, Target::Market)
    }
}

impl From<alloy::contract::Error> for Error {
    /// A revert is decoded (the market's errors tried first); anything else is
    /// [`Error::Contract`].
    fn from(error: alloy::contract::Error) -> Self {
        from_contract(error, Target::Market)
    }
}
