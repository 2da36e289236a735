//! The SDK's one fixed-point decimal codec: an integer scaled by 10^d, read from and written as the
//! decimal number it stands for (at 18 decimals, `2.5` is 2,500,000,000,000,000,000).
//!
//! Every amount, price and size the SDK reads or prints goes through it: SNM, USD and prices at 18
//! decimals, fees in gwei at 9, traffic in TB at 12, wei and byte counts in files at 0. Unlike
//! alloy's `parse_units` / `format_units`, which drop decimals beyond the unit's and pad with
//! zeros, [`parse`] refuses a decimal it cannot keep (naming the text) and [`Fixed`] writes no
//! trailing zeros, so that parsing what was formatted gives the same integer back:
//!
//! ```
//! use snm_sdk::units::{ParseErrorKind, fixed::{self, Fixed}};
//!
//! assert_eq!(fixed::parse_u128("1.5", 3)?, 1_500);
//! assert_eq!(Fixed::from_u128(1_500, 3).to_string(), "1.5");
//! assert_eq!(format!("{:#}", Fixed::from_u128(1_234_567_800, 3)), "1,234,567.8");
//! let error = fixed::parse("0.0001", 3).unwrap_err();
//! assert_eq!((error.input(), error.kind()), ("0.0001", ParseErrorKind::ExcessDecimals { max: 3 }));
//! # Ok::<(), snm_sdk::units::ParseError>(())
//! ```

use std::fmt;

use alloy::primitives::U256;

use super::{ParseError, ParseErrorKind};

/// What [`parse`] and [`parse_u128`] expect, for their errors.
const EXPECTED: &str = "a decimal number such as `12.5`";

/// Parses a non-negative decimal number (`12`, `12.5`, `.5`) with at most `decimals` decimals into
/// the integer it is scaled by 10^`decimals`. Refuses, naming `text`, more decimals than that,
/// signs, exponents, separators and spaces.
pub fn parse(text: &str, decimals: u8) -> Result<U256, ParseError> {
    parse_ascii(text.as_bytes(), decimals).map_err(|kind| ParseError::new(text, kind, EXPECTED))
}

/// [`parse`] into a `u128`.
pub fn parse_u128(text: &str, decimals: u8) -> Result<u128, ParseError> {
    parse_ascii(text.as_bytes(), decimals).map_err(|kind| ParseError::new(text, kind, EXPECTED))
}

/// An integer the codec parses into.
pub(crate) trait Scaled: Copy {
    /// `value`, if it fits.
    fn from_u128(value: u128) -> Option<Self>;
    /// `self * 10 + digit`, if it fits.
    fn times_ten_plus(self, digit: u8) -> Option<Self>;
}

impl Scaled for u64 {
    fn from_u128(value: u128) -> Option<Self> {
        value.try_into().ok()
    }

    fn times_ten_plus(self, digit: u8) -> Option<Self> {
        self.checked_mul(10)?.checked_add(digit.into())
    }
}

impl Scaled for u128 {
    fn from_u128(value: u128) -> Option<Self> {
        Some(value)
    }

    fn times_ten_plus(self, digit: u8) -> Option<Self> {
        self.checked_mul(10)?.checked_add(digit.into())
    }
}

impl Scaled for U256 {
    fn from_u128(value: u128) -> Option<Self> {
        Some(Self::from(value))
    }

    fn times_ten_plus(self, digit: u8) -> Option<Self> {
        self.checked_mul(Self::from(10u8))?.checked_add(Self::from(digit))
    }
}

/// Digits a `u64` always holds (10^19 - 1 < 2^64).
const U64_DIGITS: usize = 19;

/// Digits a `u128` always holds (10^38 - 1 < 2^128).
const U128_DIGITS: usize = 38;

