//! The running agent's signed asks (`publish = "signed"`): instead of placing a transaction per
//! ask, the agent prices each ask whose worker is free with its [`Pricer`] (the fixed price, or
//! the market followed within floor and cap, decided again at most every `pricing.every`), signs
//! it with the master's key and posts it to the market data service's relay
//! ([`SignedAskPublisher`]). It posts only a new price or a new ask nonce (the worker's deal moved
//! it on): re-pricing costs no gas, and an unchanged ask costs one `askNonce` read every
//! [`RECHECK`].

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{primitives::Address, providers::Provider, signers::Signer};
use snm_sdk::{market::Ask, units::UsdPerSecond};

use crate::{
    Action, AgentError, AgentEvent, AskTemplate, SupplierAgent,
    pricing::Pricer,
    runtime::Runtime,
    signed_ask_publisher::{PublishError, SignedAskPublisher},
};

/// How often an ask that did not change is checked against the worker's nonce (a cancellation
/// by another program of the master's moves it on): the agent then signs it again.
const RECHECK: Duration = Duration::from_secs(60);

/// The master's key, as the agent signs asks with it.
pub type AskSigner = Arc<dyn Signer + Send + Sync>;

/// What the agent keeps to publish its signed asks.
pub(crate) struct SignedAsks {
    signer: Option<AskSigner>,
    publisher: SignedAskPublisher,
    /// One per ask template: each remembers its own last reading of the market.
    pricers: Vec<Pricer>,
    /// Per ask template: the price last found on the relay for the worker's current nonce, and
    /// when; `None` while its worker is busy, or before the first publication.
    posted: Vec<Option<(UsdPerSecond, Instant)>>,
}

impl fmt::Debug for SignedAsks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedAsks")
            .field("signer", &self.signer.as_ref().map(|s| s.address()))
            .field("publisher", &self.publisher)
            .field("pricers", &self.pricers)
            .field("posted", &self.posted)
            .finish()
    }
}

impl SignedAsks {
    /// The publisher of `config`'s asks when they are signed (`publish = "signed"`), else `None`.
    pub(crate) fn of(config: &crate::AgentConfig) -> Result<Option<Self>, PublishError> {
        let publishing = &config.publishing;
        let (crate::publishing_config::PublishMode::Signed, Some(indexer)) =
            (publishing.publish, &publishing.indexer)
        else {
            return Ok(None);
        };
        Ok(Some(Self {
            signer: None,
            publisher: SignedAskPublisher::new(indexer)?,
            pricers: config
                .asks
                .iter()
                .map(|_| Pricer::new(publishing.pricing, Some(indexer.clone())))
                .collect(),
            posted: vec![None; config.asks.len()],
        }))
    }

    /// Whether `worker` has a signed ask on the relay, as far as the agent knows.
    pub(crate) fn offers(&self, asks: &[AskTemplate], worker: Address) -> bool {
        asks.iter().zip(&self.posted).any(|(template, posted)| template.worker == worker && posted.is_some())
    }
}

impl<P: Provider + Clone, R: Runtime> SupplierAgent<P, R> {
    /// Gives the agent the master's key to sign its asks with (needed by `publish = "signed"`;
    /// the `snm-agent` program passes its `--key`). Refused when `signer` is not the master's
    /// key: the market takes a signed ask from its master only.
    pub fn with_ask_signer(mut self, signer: AskSigner) -> Result<Self, AgentError> {
        let master = self.supplier.master();
        if signer.address() != master {
            return Err(AgentError::AskSignerNotMaster { master, signer: signer.address() });
        }
        if let Some(signed) = &mut self.signed_asks {
            signed.signer = Some(signer);
        }
        Ok(self)
    }

    /// Prices, signs and posts the ask of each template whose worker is free, when its price or
    /// its worker's nonce changed (see the [module](self) documentation).
    pub(crate) async fn publish_signed_asks(&mut self, out: &mut Vec<AgentEvent>) -> Result<(), AgentError> {
        let master = self.supplier.master();
        let Some(signed) = &mut self.signed_asks else { return Ok(()) };
        let Some(signer) = signed.signer.clone() else {
            return Err(AgentError::NoAskSigner { master });
        };
        let mut failures = Vec::new();
        for (index, template) in self.config.asks.iter().enumerate() {
            if self.state.open_deal_on(template.worker).is_some() {
                // Its deal moves the nonce on: the ask is signed again once the worker is free.
                signed.posted[index] = None;
                continue;
            }
            let action = Action::PlaceAsk(index);
            if !self.retries.due(&action) {
                continue;
            }
            let price = match signed.pricers[index].price(template, master).await {
                Ok(price) => price,
                Err(error) => {
                    failures.push((action, "reading the market's prices".to_owned(), describe(&error)));
                    continue;
                }
            };
            if signed.posted[index].is_some_and(|(posted, at)| posted == price && at.elapsed() < RECHECK) {
                continue;
            }
            let ask = match template.ask(master) {
                Ok(ask) => Ask { price, ..ask },
                Err(error) => {
                    failures.push((action, "building an ask".to_owned(), describe(&error)));
                    continue;
                }
            };
            match signed.publisher.publish(self.supplier.market(), signer.as_ref(), ask).await {
                Ok(posted) => {
                    self.retries.succeed(&action);
                    signed.posted[index] = Some((price, Instant::now()));
                    if let Some(posted) = posted {
                        out.push(AgentEvent::AskPublished {
                            worker: template.worker,
                            price: price.to_per_hour(),
                            nonce: posted.nonce,
                        });
                    }
                }
                Err(error) => failures.push((
                    action,
                    format!("publishing the signed ask of worker {}", template.worker),
                    describe(&error),
                )),
            }
        }
        for (action, doing, error) in failures {
            let retry_in = self.retries.fail(action);
            out.push(AgentEvent::Retrying { doing, error, retry_in });
        }
        Ok(())
    }
}

/// An error with its causes, for the log.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
