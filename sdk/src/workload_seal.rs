//! Sealing a [`SignedWorkloadConfig`] to the agent's key for the deal, so that only that agent
//! reads the environment and secrets that cross the network.
//!
//! The agent makes an X25519 key per deal ([`ConfigKey`]) and announces its public half with the
//! configuration address (`config+http://ip:port/deals/<id>/config#x25519=<64 hex digits>`):
//! the announcement is a transaction from the deal's worker, so the chain vouches for the key. The
//! customer ([`SealedWorkloadConfig::seal`]) makes a one-time X25519 key, derives a key shared with
//! the agent's (keccak-256 of a label, the Diffie-Hellman secret and both public keys), and
//! encrypts the signed configuration with ChaCha20-Poly1305, the market and deal as associated
//! data. The agent ([`ConfigKey::open`]) decrypts it (any change to the ciphertext, a wrong key or
//! another deal fail the tag check), then checks signature and hash as for any configuration.
//!
//! ```
//! use alloy::{primitives::Address, signers::local::PrivateKeySigner};
//! use snm_sdk::{market::DealId, workload_config::{SignedWorkloadConfig, WorkloadConfig},
//!     workload_seal::{ConfigKey, SealedWorkloadConfig}};
//! # tokio_test_block_on(async {
//! let (customer, market, deal) = (PrivateKeySigner::random(), Address::repeat_byte(1), DealId(5));
//! let config = WorkloadConfig::default().secret("TOKEN", "s3cr3t");
//! let signed = SignedWorkloadConfig::sign(config, market, deal, &customer).await.unwrap();
//! let agent = ConfigKey::generate().unwrap();
//! let sealed = SealedWorkloadConfig::seal(&signed, &agent.public()).unwrap();
//! assert!(!serde_json::to_string(&sealed).unwrap().contains("s3cr3t"));
//! assert_eq!(agent.open(&sealed, market, deal).unwrap(), signed);
//! # });
//! # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

use alloy::primitives::{Address, B256, Bytes, FixedBytes, keccak256};
use chacha20poly1305::{
    ChaCha20Poly1305, KeyInit,
    aead::{Aead, Payload},
};
use serde::{Deserialize, Serialize};
use x25519_dalek::{PublicKey, StaticSecret};

use crate::{
    market::DealId,
    workload_config::{SignedWorkloadConfig, WorkloadConfigError},
};

/// What follows the configuration address in an announced endpoint: the agent's public key for
/// the deal, 64 hex digits.
pub const KEY_FRAGMENT: &str = "#x25519=";

/// `N` random bytes from the operating system.
fn random<const N: usize>() -> Result<[u8; N], WorkloadConfigError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| WorkloadConfigError::Random(std::io::Error::from(e)))?;
    Ok(bytes)
}

/// Labels the derivation of the encryption key (so it serves for nothing else).
const KEY_LABEL: &[u8] = b"SNM workload configuration seal v1";

/// An agent's X25519 key for one deal's configuration.
#[derive(Clone)]
pub struct ConfigKey {
    secret: StaticSecret,
}

impl std::fmt::Debug for ConfigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigKey").field("public", &B256::from(self.public())).finish_non_exhaustive()
    }
}

impl ConfigKey {
    /// A new random key.
    pub fn generate() -> Result<Self, WorkloadConfigError> {
        Ok(Self::from_bytes(random()?))
    }

    /// The key whose secret is `bytes` (as [`to_bytes`](Self::to_bytes) gave them).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self { secret: StaticSecret::from(bytes) }
    }

    /// The secret, to keep it (readable by the agent only).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    /// The public key, announced.
    pub fn public(&self) -> [u8; 32] {
        PublicKey::from(&self.secret).to_bytes()
    }

    /// [`KEY_FRAGMENT`] and the public key: what the agent appends to the configuration address.
    pub fn fragment(&self) -> String {
        format!("{KEY_FRAGMENT}{}", alloy::hex::encode(self.public()))
    }

    /// Decrypts a configuration sealed to this key for `deal` on `market`; refuses one changed
    /// in any byte, sealed to another key, or for another deal.
    pub fn open(
        &self,
        sealed: &SealedWorkloadConfig,
        market: Address,
        deal: DealId,
    ) -> Result<SignedWorkloadConfig, WorkloadConfigError> {
        let ephemeral = PublicKey::from(sealed.ephemeral.0);
        let shared = self.secret.diffie_hellman(&ephemeral);
        let key = derive_key(shared.as_bytes(), &sealed.ephemeral.0, &self.public());
        let cipher = ChaCha20Poly1305::new(&key.0.into());
        let aad = associated_data(market, deal);
        let plain = cipher
            .decrypt(&sealed.nonce.0.into(), Payload { msg: &sealed.ciphertext, aad: aad.as_bytes() })
            .map_err(|_| WorkloadConfigError::Unsealable { deal })?;
        serde_json::from_slice(&plain).map_err(WorkloadConfigError::NotAConfig)
    }
}

