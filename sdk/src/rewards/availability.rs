//! Availability records: what a supplier agent writes for each of its workers, period by period
//! (an open ask, a running deal, or neither), so that a campaign can pay an admitted IP for being
//! available even when no customer bought it; and [`OnlineTime`], the campaign's `min_online`.
//!
//! JSON lines, one record a line, exactly these keys:
//!
//! ```json
//! {"account":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","worker":"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC","ip":"203.0.113.7","period_start":1767225600,"period_end":1767229199,"state":"ask","bytes":0}
//! ```
//!
//! `state` is `ask` (an open ask, no deal), `deal` (a running deal) or `idle` (neither: not
//! available); `bytes` is the customer traffic of the period, 0 when idle or only asking.

use std::{fmt, net::IpAddr, str::FromStr};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::units::Bytes;

/// What a worker offered during a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    /// An open ask and no deal: available, not bought.
    Ask,
    /// A running deal.
    Deal,
    /// Neither: not available.
    Idle,
}

impl WorkerState {
    /// Whether the worker counts as available (an open ask or a running deal).
    pub fn is_available(self) -> bool {
        matches!(self, Self::Ask | Self::Deal)
    }
}

/// One worker's availability over one period (one JSON line of an availability file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityRecord {
    /// The payout account (the worker's master).
    pub account: Address,
    /// The worker.
    pub worker: Address,
    /// The worker's IP.
    pub ip: IpAddr,
    /// The period's first second, unix time.
    pub period_start: u64,
    /// The period's last second, unix time (inclusive, as in usage reports).
    pub period_end: u64,
    /// What the worker offered.
    pub state: WorkerState,
    /// Customer traffic in the period (0 when idle or only asking).
    pub bytes: Bytes,
}

impl AvailabilityRecord {
    /// The record as one JSON line, newline included.
    pub fn to_json_line(&self) -> String {
        // Only plain fields: serialising cannot fail.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// A length of online time, in whole seconds: the campaign's `min_online`. Written `"24h"`,
/// `"90m"`, `"3600s"` or `"7d"` (a whole number and one unit); shown in the largest unit that
/// divides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OnlineTime(u64);

/// A text that is not an [`OnlineTime`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an online time: expected a whole number and a unit, s, m, h or d (\"24h\")")]
pub struct OnlineTimeError(pub String);

impl OnlineTime {
    /// `seconds` of online time.
    pub const fn from_secs(seconds: u64) -> Self {
        Self(seconds)
    }

    /// `hours` of online time.
    pub const fn from_hours(hours: u64) -> Self {
        Self(hours * 3600)
    }

    /// The seconds.
    pub const fn secs(self) -> u64 {
        self.0
    }
}

impl FromStr for OnlineTime {
    type Err = OnlineTimeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || OnlineTimeError(text.to_owned());
        let trimmed = text.trim();
        let split = trimmed.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, unit) = trimmed.split_at(split);
        let number: u64 = number.parse().map_err(|_| bad())?;
        let scale = match unit.trim() {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        number.checked_mul(scale).map(Self).ok_or_else(bad)
    }
}

impl fmt::Display for OnlineTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            s if s > 0 && s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            s if s > 0 && s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s > 0 && s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

impl Serialize for OnlineTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OnlineTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_times_read_and_show_in_whole_units() {
        assert_eq!("24h".parse(), Ok(OnlineTime::from_hours(24)));
        assert_eq!("90m".parse::<OnlineTime>().map(|t| t.to_string()), Ok("90m".to_owned()));
        assert_eq!("7200s".parse::<OnlineTime>().map(|t| t.to_string()), Ok("2h".to_owned()));
        assert_eq!("2d".parse::<OnlineTime>().map(OnlineTime::secs), Ok(172_800));
        for bad in ["", "h", "24", "1.5h", "-1h", "3w", "99999999999999999999d"] {
            assert_eq!(bad.parse::<OnlineTime>(), Err(OnlineTimeError(bad.to_owned())), "{bad}");
        }
    }
}
