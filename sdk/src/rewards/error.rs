//! The reward engine's error type: every failure names the file, the line when there is one, and
//! the reason.

use std::path::PathBuf;

use alloy::primitives::Address;

use super::input_error::{InputReason, Location};
use super::merkle::MultiProofError;

/// Everything that can go wrong while computing or loading a reward round.
#[derive(Debug, thiserror::Error)]
pub enum RewardsError {
    /// A file could not be read or written.
    #[error("{file}: {source}", file = .file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A usage report line is malformed; nothing is written.
    #[error("{at}: {reason}")]
    Input {
        /// File and line.
        at: Location,
        /// What is wrong.
        reason: InputReason,
    },
    /// The campaign configuration is invalid.
    #[error("{at}: bad campaign config: {reason}")]
    Config {
        /// File, and line when known.
        at: Location,
        /// What is wrong.
        reason: String,
    },
    /// The previous round's file is malformed or does not add up (sums, root, campaign).
    #[error("{at}: previous round does not add up: {reason}")]
    Previous {
        /// File, and line when known.
        at: Location,
        /// What is wrong.
        reason: String,
    },
    /// A round file read back to be published is malformed or does not add up (sums, root,
    /// campaign rules).
    #[error("{at}: round file does not add up: {reason}")]
    Round {
        /// File, and line when known.
        at: Location,
        /// What is wrong.
        reason: String,
    },
    /// A Merkle dump could not be loaded or does not verify.
    #[error("{at}: bad Merkle dump: {reason}")]
    Dump {
        /// File, and line when known.
        at: Location,
        /// What is wrong.
        reason: String,
    },
    /// The round would distribute to nobody (a Merkle tree needs at least one leaf).
    #[error("no account has anything to claim: a Merkle tree needs at least one leaf")]
    NothingToDistribute,
    /// The same account was given twice to the Merkle tree.
    #[error("account {0} appears twice in the tree's values")]
    DuplicateAccount(Address),
    /// A multiproof could not be made (no leaf, an unknown or repeated account) or does not compute
    /// a root.
    #[error(transparent)]
    MultiProof(#[from] MultiProofError),
    /// An amount does not fit 256 bits.
    #[error("amount overflows 256 bits: {0}")]
    Overflow(&'static str),
    /// A customer's report could not be signed.
    #[error("{file}: cannot sign the report: {source}", file = .file.display())]
    SignReport {
        /// The report.
        file: PathBuf,
        /// The signer's error.
        #[source]
        source: alloy::signers::Error,
    },
    /// A customer's report signature is malformed.
    #[error("{file}: its signature is malformed: {source}", file = .file.display())]
    ReportSignature {
        /// The report.
        file: PathBuf,
        /// Why.
        #[source]
        source: alloy::primitives::SignatureError,
    },
    /// A customer's report is not signed by the account its signature file names (altered after
    /// signing, or forged).
    #[error("{file}: the signature is by {recovered}, not by {claimed}: the report was altered or forged", file = .file.display())]
    ReportSigner {
        /// The report.
        file: PathBuf,
        /// The signer its signature file names.
        claimed: Address,
        /// Who signed these bytes.
        recovered: Address,
    },
    /// A round input is missing, or given where the campaign does not use it.
    #[error("{0}")]
    MissingInput(&'static str),
    /// An admission list that cannot be used.
    #[error(transparent)]
    Admission(#[from] super::admission_error::ApplicationError),
    /// An output file already exists; rounds are never overwritten.
    #[error("{file}: already exists; a published round is never overwritten", file = .file.display())]
    OutputExists {
        /// The file.
        file: PathBuf,
    },
}

impl RewardsError {
    /// An I/O error on `file`.
    pub fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { file: file.into(), source }
    }
}
