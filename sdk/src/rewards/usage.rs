//! Streaming readers for usage reports, CSV and JSON lines. A reader holds one line at a time, so
//! memory never grows with the number of records.
//!
//! **CSV** (`.csv`): the first line is exactly the header [`CSV_HEADER`]; then one record per line,
//! five comma-separated fields, no quoting:
//!
//! ```text
//! account,ip,bytes,period_start,period_end
//! 0x70997970C51812dc3A010C7d01b50e0d17dc79C8,203.0.113.7,1500000000000,1767225600,1767312000
//! ```
//!
//! **JSON lines** (`.jsonl`, `.ndjson`): one object per line with exactly the keys `account`,
//! `ip`, `bytes`, `period_start` and `period_end`. `bytes` and the times are JSON integers or
//! decimal strings (use a string above 2^53 for JavaScript producers). The file must not start
//! with a byte-order mark (an error says "BOM"), and a field of the wrong type (`"bytes": null`)
//! is an error naming the field and what it should hold.
//!
//! In both: `account` is the payout (master) address, `0x` and 40 hex digits, any case; mixed
//! case must be a correct EIP-55 checksum. `ip` is the worker's IPv4 or IPv6 address (an
//! IPv4-mapped IPv6 address counts as the IPv4 address). `bytes` is a whole, non-negative number
//! of bytes of customer traffic. `period_start` and `period_end` are unix seconds, with
//! `period_start <= period_end`. Blank lines are skipped; a trailing `\r` and, in CSV, a UTF-8
//! byte-order mark before the header are ignored. Any other deviation is an error naming the file,
//! the line and the reason.
//!
//! The reader checks the form of a record only; what a campaign accepts of it (no zero address,
//! worker IPs, traffic within the line rate) is [`Campaign::check_record`], and the
//! [`Tally`](super::Tally) refuses a record or a file read twice.
//!
//! [`Campaign::check_record`]: super::Campaign::check_record

use std::{
    borrow::Cow,
    fmt,
    fs::File,
    io::{BufRead, BufReader},
    marker::PhantomData,
    net::IpAddr,
    path::{Path, PathBuf},
};

use alloy::primitives::{Address, map::HashSet};
use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor},
};

use super::error::RewardsError;
use super::input_error::{InputReason, Location};
use crate::units::{Bytes, ParseErrorKind, fixed};

/// The CSV header line, required as the first line of a CSV report.
pub const CSV_HEADER: &str = "account,ip,bytes,period_start,period_end";

/// A reporting period, in unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    /// First second covered.
    pub start: u64,
    /// Last second covered (`>= start`).
    pub end: u64,
}

/// One line of a usage report: traffic served by one worker IP for one payout account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageRecord {
    /// Payout account (the supplier's master).
    pub account: Address,
    /// The worker's IP (IPv4-mapped IPv6 addresses are turned into IPv4).
    pub ip: IpAddr,
    /// Customer traffic in the period.
    pub bytes: Bytes,
    /// The period the line covers.
    pub period: Period,
}

/// The two report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageFormat {
    /// Comma-separated values with the [`CSV_HEADER`] line.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl UsageFormat {
    /// The format a file's extension names: `.csv`, or `.jsonl` / `.ndjson`.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::JsonLines),
            _ => None,
        }
    }
}

/// Which file a report is, whatever the name it is given under (`a.csv`, `./a.csv`, a symbolic or
/// hard link): the device and inode of the opened file on Unix, its canonical path elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct FileIdentity(#[cfg(unix)] (u64, u64), #[cfg(not(unix))] PathBuf);

impl FileIdentity {
    #[cfg(unix)]
    fn of(file: &File, path: &Path) -> Result<Self, RewardsError> {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata().map_err(|e| RewardsError::io(path, e))?;
        Ok(Self((meta.dev(), meta.ino())))
    }

    #[cfg(not(unix))]
    fn of(_: &File, path: &Path) -> Result<Self, RewardsError> {
        std::fs::canonicalize(path).map(Self).map_err(|e| RewardsError::io(path, e))
    }
}

