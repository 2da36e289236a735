//! The market's signed asks (see [`crate::market::signed`]): signing one for the worker's current
//! nonce, taking one, cancelling a worker's, and the close that pays the master out at once.
//! These calls go to the market's address with `MarketSignedAsks`'s ABI (the market's fallback
//! runs them); their refusals decode as the market's errors, or as [`SignedAskRefusal`].

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
    signers::Signer,
    sol_types::Eip712Domain,
};
use serde::{Deserialize, Serialize};

use super::MarketService;
use crate::{
    Error,
    bindings::{IMarket, Market, MarketSignedAsks, signed_asks},
    error::Target,
    market::{
        Ask, Bid, DealClosed, DealId, DealOpened, PlacedBid, Purchase,
        signed::{self, SignedAsk},
    },
    tx,
    units::Snm,
};

/// A deal closed by [`MarketService::close_deal_and_withdraw`], and what it paid out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedAndPaidOut {
    /// The close, with its final settlement.
    pub closed: DealClosed,
    /// The caller's earnings sent out, this deal's payment included.
    pub paid_out: Snm,
}

/// The market's refusals that only signed asks meet, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedAskRefusal {
    /// The signature is not the master's (wrong key, changed field, malleable, or refused by the
    /// master's EIP-1271 wallet).
    InvalidAskSignature(MarketSignedAsks::InvalidAskSignature),
    /// The ask's nonce is not the worker's current one: taken, cancelled, or the worker left its
    /// master since it was signed.
    StaleAskNonce(MarketSignedAsks::StaleAskNonce),
    /// The caller may not cancel this worker's signed asks.
    NotAskSigner(MarketSignedAsks::NotAskSigner),
}

impl SignedAskRefusal {
    /// The refusal in `error`, when it is one of these (the rest are the market's own errors,
    /// decoded as [`Error::Market`]).
    pub(crate) fn from_errors(error: MarketSignedAsks::MarketSignedAsksErrors) -> Option<Self> {
        use MarketSignedAsks::MarketSignedAsksErrors as E;
        match error {
            E::InvalidAskSignature(e) => Some(Self::InvalidAskSignature(e)),
            E::StaleAskNonce(e) => Some(Self::StaleAskNonce(e)),
            E::NotAskSigner(e) => Some(Self::NotAskSigner(e)),
            // Every other error of the signed-ask code is one of the market's, with the same
            // selector: it is decoded as the market's.
            _ => None,
        }
    }
}

impl std::fmt::Display for SignedAskRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidAskSignature(e) => write!(
                f,
                "the ask's signature is not its master {}'s (another key, a field changed since it was \
                 signed, a malleable signature, or the master's wallet refused it)",
                e.master
            ),
            Self::StaleAskNonce(e) => write!(
                f,
                "the ask was signed for nonce {} of worker {}, whose nonce is now {}: it was taken, \
                 cancelled, or the worker left its master since; ask the supplier for a fresh one",
                e.nonce, e.worker, e.current
            ),
            Self::NotAskSigner(e) => write!(
                f,
                "{} may not cancel the signed asks of worker {}: only its master or the worker itself \
                 while confirmed",
                e.caller, e.worker
            ),
        }
    }
}

/// Gas limit of every `quickBuySigned`: its path measured on a devnet (a new customer's
/// first deal, a master whose EIP-1271 check is an ECDSA recovery) plus about 20 %; see
/// `sdk/tests/signed_asks.rs`.
pub const QUICK_BUY_SIGNED_GAS_LIMIT: u64 = 165_000;

/// Gas limit of every `openDealSigned`: its path measured on a devnet (a new customer's first
/// deal over its bid's record, in `sdk/tests/signed_asks.rs`) plus about 20 %.
pub const OPEN_DEAL_SIGNED_GAS_LIMIT: u64 = 160_000;

/// Gas limit of every `closeDealAndWithdraw`: like `closeDeal`, its path grows with the time it is
/// mined (the final settlement, the payout); its costliest path measured plus about 20 %.
pub const CLOSE_AND_WITHDRAW_GAS_LIMIT: u64 = 146_000;

/// `ask` as the signed-ask binding's own copy of the market's `Ask` struct.
pub fn signed_binding_ask(ask: &Ask) -> signed_asks::IMarket::Ask {
    let a = IMarket::Ask::from(ask);
    let r = a.resources;
    signed_asks::IMarket::Ask {
        master: a.master,
        worker: a.worker,
        resources: signed_asks::IMarket::Resources {
            cpuMilliCores: r.cpuMilliCores,
            ramBytes: r.ramBytes,
            storageBytes: r.storageBytes,
            gpuCount: r.gpuCount,
            gpuMemBytes: r.gpuMemBytes,
            netUpBps: r.netUpBps,
            netDownBps: r.netDownBps,
        },
        netFlags: a.netFlags,
        region: a.region,
        pricePerSecond: a.pricePerSecond,
        minDuration: a.minDuration,
        maxDuration: a.maxDuration,
        expiry: a.expiry,
        counterparty: a.counterparty,
    }
}

