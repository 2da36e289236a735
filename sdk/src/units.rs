//! Typed money and resource units, so that a price is never mistaken for an amount of tokens.
//!
//! - Money: [`Snm`] (token amounts, exact in wei), [`Usd`], the oracle's [`SnmPerUsd`] rate, and
//!   prices [`UsdPerSecond`] (what the contracts store) and [`UsdPerHour`] (what people quote),
//!   converted exactly both ways: per hour to per second refuses inexact values unless a rounding
//!   direction is chosen ([`UsdPerHour::to_per_second_down`] / [`UsdPerHour::to_per_second_up`]).
//! - Time: deal terms ([`Term`]: spot or a fixed number of seconds), [`parse_duration`] and
//!   [`format_duration`] (`"1h30m"`).
//! - Machines: [`Bytes`] (decimal: 1 TB = 10^12 bytes), [`Resources`] (a builder over the
//!   contract's resource fields) and [`NetFlags`] (network capabilities, bit by bit).

use alloy::primitives::{U256, U512};
use std::{fmt, str::FromStr, time::Duration};

use crate::{Error, bindings::IMarket};

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
    fmt_decimal(f, scaled, 18)
}

/// Writes an integer scaled by 10^`decimals` (at most 38, so that the fraction fits a `u128`) as a
/// decimal number without trailing zeros: `2.5`, `30`, `0.000000001`. Shared by every fixed-point
/// amount the SDK prints (SNM and USD at 18 decimals, fees in gwei at 9).
pub(crate) fn fmt_decimal(f: &mut fmt::Formatter<'_>, scaled: U256, decimals: usize) -> fmt::Result {
    let unit = U256::from(10u8).pow(U256::from(decimals));
    let (whole, fraction) = scaled.div_rem(unit);
    if fraction.is_zero() {
        return write!(f, "{whole}");
    }
    let digits = format!("{:0decimals$}", fraction.saturating_to::<u128>());
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
        parse_decimal_18(number, &["USD"], "expected an amount such as `4 USD` or `$4`")
            .map(Self)
            .map_err(naming(input))
    }
}

/// Turns the parse error of a part of `input` into one naming the whole of it.
fn naming(input: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |error| match error {
        Error::Parse { reason, .. } => Error::Parse { input: input.to_owned(), reason },
        other => other,
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
    mul_div(a, b, d, false)
}

/// [`mul_div_down`] rounded up.
fn mul_div_up(a: U256, b: U256, d: U256) -> Option<U256> {
    mul_div(a, b, d, true)
}

fn mul_div(a: U256, b: U256, d: U256, round_up: bool) -> Option<U256> {
    if d.is_zero() {
        return None;
    }
    let product = U512::from(a).checked_mul(U512::from(b))?;
    let d = U512::from(d);
    let quotient = if round_up { product.div_ceil(d) } else { product / d };
    (quotient <= U512::from(U256::MAX)).then(|| U256::from(quotient))
}

/// Seconds in an hour.
const SECONDS_PER_HOUR: u64 = 3_600;

/// Parses `"<n> USD/<per>"` or `"$<n>/<per>"` (`per` is `s` or `h`) into an integer scaled by 10^18.
fn parse_usd_rate(input: &str, per: &str, example: &'static str) -> Result<U256, Error> {
    let invalid = || Error::Parse { input: input.to_owned(), reason: example };
    let trimmed = input.trim();
    let number = match trimmed.strip_prefix('$') {
        Some(rest) => rest.strip_suffix(&format!("/{per}")).ok_or_else(invalid)?,
        None => trimmed.strip_suffix(&format!("USD/{per}")).ok_or_else(invalid)?.trim_end(),
    };
    parse_decimal_18(number, &[], example).map_err(naming(input))
}

/// `from_scaled`, `scaled`, `Display` and `FromStr` of a price in USD per `$unit`, held as an
/// integer scaled by 10^18 and written `<n> USD/<per>` or `$<n>/<per>`.
macro_rules! usd_rate {
    ($name:ident, $per:literal, $unit:literal, $example:literal) => {
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
                fmt_decimal_18(f, self.0)?;
                f.write_str(concat!(" USD/", $per))
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(input: &str) -> Result<Self, Error> {
                parse_usd_rate(input, $per, $example).map(Self)
            }
        }
    };
}

/// A price in US dollars per second, scaled by 10^18: the market's `pricePerSecond`, as stored
/// on chain and charged second by second.
///
/// Parses from `"0.00025 USD/s"` or `"$0.00025/s"`; formats as `"0.00025 USD/s"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsdPerSecond(U256);

