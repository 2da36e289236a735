//! Typed money and resource units, so that a price is never mistaken for an amount of tokens.

use alloy::primitives::U256;
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
        let unit = U256::from(WEI_PER_SNM);
        let whole = self.0 / unit;
        let fraction = self.0 % unit;
        if fraction.is_zero() {
            return write!(f, "{whole} SNM");
        }
        let digits = format!("{:018}", fraction.to::<u128>());
        write!(f, "{whole}.{} SNM", digits.trim_end_matches('0'))
    }
}

impl FromStr for Snm {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::Parse { input: input.to_owned(), reason };
        let number = input.trim();
        let number = number.strip_suffix("SNM").unwrap_or(number).trim_end();
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid("expected an amount such as `12.5 SNM`"));
        }
        if !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(invalid("expected digits with at most one decimal point"));
        }
        if fraction.len() > 18 {
            return Err(invalid("SNM has 18 decimals; more were given"));
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
            .map(Self)
            .ok_or_else(|| invalid("too large"))
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
    fn rejects_bad_amounts() {
        for bad in ["", "SNM", "1.2.3", "-1", "1e18", "0.0000000000000000001", "abc SNM"] {
            assert!(bad.parse::<Snm>().is_err(), "{bad:?} should not parse");
        }
    }
}