/// `bid` as the signed-ask binding's own copy of the market's `Bid` struct.
pub fn signed_binding_bid(bid: &Bid) -> signed_asks::IMarket::Bid {
    let b = IMarket::Bid::from(bid);
    let r = b.minResources;
    signed_asks::IMarket::Bid {
        customer: b.customer,
        minResources: signed_asks::IMarket::Resources {
            cpuMilliCores: r.cpuMilliCores,
            ramBytes: r.ramBytes,
            storageBytes: r.storageBytes,
            gpuCount: r.gpuCount,
            gpuMemBytes: r.gpuMemBytes,
            netUpBps: r.netUpBps,
            netDownBps: r.netDownBps,
        },
        requiredFlags: b.requiredFlags,
        region: b.region,
        maxPricePerSecond: b.maxPricePerSecond,
        duration: b.duration,
        deposit: b.deposit,
        expiry: b.expiry,
        counterparty: b.counterparty,
        image: b.image,
        configHash: b.configHash,
    }
}

impl<P: Provider + Clone> MarketService<P> {
    /// The market's EIP-712 domain on the connected chain.
    pub async fn signing_domain(&self) -> Result<Eip712Domain, Error> {
        Ok(signed::domain(self.client().chain_id().await?, self.address()))
    }

    /// The ask nonce the next signed ask of `worker` must carry.
    pub async fn ask_nonce(&self, worker: Address) -> Result<u64, Error> {
        let nonce =
            MarketSignedAsks::new(self.address(), self.client().provider()).askNonce(worker).call().await?;
        Ok(nonce.saturating_to())
    }

    /// Signs `ask` with `signer` (its master's key) for the worker's current nonce: nothing is sent.
    pub async fn sign_ask<S: Signer + Send + Sync + ?Sized>(
        &self,
        signer: &S,
        ask: Ask,
    ) -> Result<SignedAsk, Error> {
        let domain = self.signing_domain().await?;
        let nonce = self.ask_nonce(ask.worker).await?;
        Ok(SignedAsk::sign(signer, ask, nonce, &domain).await?)
    }

    /// Takes a signed ask: a deal for `purchase.term` paid by `purchase.deposit` from the sender's
    /// free balance in the escrow (deposit first: [`crate::Customer::deposit`]). The market checks
    /// the ask as it checks a placed one, plus its signature and nonce; a refusal is decoded before
    /// anything is sent.
    pub async fn quick_buy_signed(&self, ask: &SignedAsk, purchase: &Purchase) -> Result<DealOpened, Error> {
        let call = MarketSignedAsks::quickBuySignedCall {
            ask: signed_binding_ask(&ask.ask),
            nonce: U256::from(ask.nonce),
            signature: ask.signature.clone(),
            duration: U256::from(purchase.term.secs()),
            deposit_: purchase.deposit.wei(),
            image: purchase.image.clone(),
            configHash: purchase.config_hash,
        };
        Ok((&self.client().send_event::<Market::DealOpened>(Target::SignedAsks, call).await?).into())
    }

    /// Matches a customer's placed bid with a signed ask (the bid side of a signed deal; anyone
    /// may send it): the deal takes the bid's id and its deposit from the customer's free balance,
    /// as [`Self::open_deal`] does with a placed ask, after the ask's signature and nonce are
    /// checked. A refusal is decoded before anything is sent.
    pub async fn open_deal_signed(&self, ask: &SignedAsk, bid: &PlacedBid) -> Result<DealOpened, Error> {
        let call = MarketSignedAsks::openDealSignedCall {
            ask: signed_binding_ask(&ask.ask),
            nonce: U256::from(ask.nonce),
            signature: ask.signature.clone(),
            bidId: bid.id.word(),
            bid: signed_binding_bid(&bid.bid),
        };
        Ok((&self.client().send_event::<Market::DealOpened>(Target::SignedAsks, call).await?).into())
    }

    /// Voids every ask signed for `worker` so far (by its master, or the worker while confirmed).
    pub async fn cancel_signed_asks(&self, worker: Address) -> Result<(), Error> {
        let call = MarketSignedAsks::cancelSignedAsksCall { worker };
        self.client().send_event::<MarketSignedAsks::SignedAsksCancelled>(Target::SignedAsks, call).await?;
        Ok(())
    }

    /// Closes a deal as [`Self::close_deal`] does (without blacklisting), then sends every
    /// earning of the sender to `to`, in one transaction; the deal's storage is cleared (its
    /// `DealClosed` event is the record). Returns the close and the amount paid out (zero when
    /// the sender had no earnings, the customer closing, say: nothing is sent then).
    pub async fn close_deal_and_withdraw(
        &self,
        deal: DealId,
        to: Address,
    ) -> Result<ClosedAndPaidOut, Error> {
        let call = MarketSignedAsks::closeDealAndWithdrawCall { dealId: deal.word(), to };
        let receipt = self.client().send_to(Target::SignedAsks, call).await?;
        let market = self.address();
        let closed: Market::DealClosed = tx::event(&receipt, market)?;
        let paid_out = tx::events::<Market::EarningsWithdrawn>(&receipt, market)
            .next()
            .map_or(Snm::ZERO, |withdrawn| Snm::from_wei(withdrawn.amount));
        Ok(ClosedAndPaidOut { closed: (&closed).into(), paid_out })
    }
}
