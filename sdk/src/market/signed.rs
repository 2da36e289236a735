//! Signed asks: a supplier's offer signed off chain with EIP-712 instead of placed by a transaction,
//! so that placing and re-pricing it cost no gas. A customer takes one with
//! [`MarketService::quick_buy_signed`](crate::services::MarketService::quick_buy_signed); the market
//! checks the signature (or asks the master's EIP-1271 wallet) and the worker's ask nonce, which
//! every take, [`MarketService::cancel_signed_asks`](crate::services::MarketService::cancel_signed_asks)
//! and the worker's removal from its master move on (see `contracts/src/interfaces/ISignedAsks.sol`).
//!
//! The typed data is the contract's: domain `SNM Market`, version `1`, the chain id and the market's
//! address; type `Ask` with the fields of [`Ask`] plus `uint256 nonce`, and its `Resources`.

use alloy::{
    primitives::{Address, B256, Bytes, Signature, SignatureError, U256},
    signers::Signer,
    sol_types::{Eip712Domain, SolStruct},
};
use serde::{Deserialize, Serialize};

use super::Ask;
use crate::bindings::IMarket;

/// The EIP-712 types, as the market hashes them.
#[allow(missing_docs, unreachable_pub, missing_debug_implementations)]
mod typed {
    alloy::sol! {
        struct Resources {
            uint64 cpuMilliCores;
            uint64 ramBytes;
            uint64 storageBytes;
            uint64 gpuCount;
            uint64 gpuMemBytes;
            uint64 netUpBps;
            uint64 netDownBps;
        }

        struct Ask {
            address master;
            address worker;
            Resources resources;
            uint64 netFlags;
            uint32 region;
            uint256 pricePerSecond;
            uint64 minDuration;
            uint64 maxDuration;
            uint64 expiry;
            address counterparty;
            uint256 nonce;
        }
    }
}

/// The EIP-712 domain name of the market.
pub const DOMAIN_NAME: &str = "SNM Market";
/// The EIP-712 domain version of the market.
pub const DOMAIN_VERSION: &str = "1";

/// The market's EIP-712 domain on chain `chain_id` at `market`.
pub fn domain(chain_id: u64, market: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(DOMAIN_NAME.into()),
        Some(DOMAIN_VERSION.into()),
        Some(U256::from(chain_id)),
        Some(market),
        None,
    )
}

/// Why a signed ask is refused off chain (before anything is sent).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignedAskError {
    /// The signing key is not the ask's master (only the master signs its asks).
    #[error("the ask's master is {master}, but the key signing it is {signer}: sign with the master's key")]
    SignerNotMaster {
        /// The ask's master.
        master: Address,
        /// The key's address.
        signer: Address,
    },
    /// The signer failed.
    #[error("signing the ask failed")]
    Sign(#[source] alloy::signers::Error),
    /// The signature is not 65 well-formed bytes, or recovers no address.
    #[error("the signature of the ask of {master} is malformed")]
    Malformed {
        /// The ask's master.
        master: Address,
        /// What is wrong with it.
        #[source]
        source: SignatureError,
    },
    /// The signature's `s` is in the upper half of the curve order: the market refuses such
    /// (malleable) signatures.
    #[error("the signature of the ask of {master} has a high s value (malleable): the market refuses it")]
    HighS {
        /// The ask's master.
        master: Address,
    },
    /// The signature recovers to another address than the ask's master (for a master that is a
    /// contract wallet, only the market can check it, through EIP-1271).
    #[error("the ask is signed by {signer}, not by its master {master}")]
    NotSignedByMaster {
        /// The ask's master.
        master: Address,
        /// Who signed.
        signer: Address,
    },
}

/// An ask signed by its master for the worker's ask nonce `nonce`: what a supplier publishes, and
/// what a customer takes with [`MarketService::quick_buy_signed`](crate::services::MarketService::quick_buy_signed).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignedAsk {
    /// The ask's fields.
    pub ask: Ask,
    /// The worker's ask nonce it was signed for.
    pub nonce: u64,
    /// The master's signature of [`SignedAsk::digest`] (65 bytes: r, s, v), or what its EIP-1271
    /// wallet accepts.
    pub signature: Bytes,
}

/// The EIP-712 digest of `ask` with `nonce`, as the market's `hashSignedAsk` computes it.
pub fn digest(ask: &Ask, nonce: u64, domain: &Eip712Domain) -> B256 {
    let on_chain = IMarket::Ask::from(ask);
    let r = &on_chain.resources;
    typed::Ask {
        master: on_chain.master,
        worker: on_chain.worker,
        resources: typed::Resources {
            cpuMilliCores: r.cpuMilliCores,
            ramBytes: r.ramBytes,
            storageBytes: r.storageBytes,
            gpuCount: r.gpuCount,
            gpuMemBytes: r.gpuMemBytes,
            netUpBps: r.netUpBps,
            netDownBps: r.netDownBps,
        },
        netFlags: on_chain.netFlags,
        region: on_chain.region,
        pricePerSecond: on_chain.pricePerSecond,
        minDuration: on_chain.minDuration,
        maxDuration: on_chain.maxDuration,
        expiry: on_chain.expiry,
        counterparty: on_chain.counterparty,
        nonce: U256::from(nonce),
    }
    .eip712_signing_hash(domain)
}

