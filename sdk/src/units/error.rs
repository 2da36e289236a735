//! The units' own errors: text that is not a value of a unit, and a price per hour that has no
//! exact price per second.

use std::fmt;

use super::{UsdPerHour, UsdPerSecond};

/// Text that is not a value of a unit: what was given, what is wrong with it and what was
/// expected.
///
/// ```
/// use snm_sdk::units::{ParseErrorKind, Snm};
///
/// let error = "0.0000000000000000001 SNM".parse::<Snm>().unwrap_err();
/// assert_eq!(error.kind(), ParseErrorKind::ExcessDecimals { max: 18 });
/// assert_eq!(
///     error.to_string(),
///     "cannot parse `0.0000000000000000001 SNM`: it has more than 18 decimals; \
///      expected an amount such as `12.5 SNM`"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("cannot parse `{input}`: {kind}; expected {expected}")]
pub struct ParseError {
    input: String,
    kind: ParseErrorKind,
    expected: &'static str,
}

impl ParseError {
    /// `input` is not what was `expected` (a phrase with an example, such as
    /// ``"an amount such as `12.5 SNM`"``) because of `kind`.
    pub fn new(input: impl Into<String>, kind: ParseErrorKind, expected: &'static str) -> Self {
        Self { input: input.into(), kind, expected }
    }

    /// The text given, whole (not only the part that was wrong).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What is wrong with it.
    pub const fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// What was expected, with an example.
    pub const fn expected(&self) -> &'static str {
        self.expected
    }

    /// The same error for a parser that expects something more specific (a term rather than any
    /// duration, say).
    pub(crate) fn expecting(self, expected: &'static str) -> Self {
        Self { expected, ..self }
    }
}

/// What is wrong with a text that does not parse as a unit ([`ParseError::kind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// There is no number where one is needed (the text is empty, or only a unit).
    Empty,
    /// The number is negative; every unit here is zero or more.
    Negative,
    /// What should be a number is not digits with at most one decimal point followed by digits
    /// (`1e6`, `1.2.3`, `abc`, `5.`).
    NotANumber,
    /// The number has more decimals than the unit keeps (`max`; 0: only whole numbers). Nothing
    /// is rounded away silently.
    ExcessDecimals {
        /// The most decimals the unit keeps.
        max: u8,
    },
    /// The value does not fit the unit's integer.
    TooLarge,
    /// The unit is missing, unknown, or given twice (`$4 USD`).
    Unit,
    /// A duration's units are not largest first, each at most once (`30m1h`, `1h1h`).
    UnitOrder,
    /// The value is zero where it must not be (a fixed term of `0s`).
    Zero,
    /// A network flag's name is not one of those known (`FAST`), or a name is empty (`public-ip,`).
    UnknownFlag,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the number is missing"),
            Self::Negative => f.write_str("it is negative"),
            Self::NotANumber => f.write_str("it is not a decimal number"),
            Self::ExcessDecimals { max: 0 } => f.write_str("it is not a whole number"),
            Self::ExcessDecimals { max } => write!(f, "it has more than {max} decimals"),
            Self::TooLarge => f.write_str("it is too large"),
            Self::Unit => f.write_str("its unit is missing, unknown or given twice"),
            Self::UnitOrder => f.write_str("its units are not largest first, each once"),
            Self::Zero => f.write_str("it is zero"),
            Self::UnknownFlag => f.write_str("it names no known flag"),
        }
    }
}

/// A price per hour that is not a whole number of 10^-18 USD per second, so that
/// [`UsdPerHour::to_per_second`] has no exact answer; the error names both roundings.
///
/// ```
/// use snm_sdk::units::UsdPerHour;
///
/// let error = UsdPerHour::from_whole(1).to_per_second().unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "1 USD/h is not a whole number of 10^-18 USD per second: round down with to_per_second_down \
///      (0.000277777777777777 USD/s) or up with to_per_second_up (0.000277777777777778 USD/s)"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error(
    "{per_hour} is not a whole number of 10^-18 USD per second: round down with to_per_second_down \
     ({}) or up with to_per_second_up ({})",
    .per_hour.to_per_second_down(),
    .per_hour.to_per_second_up()
)]
pub struct InexactPrice {
    per_hour: UsdPerHour,
}

impl InexactPrice {
    pub(super) const fn new(per_hour: UsdPerHour) -> Self {
        Self { per_hour }
    }

    /// The price given.
    pub const fn per_hour(&self) -> UsdPerHour {
        self.per_hour
    }

    /// It per second, rounded down: at most the price given.
    pub fn down(&self) -> UsdPerSecond {
        self.per_hour.to_per_second_down()
    }

    /// It per second, rounded up: at least the price given.
    pub fn up(&self) -> UsdPerSecond {
        self.per_hour.to_per_second_up()
    }
}