usd_rate!(UsdPerSecond, "s", "second", "expected a price such as `0.00025 USD/s` or `$0.00025/s`");

impl UsdPerSecond {
    /// Free.
    pub const ZERO: Self = Self(U256::ZERO);

    /// The same price per hour. Exact (times 3,600); saturates at `U256::MAX`, which no price the
    /// market accepts (below 2^80) comes near.
    pub fn per_hour(self) -> UsdPerHour {
        UsdPerHour(self.0.saturating_mul(U256::from(SECONDS_PER_HOUR)))
    }

    /// Dollars for `seconds` at this price (exact), or `None` on overflow.
    pub fn cost(self, seconds: u64) -> Option<Usd> {
        self.0.checked_mul(U256::from(seconds)).map(Usd)
    }

    /// SNM needed to pay `seconds` at `rate`, rounded up: the contract's deposit check
    /// (`snmNeededUp`: `ceil(price * seconds * rate / 10^18)`). `None` on overflow.
    pub fn snm_needed_up(self, seconds: u64, rate: SnmPerUsd) -> Option<Snm> {
        mul_div_up(self.cost(seconds)?.0, rate.0, U256::from(WEI_PER_SNM)).map(Snm)
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
        mul_div_down(budget.0, U256::from(WEI_PER_SNM), per_second).map_or(u64::MAX, |s| s.saturating_to())
    }

    /// The highest price of which `seconds` cost at most `budget` at `rate`: for every price `p`,
    /// `p.snm_needed_up(seconds, rate) <= Some(budget)` exactly when `p <= max_for_budget(..)`.
    /// `None` when `seconds` or `rate` is zero (any price fits).
    pub fn max_for_budget(budget: Snm, seconds: u64, rate: SnmPerUsd) -> Option<Self> {
        let per_second = U256::from(seconds).checked_mul(rate.0)?;
        mul_div_down(budget.0, U256::from(WEI_PER_SNM), per_second).map(Self)
    }
}

/// A price in US dollars per hour, scaled by 10^18: how people quote machine prices.
///
/// The market charges per second, so a price per hour is converted with
/// [`to_per_second`](Self::to_per_second), which refuses a price that is not a whole number of
/// 10^-18 USD per second (for example $1/h = 0.000277…/s), or with an explicit rounding:
/// [`to_per_second_down`](Self::to_per_second_down) (never above the quoted price: for a
/// customer's maximum) or [`to_per_second_up`](Self::to_per_second_up) (never below it: for a
/// supplier's ask). The way back, [`UsdPerSecond::per_hour`], is always exact.
///
/// Parses from `"0.9 USD/h"` or `"$0.9/h"`; formats as `"0.9 USD/h"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsdPerHour(U256);

usd_rate!(UsdPerHour, "h", "hour", "expected a price such as `0.9 USD/h` or `$0.9/h`");

impl UsdPerHour {
    /// A whole number of dollars per hour.
    pub fn from_whole(usd: u64) -> Self {
        Self(U256::from(usd) * U256::from(WEI_PER_SNM))
    }

    /// The exact price per second, or [`Error::InexactPrice`] when the hourly price is not a
    /// multiple of 3,600 × 10^-18 USD.
    pub fn to_per_second(self) -> Result<UsdPerSecond, Error> {
        let (quotient, remainder) = self.0.div_rem(U256::from(SECONDS_PER_HOUR));
        if remainder.is_zero() {
            Ok(UsdPerSecond(quotient))
        } else {
            Err(Error::InexactPrice { per_hour: self, down: UsdPerSecond(quotient) })
        }
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

/// How long a deal runs: open-ended (spot, paid until someone closes it or the deposit runs out)
/// or a fixed term. The contracts count whole seconds: sub-second parts are dropped, and a fixed
/// term of zero seconds is spot.
///
/// Parses from `"spot"` or a duration such as `"2h"` (see [`parse_duration`]); formats the same way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Term {
    /// Open-ended.
    #[default]
    Spot,
    /// A fixed term.
    Fixed(Duration),
}

impl Term {
    /// A fixed term of `seconds` (0 is spot).
    pub const fn from_secs(seconds: u64) -> Self {
        if seconds == 0 { Self::Spot } else { Self::Fixed(Duration::from_secs(seconds)) }
    }

    /// The contract's `duration`: whole seconds of the term, 0 for spot.
    pub const fn secs(self) -> u64 {
        match self {
            Self::Spot => 0,
            Self::Fixed(duration) => duration.as_secs(),
        }
    }

