//! The speed of a worker's line, which bounds the traffic a usage record may report for its period,
//! and the error of a record that reports more.

use std::{fmt, str::FromStr};

use crate::units::{
    Bytes, ParseError, ParseErrorKind,
    fixed::{self, Fixed},
};

/// The speed of a line, in bits per second: the most traffic a worker can carry, which bounds what
/// a usage record may report for its period (a campaign's `max_line_rate`).
///
/// Parses from `"10 Gbit/s"`, `"400 Mbit/s"`, `"1.5 Gbit/s"` or `"10 Gbps"` (units `bit/s`,
/// `kbit/s`, `Mbit/s`, `Gbit/s`, `Tbit/s` or the same with `bps`, any case, powers of 1000); formats
/// in the largest unit it holds at least one of:
///
/// ```
/// use snm_sdk::rewards::LineRate;
///
/// let rate: LineRate = "1.5 Gbit/s".parse()?;
/// assert_eq!(rate.bits_per_second(), 1_500_000_000);
/// assert_eq!(rate.to_string(), "1.5 Gbit/s");
/// assert_eq!(LineRate::TEN_GBIT.to_string(), "10 Gbit/s");
/// // A 10 Gbit/s line carries 1.25 GB in a second, 108 TB in a day.
/// assert_eq!(LineRate::TEN_GBIT.bytes_in(86_400).in_tb().to_string(), "108 TB");
/// # Ok::<(), snm_sdk::units::ParseError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineRate(u64);

/// The units [`LineRate`] reads and writes, largest first: the two names and the decimals (powers
/// of ten) of a bit per second in one of them.
const RATE_UNITS: [(&str, &str, u8); 5] = [
    ("Tbit/s", "Tbps", 12),
    ("Gbit/s", "Gbps", 9),
    ("Mbit/s", "Mbps", 6),
    ("kbit/s", "kbps", 3),
    ("bit/s", "bps", 0),
];

impl LineRate {
    /// 10 Gbit/s, the campaigns' default: more than a worker's uplink usually is.
    pub const TEN_GBIT: Self = Self(10_000_000_000);

    /// A rate of `bits` per second.
    pub const fn from_bits_per_second(bits: u64) -> Self {
        Self(bits)
    }

    /// The rate in bits per second.
    pub const fn bits_per_second(self) -> u64 {
        self.0
    }

    /// The most bytes such a line carries in `seconds` (rounded down).
    pub fn bytes_in(self, seconds: u64) -> Bytes {
        // u64 × u64 fits a u128.
        Bytes::new(u128::from(self.0) * u128::from(seconds) / 8)
    }
}

impl fmt::Display for LineRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, _, decimals) = RATE_UNITS
            .into_iter()
            .find(|&(_, _, decimals)| self.0 >= 10u64.pow(u32::from(decimals)))
            .unwrap_or(RATE_UNITS[RATE_UNITS.len() - 1]);
        write!(f, "{} {name}", Fixed::from_u128(self.0.into(), decimals))
    }
}

impl FromStr for LineRate {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        let error = |kind| {
            ParseError::new(input, kind, "a line rate such as `10 Gbit/s`, `400 Mbit/s` or `1.5 Gbps`")
        };
        let (number, unit) = fixed::split_unit(input.trim());
        let (_, _, decimals) = RATE_UNITS
            .into_iter()
            .find(|(name, short, _)| name.eq_ignore_ascii_case(unit) || short.eq_ignore_ascii_case(unit))
            .ok_or_else(|| error(ParseErrorKind::Unit))?;
        fixed::parse_ascii::<u64>(number.as_bytes(), decimals).map(Self).map_err(error)
    }
}

/// As its text (`"10 Gbit/s"`), as the campaign file writes it.
impl serde::Serialize for LineRate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for LineRate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A record's traffic beyond what its line carries in its period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{bytes} bytes in {seconds} s are more than a {rate} line carries ({most} bytes): the \
     campaign's `max_line_rate` bounds every record",
    bytes = .bytes.get(),
    most = .most.get()
)]
pub struct LineExcess {
    /// The bytes reported.
    pub bytes: Bytes,
    /// The period's length in seconds, both ends included.
    pub seconds: u64,
    /// The campaign's `max_line_rate`.
    pub rate: LineRate,
    /// What such a line carries in the period.
    pub most: Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_rates_parse_and_print_in_the_largest_unit() -> Result<(), ParseError> {
        for (text, bits, shown) in [
            ("10 Gbit/s", 10_000_000_000, "10 Gbit/s"),
            ("10Gbps", 10_000_000_000, "10 Gbit/s"),
            ("400 mbit/s", 400_000_000, "400 Mbit/s"),
            ("1.5 Gbit/s", 1_500_000_000, "1.5 Gbit/s"),
            ("0.1 Tbit/s", 100_000_000_000, "100 Gbit/s"),
            ("2500 kbps", 2_500_000, "2.5 Mbit/s"),
            ("1 bit/s", 1, "1 bit/s"),
            ("0 bit/s", 0, "0 bit/s"),
        ] {
            let rate: LineRate = text.parse()?;
            assert_eq!((rate.bits_per_second(), rate.to_string().as_str()), (bits, shown), "{text}");
            assert_eq!(shown.parse::<LineRate>()?, rate, "{shown} reads back");
        }
        for (bad, kind) in [
            ("10", ParseErrorKind::Unit),
            ("10 GB/s", ParseErrorKind::Unit),
            ("1.5 bit/s", ParseErrorKind::ExcessDecimals { max: 0 }),
            ("-1 Gbit/s", ParseErrorKind::Negative),
            ("99999999999 Tbit/s", ParseErrorKind::TooLarge),
        ] {
            let error = bad.parse::<LineRate>().expect_err(bad);
            assert_eq!(error.kind(), kind, "{error}");
        }
        assert_eq!(LineRate::TEN_GBIT.bytes_in(1), Bytes::new(1_250_000_000));
        assert_eq!(
            LineRate::from_bits_per_second(u64::MAX).bytes_in(u64::MAX).get(),
            (u128::from(u64::MAX).pow(2)) / 8
        );
        Ok(())
    }
}
