//! `POST /v1/asks`: the relay of signed asks. An ask is accepted only when the market would take
//! it now: signed by its master (EIP-712, or the master's EIP-1271 wallet when it is a contract),
//! its worker linked to that master, not expired, and signed for the worker's current ask nonce.
//! A refused ask gets 400 with `{"error": …, "parameter": …}` naming what is wrong. The relay
//! drops stored asks whose nonce moved on (a signed ask of the worker was bought, its asks were
//! cancelled, it left its master) or that expired ([`Relay::prune`], run by [`Relay::run`]).

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, Bytes, FixedBytes},
    providers::{DynProvider, Provider},
    sol_types::Eip712Domain,
};
use axum::{
    Json,
    body::Bytes as Body,
    extract::State,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use snm_sdk::market::{SignedAsk, SignedAskError, signed};

use super::{ApiError, AppState};
use crate::{Database, IndexerError};

#[allow(missing_docs, unreachable_pub, missing_debug_implementations)]
mod calls {
    alloy::sol! {
        #[sol(rpc)]
        interface RelayReads {
            function askNonce(address worker) external view returns (uint256);
            function masterOf(address worker) external view returns (address);
        }

        #[sol(rpc)]
        interface Erc1271 {
            function isValidSignature(bytes32 hash, bytes signature) external view returns (bytes4);
        }
    }
}

/// EIP-1271's "valid signature" answer.
const EIP1271_MAGIC: FixedBytes<4> = FixedBytes([0x16, 0x26, 0xba, 0x7e]);

/// Why the relay could not decide on an ask (the node failed), as opposed to refusing it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// A read of the chain failed.
    #[error("reading {what} from the node failed")]
    Node {
        /// What was read.
        what: &'static str,
        /// The node's error.
        #[source]
        source: alloy::contract::Error,
    },
    /// The node did not answer a block request.
    #[error("reading the latest block from the node failed")]
    Block(#[source] alloy::transports::TransportError),
    /// The node has no latest block.
    #[error("the node has no latest block")]
    NoBlock,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] IndexerError),
}

/// What the relay reads from the chain: the market's signing domain, nonces, worker links and
/// contract masters' EIP-1271 answers.
#[derive(Clone, Debug)]
pub struct Relay {
    provider: DynProvider,
    market: Address,
    domain: Eip712Domain,
}

/// What `POST /v1/asks` answers for an accepted ask.
#[derive(Debug, Serialize)]
struct Accepted {
    /// The worker.
    worker: Address,
    /// The nonce it was signed for.
    nonce: u64,
    /// Whether it replaced an ask of the same worker and nonce (a new price).
    replaced: bool,
}

impl Relay {
    /// A relay for the market at `market` on chain `chain_id`, reading through `provider`.
    pub fn new(provider: DynProvider, chain_id: u64, market: Address) -> Self {
        Self { provider, market, domain: signed::domain(chain_id, market) }
    }

