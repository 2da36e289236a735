//! Typed money and resource units, so that a price is never mistaken for an amount of tokens.

use alloy::primitives::{U256, U512};
use std::{fmt, str::FromStr};

use crate::Error;

/// Wei per SNM: the token has 18 decimals.
const WEI_PER_SNM: u128 = 1_000_000_000_000_000_000;

/// An amount of SNM, held exactly in wei (1 SNM = 10^18 wei).
///
/// Parses from and formats as `"12.5 SNM"` (the unit is optional when parsing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
        Self(U256::from(snm) * U256::from(WEI_PER_SNM))
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

impl fmt::Display for Snm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_decimal_18(f, self.0)?;
        f.write_str(" SNM")
    }
}

impl FromStr for Snm {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        parse_decimal_18(input, &["SNM"], "expected an amount such as `12.5 SNM`").map(Self)
    }
}

/// Parses a non-negative decimal number with at most 18 decimals into an integer scaled by 10^18,
/// after stripping one of `suffixes` (optional) and, for USD, a leading `$`.
fn parse_decimal_18(input: &str, suffixes: &[&str], example: &'static str) -> Result<U256, Error> {
    let invalid = |reason| Error::Parse { input: input.to_owned(), reason };
    let mut number = input.trim();
    for suffix in suffixes {
        if let Some(stripped) = number.strip_suffix(suffix) {
            number = stripped.trim_end();
            break;
        }
    }
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(invalid(example));
    }
    if !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(invalid("expected digits with at most one decimal point"));
    }
    if fraction.len() > 18 {
        return Err(invalid("at most 18 decimals are kept; more were given"));
    }
    let whole = if whole.is_empty() {
        U256::ZERO
    } else {
        U256::from_str(whole).map_err(|_| invalid("too large"))?
    };
    let fraction_wei = if fraction.is_empty() {
        U256::ZERO
    } else {
        U256::from_str(&format!("{fraction:0<18}")).map_err(|_| invalid("bad fraction"))?
    };
    whole
        .checked_mul(U256::from(WEI_PER_SNM))
        .and_then(|wei| wei.checked_add(fraction_wei))
        .ok_or_else(|| invalid("too large"))
}

/// Writes an integer scaled by 10^18 as a decimal number without trailing zeros.
fn fmt_decimal_18(f: &mut fmt::Formatter<'_>, scaled: U256) -> fmt::Result {
    let unit = U256::from(WEI_PER_SNM);
    let whole = scaled / unit;
    let fraction = scaled % unit;
    if fraction.is_zero() {
        return write!(f, "{whole}");
    }
    let digits = format!("{:018}", fraction.to::<u128>());
    write!(f, "{whole}.{}", digits.trim_end_matches('0'))
}

/// An amount of US dollars, held exactly as an integer scaled by 10^18 (as the market's prices are).
///
/// Parses from `"4"`, `"4.25 USD"` or `"$4.25"`; formats as `"4.25 USD"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
        Self(U256::from(usd) * U256::from(WEI_PER_SNM))
    }

    /// The amount in units of 10^-18 USD.
    pub const fn scaled(self) -> U256 {
        self.0
    }
}

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_decimal_18(f, self.0)?;
        f.write_str(" USD")
    }
}

impl FromStr for Usd {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let trimmed = input.trim();
        let number = trimmed.strip_prefix('$').unwrap_or(trimmed);
        if number.len() != trimmed.len() && number.trim_end().ends_with("USD") {
            return Err(Error::Parse {
                input: input.to_owned(),
                reason: "give either `$` or `USD`, not both",
            });
        }
        parse_decimal_18(number, &["USD"], "expected an amount such as `4 USD` or `$4`").map(Self).map_err(
            |e| match e {
                Error::Parse { reason, .. } => Error::Parse { input: input.to_owned(), reason },
                other => other,
            },
        )
    }
}

/// A fixed SNM/USD exchange rate: how many SNM one US dollar buys, scaled by 10^18
/// (the oracle's convention).
///
/// Parses from `"25"` or `"25 SNM/USD"`; formats as `"25 SNM/USD"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnmPerUsd(U256);

impl SnmPerUsd {
    /// A rate given as SNM wei per whole USD (that is, SNM per USD scaled by 10^18).
    pub const fn from_scaled(scaled: U256) -> Self {
        Self(scaled)
    }

    /// A whole number of SNM per USD.
    pub fn from_whole(snm: u64) -> Self {
        Self(U256::from(snm) * U256::from(WEI_PER_SNM))
    }

    /// SNM wei per whole USD.
    pub const fn scaled(self) -> U256 {
        self.0
    }

    /// Converts dollars to SNM at this rate, rounding down to the wei.
    pub fn usd_to_snm_down(self, usd: Usd) -> Option<Snm> {
        mul_div_down(usd.0, self.0, U256::from(WEI_PER_SNM)).map(Snm)
    }
}

impl fmt::Display for SnmPerUsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_decimal_18(f, self.0)?;
        f.write_str(" SNM/USD")
    }
}

impl FromStr for SnmPerUsd {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        parse_decimal_18(input, &["SNM/USD"], "expected a rate such as `25 SNM/USD`").map(Self)
    }
}

/// `a * b / d` rounded down, computed in 512 bits; `None` when `d` is zero or the result does not
/// fit 256 bits.
pub fn mul_div_down(a: U256, b: U256, d: U256) -> Option<U256> {
    if d.is_zero() {
        return None;
    }
    let product = U512::from(a).checked_mul(U512::from(b))?;
    let quotient = product / U512::from(d);
    (quotient <= U512::from(U256::MAX)).then(|| U256::from(quotient))
}

