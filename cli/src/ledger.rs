//! `--ledger`: transactions signed on a Ledger device (its first Ledger Live account,
//! `m/44'/60'/0'/0/0`). The USB stack it needs is built only with the cargo feature `ledger`
//! (`cargo install --path cli --features ledger`); without it the flag is refused with that fix.

use alloy::{network::EthereumWallet, primitives::Address};

/// Why `--ledger` cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// This `snm` was built without the feature.
    #[error(
        "--ledger: this snm was built without Ledger support; install it with `cargo install --path cli --features ledger`"
    )]
    NotBuiltIn,
    /// The command needs the key itself (to hand it to the agent, or to sign as a worker).
    #[error(
        "--ledger signs transactions only, and this command needs the key itself: use --account or --private-key-env"
    )]
    NeedsKey,
    /// The device could not be used (absent, locked, Ethereum app not open).
    #[cfg(feature = "ledger")]
    #[error("the Ledger device: {source}")]
    Device {
        /// The Ledger signer's error.
        #[source]
        source: alloy::signers::ledger::LedgerError,
    },
}

/// [`LedgerError::NotBuiltIn`] when this `snm` was built without the feature, before anything
/// is read from the node.
pub fn ensure_built_in() -> Result<(), LedgerError> {
    if cfg!(feature = "ledger") { Ok(()) } else { Err(LedgerError::NotBuiltIn) }
}

/// The device's first account as a wallet for chain `chain_id`, and its address.
#[cfg(feature = "ledger")]
pub async fn wallet(chain_id: u64) -> Result<(EthereumWallet, Address), LedgerError> {
    use alloy::signers::{
        Signer,
        ledger::{HDPath, LedgerSigner},
    };
    let signer = LedgerSigner::new(HDPath::LedgerLive(0), Some(chain_id))
        .await
        .map_err(|source| LedgerError::Device { source })?;
    let address = signer.address();
    Ok((EthereumWallet::from(signer), address))
}

/// Without the feature: [`LedgerError::NotBuiltIn`].
#[cfg(not(feature = "ledger"))]
pub async fn wallet(_chain_id: u64) -> Result<(EthereumWallet, Address), LedgerError> {
    Err(LedgerError::NotBuiltIn)
}
