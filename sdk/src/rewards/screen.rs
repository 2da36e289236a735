//! What a campaign accepts of a well-formed usage record: a payout account that can claim, a worker
//! IP that a worker can have, and no more traffic than the worker's line carries in the record's
//! period. The syntax of a record is [`usage`](super::usage)'s concern; this is its sense.

use std::{fmt, str::FromStr};

use alloy::primitives::Address;

use super::{
    campaign::Campaign,
    error::InputReason,
    usage::{Period, UsageRecord},
};
use crate::net::classify;
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

impl Campaign {
    /// Checks what the campaign accepts of a well-formed record: a payout account other than the
    /// zero address (whose leaf nobody could ever claim), a worker IP a worker can have (never
    /// unspecified, broadcast or multicast; loopback, private, link-local and shared only with
    /// [`allow_private_ips`](Campaign::allow_private_ips)), and no more bytes than a line of
    /// [`max_line_rate`](Campaign::max_line_rate) carries in the record's period
    /// (`period_end - period_start + 1` seconds, both ends included).
    pub fn check_record(&self, record: &UsageRecord) -> Result<(), InputReason> {
        if record.account == Address::ZERO {
            return Err(InputReason::ZeroAddress);
        }
        // Reserved ranges (documentation, benchmarking) pass: example reports use them.
        match classify(record.ip) {
            Some(class) if class.is_never_a_host() => {
                return Err(InputReason::NotAWorkerIp { ip: record.ip, class });
            }
            Some(class) if class.is_private() && !self.allow_private_ips => {
                return Err(InputReason::PrivateIp { ip: record.ip, class });
            }
            _ => {}
        }
        let Period { start, end } = record.period;
        let span = end.checked_sub(start).ok_or(InputReason::PeriodReversed { start, end })?;
        // A period of 2^64 seconds does not fit a u64; it carries at least what 2^64 - 1 do.
        let seconds = span.saturating_add(1);
        let most = self.max_line_rate.bytes_in(seconds);
        if record.bytes > most {
            return Err(InputReason::BeyondLineRate(Box::new(LineExcess {
                bytes: record.bytes,
                seconds,
                rate: self.max_line_rate,
                most,
            })));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{net::AddressClass, units::SnmPerUsd};

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

    #[test]
    fn reserved_ranges_are_counted_for_the_example_reports_that_use_them() {
        let campaign = Campaign::operation_a(SnmPerUsd::from_whole(25));
        for ip in ["203.0.113.7", "198.51.100.20", "192.0.2.1", "2001:db8::1", "8.8.8.8"] {
            let record = UsageRecord {
                account: Address::repeat_byte(0xa),
                ip: ip.parse().expect("an IP"),
                bytes: Bytes::new(1),
                period: Period { start: 0, end: 1 },
            };
            assert_eq!(campaign.check_record(&record), Ok(()), "{ip}");
        }
    }

    #[test]
    fn a_campaign_refuses_the_zero_address_ips_no_worker_has_and_traffic_beyond_the_line() {
        let mut campaign = Campaign::operation_a(SnmPerUsd::from_whole(25));
        let record = |account: Address, ip: &str, bytes: u128, start: u64, end: u64| UsageRecord {
            account,
            ip: ip.parse().expect("an IP"),
            bytes: Bytes::new(bytes),
            period: Period { start, end },
        };
        let a = Address::repeat_byte(0xa);
        // A day at 10 Gbit/s: 108 TB, not a byte more.
        let day = 108_000_000_000_000;
        assert_eq!(campaign.check_record(&record(a, "203.0.113.7", day, 0, 86_399)), Ok(()));
        assert_eq!(
            campaign.check_record(&record(a, "203.0.113.7", day + 1, 0, 86_399)),
            Err(InputReason::BeyondLineRate(Box::new(LineExcess {
                bytes: Bytes::new(day + 1),
                seconds: 86_400,
                rate: LineRate::TEN_GBIT,
                most: Bytes::new(day),
            })))
        );
        // One second (start = end) carries 1.25 GB.
        assert_eq!(campaign.check_record(&record(a, "203.0.113.7", 1_250_000_000, 7, 7)), Ok(()));
        let huge = record(a, "203.0.113.7", 10u128.pow(30), 0, u64::MAX);
        assert!(matches!(campaign.check_record(&huge), Err(InputReason::BeyondLineRate(_))));
        assert_eq!(
            campaign.check_record(&record(Address::ZERO, "203.0.113.7", 1, 0, 1)),
            Err(InputReason::ZeroAddress)
        );
        for (ip, class) in [
            ("0.0.0.0", AddressClass::Unspecified),
            ("255.255.255.255", AddressClass::Broadcast),
            ("224.0.0.251", AddressClass::Multicast),
        ] {
            let found = campaign.check_record(&record(a, ip, 1, 0, 1));
            assert_eq!(found, Err(InputReason::NotAWorkerIp { ip: ip.parse().expect("an IP"), class }));
        }
        let loopback = record(a, "127.0.0.1", 1, 0, 1);
        let refused = campaign.check_record(&loopback).expect_err("loopback without the switch");
        assert_eq!(
            refused.to_string(),
            "`127.0.0.1` is loopback: the campaign counts such IPs only with \
             `allow_private_ips = true`"
        );
        campaign.allow_private_ips = true;
        assert_eq!(campaign.check_record(&loopback), Ok(()));
        assert_eq!(campaign.check_record(&record(a, "10.0.0.1", 1, 0, 1)), Ok(()));
        // Never, whatever the switch.
        assert!(campaign.check_record(&record(a, "255.255.255.255", 1, 0, 1)).is_err());
        campaign.max_line_rate = "100 Gbit/s".parse().expect("a rate");
        assert_eq!(campaign.check_record(&record(a, "10.0.0.1", day + 1, 0, 86_399)), Ok(()));
    }
}
