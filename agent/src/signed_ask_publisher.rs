//! Publishing the agent's asks as signed asks through the market data service's relay
//! (`POST /v1/asks` of `snm-indexer`) instead of placing them by transaction: placing and
//! re-pricing cost no gas. An ask is signed again (for the worker's current ask nonce) and posted
//! only when it changed since it was last accepted, or the nonce moved on (it was bought or
//! cancelled).

use std::collections::HashMap;

use alloy::{
    primitives::Address, providers::Provider, signers::Signer, sol_types::Eip712Domain,
    transports::http::reqwest::Url,
};
use snm_sdk::{
    indexer_client::{IndexerClientError, post_signed_ask},
    market::{Ask, SignedAsk, SignedAskError},
    services::MarketService,
};

/// Why a signed ask could not be published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Reading the worker's nonce or the market's domain failed.
    #[error("reading the market for a signed ask failed")]
    Chain(#[source] snm_sdk::Error),
    /// Signing failed (or the key is not the master's).
    #[error("signing the ask failed")]
    Sign(#[source] SignedAskError),
    /// The indexer's URL cannot take the API's path.
    #[error("`{url}` cannot be the indexer's base URL")]
    Url {
        /// The URL given.
        url: Box<Url>,
        /// The parser's error.
        #[source]
        source: url::ParseError,
    },
    /// Posting to the relay failed, or the relay refused the ask of `worker` (the error names
    /// why: [`IndexerClientError::Refused`]).
    #[error("publishing the signed ask of worker {worker} failed")]
    Relay {
        /// The ask's worker.
        worker: Address,
        /// The indexer client's error (boxed: the error stays small).
        #[source]
        source: Box<IndexerClientError>,
    },
}

/// Signs and posts the agent's asks to an indexer's relay, each only when it changed.
#[derive(Debug)]
pub struct SignedAskPublisher {
    indexer: Url,
    domain: Option<Eip712Domain>,
    /// The last ask accepted per worker.
    published: HashMap<Address, SignedAsk>,
}

impl SignedAskPublisher {
    /// A publisher to the indexer at `indexer` (for example `http://127.0.0.1:8680/`).
    pub fn new(indexer: &Url) -> Result<Self, PublishError> {
        // Checked here, so that a bad URL stops the agent at its start, not at its first ask.
        indexer
            .join("v1/asks")
            .map_err(|source| PublishError::Url { url: Box::new(indexer.clone()), source })?;
        Ok(Self { indexer: indexer.clone(), domain: None, published: HashMap::new() })
    }

    /// The last ask the relay accepted for `worker`.
    pub fn published(&self, worker: Address) -> Option<&SignedAsk> {
        self.published.get(&worker)
    }

    /// Publishes `ask`, signed by `signer` (the master's key) for its worker's current nonce,
    /// unless the relay already holds this ask for that nonce; returns the ask posted, `None`
    /// when nothing changed.
    pub async fn publish<P: Provider + Clone, S: Signer + Send + Sync + ?Sized>(
        &mut self,
        market: &MarketService<P>,
        signer: &S,
        ask: Ask,
    ) -> Result<Option<SignedAsk>, PublishError> {
        let worker = ask.worker;
        let nonce = market.ask_nonce(worker).await.map_err(PublishError::Chain)?;
        if self.published.get(&worker).is_some_and(|last| last.nonce == nonce && last.ask == ask) {
            return Ok(None);
        }
        let domain = match &self.domain {
            Some(domain) => domain.clone(),
            None => {
                let domain = market.signing_domain().await.map_err(PublishError::Chain)?;
                self.domain = Some(domain.clone());
                domain
            }
        };
        let signed = SignedAsk::sign(signer, ask, nonce, &domain).await.map_err(PublishError::Sign)?;
        post_signed_ask(&self.indexer, &signed)
            .await
            .map_err(|source| PublishError::Relay { worker, source: Box::new(source) })?;
        self.published.insert(worker, signed.clone());
        Ok(Some(signed))
    }
}
