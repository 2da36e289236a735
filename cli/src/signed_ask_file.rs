//! A signed ask in a file: what `snm supplier ask place --signed --out FILE` writes, and what
//! `snm supplier ask publish FILE` and `snm customer buy --signed-ask FILE` read (the SDK's
//! [`SignedAsk`] as JSON). A file that is not one is refused before anything is sent, and so is an
//! ask whose signature is not its master's for this market (unless the master is a contract, whose
//! EIP-1271 check only the market can run).

use std::path::{Path, PathBuf};

use alloy::providers::Provider;
use snm_sdk::{
    Client,
    market::{SignedAsk, SignedAskError},
};

/// Why a signed ask file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignedAskFileError {
    /// The file cannot be read or written.
    #[error("signed ask file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a signed ask.
    #[error(
        "signed ask file {}: not a signed ask (the JSON `snm supplier ask place --signed --out` writes: \
         ask, nonce, signature): {source}",
        path.display()
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The JSON decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The signature is not the ask's master's for this market.
    #[error("signed ask file {}: {source}", path.display())]
    BadSignature {
        /// The file.
        path: PathBuf,
        /// What is wrong with the signature.
        #[source]
        source: SignedAskError,
    },
    /// Reading the market's domain or the master's code failed.
    #[error("signed ask file {}: checking it against the chain failed", path.display())]
    Chain {
        /// The file.
        path: PathBuf,
        /// The SDK's error (boxed: it is large).
        #[source]
        source: Box<snm_sdk::Error>,
    },
}

impl SignedAskFileError {
    /// Whether the file itself is at fault (not the node).
    pub fn is_input(&self) -> bool {
        !matches!(self, Self::Chain { .. } | Self::Io { .. })
    }

    /// Whether the file does not exist.
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Writes `ask` to `path` as indented JSON.
pub fn write(path: &Path, ask: &SignedAsk) -> Result<(), SignedAskFileError> {
    let io = |source| SignedAskFileError::Io { path: path.to_owned(), source };
    let mut json = serde_json::to_string_pretty(ask).map_err(std::io::Error::from).map_err(io)?;
    json.push('\n');
    std::fs::write(path, json).map_err(io)
}

/// Reads the signed ask in `path`.
pub fn read(path: &Path) -> Result<SignedAsk, SignedAskFileError> {
    let text =
        std::fs::read(path).map_err(|source| SignedAskFileError::Io { path: path.to_owned(), source })?;
    serde_json::from_slice(&text)
        .map_err(|source| SignedAskFileError::Malformed { path: path.to_owned(), source })
}

/// Reads the signed ask in `path` and checks its signature under the market of `client`: the
/// master's key's, or, when the master is a contract, left to its EIP-1271 check on chain.
pub async fn read_checked<P: Provider + Clone>(
    path: &Path,
    client: &Client<P>,
) -> Result<SignedAsk, SignedAskFileError> {
    let ask = read(path)?;
    let chain = |source| SignedAskFileError::Chain { path: path.to_owned(), source: Box::new(source) };
    let domain = client.market().signing_domain().await.map_err(chain)?;
    match ask.verify(&domain) {
        Ok(()) => Ok(ask),
        Err(SignedAskError::NotSignedByMaster { .. })
            if is_contract(client, &ask).await.map_err(chain)? =>
        {
            Ok(ask)
        }
        Err(source) => Err(SignedAskFileError::BadSignature { path: path.to_owned(), source }),
    }
}

async fn is_contract<P: Provider + Clone>(
    client: &Client<P>,
    ask: &SignedAsk,
) -> Result<bool, snm_sdk::Error> {
    Ok(!client.provider().get_code_at(ask.ask.master).await?.is_empty())
}