/// [`parse`] of ASCII bytes into any [`Scaled`] integer, with the reason alone (the callers name
/// the text): the one place digits are read.
pub(crate) fn parse_ascii<T: Scaled>(text: &[u8], decimals: u8) -> Result<T, ParseErrorKind> {
    let (whole, fraction) = split_point(text)?;
    let padding = usize::from(decimals)
        .checked_sub(fraction.len())
        .ok_or(ParseErrorKind::ExcessDecimals { max: decimals })?;
    let digits = whole.len() + usize::from(decimals);
    if digits <= U64_DIGITS {
        // At most 19 digits in all: no overflow is possible in a u64 (most byte counts, times and
        // amounts), so no check per digit and no 128-bit multiplication.
        let value = accumulate_u64(accumulate_u64(0, whole)?, fraction)?;
        return T::from_u128(u128::from(value * 10u64.pow(padding as u32))).ok_or(ParseErrorKind::TooLarge);
    }
    if digits <= U128_DIGITS {
        // At most 38: the same in a u128.
        let value = accumulate(accumulate(0, whole)?, fraction)?;
        return T::from_u128(value * 10u128.pow(padding as u32)).ok_or(ParseErrorKind::TooLarge);
    }
    let mut value = T::from_u128(0).ok_or(ParseErrorKind::TooLarge)?;
    for &byte in whole.iter().chain(fraction) {
        value = value.times_ten_plus(digit(byte)?).ok_or(ParseErrorKind::TooLarge)?;
    }
    for _ in 0..padding {
        value = value.times_ten_plus(0).ok_or(ParseErrorKind::TooLarge)?;
    }
    Ok(value)
}

/// `value` followed by `digits`; the caller knows it fits.
fn accumulate_u64(value: u64, digits: &[u8]) -> Result<u64, ParseErrorKind> {
    digits.iter().try_fold(value, |value, &byte| Ok(value * 10 + u64::from(digit(byte)?)))
}

/// `value` followed by `digits`; the caller knows it fits.
fn accumulate(value: u128, digits: &[u8]) -> Result<u128, ParseErrorKind> {
    digits.iter().try_fold(value, |value, &byte| Ok(value * 10 + u128::from(digit(byte)?)))
}

fn digit(byte: u8) -> Result<u8, ParseErrorKind> {
    match byte.wrapping_sub(b'0') {
        digit @ 0..=9 => Ok(digit),
        _ => Err(ParseErrorKind::NotANumber),
    }
}

/// Splits a number at its decimal point, refusing what cannot be one whatever its digits: nothing,
/// a sign, a point without digits after it. The digits are checked as they are read.
fn split_point(text: &[u8]) -> Result<(&[u8], &[u8]), ParseErrorKind> {
    match text {
        [] => Err(ParseErrorKind::Empty),
        [b'-', rest @ ..] => {
            Err(match split_point(rest).and_then(|(whole, fraction)| check_digits(whole, fraction)) {
                Ok(()) => ParseErrorKind::Negative,
                Err(_) => ParseErrorKind::NotANumber,
            })
        }
        _ => match text.iter().position(|&b| b == b'.') {
            None => Ok((text, &[])),
            Some(point) => match text.split_at(point) {
                (whole, [_, fraction @ ..]) if !fraction.is_empty() => Ok((whole, fraction)),
                _ => Err(ParseErrorKind::NotANumber),
            },
        },
    }
}

/// Whether `whole` and `fraction` are digits only.
fn check_digits(whole: &[u8], fraction: &[u8]) -> Result<(), ParseErrorKind> {
    whole.iter().chain(fraction).try_for_each(|&byte| digit(byte).map(drop))
}

/// Splits `text` into its number (digits and points, after an optional `-`) and what follows it,
/// trimmed: the unit (`"16GiB"` is `("16", "GiB")`, `"0.9 USD/h"` is `("0.9", "USD/h")`).
pub(crate) fn split_unit(text: &str) -> (&str, &str) {
    let sign = usize::from(text.starts_with('-'));
    let end = text[sign..].find(|c: char| !c.is_ascii_digit() && c != '.').map_or(text.len(), |at| at + sign);
    let (number, unit) = text.split_at(end);
    (number, unit.trim())
}

/// An integer scaled by 10^`decimals`, displayed as the decimal number it stands for, without
/// trailing zeros: `2.5`, `30`, `0.000000001`. The alternate form (`{:#}`) groups the whole part
/// by thousands (`1,234,567.5`); width and alignment are honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fixed {
    scaled: U256,
    decimals: u8,
}