    async fn now(&self) -> Result<u64, RelayError> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(RelayError::Block)?
            .ok_or(RelayError::NoBlock)?;
        Ok(block.header.timestamp)
    }

    async fn ask_nonce(&self, worker: Address) -> Result<u64, RelayError> {
        let reads = calls::RelayReads::new(self.market, &self.provider);
        let nonce = reads
            .askNonce(worker)
            .call()
            .await
            .map_err(|source| RelayError::Node { what: "the worker's ask nonce", source })?;
        Ok(nonce.saturating_to())
    }

    async fn master_of(&self, worker: Address) -> Result<Address, RelayError> {
        calls::RelayReads::new(self.market, &self.provider)
            .masterOf(worker)
            .call()
            .await
            .map_err(|source| RelayError::Node { what: "the worker's master", source })
    }

    /// Whether `master` is a contract whose EIP-1271 check accepts `signature` of `digest`.
    async fn wallet_accepts(
        &self,
        master: Address,
        digest: B256,
        signature: &Bytes,
    ) -> Result<bool, RelayError> {
        let code = self
            .provider
            .get_code_at(master)
            .await
            .map_err(|source| RelayError::Node { what: "the master's code", source: source.into() })?;
        if code.is_empty() {
            return Ok(false);
        }
        // A wallet that reverts or answers anything else refuses.
        let answer = calls::Erc1271::new(master, &self.provider)
            .isValidSignature(digest, signature.clone())
            .call()
            .await;
        Ok(answer.is_ok_and(|magic| magic == EIP1271_MAGIC))
    }

    /// Checks `ask` as the market would take it now; `Ok(Err(refusal))` names what is wrong.
    async fn check(&self, ask: &SignedAsk) -> Result<Result<(), ApiError>, RelayError> {
        let master = ask.ask.master;
        match ask.verify(&self.domain) {
            Ok(()) => {}
            Err(SignedAskError::HighS { .. }) => {
                return Ok(Err(ApiError::bad("signature", SignedAskError::HighS { master }.to_string())));
            }
            Err(refused) => {
                if !self.wallet_accepts(master, ask.digest(&self.domain), &ask.signature).await? {
                    let reason = match refused {
                        SignedAskError::NotSignedByMaster { signer, .. } => format!(
                            "the ask is signed by {signer}, not by its master {master} (nor accepted by an EIP-1271 wallet at {master})"
                        ),
                        other => format!("{other}, and {master} is no EIP-1271 wallet accepting it"),
                    };
                    return Ok(Err(ApiError::bad("signature", reason)));
                }
            }
        }
        let worker = ask.ask.worker;
        let (now, linked, nonce) =
            tokio::try_join!(self.now(), self.master_of(worker), self.ask_nonce(worker))?;
        if let Some(expiry) = ask.ask.expiry
            && expiry <= now
        {
            return Ok(Err(ApiError::bad(
                "expiry",
                format!(
                    "the ask expires at {expiry}, not after the latest block's time {now}: it cannot be taken"
                ),
            )));
        }
        if linked != master {
            return Ok(Err(ApiError::bad(
                "worker",
                format!(
                    "worker {worker} is not a confirmed worker of {master} (its master on chain: {linked})"
                ),
            )));
        }
        if ask.nonce != nonce {
            return Ok(Err(ApiError::bad(
                "nonce",
                format!(
                    "the ask is signed for nonce {}, but worker {worker}'s current ask nonce is {nonce}",
                    ask.nonce
                ),
            )));
        }
        Ok(Ok(()))
    }

    /// Drops the stored asks that expired or whose worker's nonce moved on; returns how many.
    pub async fn prune(&self, db: &Database) -> Result<u64, RelayError> {
        let now = self.now().await?;
        let mut dropped = db.drop_expired_signed_asks(now).await?;
        for (worker, lowest) in db.signed_ask_workers().await? {
            let current = self.ask_nonce(worker).await?;
            if lowest < current {
                dropped += db.drop_stale_signed_asks(worker, current).await?;
            }
        }
        Ok(dropped)
    }

    /// Prunes every `interval`, for ever (a failed round is logged and tried again).
    pub async fn run(self, db: Database, interval: Duration) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match self.prune(&db).await {
                Ok(0) => {}
                Ok(dropped) => tracing::debug!(dropped, "signed asks dropped"),
                Err(error) => tracing::warn!(error = %error, "pruning signed asks failed"),
            }
        }
    }
}

impl From<RelayError> for ApiError {
    fn from(error: RelayError) -> Self {
        match error {
            RelayError::Database(error) => Self::internal(&error),
            other => Self::unavailable(&other),
        }
    }
}

/// `POST /v1/asks`: checks and stores a signed ask (the SDK's `SignedAsk` as JSON).
pub(super) async fn post(State(state): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let Some(relay) = &state.relay else {
        return Err(ApiError::not_found(
            "this indexer relays no signed asks (it was started without a node)",
        ));
    };
    let ask: SignedAsk = serde_json::from_slice(&body).map_err(|error| {
        ApiError::bad(
            "body",
            format!("the body is not a signed ask (the SDK's `SignedAsk` as JSON): {error}"),
        )
    })?;
    relay.check(&ask).await??;
    let replaced = state.db.put_signed_ask(&ask).await?;
    tracing::debug!(worker = %ask.ask.worker, nonce = ask.nonce, replaced, "signed ask relayed");
    Ok(Json(Accepted { worker: ask.ask.worker, nonce: ask.nonce, replaced }).into_response())
}
