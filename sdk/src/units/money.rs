//! Money: SNM token amounts and US dollars, both exact integers scaled by 10^18.

use std::{fmt, str::FromStr};

use alloy::primitives::U256;

use super::{
    ParseError, ParseErrorKind,
    fixed::{self, Fixed},
};

/// Decimals of SNM (the token's `decimals()`), and of every USD amount and price: the market
/// stores prices scaled by 10^18.
pub(super) const DECIMALS: u8 = 18;

/// 10^18: one SNM in wei, one USD in its smallest unit.
pub(super) const ONE: u128 = 1_000_000_000_000_000_000;

/// `whole` × 10^18.
pub(super) fn whole(whole: u64) -> U256 {
    U256::from(whole) * U256::from(ONE)
}

/// Parses `text`, a number followed by one of `units` (`""` for none), at 18 decimals; the error
/// names `input` (of which `text` may be a part) and says what was `expected`.
pub(super) fn parse_18(
    input: &str,
    text: &str,
    units: &[&str],
    expected: &'static str,
) -> Result<U256, ParseError> {
    let error = |kind| ParseError::new(input, kind, expected);
    let (number, unit) = fixed::split_unit(text.trim());
    let value = fixed::parse_ascii(number.as_bytes(), DECIMALS).map_err(error)?;
    if units.contains(&unit) { Ok(value) } else { Err(error(ParseErrorKind::Unit)) }
}

/// Writes `Name(decimal)`: the `Debug` form of an amount or a price, readable rather than raw.
pub(super) fn debug_18(f: &mut fmt::Formatter<'_>, name: &str, scaled: U256) -> fmt::Result {
    f.debug_tuple(name).field(&format_args!("{}", Fixed::new(scaled, DECIMALS))).finish()
}

/// An amount of SNM, held exactly in wei (1 SNM = 10^18 wei).
///
/// Parses from and formats as `"12.5 SNM"` (the unit is optional when parsing); its `Debug` form is
/// `Snm(12.5)`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Snm(U256);

impl Snm {
    /// Zero SNM.
    pub const ZERO: Self = Self(U256::ZERO);

    /// An amount given in wei.
    pub const fn from_wei(wei: U256) -> Self {
        Self(wei)
    }

    /// A whole number of SNM.
    pub fn from_whole(snm: u64) -> Self {
        Self(whole(snm))
    }

    /// The amount in wei, as the contracts take it.
    pub const fn wei(self) -> U256 {
        self.0
    }

    /// The sum, or `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// The difference, or `None` when `other` is larger.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }
}

impl std::iter::Sum for Snm {
    /// The sum, saturating at `U256::MAX` (which SNM's supply never comes near).
    fn sum<I: Iterator<Item = Self>>(amounts: I) -> Self {
        Self(amounts.fold(U256::ZERO, |sum, amount| sum.saturating_add(amount.0)))
    }
}

impl<'a> std::iter::Sum<&'a Snm> for Snm {
    /// The sum, saturating at `U256::MAX`.
    fn sum<I: Iterator<Item = &'a Self>>(amounts: I) -> Self {
        amounts.copied().sum()
    }
}

impl fmt::Display for Snm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} SNM", Fixed::new(self.0, DECIMALS))
    }
}

impl fmt::Debug for Snm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_18(f, "Snm", self.0)
    }
}

impl FromStr for Snm {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        parse_18(input, input, &["", "SNM"], "an amount such as `12.5 SNM`").map(Self)
    }
}

/// An amount of US dollars, held exactly as an integer scaled by 10^18 (as the market's prices are).
///
/// Parses from `"4"`, `"4.25 USD"` or `"$4.25"`; formats as `"4.25 USD"`; its `Debug` form is
/// `Usd(4.25)`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usd(U256);

impl Usd {
    /// Zero dollars.
    pub const ZERO: Self = Self(U256::ZERO);

    /// An amount given in units of 10^-18 USD.
    pub const fn from_scaled(scaled: U256) -> Self {
        Self(scaled)
    }

    /// A whole number of dollars.
    pub fn from_whole(usd: u64) -> Self {
        Self(whole(usd))
    }