/// Reads [`UsageRecord`]s one line at a time.
#[derive(Debug)]
pub struct UsageReader<R> {
    reader: R,
    format: UsageFormat,
    file: PathBuf,
    /// The opened file's identity (`None` for a reader given by the caller).
    identity: Option<FileIdentity>,
    line: u64,
    buf: Vec<u8>,
    header_seen: bool,
    /// Mixed-case address texts already checked against EIP-55 (bounded by distinct accounts).
    checksummed: HashSet<[u8; 40]>,
}

impl UsageReader<BufReader<File>> {
    /// Opens a report file; `format` `None` picks it from the extension.
    pub fn open(path: &Path, format: Option<UsageFormat>) -> Result<Self, RewardsError> {
        let format = format.or_else(|| UsageFormat::from_path(path)).ok_or_else(|| RewardsError::Input {
            at: Location::file(path),
            reason: InputReason::UnknownFormat,
        })?;
        let file = File::open(path).map_err(|e| RewardsError::io(path, e))?;
        let identity = FileIdentity::of(&file, path)?;
        let mut reader = Self::new(BufReader::with_capacity(1 << 20, file), format, path);
        reader.identity = Some(identity);
        Ok(reader)
    }
}

impl<R: BufRead> UsageReader<R> {
    /// Reads `reader` in `format`; `file` names it in errors.
    pub fn new(reader: R, format: UsageFormat, file: impl Into<PathBuf>) -> Self {
        Self {
            reader,
            format,
            file: file.into(),
            identity: None,
            line: 0,
            buf: Vec::with_capacity(256),
            header_seen: false,
            checksummed: HashSet::default(),
        }
    }

    /// The file being read.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The format it reads.
    pub fn format(&self) -> UsageFormat {
        self.format
    }

    /// Which file it reads, when it opened it.
    pub(super) fn identity(&self) -> Option<&FileIdentity> {
        self.identity.as_ref()
    }

    /// The line number of the last record returned (1-based).
    pub fn line(&self) -> u64 {
        self.line
    }

    fn error(&self, reason: InputReason) -> RewardsError {
        RewardsError::Input { at: Location::line(&self.file, self.line), reason }
    }

