//! The market's rules of money: the oracle's [`Rate`], the [`DepositRule`] and the protocol [`Fee`].

use std::{fmt, time::Duration};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::{
    block_time::BlockTime,
    units::{Snm, SnmPerUsd, Term, UsdPerSecond, duration_text, format_duration},
};

/// The oracle's SNM/USD rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    /// SNM per USD.
    pub snm_per_usd: SnmPerUsd,
    /// Block time it was reported.
    pub updated_at: u64,
    /// How long a rate stays usable for moving money.
    #[serde(with = "duration_text")]
    pub max_age: Duration,
}

impl Rate {
    /// Whether the market accepts this rate at block time `now` (the oracle's `freshRate`).
    pub fn is_fresh(&self, now: u64) -> bool {
        now.saturating_sub(self.updated_at) <= self.max_age.as_secs()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, reported at block time {}, usable for {} after",
            self.snm_per_usd,
            BlockTime(self.updated_at),
            format_duration(self.max_age)
        )
    }
}

/// The deposit rule of the market: opening needs a deposit covering `min_runway` seconds (or the
/// whole fixed term when shorter) at the ask's price and the current rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRule {
    /// The oracle's current rate.
    pub rate: SnmPerUsd,
    /// Seconds a deposit must cover at opening.
    #[serde(with = "duration_text")]
    pub min_runway: Duration,
}

impl DepositRule {
    /// The seconds a deposit must cover for `term`.
    pub fn runway_secs(&self, term: Term) -> u64 {
        match term.secs() {
            0 => self.min_runway.as_secs(),
            secs => secs.min(self.min_runway.as_secs()),
        }
    }

    /// The least deposit the contract accepts for `term` at `price` (rounded up, as it checks).
    pub fn required(&self, price: UsdPerSecond, term: Term) -> Option<Snm> {
        price.snm_needed_up(self.runway_secs(term), self.rate)
    }
}

impl fmt::Display for DepositRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a deposit covers at least {} (or the whole term when shorter) at {}",
            format_duration(self.min_runway),
            self.rate
        )
    }
}

/// The protocol fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// Basis points of each supplier payment.
    pub bps: u16,
    /// Who receives it; `None` while the fee is zero and no treasury was set.
    pub treasury: Option<Address>,
}

impl fmt::Display for Fee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} basis points of each supplier payment", self.bps)?;
        match self.treasury {
            Some(treasury) => write!(f, ", to {treasury}"),
            None => Ok(()),
        }
    }
}
