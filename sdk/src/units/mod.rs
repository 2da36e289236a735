//! Typed money and resource units, so that a price is never mistaken for an amount of tokens.
//!
//! - Money: [`Snm`] (token amounts, exact in wei) and [`Usd`].
//! - Rates: the oracle's [`SnmPerUsd`] rate, prices [`UsdPerSecond`] (what the contracts store) and
//!   [`UsdPerHour`] (what people quote), and [`mul_div_down`] / [`mul_div_up`] (the contracts'
//!   512-bit `a * b / d`).
//! - Time: deal terms ([`Term`]: spot or a fixed number of seconds), [`parse_duration`] and
//!   [`format_duration`] (`"1h30m"`).
//! - Machines: [`Bytes`] (`16GiB`, `1.5 TB`), [`Resources`] (a builder over the contract's resource
//!   fields) and [`NetFlags`] (network capabilities, bit by bit).
//!
//! # Money
//!
//! Amounts and prices are integers scaled by 10^18, read and written as exact decimals by one
//! codec, [`fixed`]: parsing refuses what it would have to round (`0.0000000000000000001 SNM`)
//! and formatting trims zeros (`12.5 SNM`, never `12.500000000000000000`), so that parsing what
//! was formatted gives the same value. `Debug` shows the decimal too (`Snm(199.95)`,
//! `UsdPerHour(0.9)`), and serde writes the `Display` text (`"199.95 SNM"`).
//!
//! # Conversions
//!
//! One rule for every conversion that divides: its name says which way it rounds
//! ([`UsdPerHour::to_per_second_down`], [`UsdPerSecond::snm_needed_up`],
//! [`SnmPerUsd::usd_to_snm_down`], [`Bytes::price_down`], [`mul_div_down`]) and it never fails
//! for want of precision; a conversion without a direction is exact, and says so with a
//! `Result` whose error names both roundings ([`UsdPerHour::to_per_second`] →
//! [`InexactPrice`]). `None` means only an overflow (or a zero divisor). Conversions that multiply
//! are exact ([`UsdPerSecond::to_per_hour`], [`UsdPerSecond::cost`]).
//!
//! # Errors
//!
//! Parsing fails with a [`ParseError`]: the text given, what is wrong with it
//! ([`ParseErrorKind`]) and what was expected. Both errors convert into [`crate::Error`].

mod error;
pub mod fixed;
mod machine;
mod money;
mod rates;
mod time;

pub use error::{InexactPrice, ParseError, ParseErrorKind};
pub use machine::{Bytes, NetFlags, Resources};
pub use money::{Snm, Usd};
pub use rates::{SnmPerUsd, UsdPerHour, UsdPerSecond, mul_div_down, mul_div_up};
pub(crate) use time::duration_text;
pub use time::{Term, format_duration, parse_duration};

/// `Serialize` as the type's `Display` and `Deserialize` through its `FromStr`: money, prices and
/// terms travel as the exact decimal strings people read (`"12.5 SNM"`, `"0.9 USD/h"`, `"2h"`), never
/// as floats or raw integers whose scale a reader would have to guess.
macro_rules! serde_as_text {
    ($($unit:ty),* $(,)?) => {$(
        impl serde::Serialize for $unit {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $unit {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_as_text!(Snm, Usd, SnmPerUsd, UsdPerSecond, UsdPerHour, Term, NetFlags);

#[cfg(test)]
mod tests {
    use rand::{RngCore, SeedableRng, rngs::StdRng};
    use std::time::Duration;

    use super::*;

    #[test]
    fn money_prices_and_terms_travel_in_json_as_exact_text() -> Result<(), Box<dyn std::error::Error>> {
        let amount: Snm = "199.95 SNM".parse()?;
        assert_eq!(serde_json::to_string(&amount)?, r#""199.95 SNM""#);
        assert_eq!(serde_json::from_str::<Snm>(r#""199.95 SNM""#)?, amount);
        let price: UsdPerHour = "0.9 USD/h".parse()?;
        assert_eq!(serde_json::to_string(&price)?, r#""0.9 USD/h""#);
        assert_eq!(serde_json::from_str::<UsdPerSecond>(r#""0.00025 USD/s""#)?, price.to_per_second()?);
        assert_eq!(serde_json::to_string(&Term::Fixed(Duration::from_secs(5400)))?, r#""1h30m""#);
        assert_eq!(serde_json::from_str::<Term>(r#""spot""#)?, Term::Spot);
        assert_eq!(
            serde_json::to_string(&(NetFlags::PUBLIC_IP | NetFlags::INCOMING))?,
            r#""PUBLIC_IP | INCOMING""#
        );
        assert_eq!(serde_json::to_string(&Bytes::from_gb(2))?, "2000000000");
        let wrong = serde_json::from_str::<Snm>(r#""-5 SNM""#).map(drop).unwrap_err().to_string();
        assert!(wrong.contains("-5 SNM") && wrong.contains("negative"), "{wrong}");
        Ok(())
    }

    /// Amounts of every size, many with trailing zeros (whole or round numbers).
    fn scaled(rng: &mut StdRng) -> alloy::primitives::U256 {
        let value =
            alloy::primitives::U256::from(rng.next_u64()) * alloy::primitives::U256::from(rng.next_u64());
        value / alloy::primitives::U256::from(10u64.pow((rng.next_u64() % 19) as u32))
    }

    #[test]
    fn every_unit_reads_back_what_it_writes_in_text_and_json() -> Result<(), Box<dyn std::error::Error>> {
        fn round_trip<T>(value: T) -> Result<(), Box<dyn std::error::Error>>
        where
            T: std::fmt::Display + std::str::FromStr<Err = ParseError> + PartialEq + std::fmt::Debug,
            T: serde::Serialize + serde::de::DeserializeOwned,
        {
            assert_eq!(value.to_string().parse::<T>()?, value);
            assert_eq!(serde_json::from_str::<T>(&serde_json::to_string(&value)?)?, value);
            Ok(())
        }
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..5_000 {
            round_trip(Snm::from_wei(scaled(&mut rng)))?;
            round_trip(Usd::from_scaled(scaled(&mut rng)))?;
            round_trip(SnmPerUsd::from_scaled(scaled(&mut rng)))?;
            round_trip(UsdPerSecond::from_scaled(scaled(&mut rng)))?;
            round_trip(UsdPerHour::from_scaled(scaled(&mut rng)))?;
            round_trip(Term::from_secs(rng.next_u64() >> (rng.next_u64() % 64)))?;
            round_trip(NetFlags::from_bits_retain(rng.next_u64() >> (rng.next_u64() % 64)))?;
            let bytes =
                Bytes::new(u128::from(rng.next_u64()) * u128::from(rng.next_u64() >> (rng.next_u64() % 64)));
            round_trip(bytes)?;
            assert_eq!(bytes.in_tb().to_string().parse::<Bytes>()?, bytes);
            assert_eq!(bytes.in_whole_unit().to_string().parse::<Bytes>()?, bytes);
        }
        Ok(())
    }
}