    /// The next record, or `None` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<UsageRecord>, RewardsError> {
        loop {
            self.buf.clear();
            let read =
                self.reader.read_until(b'\n', &mut self.buf).map_err(|e| RewardsError::io(&self.file, e))?;
            if read == 0 {
                if self.format == UsageFormat::Csv && !self.header_seen {
                    self.line += 1;
                    return Err(
                        self.error(InputReason::BadHeader { expected: CSV_HEADER, found: String::new() })
                    );
                }
                return Ok(None);
            }
            self.line += 1;
            // Take the buffer out so the parsers may borrow `self` mutably; put it back after.
            let buf = std::mem::take(&mut self.buf);
            let mut end = buf.len();
            while end > 0 && matches!(buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            let text = &buf[..end];
            let result = if text.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                match self.format {
                    UsageFormat::Csv if !self.header_seen => {
                        let found = String::from_utf8_lossy(text);
                        if found.trim_start_matches('\u{feff}').trim() == CSV_HEADER {
                            self.header_seen = true;
                            None
                        } else {
                            Some(Err(InputReason::BadHeader {
                                expected: CSV_HEADER,
                                found: found.into_owned(),
                            }))
                        }
                    }
                    // A BOM is the first bytes of a file: after the header, files were joined.
                    _ if text.starts_with(BOM) => Some(Err(InputReason::Bom)),
                    UsageFormat::Csv => Some(self.parse_csv(text)),
                    UsageFormat::JsonLines => Some(self.parse_json(text)),
                }
            };
            self.buf = buf;
            match result {
                None => continue,
                Some(Ok(record)) => return Ok(Some(record)),
                Some(Err(reason)) => return Err(self.error(reason)),
            }
        }
    }

    fn parse_csv(&mut self, line: &[u8]) -> Result<UsageRecord, InputReason> {
        if line.contains(&b'"') {
            return Err(InputReason::Quoted);
        }
        let mut fields = [&line[..0]; 5];
        let mut count = 0;
        for field in line.split(|&b| b == b',') {
            if count < 5 {
                fields[count] = field.trim_ascii();
            }
            count += 1;
        }
        if count != 5 {
            return Err(InputReason::FieldCount { expected: 5, found: count });
        }
        let account = self.parse_address(fields[0])?;
        let ip = parse_ip(fields[1])?;
        let bytes = parse_bytes(fields[2])?;
        let start = parse_time(fields[3], "period_start")?;
        let end = parse_time(fields[4], "period_end")?;
        make_record(account, ip, bytes, start, end)
    }

    fn parse_json(&mut self, line: &[u8]) -> Result<UsageRecord, InputReason> {
        let record: JsonRecord<'_> =
            serde_json::from_slice(line).map_err(|e| InputReason::Json(e.to_string()))?;
        let account = self.parse_address(record.account.text("account", ADDRESS)?.as_bytes())?;
        let ip = parse_ip(record.ip.text("ip", IP)?.as_bytes())?;
        let bytes = match &record.bytes {
            JsonField::Text(text) => parse_bytes(text.as_bytes())?,
            JsonField::Unsigned(n) => Bytes::new(u128::from(*n)),
            JsonField::Negative(n) => return Err(InputReason::NegativeBytes(n.to_string())),
            JsonField::Float(x) if too_large(*x) => {
                return Err(InputReason::JsonNumberTooLarge { field: "bytes" });
            }
            JsonField::Float(x) => return Err(InputReason::BadBytes(x.to_string())),
            other => return Err(other.wrong_type("bytes", BYTES)),
        };
        let time = |value: &JsonField<'_>, field| match value {
            JsonField::Text(text) => parse_time(text.as_bytes(), field),
            JsonField::Unsigned(n) => Ok(*n),
            JsonField::Negative(n) => Err(InputReason::BadTime { field, value: n.to_string() }),
            JsonField::Float(x) if too_large(*x) => Err(InputReason::JsonNumberTooLarge { field }),
            JsonField::Float(x) => Err(InputReason::BadTime { field, value: x.to_string() }),
            other => Err(other.wrong_type(field, TIME)),
        };
        let start = time(&record.period_start, "period_start")?;
        let end = time(&record.period_end, "period_end")?;
        make_record(account, ip, bytes, start, end)
    }

    /// `0x` + 40 hex digits; a mixed-case text must be the EIP-55 checksum.
    fn parse_address(&mut self, text: &[u8]) -> Result<Address, InputReason> {
        let bad = || InputReason::BadAddress(String::from_utf8_lossy(text).into_owned());
        let digits = match text {
            [b'0', b'x' | b'X', rest @ ..] if rest.len() == 40 => rest,
            _ => return Err(bad()),
        };
        let mut bytes = [0u8; 20];
        let (mut upper, mut lower) = (false, false);
        for (k, pair) in digits.chunks_exact(2).enumerate() {
            let mut byte = 0u8;
            for &c in pair {
                let nibble = match c {
                    b'0'..=b'9' => c - b'0',
                    b'a'..=b'f' => {
                        lower = true;
                        c - b'a' + 10
                    }
                    b'A'..=b'F' => {
                        upper = true;
                        c - b'A' + 10
                    }
                    _ => return Err(bad()),
                };
                byte = (byte << 4) | nibble;
            }
            bytes[k] = byte;
        }
        let address = Address::from(bytes);
        if upper && lower {
            let mut key = [0u8; 40];
            key.copy_from_slice(digits);
            if !self.checksummed.contains(&key) {
                if address.to_checksum_buffer(None).as_str().as_bytes()[2..] != key[..] {
                    return Err(InputReason::BadChecksum(String::from_utf8_lossy(text).into_owned()));
                }
                self.checksummed.insert(key);
            }
        }
        Ok(address)
    }
}

