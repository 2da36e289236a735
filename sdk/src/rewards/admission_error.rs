//! What can go wrong with applications and admission lists: every refusal names the account, the
//! IP or the file, and the reason.

use std::{net::IpAddr, path::PathBuf};

use alloy::primitives::{Address, SignatureError};

use super::input_error::Location;

/// An application refused, or an applications or admission file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    /// A file could not be read or written.
    #[error("{file}: {source}", file = .file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A line of an applications file, or an admission file, is not what it should be.
    #[error("{at}: {source}")]
    Json {
        /// File and line.
        at: Location,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A stored application or admission does not check (the reason is the source).
    #[error("{at}: {source}")]
    Stored {
        /// File and line.
        at: Location,
        /// What is wrong with it.
        #[source]
        source: Box<ApplicationError>,
    },
    /// Signing failed.
    #[error("could not sign the application: {0}")]
    Sign(#[source] alloy::signers::Error),
    /// The master is the zero address: nothing paid to it could be claimed.
    #[error("the master is the zero address")]
    ZeroMaster,
    /// An application lists no worker.
    #[error("the application of {master} lists no worker")]
    NoWorkers {
        /// The master.
        master: Address,
    },
    /// An application lists an IP twice.
    #[error("IP {ip} is listed twice in the application")]
    IpTwice {
        /// The IP.
        ip: IpAddr,
    },
    /// An IP is not in canonical form (`::ffff:a.b.c.d` for an IPv4 address).
    #[error("IP {ip} is not in canonical form (write an IPv4 address as a.b.c.d)")]
    NonCanonicalIp {
        /// The IP.
        ip: IpAddr,
    },
    /// The signature is not a 65-byte secp256k1 signature, or recovers no signer.
    #[error("the signature of {master}'s application is malformed: {source}")]
    BadSignature {
        /// The master it claims.
        master: Address,
        /// Why.
        #[source]
        source: SignatureError,
    },
    /// The signature is valid but by someone other than the master (forged or altered).
    #[error("the application of {master} is signed by {signer}, not by the master")]
    NotSignedByMaster {
        /// The master it claims.
        master: Address,
        /// Who signed.
        signer: Address,
    },
    /// The application is for another campaign.
    #[error("the application is for campaign `{found}`, not `{expected}`")]
    WrongCampaign {
        /// This campaign's id.
        expected: String,
        /// The application's.
        found: String,
    },
    /// The master applied before: one application per account.
    #[error("{master} has applied already (application {position}): one application per account")]
    AlreadyApplied {
        /// The master.
        master: Address,
        /// The 1-based position of its application.
        position: usize,
    },
    /// An IP applied for is claimed by another account's application.
    #[error("IP {ip} is claimed by {owner}, who applied with it first")]
    IpClaimed {
        /// The IP.
        ip: IpAddr,
        /// The account that applied with it first.
        owner: Address,
    },
    /// An account chosen for admission has not applied.
    #[error("{account} has not applied: only applicants are admitted")]
    NotApplied {
        /// The account.
        account: Address,
    },
    /// An account chosen for admission is admitted already.
    #[error("{account} is admitted already (stage {stage})")]
    AlreadyAdmitted {
        /// The account.
        account: Address,
        /// Its stage.
        stage: u32,
    },
    /// A stage below an earlier one, or zero.
    #[error("stage {stage} is not allowed: stages start at 1 and never go back (last stage {last})")]
    BadStage {
        /// The stage asked for.
        stage: u32,
        /// The last stage admitted so far (0 for none).
        last: u32,
    },
    /// An admission list for another campaign.
    #[error("{file}: the admission list is for campaign `{found}`, not `{expected}`", file = .file.display())]
    AdmissionCampaign {
        /// The file.
        file: PathBuf,
        /// The campaign expected.
        expected: String,
        /// The file's.
        found: String,
    },
    /// An admission file of an unknown format.
    #[error("{file}: format `{found}` is not `{expected}`", file = .file.display())]
    AdmissionFormat {
        /// The file.
        file: PathBuf,
        /// The format expected.
        expected: &'static str,
        /// The file's.
        found: String,
    },
}

impl ApplicationError {
    /// An I/O error on `file`.
    pub fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { file: file.into(), source }
    }
}
