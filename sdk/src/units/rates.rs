//! Rates: the oracle's SNM/USD exchange rate, prices per second and per hour, and the 512-bit
//! `a * b / d` the contracts' money math rounds with.

use std::{fmt, str::FromStr};

use alloy::primitives::{U256, U512};

use super::{
    InexactPrice, ParseError, Snm, Usd,
    fixed::Fixed,
    money::{self, DECIMALS, ONE, parse_18},
};

/// A fixed SNM/USD exchange rate: how many SNM one US dollar buys, scaled by 10^18
/// (the oracle's convention).
///
/// Parses from `"25"` or `"25 SNM/USD"`; formats as `"25 SNM/USD"`; its `Debug` form is
/// `SnmPerUsd(25)`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnmPerUsd(U256);

impl SnmPerUsd {
    /// A rate given as SNM wei per whole USD (that is, SNM per USD scaled by 10^18).
    pub const fn from_scaled(scaled: U256) -> Self {
        Self(scaled)
    }

    /// A whole number of SNM per USD.
    pub fn from_whole(snm: u64) -> Self {
        Self(money::whole(snm))
    }

    /// SNM wei per whole USD.
    pub const fn scaled(self) -> U256 {
        self.0
    }

    /// Converts dollars to SNM at this rate, rounded down to the wei; `None` on overflow.
    pub fn usd_to_snm_down(self, usd: Usd) -> Option<Snm> {
        mul_div_down(usd.scaled(), self.0, U256::from(ONE)).map(Snm::from_wei)
    }
}

impl fmt::Display for SnmPerUsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} SNM/USD", Fixed::new(self.0, DECIMALS))
    }
}

impl fmt::Debug for SnmPerUsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        money::debug_18(f, "SnmPerUsd", self.0)
    }
}

impl FromStr for SnmPerUsd {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        parse_18(input, input, &["", "SNM/USD"], "a rate such as `25 SNM/USD`").map(Self)
    }
}

/// `a * b / d` rounded down, computed in 512 bits; `None` when `d` is zero or the result does not
/// fit 256 bits.
pub fn mul_div_down(a: U256, b: U256, d: U256) -> Option<U256> {
    let (quotient, _) = mul_div_rem(a, b, d)?;
    narrow(quotient)
}

/// `a * b / d` rounded up, computed in 512 bits; `None` when `d` is zero or the result does not
/// fit 256 bits.
pub fn mul_div_up(a: U256, b: U256, d: U256) -> Option<U256> {
    let (quotient, remainder) = mul_div_rem(a, b, d)?;
    narrow(if remainder.is_zero() { quotient } else { quotient + U512::from(1u8) })
}

/// The quotient and remainder of `a * b / d` (the product of two 256-bit numbers always fits 512
/// bits, and the quotient of one by a nonzero `d` does too, so only `d == 0` fails).
fn mul_div_rem(a: U256, b: U256, d: U256) -> Option<(U512, U512)> {
    if d.is_zero() {
        return None;
    }
    Some((U512::from(a) * U512::from(b)).div_rem(U512::from(d)))
}

fn narrow(value: U512) -> Option<U256> {
    (value <= U512::from(U256::MAX)).then(|| U256::from(value))
}

/// Seconds in an hour.
const SECONDS_PER_HOUR: u64 = 3_600;

/// Parses `"<n> USD/<per>"` or `"$<n>/<per>"`, naming `input` in the error.
fn parse_usd_rate(input: &str, per: &str, expected: &'static str) -> Result<U256, ParseError> {
    let (with_dollar, with_usd) = (format!("/{per}"), format!("USD/{per}"));
    match input.trim().strip_prefix('$') {
        Some(number) => parse_18(input, number, &[&with_dollar], expected),
        None => parse_18(input, input, &[&with_usd], expected),
    }
}

/// `from_scaled`, `scaled`, `Display`, `Debug` and `FromStr` of a price in USD per `$unit`, held as
/// an integer scaled by 10^18 and written `<n> USD/<per>` or `$<n>/<per>`.
macro_rules! usd_rate {
    ($name:ident, $per:literal, $unit:literal, $expected:literal) => {
        impl $name {
            #[doc = concat!("A price given in units of 10^-18 USD per ", $unit, ".")]
            pub const fn from_scaled(scaled: U256) -> Self {
                Self(scaled)
            }

            #[doc = concat!("The price in units of 10^-18 USD per ", $unit, ".")]
            pub const fn scaled(self) -> U256 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!("{} USD/", $per), Fixed::new(self.0, DECIMALS))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                money::debug_18(f, stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = ParseError;

            fn from_str(input: &str) -> Result<Self, ParseError> {
                parse_usd_rate(input, $per, $expected).map(Self)
            }
        }
    };
}