impl Fixed {
    /// `scaled` / 10^`decimals`.
    pub const fn new(scaled: U256, decimals: u8) -> Self {
        Self { scaled, decimals }
    }

    /// `scaled` / 10^`decimals`, from a `u128` (or anything smaller, with `.into()`).
    pub fn from_u128(scaled: u128, decimals: u8) -> Self {
        Self { scaled: U256::from(scaled), decimals }
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.width().is_none() {
            return render(self.scaled, self.decimals, f.alternate(), f);
        }
        let mut text = String::new();
        render(self.scaled, self.decimals, f.alternate(), &mut text)?;
        f.pad(&text)
    }
}

/// Appends `scaled` / 10^`decimals` to `buf` as [`Fixed`] displays it, without grouping and
/// without an intermediate string (for files written by the million).
#[cfg_attr(not(feature = "rewards"), allow(dead_code))] // the reward engine's dump is its only user
pub(crate) fn push(buf: &mut Vec<u8>, scaled: U256, decimals: u8) {
    // Writing to a Vec cannot fail.
    let _ = render(scaled, decimals, false, buf);
}

/// Where [`render`] writes: ASCII bytes, piece by piece.
trait Sink {
    fn put(&mut self, ascii: &[u8]) -> fmt::Result;
}

impl Sink for Vec<u8> {
    fn put(&mut self, ascii: &[u8]) -> fmt::Result {
        self.extend_from_slice(ascii);
        Ok(())
    }
}

impl Sink for String {
    fn put(&mut self, ascii: &[u8]) -> fmt::Result {
        self.push_str(std::str::from_utf8(ascii).map_err(|_| fmt::Error)?);
        Ok(())
    }
}

impl Sink for fmt::Formatter<'_> {
    fn put(&mut self, ascii: &[u8]) -> fmt::Result {
        self.write_str(std::str::from_utf8(ascii).map_err(|_| fmt::Error)?)
    }
}

/// Digits of the largest `U256` (2^256 - 1 is about 1.2 × 10^77).
const U256_DIGITS: usize = 78;

/// `'0'` as often as a fraction can need it between its point and its first other digit.
const ZEROS: [u8; 256] = [b'0'; 256];

/// The one place digits are written: `scaled` / 10^`decimals`, trailing zeros trimmed, the whole
/// part grouped by thousands when `group`.
fn render(scaled: U256, decimals: u8, group: bool, out: &mut impl Sink) -> fmt::Result {
    let mut buf = [0u8; U256_DIGITS];
    let start = write_digits(scaled, &mut buf);
    let digits = &buf[start..];
    let decimals = usize::from(decimals);
    let (whole, zeros, fraction) = match digits.len().checked_sub(decimals) {
        Some(0) | None => (&b"0"[..], decimals - digits.len(), digits),
        Some(split) => (&digits[..split], 0, &digits[split..]),
    };
    if group {
        let first = match whole.len() % 3 {
            0 => 3,
            head => head,
        };
        out.put(&whole[..first.min(whole.len())])?;
        for triple in whole.get(first..).unwrap_or_default().chunks(3) {
            out.put(b",")?;
            out.put(triple)?;
        }
    } else {
        out.put(whole)?;
    }
    let trimmed = fraction.iter().rposition(|&d| d != b'0').map_or(&[][..], |last| &fraction[..=last]);
    if !trimmed.is_empty() {
        out.put(b".")?;
        out.put(&ZEROS[..zeros])?;
        out.put(trimmed)?;
    }
    Ok(())
}

/// Writes the decimal digits of `value` at the end of `buf`; returns where they start.
fn write_digits(value: U256, buf: &mut [u8; U256_DIGITS]) -> usize {
    if value <= U256::from(u128::MAX) {
        return write_u128(value.saturating_to(), buf, U256_DIGITS, 0);
    }
    // Above 2^128, in three pieces of at most 38 digits each.
    let e38 = U256::from(10u128.pow(38));
    let (rest, low) = value.div_rem(e38);
    let (high, middle) = rest.div_rem(e38);
    let at = write_u128(low.saturating_to(), buf, U256_DIGITS, U128_DIGITS);
    if high.is_zero() {
        write_u128(middle.saturating_to(), buf, at, 0)
    } else {
        let at = write_u128(middle.saturating_to(), buf, at, U128_DIGITS);
        write_u128(high.saturating_to(), buf, at, 0)
    }
}