    /// Whether this is a spot term.
    pub const fn is_spot(self) -> bool {
        self.secs() == 0
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.secs() {
            0 => f.write_str("spot"),
            seconds => f.write_str(&format_duration(Duration::from_secs(seconds))),
        }
    }
}

impl FromStr for Term {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        if input.trim().eq_ignore_ascii_case("spot") {
            return Ok(Self::Spot);
        }
        match parse_duration(input)?.as_secs() {
            0 => Err(Error::Parse {
                input: input.to_owned(),
                reason: "a fixed term is at least 1s; or `spot`",
            }),
            seconds => Ok(Self::from_secs(seconds)),
        }
    }
}

/// Parses a duration written as whole numbers with units `d`, `h`, `m`, `s` (largest first,
/// spaces allowed: `"1h30m"`, `"2d 12h"`, `"90s"`) or as a bare number of seconds (`"3600"`).
pub fn parse_duration(input: &str) -> Result<Duration, Error> {
    let invalid = |reason| Error::Parse { input: input.to_owned(), reason };
    let text = input.trim();
    if text.is_empty() {
        return Err(invalid("expected a duration such as `1h30m` or `90s`"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map(Duration::from_secs).map_err(|_| invalid("too large"));
    }
    let mut seconds: u64 = 0;
    let mut number: Option<u64> = None;
    let mut last_unit = u64::MAX;
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        if let Some(digit) = c.to_digit(10) {
            let n = number.unwrap_or(0).checked_mul(10).and_then(|n| n.checked_add(u64::from(digit)));
            number = Some(n.ok_or_else(|| invalid("too large"))?);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid("units are d, h, m and s, as in `1h30m`")),
        };
        let n = number.take().ok_or_else(|| invalid("a unit must follow a number, as in `1h30m`"))?;
        if unit >= last_unit {
            return Err(invalid("units go from largest to smallest, each once"));
        }
        last_unit = unit;
        seconds =
            n.checked_mul(unit).and_then(|s| s.checked_add(seconds)).ok_or_else(|| invalid("too large"))?;
    }
    if number.is_some() {
        return Err(invalid("a number needs a unit (d, h, m, s) after another unit"));
    }
    Ok(Duration::from_secs(seconds))
}

/// Formats whole seconds of `duration` as [`parse_duration`] reads them: `"1d2h30m"`, `"45s"`,
/// `"0s"`.
pub fn format_duration(duration: Duration) -> String {
    let mut left = duration.as_secs();
    if left == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, name) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
        if left >= unit {
            out.push_str(&(left / unit).to_string());
            out.push(name);
            left %= unit;
        }
    }
    out
}

bitflags::bitflags! {
    /// Network capabilities of a machine (an ask's `netFlags`) or those a customer requires (a
    /// bid's `requiredFlags`): an ask matches when it has every required bit. Bits without a name
    /// here are kept as given, for capabilities agreed between parties.
    ///
    /// Formats and parses as `"PUBLIC_IP | INCOMING"` (unnamed bits as hex, `"0x10"`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct NetFlags: u64 {
        /// Bit 0: the machine has a public IP address.
        const PUBLIC_IP = 1 << 0;
        /// Bit 1: it accepts incoming connections.
        const INCOMING = 1 << 1;
        /// Bit 2: it may open outbound connections to any host.
        const OUTBOUND = 1 << 2;
        /// Bit 3: it has a public IPv6 address.
        const IPV6 = 1 << 3;
        // Every other bit is kept as given.
        const _ = !0;
    }
}

impl fmt::Display for NetFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        bitflags::parser::to_writer(self, f)
    }
}

impl FromStr for NetFlags {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        if input.trim() == "none" {
            return Ok(Self::empty());
        }
        bitflags::parser::from_str(input).map_err(|_| Error::Parse {
            input: input.to_owned(),
            reason: "expected flags such as `PUBLIC_IP | INCOMING` or `0x10`",
        })
    }
}

/// A machine's resources (an ask's), or the least of each a customer needs (a bid's), in the
/// contract's units; build it with the unit-taking methods:
///
/// ```
/// use snm_sdk::units::{Bytes, Resources};
///
/// let needed = Resources::new().cpu_cores(4).ram(Bytes::from_gib(16)).net_down_mbps(100);
/// assert_eq!(needed.cpu_milli_cores, 4_000);
/// assert!(Resources::new().cpu_cores(8).ram(Bytes::from_gib(32)).net_down_mbps(1_000).covers(&needed));
/// ```
///
/// Sizes above 2^64 − 1 bytes (18 EB) and rates above 2^64 − 1 bit/s are capped there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    /// CPU in thousandths of a core.
    pub cpu_milli_cores: u64,
    /// Memory, bytes.
    pub ram_bytes: u64,
    /// Disk, bytes.
    pub storage_bytes: u64,
    /// Number of GPUs.
    pub gpu_count: u64,
    /// Memory per GPU, bytes.
    pub gpu_mem_bytes: u64,
    /// Upload bandwidth, bits per second.
    pub net_up_bps: u64,
    /// Download bandwidth, bits per second.
    pub net_down_bps: u64,
}