impl<R: BufRead> Iterator for UsageReader<R> {
    type Item = Result<UsageRecord, RewardsError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

fn make_record(
    account: Address,
    ip: IpAddr,
    bytes: Bytes,
    start: u64,
    end: u64,
) -> Result<UsageRecord, InputReason> {
    if end < start {
        return Err(InputReason::PeriodReversed { start, end });
    }
    Ok(UsageRecord { account, ip, bytes, period: Period { start, end } })
}

fn parse_ip(text: &[u8]) -> Result<IpAddr, InputReason> {
    let bad = || InputReason::BadIp(String::from_utf8_lossy(text).into_owned());
    let text = std::str::from_utf8(text).map_err(|_| bad())?;
    text.parse::<IpAddr>().map(|ip| ip.to_canonical()).map_err(|_| bad())
}

fn parse_bytes(text: &[u8]) -> Result<Bytes, InputReason> {
    let shown = || String::from_utf8_lossy(text).into_owned();
    match fixed::parse_ascii::<u128>(text, 0) {
        Ok(bytes) => Ok(Bytes::new(bytes)),
        Err(ParseErrorKind::Negative) => Err(InputReason::NegativeBytes(shown())),
        Err(_) => Err(InputReason::BadBytes(shown())),
    }
}

fn parse_time(text: &[u8], field: &'static str) -> Result<u64, InputReason> {
    fixed::parse_ascii::<u64>(text, 0)
        .map_err(|_| InputReason::BadTime { field, value: String::from_utf8_lossy(text).into_owned() })
}

/// A UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What each JSON field should hold, for the error when it holds something else.
const ADDRESS: &str =
    "the payout address as a string, such as \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"";
const IP: &str = "the worker's IP as a string, such as \"203.0.113.7\"";
const BYTES: &str = "a whole number of bytes, as a JSON integer or a decimal string";
const TIME: &str = "unix seconds, as a JSON integer or a decimal string";

/// Whether a JSON number read as a float is a whole number too large for a `u64` (JSON readers,
/// serde_json included, keep such numbers only approximately).
fn too_large(x: f64) -> bool {
    x.fract() == 0.0 && x >= 18_446_744_073_709_551_616.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRecord<'a> {
    #[serde(borrow)]
    account: JsonField<'a>,
    #[serde(borrow)]
    ip: JsonField<'a>,
    #[serde(borrow)]
    bytes: JsonField<'a>,
    #[serde(borrow)]
    period_start: JsonField<'a>,
    #[serde(borrow)]
    period_end: JsonField<'a>,
}

/// A record field's JSON value as found, so that a value of the wrong type gets a sentence naming
/// the field and what it should hold (serde's own error for an untagged enum names neither).
enum JsonField<'a> {
    Text(Cow<'a, str>),
    Unsigned(u64),
    Negative(i64),
    Float(f64),
    /// `null`, a boolean, an array or an object: what it is, for the error.
    Other(&'static str),
}

impl<'a> JsonField<'a> {
    /// The text, or the error naming `field` when the value is not a string.
    fn text(&self, field: &'static str, expected: &'static str) -> Result<&str, InputReason> {
        match self {
            Self::Text(text) => Ok(text),
            other => Err(other.wrong_type(field, expected)),
        }
    }

    fn wrong_type(&self, field: &'static str, expected: &'static str) -> InputReason {
        let found = match self {
            Self::Text(text) => format!("the string \"{text}\""),
            Self::Unsigned(n) => format!("the number {n}"),
            Self::Negative(n) => format!("the number {n}"),
            Self::Float(x) => format!("the number {x}"),
            Self::Other(what) => (*what).to_owned(),
        };
        InputReason::JsonFieldType { field, found, expected }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonField<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor(PhantomData))
    }
}

struct FieldVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for FieldVisitor<'a> {
    type Value = JsonField<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(JsonField::Unsigned(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(n).map_or(JsonField::Negative(n), JsonField::Unsigned))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Self::Value, E> {
        Ok(JsonField::Float(x))
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(JsonField::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(JsonField::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(JsonField::Text(Cow::Owned(text)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonField::Other("null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonField::Other("null"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(JsonField::Other("a boolean"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonField::Other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(JsonField::Other("an object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
    const A_CHECKSUM: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    fn read(format: UsageFormat, text: &str) -> Result<Vec<UsageRecord>, RewardsError> {
        UsageReader::new(text.as_bytes(), format, "reports/r.txt").collect()
    }

    fn fails(format: UsageFormat, text: &str, line: u64, reason: InputReason) {
        let err = read(format, text).expect_err("must fail");
        let shown = err.to_string();
        match err {
            RewardsError::Input { at, reason: found } => {
                assert_eq!(at, Location::line("reports/r.txt", line), "{shown}");
                assert_eq!(found, reason, "{shown}");
                assert!(shown.starts_with(&format!("reports/r.txt:{line}: ")), "{shown}");
            }
            other => panic!("wrong error {other}"),
        }
    }

    #[test]
    fn reads_csv_and_json_lines_alike() -> Result<(), RewardsError> {
        let csv = format!(
            "\u{feff}{CSV_HEADER}\r\n{A},203.0.113.7,1500,100,200\r\n\n{A_CHECKSUM}, ::ffff:198.51.100.1 ,0,5,5\n"
        );
        let jsonl = format!(
            "{{\"account\":\"{A}\",\"ip\":\"203.0.113.7\",\"bytes\":1500,\"period_start\":100,\"period_end\":200}}\n\n\
             {{\"account\":\"{A_CHECKSUM}\",\"ip\":\"::ffff:198.51.100.1\",\"bytes\":\"0\",\"period_start\":\"5\",\"period_end\":5}}"
        );
        let a: Address = A.parse().map_err(|_| RewardsError::NothingToDistribute)?;
        let expected = vec![
            UsageRecord {
                account: a,
                ip: "203.0.113.7".parse().map_err(|_| RewardsError::NothingToDistribute)?,
                bytes: Bytes::new(1500),
                period: Period { start: 100, end: 200 },
            },
            UsageRecord {
                account: a,
                ip: "198.51.100.1".parse().map_err(|_| RewardsError::NothingToDistribute)?,
                bytes: Bytes::ZERO,
                period: Period { start: 5, end: 5 },
            },
        ];
        assert_eq!(read(UsageFormat::Csv, &csv)?, expected);
        assert_eq!(read(UsageFormat::JsonLines, &jsonl)?, expected);
        assert_eq!(read(UsageFormat::Csv, CSV_HEADER)?, vec![]);
        Ok(())
    }

    #[test]
    fn csv_errors_name_file_line_and_reason() {
        use InputReason::*;
        let csv = |line: &str| format!("{CSV_HEADER}\n{A},10.0.0.1,1,1,2\n{line}\n");
        fails(UsageFormat::Csv, "", 1, BadHeader { expected: CSV_HEADER, found: String::new() });
        fails(
            UsageFormat::Csv,
            "ip,account\n",
            1,
            BadHeader { expected: CSV_HEADER, found: "ip,account".into() },
        );
        fails(UsageFormat::Csv, &csv(&format!("{A},10.0.0.1,1,1")), 3, FieldCount { expected: 5, found: 4 });
        fails(
            UsageFormat::Csv,
            &csv(&format!("{A},10.0.0.1,1,1,2,3")),
            3,
            FieldCount { expected: 5, found: 6 },
        );
        fails(UsageFormat::Csv, &csv(&format!("\"{A}\",10.0.0.1,1,1,2")), 3, Quoted);
        fails(UsageFormat::Csv, &csv("0x1234,10.0.0.1,1,1,2"), 3, BadAddress("0x1234".into()));
        let not_hex = format!("0x{}", "g".repeat(40));
        fails(UsageFormat::Csv, &csv(&format!("{not_hex},10.0.0.1,1,1,2")), 3, BadAddress(not_hex.clone()));
        let wrong_case = A_CHECKSUM.replace("C8", "c8");
        fails(
            UsageFormat::Csv,
            &csv(&format!("{wrong_case},10.0.0.1,1,1,2")),
            3,
            BadChecksum(wrong_case.clone()),
        );
        fails(UsageFormat::Csv, &csv(&format!("{A},10.0.0.256,1,1,2")), 3, BadIp("10.0.0.256".into()));
        fails(UsageFormat::Csv, &csv(&format!("{A},worker-7,1,1,2")), 3, BadIp("worker-7".into()));
        fails(UsageFormat::Csv, &csv(&format!("{A},10.0.0.1,-5,1,2")), 3, NegativeBytes("-5".into()));
        fails(UsageFormat::Csv, &csv(&format!("{A},10.0.0.1,12kb,1,2")), 3, BadBytes("12kb".into()));
        fails(UsageFormat::Csv, &csv(&format!("{A},10.0.0.1,1.5,1,2")), 3, BadBytes("1.5".into()));
        fails(UsageFormat::Csv, &csv(&format!("{A},10.0.0.1,,1,2")), 3, BadBytes(String::new()));
        fails(
            UsageFormat::Csv,
            &csv(&format!("{A},10.0.0.1,1,yesterday,2")),
            3,
            BadTime { field: "period_start", value: "yesterday".into() },
        );
        fails(UsageFormat::Csv, &csv(&format!("{A},10.0.0.1,1,9,2")), 3, PeriodReversed { start: 9, end: 2 });
    }

    #[test]
    fn json_errors_name_file_line_and_reason() {
        use InputReason::*;
        let rec = |account: &str, ip: &str, bytes: &str| {
            format!(
                "{{\"account\":\"{account}\",\"ip\":\"{ip}\",\"bytes\":{bytes},\"period_start\":1,\"period_end\":2}}"
            )
        };
        let good = rec(A, "10.0.0.1", "1");
        let jsonl = |line: &str| format!("{good}\n{line}\n");
        fails(UsageFormat::JsonLines, &jsonl(&rec(A, "10.0.0.1", "-5")), 2, NegativeBytes("-5".into()));
        fails(UsageFormat::JsonLines, &jsonl(&rec(A, "10.0.0.1", "\"-5\"")), 2, NegativeBytes("-5".into()));
        fails(UsageFormat::JsonLines, &jsonl(&rec(A, "10.0.0.1", "\"ten\"")), 2, BadBytes("ten".into()));
        fails(UsageFormat::JsonLines, &jsonl(&rec(A, "10.0.0.1", "1.5")), 2, BadBytes("1.5".into()));
        fails(UsageFormat::JsonLines, &jsonl(&rec("0xabc", "10.0.0.1", "1")), 2, BadAddress("0xabc".into()));
        fails(UsageFormat::JsonLines, &jsonl(&rec(A, "1.2.3", "1")), 2, BadIp("1.2.3".into()));
        let err = read(UsageFormat::JsonLines, &jsonl("{\"account\":")).expect_err("must fail");
        assert!(matches!(&err, RewardsError::Input { at, reason: Json(_) } if at.line == Some(2)), "{err}");
        fails(UsageFormat::JsonLines, &format!("\u{feff}{good}\n"), 1, Bom);
        fails(UsageFormat::JsonLines, &jsonl(&format!("\u{feff}{good}")), 2, Bom);
        fails(UsageFormat::Csv, &format!("{CSV_HEADER}\n\u{feff}{A},10.0.0.1,1,1,2\n"), 2, Bom);
        let wrong = |field, found: &str, expected| JsonFieldType { field, found: found.into(), expected };
        fails(UsageFormat::JsonLines, &jsonl(&rec(A, "10.0.0.1", "null")), 2, wrong("bytes", "null", BYTES));
        fails(
            UsageFormat::JsonLines,
            &jsonl(&rec(A, "10.0.0.1", "true")),
            2,
            wrong("bytes", "a boolean", BYTES),
        );
        fails(
            UsageFormat::JsonLines,
            &jsonl(&rec(A, "10.0.0.1", "[1]")),
            2,
            wrong("bytes", "an array", BYTES),
        );
        fails(
            UsageFormat::JsonLines,
            &jsonl(&good.replace("\"period_end\":2", "\"period_end\":{}")),
            2,
            wrong("period_end", "an object", TIME),
        );
        fails(
            UsageFormat::JsonLines,
            &jsonl(&good.replace("\"10.0.0.1\"", "7")),
            2,
            wrong("ip", "the number 7", IP),
        );
        fails(
            UsageFormat::JsonLines,
            &jsonl(&good.replace(&format!("\"{A}\""), "null")),
            2,
            wrong("account", "null", ADDRESS),
        );
        let digits31 = "1234567890123456789012345678901";
        fails(
            UsageFormat::JsonLines,
            &jsonl(&rec(A, "10.0.0.1", digits31)),
            2,
            JsonNumberTooLarge { field: "bytes" },
        );
        let shown =
            read(UsageFormat::JsonLines, &jsonl(&rec(A, "10.0.0.1", "null"))).expect_err("null").to_string();
        assert_eq!(
            shown,
            "reports/r.txt:2: `bytes` is null: expected a whole number of bytes, as a JSON integer or a decimal string"
        );
        let extra = good.replace("}", ",\"note\":1}");
        let err = read(UsageFormat::JsonLines, &jsonl(&extra)).expect_err("must fail");
        assert!(
            err.to_string().contains("reports/r.txt:2: malformed JSON record: unknown field `note`"),
            "{err}"
        );
    }
}