/// A price in US dollars per second, scaled by 10^18: the market's `pricePerSecond`, as stored
/// on chain and charged second by second.
///
/// Parses from `"0.00025 USD/s"` or `"$0.00025/s"`; formats as `"0.00025 USD/s"`; its `Debug`
/// form is `UsdPerSecond(0.00025)`. [`parse_rounding_down`](Self::parse_rounding_down) also
/// reads a price per hour.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsdPerSecond(U256);

usd_rate!(UsdPerSecond, "s", "second", "a price such as `0.00025 USD/s` or `$0.00025/s`");

/// What [`UsdPerSecond::parse_rounding_down`] and [`UsdPerSecond::parse_rounding_up`] expect.
const PER_HOUR_OR_SECOND: &str = "a price such as `0.9 USD/h`, `$0.9/h` or `0.00025 USD/s`";

impl UsdPerSecond {
    /// Free.
    pub const ZERO: Self = Self(U256::ZERO);

    /// The same price per hour. Exact (times 3,600); saturates at `U256::MAX`, which no price the
    /// market accepts (below 2^80) comes near.
    pub fn to_per_hour(self) -> UsdPerHour {
        UsdPerHour(self.0.saturating_mul(U256::from(SECONDS_PER_HOUR)))
    }

    /// Parses a price as people quote it, per hour (`0.9 USD/h`, `$0.9/h`), rounded down per second
    /// ([`UsdPerHour::to_per_second_down`]: never above what was written, as for a customer's
    /// maximum), or as the market stores it, per second (`0.00025 USD/s`).
    pub fn parse_rounding_down(input: &str) -> Result<Self, ParseError> {
        Self::parse_either(input, UsdPerHour::to_per_second_down)
    }

    /// [`parse_rounding_down`](Self::parse_rounding_down) with a price per hour rounded up per
    /// second ([`UsdPerHour::to_per_second_up`]: never below what was written, as for a
    /// supplier's ask).
    pub fn parse_rounding_up(input: &str) -> Result<Self, ParseError> {
        Self::parse_either(input, UsdPerHour::to_per_second_up)
    }

    fn parse_either(input: &str, per_second: fn(UsdPerHour) -> Self) -> Result<Self, ParseError> {
        match input.parse::<UsdPerHour>() {
            Ok(per_hour) => Ok(per_second(per_hour)),
            Err(per_hour) => match input.parse::<Self>() {
                Ok(price) => Ok(price),
                // The number's fault is the same whichever unit was meant; the unit's fault is
                // that it is neither.
                Err(_) => Err(per_hour.expecting(PER_HOUR_OR_SECOND)),
            },
        }
    }

    /// Dollars for `seconds` at this price (exact), or `None` on overflow.
    pub fn cost(self, seconds: u64) -> Option<Usd> {
        self.0.checked_mul(U256::from(seconds)).map(Usd::from_scaled)
    }

    /// SNM needed to pay `seconds` at `rate`, rounded up: the contract's deposit check
    /// (`snmNeededUp`: `ceil(price * seconds * rate / 10^18)`). `None` on overflow.
    pub fn snm_needed_up(self, seconds: u64, rate: SnmPerUsd) -> Option<Snm> {
        mul_div_up(self.cost(seconds)?.scaled(), rate.0, U256::from(ONE)).map(Snm::from_wei)
    }

    /// SNM owed for `seconds` at `rate`, rounded down: what a settlement pays (`snmOwedDown`).
    /// `None` on overflow.
    pub fn snm_owed_down(self, seconds: u64, rate: SnmPerUsd) -> Option<Snm> {
        rate.usd_to_snm_down(self.cost(seconds)?)
    }

    /// The whole seconds `budget` pays for at this price and `rate` (rounded down: each of them
    /// fully paid), saturating at `u64::MAX`, which a zero price or rate also gives.
    pub fn seconds_paid(self, budget: Snm, rate: SnmPerUsd) -> u64 {
        let per_second = self.0.saturating_mul(rate.0);
        mul_div_down(budget.wei(), U256::from(ONE), per_second).map_or(u64::MAX, |s| s.saturating_to())
    }

    /// The highest price of which `seconds` cost at most `budget` at `rate`: for every price `p`,
    /// `p.snm_needed_up(seconds, rate) <= Some(budget)` exactly when `p <= max_for_budget(..)`.
    /// `None` when `seconds` or `rate` is zero (any price fits).
    pub fn max_for_budget(budget: Snm, seconds: u64, rate: SnmPerUsd) -> Option<Self> {
        let per_second = U256::from(seconds).checked_mul(rate.0)?;
        mul_div_down(budget.wei(), U256::from(ONE), per_second).map(Self)
    }
}