/// A signed configuration encrypted to an agent's [`ConfigKey`]: what crosses the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedWorkloadConfig {
    /// The sender's one-time X25519 public key.
    pub ephemeral: B256,
    /// ChaCha20-Poly1305's nonce.
    pub nonce: FixedBytes<12>,
    /// The signed configuration's JSON, encrypted, with its 16-byte tag.
    pub ciphertext: Bytes,
}

impl SealedWorkloadConfig {
    /// Encrypts `signed` to the agent's public key `recipient`, bound to the deal and market it
    /// is signed for.
    pub fn seal(signed: &SignedWorkloadConfig, recipient: &[u8; 32]) -> Result<Self, WorkloadConfigError> {
        let ephemeral = StaticSecret::from(random::<32>()?);
        let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
        let shared = ephemeral.diffie_hellman(&PublicKey::from(*recipient));
        let key = derive_key(shared.as_bytes(), &ephemeral_public, recipient);
        let cipher = ChaCha20Poly1305::new(&key.0.into());
        let nonce = FixedBytes::<12>::from(random::<12>()?);
        let plain = serde_json::to_vec(signed).map_err(WorkloadConfigError::NotAConfig)?;
        let aad = associated_data(signed.market, signed.deal);
        let ciphertext = cipher
            .encrypt(&nonce.0.into(), Payload { msg: &plain, aad: aad.as_bytes() })
            .map_err(|_| WorkloadConfigError::Unsealable { deal: signed.deal })?;
        Ok(Self { ephemeral: B256::from(ephemeral_public), nonce, ciphertext: ciphertext.into() })
    }
}

/// The agent's public key in an announced configuration endpoint (after [`KEY_FRAGMENT`]), and
/// the endpoint without it; `Ok(None)` when it names no key.
pub fn split_key(endpoint: &str) -> Result<(&str, Option<[u8; 32]>), WorkloadConfigError> {
    let Some((address, hex)) = endpoint.split_once(KEY_FRAGMENT) else { return Ok((endpoint, None)) };
    let bad = || WorkloadConfigError::BadConfigKey(endpoint.to_owned());
    let bytes = alloy::hex::decode(hex).map_err(|_| bad())?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
    Ok((address, Some(key)))
}

fn derive_key(shared: &[u8; 32], ephemeral: &[u8; 32], recipient: &[u8; 32]) -> B256 {
    let mut input = Vec::with_capacity(KEY_LABEL.len() + 96);
    for part in [KEY_LABEL, shared, ephemeral, recipient] {
        input.extend_from_slice(part);
    }
    keccak256(input)
}

fn associated_data(market: Address, deal: DealId) -> String {
    format!("market: {market}\ndeal: {deal}")
}

#[cfg(test)]
mod tests {
    use alloy::signers::local::PrivateKeySigner;

    use super::*;
    use crate::workload_config::WorkloadConfig;

    #[tokio::test]
    async fn only_the_agents_key_opens_and_any_change_is_refused() {
        let (customer, market) = (PrivateKeySigner::random(), Address::repeat_byte(9));
        let config = WorkloadConfig::default().env("MODE", "fast").secret("TOKEN", "hunter2-secret");
        let signed = SignedWorkloadConfig::sign(config, market, DealId(4), &customer).await.unwrap();
        let agent = ConfigKey::generate().unwrap();
        let sealed = SealedWorkloadConfig::seal(&signed, &agent.public()).unwrap();
        let wire = serde_json::to_string(&sealed).unwrap();
        for clear in ["hunter2-secret", "TOKEN", "MODE", "fast"] {
            assert!(!wire.contains(clear), "`{clear}` in {wire}");
        }
        let kept = ConfigKey::from_bytes(agent.to_bytes());
        assert_eq!(kept.open(&sealed, market, DealId(4)).unwrap(), signed);

        let unsealable = |result| matches!(result, Err(WorkloadConfigError::Unsealable { .. }));
        assert!(unsealable(ConfigKey::generate().unwrap().open(&sealed, market, DealId(4))), "another key");
        assert!(unsealable(agent.open(&sealed, market, DealId(5))), "another deal");
        assert!(unsealable(agent.open(&sealed, Address::ZERO, DealId(4))), "another market");
        for at in [0, sealed.ciphertext.len() / 2, sealed.ciphertext.len() - 1] {
            let mut tampered = sealed.clone();
            let mut bytes = tampered.ciphertext.to_vec();
            bytes[at] ^= 1;
            tampered.ciphertext = bytes.into();
            assert!(unsealable(agent.open(&tampered, market, DealId(4))), "byte {at} flipped");
        }

        let endpoint = format!("config+http://10.0.0.1:8750/deals/4/config{}", agent.fragment());
        assert_eq!(
            split_key(&endpoint).unwrap(),
            ("config+http://10.0.0.1:8750/deals/4/config", Some(agent.public()))
        );
        assert_eq!(split_key("config+http://h:1/deals/4/config").unwrap().1, None);
        assert!(matches!(
            split_key("config+http://h:1/x#x25519=abc"),
            Err(WorkloadConfigError::BadConfigKey(_))
        ));
    }
}