    /// The amount in units of 10^-18 USD.
    pub const fn scaled(self) -> U256 {
        self.0
    }
}

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} USD", Fixed::new(self.0, DECIMALS))
    }
}

impl fmt::Debug for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_18(f, "Usd", self.0)
    }
}

impl FromStr for Usd {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        const EXPECTED: &str = "an amount such as `4 USD` or `$4`";
        match input.trim().strip_prefix('$') {
            Some(number) => parse_18(input, number, &[""], EXPECTED),
            None => parse_18(input, input, &["", "USD"], EXPECTED),
        }
        .map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_exactly() -> Result<(), ParseError> {
        let amount: Snm = "12.5 SNM".parse()?;
        assert_eq!(amount.wei(), U256::from(12_500_000_000_000_000_000u128));
        assert_eq!(amount.to_string(), "12.5 SNM");
        assert_eq!(Snm::from_whole(50).to_string(), "50 SNM");
        assert_eq!(Snm::ZERO.to_string(), "0 SNM");
        assert_eq!("0.000000000000000001".parse::<Snm>()?.wei(), U256::from(1));
        assert_eq!(".5".parse::<Snm>()?, "0.5 SNM".parse::<Snm>()?);
        assert_eq!(" 7SNM ".parse::<Snm>()?, Snm::from_whole(7));
        let usd: Usd = "$4".parse()?;
        assert_eq!(usd, Usd::from_whole(4));
        assert_eq!(usd.to_string(), "4 USD");
        assert_eq!("0.25 USD".parse::<Usd>()?.scaled(), U256::from(250_000_000_000_000_000u128));
        assert_eq!("$ 0.25".parse::<Usd>()?, "0.25".parse::<Usd>()?);
        Ok(())
    }

    #[test]
    fn refuses_bad_amounts_naming_them() {
        let cases = [
            ("", ParseErrorKind::Empty),
            ("SNM", ParseErrorKind::Empty),
            ("1.2.3", ParseErrorKind::NotANumber),
            ("-1", ParseErrorKind::Negative),
            ("-0.5 SNM", ParseErrorKind::Negative),
            ("1e18", ParseErrorKind::Unit),
            ("0.0000000000000000001", ParseErrorKind::ExcessDecimals { max: 18 }),
            ("abc SNM", ParseErrorKind::Empty),
            ("5 USD", ParseErrorKind::Unit),
            ("5 SNM SNM", ParseErrorKind::Unit),
        ];
        for (bad, kind) in cases {
            let error = bad.parse::<Snm>().map(drop).unwrap_err();
            assert_eq!((error.input(), error.kind()), (bad, kind), "{error}");
            assert!(error.to_string().starts_with(&format!("cannot parse `{bad}`: ")), "{error}");
            assert!(error.to_string().ends_with("expected an amount such as `12.5 SNM`"), "{error}");
        }
        let cases = [
            ("", ParseErrorKind::Empty),
            ("USD", ParseErrorKind::Empty),
            ("$", ParseErrorKind::Empty),
            ("-4", ParseErrorKind::Negative),
            ("$-4", ParseErrorKind::Negative),
            ("$4 USD", ParseErrorKind::Unit),
            ("4 EUR", ParseErrorKind::Unit),
            ("1.0000000000000000001", ParseErrorKind::ExcessDecimals { max: 18 }),
        ];
        for (bad, kind) in cases {
            let error = bad.parse::<Usd>().map(drop).unwrap_err();
            assert_eq!((error.input(), error.kind()), (bad, kind), "{error}");
        }
    }

    #[test]
    fn debug_shows_the_decimal_not_wei() -> Result<(), ParseError> {
        assert_eq!(format!("{:?}", "199.95 SNM".parse::<Snm>()?), "Snm(199.95)");
        assert_eq!(format!("{:?}", Snm::ZERO), "Snm(0)");
        assert_eq!(format!("{:?}", Usd::from_scaled(U256::from(1))), "Usd(0.000000000000000001)");
        assert_eq!(format!("{:?}", Some(Snm::from_whole(3))), "Some(Snm(3))");
        Ok(())
    }
}
