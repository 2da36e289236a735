//! What is wrong with an input file of the reward engine, and where: the reason a usage report's
//! line is refused and its file and line.

use std::{fmt, net::IpAddr, path::PathBuf};

use super::line_rate::LineExcess;
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
