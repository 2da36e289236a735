//! The reward engine's error type: every failure names the file, the line when there is one, and
//! the reason.

use std::{fmt, net::IpAddr, path::PathBuf};

use alloy::primitives::Address;

use super::merkle::MultiProofError;
use super::screen::LineExcess;
use crate::net::AddressClass;

/// Where in an input file a problem was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line, when the problem is on one line.
    pub line: Option<u64>,
}

impl Location {
    /// A whole file.
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Self { file: file.into(), line: None }
    }

    /// One line of a file.
    pub fn line(file: impl Into<PathBuf>, line: u64) -> Self {
        Self { file: file.into(), line: Some(line) }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file.display()),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// What is wrong with a usage report line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputReason {
    /// The file's extension names no known format (`.csv`, `.jsonl`, `.ndjson`).
    #[error("unknown report format: name the file .csv, .jsonl or .ndjson")]
    UnknownFormat,
    /// The CSV file does not start with the expected header line.
    #[error("expected the header `{expected}`, found `{found}`")]
    BadHeader {
        /// The header this reader requires.
        expected: &'static str,
        /// What the first line held.
        found: String,
    },
    /// A CSV line has the wrong number of fields (or quotes, which the format does not use).
    #[error("expected {expected} comma-separated fields, found {found}")]
    FieldCount {
        /// Fields required.
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// A CSV line holds a double quote; no field of the format needs quoting.
    #[error("quotes are not allowed (no field of the format needs them)")]
    Quoted,
    /// A JSON line could not be parsed into a record.
    #[error("malformed JSON record: {0}")]
    Json(String),
    /// A line starts with a UTF-8 byte-order mark: a JSON-lines file saved "with BOM", or files
    /// joined after the first line (a CSV file may have one before its header only).
    #[error(
        "the line starts with a UTF-8 byte-order mark (BOM), which a report allows only before a \
         CSV header: save the file as UTF-8 without BOM, and join files without their BOMs"
    )]
    Bom,
    /// A JSON record's field holds a value of the wrong type (`"bytes": null`).
    #[error("`{field}` is {found}: expected {expected}")]
    JsonFieldType {
        /// The field.
        field: &'static str,
        /// What it holds: `null`, `a boolean`, `an array`, `an object`, `the number 7`.
        found: String,
        /// What it should hold.
        expected: &'static str,
    },
    /// A JSON number too large for a 64-bit integer, which JSON readers keep only approximately.
    #[error(
        "`{field}` is a JSON number above 2^64 - 1, which JSON readers round: write it as a decimal \
         string"
    )]
    JsonNumberTooLarge {
        /// The field.
        field: &'static str,
    },
    /// The payout account is not a 20-byte hex address.
    #[error("bad account address `{0}`: expected 0x and 40 hex digits")]
    BadAddress(String),
    /// The address mixes upper and lower case but is not its EIP-55 checksum form.
    #[error("bad account address `{0}`: mixed case but wrong EIP-55 checksum")]
    BadChecksum(String),
    /// The worker IP is not an IPv4 or IPv6 address.
    #[error("`{0}` is not an IP address")]
    BadIp(String),
    /// The byte count is negative.
    #[error("bytes `{0}` is negative")]
    NegativeBytes(String),
    /// The byte count is not a whole number.
    #[error("bytes `{0}` is not a whole number of bytes")]
    BadBytes(String),
    /// A period bound is not a whole number of unix seconds.
    #[error("{field} `{value}` is not a unix time in seconds")]
    BadTime {
        /// `period_start` or `period_end`.
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// The period ends before it starts.
    #[error("period ends ({end}) before it starts ({start})")]
    PeriodReversed {
        /// Start, unix seconds.
        start: u64,
        /// End, unix seconds.
        end: u64,
    },
    /// Traffic for one IP and account does not fit 128 bits.
    #[error("byte total overflows")]
    BytesOverflow,
    /// The payout account is the zero address, whose leaf nobody could ever claim.
    #[error("the payout account is the zero address: nobody could ever claim its reward")]
    ZeroAddress,
    /// The worker IP is one no worker can have (unspecified, broadcast, multicast).
    #[error("`{ip}` is {class}: no worker has it")]
    NotAWorkerIp {
        /// The IP.
        ip: IpAddr,
        /// What kind of address it is.
        class: AddressClass,
    },
    /// The worker IP is loopback, private, link-local or shared, and the campaign does not count
    /// those.
    #[error("`{ip}` is {class}: the campaign counts such IPs only with `allow_private_ips = true`")]
    PrivateIp {
        /// The IP.
        ip: IpAddr,
        /// What kind of address it is.
        class: AddressClass,
    },
    /// The record reports more bytes than the campaign's fastest line carries in its period (boxed:
    /// its byte counts would double the size of every error).
    #[error("{0}")]
    BeyondLineRate(Box<LineExcess>),
    /// The very same record (account, IP, bytes and period) was read before, in this file or
    /// another: a record counts once.
    #[error(
        "the same record (account, IP, bytes and period) as {}: a record counts once",
        .first.as_ref().map_or_else(|| "one read before".to_owned(), |at| format!("at {at}"))
    )]
    DuplicateRecord {
        /// Where it was first read, when known (a record given to [`Tally::add`] names no file).
        ///
        /// [`Tally::add`]: super::Tally::add
        first: Option<Location>,
    },
    /// The report was read before, under this name or another (a `./` prefix, a symbolic or hard
    /// link): a report counts once.
    #[error("the same file as `{first}`, read before: a report counts once", first = .first.display())]
    DuplicateFile {
        /// The name it was first read under.
        first: PathBuf,
    },
}

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