/// Writes `value` in decimal, at least `min_digits` digits (zeros in front) and at least one,
/// ending at `end`; returns where it starts.
fn write_u128(value: u128, buf: &mut [u8], end: usize, min_digits: usize) -> usize {
    // 19-digit pieces, so that the digit loop divides u64s (a u128 division is a library call).
    const PIECE: u128 = 10_000_000_000_000_000_000;
    if value < PIECE && min_digits <= 19 {
        return write_u64(value as u64, buf, end, min_digits);
    }
    let at = write_u64((value % PIECE) as u64, buf, end, 19);
    write_u128(value / PIECE, buf, at, min_digits.saturating_sub(19))
}

fn write_u64(mut value: u64, buf: &mut [u8], end: usize, min_digits: usize) -> usize {
    // Two digits at a time: half the divisions.
    const PAIRS: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    let mut at = end;
    while value >= 100 {
        let pair = (value % 100) as usize * 2;
        value /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if value >= 10 {
        let pair = value as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + value as u8;
    }
    while end - at < min_digits {
        at -= 1;
        buf[at] = b'0';
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng, rngs::StdRng};

    /// A value of every magnitude: a random number of random bits, so small values, values
    /// with trailing zeros and values near 2^256 all come up.
    fn u256(rng: &mut StdRng) -> U256 {
        let limbs = [rng.next_u64(), rng.next_u64(), rng.next_u64(), rng.next_u64()];
        let value = U256::from_limbs(limbs) >> (rng.next_u64() % 257) as usize;
        match rng.next_u64() % 4 {
            0 => value / U256::from(1_000_000u64) * U256::from(1_000_000u64),
            _ => value,
        }
    }

    #[test]
    fn parses_exactly_at_any_scale() -> Result<(), ParseError> {
        assert_eq!(parse("12.5", 18)?, U256::from(12_500_000_000_000_000_000u128));
        assert_eq!(parse(".5", 1)?, U256::from(5));
        assert_eq!(parse("0", 0)?, U256::ZERO);
        assert_eq!(parse("007", 2)?, U256::from(700));
        assert_eq!(parse_u128("0.000000000001", 12)?, 1);
        assert_eq!(parse_ascii::<u64>(b"18446744073709551615", 0), Ok(u64::MAX));
        assert_eq!(parse_ascii::<u64>(b"18446744073709551616", 0), Err(ParseErrorKind::TooLarge));
        assert_eq!(parse_u128(&u128::MAX.to_string(), 0)?, u128::MAX);
        assert_eq!(parse(&U256::MAX.to_string(), 0)?, U256::MAX);
        // Long inputs take the checked path: leading zeros, and a value just at the limit.
        assert_eq!(parse(&format!("{}1", "0".repeat(60)), 18)?, U256::from(10u128.pow(18)));
        let max_snm = format!("{}", Fixed::new(U256::MAX, 18));
        assert_eq!(parse(&max_snm, 18)?, U256::MAX);
        Ok(())
    }

    #[test]
    fn refuses_what_it_cannot_keep_naming_the_text() {
        let cases: [(&str, u8, ParseErrorKind); 16] = [
            ("", 18, ParseErrorKind::Empty),
            ("1.0000000000000000001", 18, ParseErrorKind::ExcessDecimals { max: 18 }),
            ("1.5", 0, ParseErrorKind::ExcessDecimals { max: 0 }),
            ("1.50", 1, ParseErrorKind::ExcessDecimals { max: 1 }),
            ("-1", 18, ParseErrorKind::Negative),
            ("-0.5", 0, ParseErrorKind::Negative),
            ("-", 18, ParseErrorKind::NotANumber),
            ("--1", 18, ParseErrorKind::NotANumber),
            ("+1", 18, ParseErrorKind::NotANumber),
            ("1e18", 18, ParseErrorKind::NotANumber),
            ("1.2.3", 18, ParseErrorKind::NotANumber),
            ("5.", 18, ParseErrorKind::NotANumber),
            (".", 18, ParseErrorKind::NotANumber),
            (" 1", 18, ParseErrorKind::NotANumber),
            ("1_000", 18, ParseErrorKind::NotANumber),
            ("1000000000000000000000000000000000000000000000000000000000000", 18, ParseErrorKind::TooLarge),
        ];
        for (text, decimals, kind) in cases {
            let error = parse(text, decimals).map(drop).unwrap_err();
            assert_eq!((error.input(), error.kind()), (text, kind), "{text:?} at {decimals}");
            assert!(error.to_string().contains(&format!("`{text}`")), "{error}");
        }
        assert_eq!(
            parse_u128(&format!("{}0", u128::MAX), 0).map_err(|e| e.kind()),
            Err(ParseErrorKind::TooLarge)
        );
        assert_eq!(parse_ascii::<u64>(b"1.5", 1).map_err(drop), Ok(15));
    }

    #[test]
    fn formats_without_trailing_zeros() {
        let cases: [(u128, u8, &str); 9] = [
            (0, 0, "0"),
            (0, 18, "0"),
            (30, 0, "30"),
            (2_500_000_000_000_000_000, 18, "2.5"),
            (1, 9, "0.000000001"),
            (1_500, 9, "0.0000015"),
            (120, 1, "12"),
            (u128::MAX, 0, "340282366920938463463374607431768211455"),
            (u128::MAX, 38, "3.40282366920938463463374607431768211455"),
        ];
        for (scaled, decimals, text) in cases {
            assert_eq!(Fixed::from_u128(scaled, decimals).to_string(), text, "{scaled} at {decimals}");
            let mut buf = b"x".to_vec();
            push(&mut buf, U256::from(scaled), decimals);
            assert_eq!(buf, [b"x", text.as_bytes()].concat());
        }
        assert_eq!(Fixed::new(U256::MAX, 0).to_string(), U256::MAX.to_string());
        assert_eq!(Fixed::new(U256::MAX, 77).to_string(), format!("1.{}", &U256::MAX.to_string()[1..]));
        assert_eq!(
            Fixed::new(U256::from(10u8).pow(U256::from(38)), 0).to_string(),
            format!("1{}", "0".repeat(38))
        );
        assert_eq!(Fixed::from_u128(1, 255).to_string(), format!("0.{}1", "0".repeat(254)));
        assert_eq!(format!("[{:>6}]", Fixed::from_u128(15, 1)), "[   1.5]");
        assert_eq!(format!("[{:<6}]", Fixed::from_u128(15, 1)), "[1.5   ]");
    }

    #[test]
    fn groups_thousands_in_the_alternate_form() {
        let cases: [(u128, u8, &str); 6] = [
            (0, 0, "0"),
            (999, 0, "999"),
            (1_000, 0, "1,000"),
            (1_234_567, 0, "1,234,567"),
            (1_234_567_895, 1, "123,456,789.5"),
            (12_000, 3, "12"),
        ];
        for (scaled, decimals, text) in cases {
            assert_eq!(format!("{:#}", Fixed::from_u128(scaled, decimals)), text);
        }
    }

    #[test]
    fn parsing_what_was_formatted_gives_it_back() -> Result<(), ParseError> {
        let mut rng = StdRng::seed_from_u64(10);
        for _ in 0..20_000 {
            let value = u256(&mut rng);
            let decimals = (rng.next_u64() % 78) as u8;
            let text = Fixed::new(value, decimals).to_string();
            assert_eq!(parse(&text, decimals)?, value, "{text} at {decimals}");
            assert_eq!(text, format!("{}", Fixed::new(value, decimals)));
            if let Ok(small) = u128::try_from(value) {
                assert_eq!(parse_u128(&text, decimals)?, small, "{text} at {decimals}");
            }
        }
        Ok(())
    }

    #[test]
    fn splits_a_number_from_its_unit() {
        assert_eq!(split_unit("16GiB"), ("16", "GiB"));
        assert_eq!(split_unit("0.9 USD/h "), ("0.9", "USD/h"));
        assert_eq!(split_unit("-1GB"), ("-1", "GB"));
        assert_eq!(split_unit("SNM"), ("", "SNM"));
        assert_eq!(split_unit("12"), ("12", ""));
    }
}