/// Half the secp256k1 group order: the largest `s` the market accepts (EIP-2).
const HALF_ORDER: U256 = U256::from_limbs([
    0xDFE9_2F46_681B_20A0,
    0x5D57_6E73_57A4_501D,
    0xFFFF_FFFF_FFFF_FFFF,
    0x7FFF_FFFF_FFFF_FFFF,
]);

impl SignedAsk {
    /// Signs `ask` for the worker's ask nonce `nonce` with `signer`, which must be the ask's master;
    /// the result is checked as [`SignedAsk::verify`] checks it.
    pub async fn sign<S: Signer + Send + Sync + ?Sized>(
        signer: &S,
        ask: Ask,
        nonce: u64,
        domain: &Eip712Domain,
    ) -> Result<Self, SignedAskError> {
        if signer.address() != ask.master {
            return Err(SignedAskError::SignerNotMaster { master: ask.master, signer: signer.address() });
        }
        let signature = signer.sign_hash(&digest(&ask, nonce, domain)).await.map_err(SignedAskError::Sign)?;
        let signed = Self { ask, nonce, signature: Bytes::copy_from_slice(&signature.as_bytes()) };
        signed.verify(domain)?;
        Ok(signed)
    }

    /// This ask's EIP-712 digest under `domain`.
    pub fn digest(&self, domain: &Eip712Domain) -> B256 {
        digest(&self.ask, self.nonce, domain)
    }

    /// Checks that the signature is the master's own key's, in the low-`s` form the market accepts.
    /// A master that is a contract wallet signs through EIP-1271, which only the chain can check:
    /// such an ask fails here with [`SignedAskError::NotSignedByMaster`] and is left to the market.
    /// The nonce and the worker's link are the chain's state: the market checks them when the ask is
    /// taken.
    pub fn verify(&self, domain: &Eip712Domain) -> Result<(), SignedAskError> {
        let master = self.ask.master;
        let signature = Signature::try_from(self.signature.as_ref())
            .map_err(|source| SignedAskError::Malformed { master, source })?;
        if signature.s() > HALF_ORDER {
            return Err(SignedAskError::HighS { master });
        }
        let signer = signature
            .recover_address_from_prehash(&self.digest(domain))
            .map_err(|source| SignedAskError::Malformed { master, source })?;
        if signer != master {
            return Err(SignedAskError::NotSignedByMaster { master, signer });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloy::signers::local::PrivateKeySigner;

    use super::*;
    use crate::units::UsdPerSecond;

    fn domain_here() -> Eip712Domain {
        domain(31337, Address::repeat_byte(0x11))
    }

    fn ask_of(master: Address) -> Ask {
        Ask::new(
            master,
            Address::repeat_byte(0x22),
            UsdPerSecond::from_scaled(U256::from(100_000_000_000_000u64)),
        )
    }

    #[tokio::test]
    async fn a_signed_ask_verifies_and_any_change_breaks_it() {
        let master = PrivateKeySigner::random();
        let signed = SignedAsk::sign(&master, ask_of(master.address()), 3, &domain_here()).await.unwrap();
        signed.verify(&domain_here()).unwrap();

        let mut repriced = signed.clone();
        repriced.ask.price = UsdPerSecond::from_scaled(U256::from(1u64));
        assert!(matches!(repriced.verify(&domain_here()), Err(SignedAskError::NotSignedByMaster { .. })));
        let mut other_nonce = signed.clone();
        other_nonce.nonce = 4;
        assert!(matches!(other_nonce.verify(&domain_here()), Err(SignedAskError::NotSignedByMaster { .. })));
        let other_market = domain(31337, Address::repeat_byte(0x12));
        assert!(matches!(signed.verify(&other_market), Err(SignedAskError::NotSignedByMaster { .. })));
    }

    #[tokio::test]
    async fn only_the_master_signs_and_malleable_or_malformed_signatures_fail() {
        let master = PrivateKeySigner::random();
        let other = PrivateKeySigner::random();
        let refused = SignedAsk::sign(&other, ask_of(master.address()), 0, &domain_here()).await;
        assert!(matches!(refused, Err(SignedAskError::SignerNotMaster { .. })));

        let signed = SignedAsk::sign(&master, ask_of(master.address()), 0, &domain_here()).await.unwrap();
        // The malleable twin: s' = n - s with the other parity.
        let signature = Signature::try_from(signed.signature.as_ref()).unwrap();
        let order = HALF_ORDER * U256::from(2u8) + U256::from(1u8);
        let twin = Signature::new(signature.r(), order - signature.s(), !signature.v());
        let malleable = SignedAsk { signature: Bytes::copy_from_slice(&twin.as_bytes()), ..signed.clone() };
        assert!(matches!(malleable.verify(&domain_here()), Err(SignedAskError::HighS { .. })));

        let short = SignedAsk { signature: Bytes::copy_from_slice(&signed.signature[..64]), ..signed };
        assert!(matches!(short.verify(&domain_here()), Err(SignedAskError::Malformed { .. })));
    }

    #[test]
    fn half_order_is_half_of_secp256k1s_order() {
        let order: U256 =
            "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141".parse().unwrap();
        assert_eq!(HALF_ORDER, order / U256::from(2u8));
    }
}