/// A price in US dollars per hour, scaled by 10^18: how people quote machine prices.
///
/// The market charges per second, so a price per hour is converted with
/// [`to_per_second`](Self::to_per_second), which refuses ([`InexactPrice`], naming both
/// roundings) a price that is not a whole number of 10^-18 USD per second (for example $1/h =
/// 0.000277…/s), or with an explicit rounding, which cannot fail:
/// [`to_per_second_down`](Self::to_per_second_down) (never above the quoted price: for a
/// customer's maximum) or [`to_per_second_up`](Self::to_per_second_up) (never below it: for a
/// supplier's ask). The way back, [`UsdPerSecond::to_per_hour`], is always exact.
///
/// Parses from `"0.9 USD/h"` or `"$0.9/h"`; formats as `"0.9 USD/h"`; its `Debug` form is
/// `UsdPerHour(0.9)`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsdPerHour(U256);

usd_rate!(UsdPerHour, "h", "hour", "a price such as `0.9 USD/h` or `$0.9/h`");

impl UsdPerHour {
    /// A whole number of dollars per hour.
    pub fn from_whole(usd: u64) -> Self {
        Self(money::whole(usd))
    }

    /// The exact price per second, or [`InexactPrice`] (which names both roundings) when the
    /// hourly price is not a multiple of 3,600 × 10^-18 USD.
    pub fn to_per_second(self) -> Result<UsdPerSecond, InexactPrice> {
        let (quotient, remainder) = self.0.div_rem(U256::from(SECONDS_PER_HOUR));
        if remainder.is_zero() { Ok(UsdPerSecond(quotient)) } else { Err(InexactPrice::new(self)) }
    }

    /// The price per second rounded down to 10^-18 USD: at most the quoted price per hour.
    pub fn to_per_second_down(self) -> UsdPerSecond {
        UsdPerSecond(self.0 / U256::from(SECONDS_PER_HOUR))
    }