fn capped(bytes: Bytes) -> u64 {
    u64::try_from(bytes.get()).unwrap_or(u64::MAX)
}

impl Resources {
    /// Nothing (every field zero): as a requirement, anything matches.
    pub const fn new() -> Self {
        Self {
            cpu_milli_cores: 0,
            ram_bytes: 0,
            storage_bytes: 0,
            gpu_count: 0,
            gpu_mem_bytes: 0,
            net_up_bps: 0,
            net_down_bps: 0,
        }
    }

    /// Whole CPU cores.
    pub const fn cpu_cores(self, cores: u64) -> Self {
        Self { cpu_milli_cores: cores.saturating_mul(1_000), ..self }
    }

    /// CPU in thousandths of a core.
    pub const fn cpu_milli_cores(self, milli_cores: u64) -> Self {
        Self { cpu_milli_cores: milli_cores, ..self }
    }

    /// Memory.
    pub fn ram(self, ram: Bytes) -> Self {
        Self { ram_bytes: capped(ram), ..self }
    }

    /// Disk.
    pub fn storage(self, storage: Bytes) -> Self {
        Self { storage_bytes: capped(storage), ..self }
    }

    /// Number of GPUs.
    pub const fn gpus(self, count: u64) -> Self {
        Self { gpu_count: count, ..self }
    }

    /// Memory per GPU.
    pub fn gpu_mem(self, memory: Bytes) -> Self {
        Self { gpu_mem_bytes: capped(memory), ..self }
    }

    /// Upload bandwidth in megabits (10^6 bits) per second.
    pub const fn net_up_mbps(self, mbps: u64) -> Self {
        Self { net_up_bps: mbps.saturating_mul(1_000_000), ..self }
    }

    /// Download bandwidth in megabits (10^6 bits) per second.
    pub const fn net_down_mbps(self, mbps: u64) -> Self {
        Self { net_down_bps: mbps.saturating_mul(1_000_000), ..self }
    }

    /// Whether these resources provide at least `needed` of each: the contract's
    /// `ResourcesTooLow` check.
    pub const fn covers(&self, needed: &Self) -> bool {
        self.cpu_milli_cores >= needed.cpu_milli_cores
            && self.ram_bytes >= needed.ram_bytes
            && self.storage_bytes >= needed.storage_bytes
            && self.gpu_count >= needed.gpu_count
            && self.gpu_mem_bytes >= needed.gpu_mem_bytes
            && self.net_up_bps >= needed.net_up_bps
            && self.net_down_bps >= needed.net_down_bps
    }
}

impl From<IMarket::Resources> for Resources {
    fn from(r: IMarket::Resources) -> Self {
        Self {
            cpu_milli_cores: r.cpuMilliCores,
            ram_bytes: r.ramBytes,
            storage_bytes: r.storageBytes,
            gpu_count: r.gpuCount,
            gpu_mem_bytes: r.gpuMemBytes,
            net_up_bps: r.netUpBps,
            net_down_bps: r.netDownBps,
        }
    }
}

impl From<Resources> for IMarket::Resources {
    fn from(r: Resources) -> Self {
        Self {
            cpuMilliCores: r.cpu_milli_cores,
            ramBytes: r.ram_bytes,
            storageBytes: r.storage_bytes,
            gpuCount: r.gpu_count,
            gpuMemBytes: r.gpu_mem_bytes,
            netUpBps: r.net_up_bps,
            netDownBps: r.net_down_bps,
        }
    }
}