/// An amount of data, in bytes (1 TB = 10^12 bytes, decimal, as traffic is billed).
///
/// Parses from `"1234"`, `"1234 B"` or `"1.5 TB"` (exact to the byte); formats as `"1234 B"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(u128);

impl Bytes {
    /// Zero bytes.
    pub const ZERO: Self = Self(0);
    /// Bytes in one terabyte (10^12).
    pub const PER_TB: u128 = 1_000_000_000_000;

    /// A number of bytes.
    pub const fn new(bytes: u128) -> Self {
        Self(bytes)
    }

    /// A whole number of terabytes.
    pub const fn from_tb(tb: u64) -> Self {
        Self(tb as u128 * Self::PER_TB)
    }

    /// The number of bytes.
    pub const fn get(self) -> u128 {
        self.0
    }

    /// The sum, or `None` on overflow.
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(sum) => Some(Self(sum)),
            None => None,
        }
    }

    /// The price of this much data at `usd_per_tb`, rounded down to 10^-18 USD.
    pub fn price_down(self, usd_per_tb: Usd) -> Option<Usd> {
        mul_div_down(U256::from(self.0), usd_per_tb.0, U256::from(Self::PER_TB)).map(Usd)
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} B", self.0)
    }
}

impl FromStr for Bytes {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::Parse { input: input.to_owned(), reason };
        let text = input.trim();
        if let Some(tb) = text.strip_suffix("TB") {
            let (whole, fraction) = tb.trim_end().split_once('.').unwrap_or((tb.trim_end(), ""));
            if (whole.is_empty() && fraction.is_empty())
                || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())
            {
                return Err(invalid("expected a size such as `1.5 TB`"));
            }
            if fraction.len() > 12 {
                return Err(invalid("a TB has 10^12 bytes: at most 12 decimals"));
            }
            let whole: u128 =
                if whole.is_empty() { 0 } else { whole.parse().map_err(|_| invalid("too large"))? };
            let fraction: u128 = if fraction.is_empty() {
                0
            } else {
                format!("{fraction:0<12}").parse().map_err(|_| invalid("bad fraction"))?
            };
            return whole
                .checked_mul(Self::PER_TB)
                .and_then(|b| b.checked_add(fraction))
                .map(Self)
                .ok_or_else(|| invalid("too large"));
        }
        let digits = text.strip_suffix('B').map(str::trim_end).unwrap_or(text);
        if digits.starts_with('-') {
            return Err(invalid("a number of bytes cannot be negative"));
        }
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("expected a whole number of bytes"));
        }
        digits.parse().map(Self).map_err(|_| invalid("too large"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_exactly() -> Result<(), Error> {
        let amount: Snm = "12.5 SNM".parse()?;
        assert_eq!(amount.wei(), U256::from(12_500_000_000_000_000_000u128));
        assert_eq!(amount.to_string(), "12.5 SNM");
        assert_eq!(Snm::from_whole(50).to_string(), "50 SNM");
        assert_eq!("0.000000000000000001".parse::<Snm>()?.wei(), U256::from(1));
        assert_eq!(".5".parse::<Snm>()?, "0.5 SNM".parse::<Snm>()?);
        Ok(())
    }

    #[test]
    fn usd_rates_and_bytes_are_exact() -> Result<(), Error> {
        let usd: Usd = "$4".parse()?;
        assert_eq!(usd, Usd::from_whole(4));
        assert_eq!(usd.to_string(), "4 USD");
        assert_eq!("0.25 USD".parse::<Usd>()?.scaled(), U256::from(250_000_000_000_000_000u128));
        let rate: SnmPerUsd = "25 SNM/USD".parse()?;
        assert_eq!(rate.to_string(), "25 SNM/USD");
        assert_eq!(rate.usd_to_snm_down(Usd::from_whole(4)), Some(Snm::from_whole(100)));
        assert_eq!("1.5 TB".parse::<Bytes>()?, Bytes::new(1_500_000_000_000));
        assert_eq!("42".parse::<Bytes>()?.to_string(), "42 B");
        assert_eq!(Bytes::from_tb(2).price_down(Usd::from_whole(4)), Some(Usd::from_whole(8)));
        // 1 byte at $4/TB is 4e-12 USD = 4_000_000 units of 1e-18; 1 byte at $3/TB after /7 rounds down.
        assert_eq!(
            Bytes::new(1).price_down(Usd::from_whole(4)),
            Some(Usd::from_scaled(U256::from(4_000_000)))
        );
        assert_eq!(mul_div_down(U256::from(10), U256::from(1), U256::from(3)), Some(U256::from(3)));
        assert_eq!(mul_div_down(U256::MAX, U256::from(2), U256::from(1)), None);
        Ok(())
    }

    #[test]
    fn rejects_bad_units() {
        for bad in ["", "USD", "$", "-4", "$4 USD", "4 EUR", "1.0000000000000000001"] {
            assert!(bad.parse::<Usd>().is_err(), "{bad:?} should not parse as USD");
        }
        for bad in ["", "-1", "1.5", "abc", "1e12", "0.0000000000001 TB", "TB"] {
            assert!(bad.parse::<Bytes>().is_err(), "{bad:?} should not parse as bytes");
        }
        assert!("x SNM/USD".parse::<SnmPerUsd>().is_err());
    }

    #[test]
    fn rejects_bad_amounts() {
        for bad in ["", "SNM", "1.2.3", "-1", "1e18", "0.0000000000000000001", "abc SNM"] {
            assert!(bad.parse::<Snm>().is_err(), "{bad:?} should not parse");
        }
    }
}
