//! The customer's workload configuration (environment, arguments, secrets), delivered privately
//! to the supplier's agent: only its hash is on chain (the bid's `configHash`).
//!
//! The customer builds a [`WorkloadConfig`], puts its [`hash`](WorkloadConfig::hash) in the bid
//! (`Purchase::config_hash`), and once the deal is open signs it for that deal with the deal's
//! customer key ([`SignedWorkloadConfig::sign`], EIP-191 over [`SignedWorkloadConfig::message`])
//! and posts it ([`deliver`]), sealed to the agent's key for the deal
//! ([`crate::workload_seal`]), to the address the agent announced as the deal's endpoint while it
//! waits for the configuration (`config+http://<worker ip>:<port>/deals/<id>/config#x25519=<key>`,
//! see [`CONFIG_ENDPOINT_SCHEME`]). The agent starts the workload only with a configuration whose
//! signer is the deal's customer and whose hash is the bid's; it then announces the workload's
//! own endpoint in place of the configuration address.
//!
//! ```
//! use snm_sdk::workload_config::WorkloadConfig;
//! let config = WorkloadConfig::default().env("MODE", "fast").secret("TOKEN", "s3cr3t");
//! assert_ne!(config.hash(), alloy::primitives::B256::ZERO);
//! ```

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256, Signature, keccak256},
    signers::Signer,
};
use serde::{Deserialize, Serialize};

use crate::market::DealId;

/// The scheme of an endpoint announced while the agent waits for the deal's configuration.
pub const CONFIG_ENDPOINT_SCHEME: &str = "config+http://";

/// The largest configuration an agent accepts, in bytes of JSON.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// What the customer's workload is started with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    /// Environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Arguments replacing the image's command (none: the image's own).
    #[serde(default)]
    pub args: Vec<String>,
    /// Secrets, given to the workload as environment variables too (kept out of logs).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

impl WorkloadConfig {
    /// With the environment variable `name` set to `value`.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    /// With the secret `name` set to `value`.
    pub fn secret(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.secrets.insert(name.into(), value.into());
        self
    }

    /// With these arguments replacing the image's command.
    pub fn args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Reads an env file: one `NAME=value` a line, `#` comments and blank lines skipped.
    pub fn from_env_file(text: &str) -> Result<Self, WorkloadConfigError> {
        let mut config = Self::default();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                return Err(WorkloadConfigError::EnvLine { line: index + 1, text: line.to_owned() });
            };
            let name = name.trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(WorkloadConfigError::EnvLine { line: index + 1, text: line.to_owned() });
            }
            config.env.insert(name.to_owned(), value.to_owned());
        }
        Ok(config)
    }

    /// Its canonical JSON (keys sorted): what is hashed and sent.
    pub fn canonical_json(&self) -> Vec<u8> {
        // Maps are BTreeMaps and fields have a fixed order: the encoding is unique.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The bid's `configHash`: keccak-256 of the canonical JSON.
    pub fn hash(&self) -> B256 {
        keccak256(self.canonical_json())
    }
}

/// A configuration signed for one deal by the deal's customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedWorkloadConfig {
    /// The market of the deal.
    pub market: Address,
    /// The deal.
    pub deal: DealId,
    /// The configuration.
    pub config: WorkloadConfig,
    /// EIP-191 signature of [`message`](Self::message).
    pub signature: Signature,
}