/// An amount of data, in bytes (1 TB = 10^12 bytes, decimal, as traffic is billed).
///
/// Parses from `"1234"`, `"1234 B"` or `"1.5 TB"` (exact to the byte); formats as `"1234 B"`;
/// serializes as a plain number of bytes.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
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

    /// A whole number of gigabytes (10^9 bytes).
    pub const fn from_gb(gb: u64) -> Self {
        Self(gb as u128 * 1_000_000_000)
    }

    /// A whole number of gibibytes (2^30 bytes).
    pub const fn from_gib(gib: u64) -> Self {
        Self((gib as u128) << 30)
    }

    /// A whole number of megabytes (10^6 bytes).
    pub const fn from_mb(mb: u64) -> Self {
        Self(mb as u128 * 1_000_000)
    }

    /// A whole number of mebibytes (2^20 bytes).
    pub const fn from_mib(mib: u64) -> Self {
        Self((mib as u128) << 20)
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

    #[test]
    fn prices_convert_exactly_or_say_how_they_round() -> Result<(), Error> {
        let hourly: UsdPerHour = "0.9 USD/h".parse()?;
        let per_second = hourly.to_per_second()?;
        assert_eq!(per_second, "0.00025 USD/s".parse()?);
        assert_eq!(per_second.to_string(), "0.00025 USD/s");
        assert_eq!(per_second.per_hour(), hourly);
        assert_eq!("$0.9/h".parse::<UsdPerHour>()?, hourly);
        assert_eq!(hourly.to_string(), "0.9 USD/h");
        // $1/h is 0.000277... per second: refused, or rounded as asked, never by accident.
        let one = UsdPerHour::from_whole(1);
        let Err(Error::InexactPrice { per_hour, down }) = one.to_per_second() else { panic!("exact?") };
        assert_eq!((per_hour, down), (one, one.to_per_second_down()));
        assert_eq!(one.to_per_second_down().scaled(), U256::from(277_777_777_777_777u64));
        assert_eq!(one.to_per_second_up().scaled(), U256::from(277_777_777_777_778u64));
        assert!(one.to_per_second_down().per_hour() < one && one < one.to_per_second_up().per_hour());
        for bad in ["0.9 USD/s", "0.9", "$0.9", "0.9 USD/h extra", "-1 USD/h"] {
            assert!(bad.parse::<UsdPerHour>().is_err(), "{bad:?} should not parse");
        }
        assert!("1 USD/h".parse::<UsdPerSecond>().is_err());
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

    #[test]
    fn terms_and_durations() -> Result<(), Error> {
        assert_eq!(parse_duration("1h30m")?, Duration::from_secs(5_400));
        assert_eq!(parse_duration("2d 12h")?, Duration::from_secs(216_000));
        assert_eq!(parse_duration("90s")?, Duration::from_secs(90));
        assert_eq!(parse_duration("3600")?, Duration::from_secs(3_600));
        for bad in ["", "1x", "h", "30m1h", "1h1h", "1h30", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should not parse");
        }
        assert_eq!(format_duration(Duration::from_secs(93_784)), "1d2h3m4s");
        assert_eq!(format_duration(Duration::from_millis(999)), "0s");
        assert_eq!("spot".parse::<Term>()?, Term::Spot);
        let two_hours: Term = "2h".parse()?;
        assert_eq!((two_hours.secs(), two_hours.to_string()), (7_200, "2h".to_owned()));
        assert!("0s".parse::<Term>().is_err());
        assert_eq!(Term::from_secs(0), Term::Spot);
        assert!(Term::Fixed(Duration::from_millis(500)).is_spot(), "whole seconds only");
        Ok(())
    }

    #[test]
    fn net_flags_and_resources() -> Result<(), Error> {
        let flags = NetFlags::PUBLIC_IP | NetFlags::INCOMING;
        assert_eq!(flags.bits(), 0b11);
        assert_eq!(flags.to_string(), "PUBLIC_IP | INCOMING");
        assert_eq!("PUBLIC_IP | INCOMING".parse::<NetFlags>()?, flags);
        let custom = NetFlags::from_bits_retain(1 << 40) | NetFlags::IPV6;
        assert_eq!(custom.to_string().parse::<NetFlags>()?, custom);
        assert_eq!(NetFlags::empty().to_string().parse::<NetFlags>()?, NetFlags::empty());
        assert!(flags.contains(NetFlags::PUBLIC_IP) && !flags.contains(NetFlags::OUTBOUND));
        assert!("PUBLIC".parse::<NetFlags>().is_err());

        let needed = Resources::new().cpu_cores(2).ram(Bytes::from_gib(8)).net_up_mbps(100);
        assert_eq!(
            (needed.cpu_milli_cores, needed.ram_bytes, needed.net_up_bps),
            (2_000, 8 << 30, 100_000_000)
        );
        let machine = Resources::new()
            .cpu_cores(4)
            .ram(Bytes::from_gb(16))
            .storage(Bytes::from_tb(1))
            .net_up_mbps(1_000);
        assert!(machine.covers(&needed) && !needed.covers(&machine));
        assert_eq!(Resources::new().ram(Bytes::new(u128::MAX)).ram_bytes, u64::MAX, "capped");
        let round_trip: Resources = IMarket::Resources::from(machine).into();
        assert_eq!(round_trip, machine);
        Ok(())
    }

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
        assert!(wrong.contains("-5 SNM"), "{wrong}");
        Ok(())
    }
}
