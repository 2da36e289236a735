//! What the SDK reports of a transaction that was not mined in time ([`Unmined`]): its versions,
//! what the node holds, and why bumping stopped.

use std::{fmt, time::Duration};

use alloy::primitives::{Address, B256};

use super::fees::{Fees, Gwei};

/// A transaction that had no receipt within [`TxOptions::receipt_timeout`](crate::tx::TxOptions::receipt_timeout)
/// ([`Error::NotMined`](crate::Error::NotMined)): its versions, what the node holds, and why bumping stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmined {
    /// The sending account.
    pub account: Address,
    /// The transaction's nonce (every version has it). `None` only when the provider did not say
    /// which nonce it gave the transaction (it has no [`NonceLayer`](crate::provider::NonceLayer))
    /// and the node never showed the transaction either.
    pub nonce: Option<u64>,
    /// The hash of every version the node accepted: the original first, then its replacements.
    pub versions: Vec<B256>,
    /// The fees of the last version the node accepted.
    pub fees: Fees,
    /// What the node knows of it.
    pub state: PoolState,
    /// Why it was not replaced any further, when that stopped before the timeout.
    pub stopped: Option<ReplacementStop>,
    /// How long the receipt was awaited.
    pub waited: Duration,
}

impl Unmined {
    /// The last version the node accepted.
    pub fn latest(&self) -> B256 {
        self.versions.last().copied().unwrap_or_default()
    }
}

impl fmt::Display for Unmined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting for the receipt of transaction {} (",
            self.waited,
            self.latest()
        )?;
        match self.nonce {
            Some(nonce) => write!(f, "nonce {nonce} of {}", self.account)?,
            None => write!(f, "of {}, nonce unknown", self.account)?,
        }
        write!(f, ", {}", self.fees)?;
        if let [earlier @ .., _] = self.versions.as_slice()
            && !earlier.is_empty()
        {
            write!(f, "; it replaced {}", Hashes(earlier))?;
        }
        write!(f, "): {}", self.state)?;
        match &self.stopped {
            Some(stop) => write!(f, "; {stop}"),
            None => Ok(()),
        }
    }
}

/// What the node knows of a transaction that was not mined in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolState {
    /// The node holds version `hash`, ready to be mined but not mined.
    Pending {
        /// The version the node holds.
        hash: B256,
    },
    /// The node holds version `hash`, which waits for the account's earlier nonces: `behind` is
    /// the first of them not mined.
    Queued {
        /// The version the node holds.
        hash: B256,
        /// The account's next nonce to be mined.
        behind: u64,
    },
    /// The node knows none of the versions, and the nonce is still free (or unknown, see
    /// [`Unmined::nonce`]): they were dropped.
    Dropped,
    /// The account's mined nonce passed this one, but through none of the versions found (a
    /// transaction the SDK did not send, mined before the blocks searched).
    NonceUsed,
    /// The node could not be asked.
    Unknown,
}

impl fmt::Display for PoolState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pending { hash } => write!(f, "{hash} is in the node's pool but not mined"),
            Self::Queued { hash, behind } => {
                write!(f, "{hash} waits in the node's pool behind nonce {behind}")
            }
            Self::Dropped => f.write_str("no version is known to the node (dropped)"),
            Self::NonceUsed => {
                f.write_str("the nonce was used, by none of the versions found in the latest blocks")
            }
            Self::Unknown => f.write_str("the node could not be asked what became of it"),
        }
    }
}

/// Why a transaction was not replaced any further.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplacementStop {
    /// The next replacement would have offered more than
    /// [`TxOptions::max_fee_per_gas_cap`](crate::tx::TxOptions::max_fee_per_gas_cap).
    FeeCapReached {
        /// The cap, in wei per gas.
        cap: u128,
    },
    /// The node refused a replacement for a reason more fees cannot fix (insufficient funds for
    /// the higher fee, a fee above the node's own cap).
    Refused {
        /// The fees that were refused.
        fees: Fees,
        /// The node's message.
        reason: String,
    },
}

impl fmt::Display for ReplacementStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FeeCapReached { cap } => {
                write!(
                    f,
                    "the fee cap (maxFeePerGas {}) is reached, so it was not bumped further",
                    Gwei(*cap)
                )
            }
            Self::Refused { fees, reason } => {
                write!(f, "a replacement with {fees} was refused ({reason}), so it was not bumped further")
            }
        }
    }
}

/// Transaction hashes, comma-separated.
pub(crate) struct Hashes<'a>(pub(crate) &'a [B256]);

impl fmt::Display for Hashes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, hash) in self.0.iter().enumerate() {
            if k > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{hash}")?;
        }
        Ok(())
    }
}
