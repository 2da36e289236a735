//! What a campaign accepts of a well-formed usage record: a payout account that can claim, a worker
//! IP that a worker can have, and no more traffic than the worker's line carries in the record's
//! period. The syntax of a record is [`usage`](super::usage)'s concern; this is its sense.

use alloy::primitives::Address;

use super::{
    campaign::Campaign,
    input_error::InputReason,
    line_rate::LineExcess,
    usage::{Period, UsageRecord},
};
use crate::net::classify;

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
    use crate::rewards::line_rate::LineRate;
    use crate::{
        net::AddressClass,
        units::{Bytes, SnmPerUsd},
    };

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