/// A configuration could not be read, signed, checked or delivered.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadConfigError {
    /// A line of an env file is not `NAME=value`.
    #[error("env file line {line}: `{text}` is not NAME=value (NAME: letters, digits, _)")]
    EnvLine {
        /// The line number, from 1.
        line: usize,
        /// The line.
        text: String,
    },
    /// The signer failed.
    #[error("signing the workload configuration: {0}")]
    Sign(#[source] alloy::signers::Error),
    /// The signature does not recover to an address.
    #[error("the configuration's signature is not valid: {0}")]
    BadSignature(#[source] alloy::primitives::SignatureError),
    /// Signed by someone else than the deal's customer.
    #[error("the configuration is signed by {signer}, not by the deal's customer {customer}")]
    WrongSigner {
        /// Who signed.
        signer: Address,
        /// The deal's customer.
        customer: Address,
    },
    /// Signed for another market or deal.
    #[error("the configuration is signed for deal {deal} on {market}, not this deal")]
    WrongDeal {
        /// The deal it names.
        deal: DealId,
        /// The market it names.
        market: Address,
    },
    /// Its hash is not the bid's `configHash`.
    #[error("the configuration's hash {hash} is not the deal's configHash {expected}")]
    HashMismatch {
        /// Its hash.
        hash: B256,
        /// The bid's.
        expected: B256,
    },
    /// The endpoint is not a configuration address the agent announced.
    #[error("`{0}` is not a configuration endpoint (`config+http://host:port/deals/<id>/config`)")]
    NotAConfigEndpoint(String),
    /// A sealed configuration does not open with the deal's key: changed on the way, sealed to
    /// another key, or for another deal.
    #[error(
        "the sealed configuration for deal {deal} does not open with the agent's key (changed, or sealed to another key or deal)"
    )]
    Unsealable {
        /// The deal.
        deal: DealId,
    },
    /// Decrypted bytes (or bytes to encrypt) are not a signed configuration's JSON.
    #[error("not a signed workload configuration: {0}")]
    NotAConfig(#[source] serde_json::Error),
    /// The key after `#x25519=` in an announced configuration endpoint is not 64 hex digits.
    #[error("`{0}`: the agent's key after `#x25519=` is not 32 bytes in hex")]
    BadConfigKey(String),
    /// The operating system gave no random bytes for a key or nonce.
    #[error("no random bytes from the operating system: {0}")]
    Random(#[source] std::io::Error),
    /// The configuration endpoint names no key to seal the configuration to: it is not sent in
    /// clear.
    #[error("`{0}` names no key (`#x25519=…`): the configuration is not sent unencrypted")]
    NoConfigKey(String),
    /// The agent could not be reached or refused the configuration.
    #[error("delivering the configuration to {url}: {reason}")]
    Delivery {
        /// Where.
        url: String,
        /// What went wrong (the agent's answer, or the transport's error).
        reason: String,
    },
}

impl SignedWorkloadConfig {
    /// The text signed (EIP-191 personal message): names the market, the deal and the hash.
    pub fn message(market: Address, deal: DealId, hash: B256) -> String {
        format!("SNM workload configuration\nmarket: {market}\ndeal: {deal}\nhash: {hash}")
    }

    /// Signs `config` for `deal` on `market` with the deal's customer key.
    pub async fn sign(
        config: WorkloadConfig,
        market: Address,
        deal: DealId,
        signer: &(impl Signer + Sync),
    ) -> Result<Self, WorkloadConfigError> {
        let message = Self::message(market, deal, config.hash());
        let signature = signer.sign_message(message.as_bytes()).await.map_err(WorkloadConfigError::Sign)?;
        Ok(Self { market, deal, config, signature })
    }

    /// Who signed it.
    pub fn signer(&self) -> Result<Address, WorkloadConfigError> {
        let message = Self::message(self.market, self.deal, self.config.hash());
        self.signature.recover_address_from_msg(message.as_bytes()).map_err(WorkloadConfigError::BadSignature)
    }

    /// Checks it is for `deal` on `market`, signed by `customer`, with the bid's `config_hash`.
    pub fn verify(
        &self,
        market: Address,
        deal: DealId,
        customer: Address,
        config_hash: B256,
    ) -> Result<(), WorkloadConfigError> {
        if (self.market, self.deal) != (market, deal) {
            return Err(WorkloadConfigError::WrongDeal { deal: self.deal, market: self.market });
        }
        let signer = self.signer()?;
        if signer != customer {
            return Err(WorkloadConfigError::WrongSigner { signer, customer });
        }
        let hash = self.config.hash();
        if hash != config_hash {
            return Err(WorkloadConfigError::HashMismatch { hash, expected: config_hash });
        }
        Ok(())
    }
}

/// Whether an announced endpoint is the agent asking for the deal's configuration.
pub fn is_config_endpoint(endpoint: &str) -> bool {
    endpoint.starts_with(CONFIG_ENDPOINT_SCHEME)
}

/// Seals the signed configuration to the key the agent announced with its configuration endpoint
/// ([`crate::workload_seal`]) and posts it there. An endpoint without a key is refused: the
/// configuration never crosses the network in clear.
pub async fn deliver(endpoint: &str, signed: &SignedWorkloadConfig) -> Result<(), WorkloadConfigError> {
    let (address, key) = crate::workload_seal::split_key(endpoint)?;
    let Some(rest) = address.strip_prefix(CONFIG_ENDPOINT_SCHEME) else {
        return Err(WorkloadConfigError::NotAConfigEndpoint(endpoint.to_owned()));
    };
    let key = key.ok_or_else(|| WorkloadConfigError::NoConfigKey(endpoint.to_owned()))?;
    let sealed = crate::workload_seal::SealedWorkloadConfig::seal(signed, &key)?;
    let url = format!("http://{rest}");
    let delivery = |reason: String| WorkloadConfigError::Delivery { url: url.clone(), reason };
    let body = serde_json::to_vec(&sealed).map_err(|e| delivery(e.to_string()))?;
    let response = alloy::transports::http::reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| delivery(e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        let text = response.text().await.unwrap_or_default();
        Err(delivery(format!("{status}: {}", text.trim())))
    }
}

#[cfg(test)]
mod tests {
    use alloy::signers::local::PrivateKeySigner;

    use super::*;

    #[tokio::test]
    async fn a_config_signed_by_the_customer_verifies_and_any_change_is_refused() {
        let customer = PrivateKeySigner::random();
        let market = Address::repeat_byte(7);
        let config = WorkloadConfig::default().env("A", "1").secret("S", "x").args(["serve"]);
        let hash = config.hash();
        let signed = SignedWorkloadConfig::sign(config.clone(), market, DealId(3), &customer).await.unwrap();
        signed.verify(market, DealId(3), customer.address(), hash).unwrap();

        let other = PrivateKeySigner::random();
        assert!(matches!(
            signed.verify(market, DealId(3), other.address(), hash),
            Err(WorkloadConfigError::WrongSigner { .. })
        ));
        assert!(matches!(
            signed.verify(market, DealId(4), customer.address(), hash),
            Err(WorkloadConfigError::WrongDeal { .. })
        ));
        assert!(matches!(
            signed.verify(market, DealId(3), customer.address(), B256::ZERO),
            Err(WorkloadConfigError::HashMismatch { .. })
        ));
        // A config changed after signing no longer recovers to the customer.
        let mut changed = signed.clone();
        changed.config.env.insert("A".into(), "2".into());
        assert!(changed.verify(market, DealId(3), customer.address(), changed.config.hash()).is_err());
    }

    #[test]
    fn env_files_are_read_and_bad_lines_named() {
        let config = WorkloadConfig::from_env_file("# comment\nMODE=fast\n\nURL=http://x?a=b\n").unwrap();
        assert_eq!(config.env.get("URL").map(String::as_str), Some("http://x?a=b"));
        let error = WorkloadConfig::from_env_file("MODE=fast\nbad line\n").unwrap_err();
        assert!(error.to_string().contains("line 2: `bad line`"), "{error}");
    }
}