    /// The price per second rounded up to 10^-18 USD: at least the quoted price per hour.
    pub fn to_per_second_up(self) -> UsdPerSecond {
        UsdPerSecond(self.0.div_ceil(U256::from(SECONDS_PER_HOUR)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::ParseErrorKind;

    #[test]
    fn rates_parse_format_and_convert_exactly() -> Result<(), ParseError> {
        let rate: SnmPerUsd = "25 SNM/USD".parse()?;
        assert_eq!(rate, "25".parse()?);
        assert_eq!(rate.to_string(), "25 SNM/USD");
        assert_eq!(format!("{rate:?}"), "SnmPerUsd(25)");
        assert_eq!(rate.usd_to_snm_down(Usd::from_whole(4)), Some(Snm::from_whole(100)));
        for (bad, kind) in [("x SNM/USD", ParseErrorKind::Empty), ("25 USD/SNM", ParseErrorKind::Unit)] {
            assert_eq!(bad.parse::<SnmPerUsd>().map_err(|e| e.kind()), Err(kind));
        }
        Ok(())
    }

    #[test]
    fn mul_div_rounds_as_its_name_says() {
        let [three, ten, one] = [3u8, 10, 1].map(U256::from);
        assert_eq!(mul_div_down(ten, one, three), Some(three));
        assert_eq!(mul_div_up(ten, one, three), Some(U256::from(4)));
        assert_eq!(mul_div_up(U256::from(9), one, three), Some(three), "exact: no rounding");
        assert_eq!(mul_div_down(U256::MAX, U256::from(2), one), None);
        assert_eq!(mul_div_down(U256::MAX, U256::MAX, U256::MAX), Some(U256::MAX));
        assert_eq!(mul_div_up(U256::MAX, U256::MAX - one, U256::MAX), Some(U256::MAX - one));
        assert_eq!(mul_div_down(one, one, U256::ZERO), None);
        assert_eq!(mul_div_up(one, one, U256::ZERO), None);
    }

    #[test]
    fn prices_convert_exactly_or_say_how_they_round() -> Result<(), Box<dyn std::error::Error>> {
        let hourly: UsdPerHour = "0.9 USD/h".parse()?;
        let per_second = hourly.to_per_second()?;
        assert_eq!(per_second, "0.00025 USD/s".parse()?);
        assert_eq!(per_second.to_string(), "0.00025 USD/s");
        assert_eq!(
            (format!("{hourly:?}"), format!("{per_second:?}")),
            ("UsdPerHour(0.9)".into(), "UsdPerSecond(0.00025)".into())
        );
        assert_eq!(per_second.to_per_hour(), hourly);
        assert_eq!("$0.9/h".parse::<UsdPerHour>()?, hourly);
        assert_eq!(hourly.to_string(), "0.9 USD/h");
        // $1/h is 0.000277... per second: refused, or rounded as asked, never by accident.
        let one = UsdPerHour::from_whole(1);
        let inexact = one.to_per_second().map(drop).unwrap_err();
        assert_eq!(
            (inexact.per_hour(), inexact.down(), inexact.up()),
            (one, one.to_per_second_down(), one.to_per_second_up())
        );
        assert!(inexact.to_string().contains("0.000277777777777777 USD/s"), "{inexact}");
        assert!(inexact.to_string().contains("0.000277777777777778 USD/s"), "{inexact}");
        assert_eq!(one.to_per_second_down().scaled(), U256::from(277_777_777_777_777u64));
        assert_eq!(one.to_per_second_up().scaled(), U256::from(277_777_777_777_778u64));
        assert!(one.to_per_second_down().to_per_hour() < one && one < one.to_per_second_up().to_per_hour());
        // Exact prices round to themselves either way.
        assert_eq!((hourly.to_per_second_down(), hourly.to_per_second_up()), (per_second, per_second));
        let cases = [
            ("0.9 USD/s", ParseErrorKind::Unit),
            ("0.9", ParseErrorKind::Unit),
            ("$0.9", ParseErrorKind::Unit),
            ("0.9 USD/h extra", ParseErrorKind::Unit),
            ("-1 USD/h", ParseErrorKind::Negative),
            ("0.0000000000000000001 USD/h", ParseErrorKind::ExcessDecimals { max: 18 }),
        ];
        for (bad, kind) in cases {
            let error = bad.parse::<UsdPerHour>().map(drop).unwrap_err();
            assert_eq!((error.input(), error.kind()), (bad, kind), "{error}");
        }
        assert!("1 USD/h".parse::<UsdPerSecond>().is_err());
        Ok(())
    }

    #[test]
    fn a_price_per_hour_or_per_second_rounds_as_named() -> Result<(), ParseError> {
        let exact = "0.00025 USD/s".parse::<UsdPerSecond>()?;
        assert_eq!(UsdPerSecond::parse_rounding_down("0.9 USD/h")?, exact);
        assert_eq!(UsdPerSecond::parse_rounding_up("$0.9/h")?, exact);
        assert_eq!(UsdPerSecond::parse_rounding_down("0.00025 USD/s")?, exact);
        let one = UsdPerHour::from_whole(1);
        assert_eq!(UsdPerSecond::parse_rounding_down("$1/h")?, one.to_per_second_down());
        assert_eq!(UsdPerSecond::parse_rounding_up("1 USD/h")?, one.to_per_second_up());
        let error = UsdPerSecond::parse_rounding_down("1 USD").map(drop).unwrap_err();
        assert_eq!(
            (error.input(), error.kind(), error.expected()),
            ("1 USD", ParseErrorKind::Unit, PER_HOUR_OR_SECOND)
        );
        let error = UsdPerSecond::parse_rounding_up("-1 USD/s").map(drop).unwrap_err();
        assert_eq!(error.kind(), ParseErrorKind::Negative);
        Ok(())
    }

    #[test]
    fn deal_money_matches_the_contract() {
        let price = UsdPerSecond::from_scaled(U256::from(250_000_000_000_000u64)); // 0.9 USD/h
        let rate = SnmPerUsd::from_whole(100);
        assert_eq!(price.snm_needed_up(3_600, rate), Some(Snm::from_whole(90)));
        assert_eq!(price.seconds_paid(Snm::from_whole(90), rate), 3_600);
        assert_eq!(price.cost(7_200), Some(Usd::from_scaled(U256::from(1_800_000_000_000_000_000u64))));
        // 1/3 wei a second: owed rounds down, needed rounds up.
        let third = UsdPerSecond::from_scaled(U256::from(1));
        let rate = SnmPerUsd::from_scaled(U256::from(333_333_333_333_333_333u64));
        assert_eq!(third.snm_owed_down(1, rate), Some(Snm::ZERO));
        assert_eq!(third.snm_needed_up(1, rate), Some(Snm::from_wei(U256::from(1))));
        // The budget's price limit is exact both ways.
        for (budget, seconds, rate) in [(90u64, 3_600, 100u64), (7, 7_200, 3), (1, 1, 1)] {
            let (budget, rate) = (Snm::from_whole(budget), SnmPerUsd::from_whole(rate));
            let max = UsdPerSecond::max_for_budget(budget, seconds, rate).unwrap_or(UsdPerSecond::ZERO);
            assert!(max.snm_needed_up(seconds, rate) <= Some(budget));
            let above = UsdPerSecond::from_scaled(max.scaled() + U256::from(1));
            assert!(above.snm_needed_up(seconds, rate) > Some(budget));
        }
        assert_eq!(UsdPerSecond::max_for_budget(Snm::from_whole(1), 0, SnmPerUsd::from_whole(1)), None);
    }
}
