//! Time: deal terms, and durations written `1h30m`.

use std::{fmt, str::FromStr, time::Duration};

use super::{ParseError, ParseErrorKind, fixed};

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
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        const EXPECTED: &str = "`spot` or a fixed term of at least 1s, such as `2h`";
        if input.trim().eq_ignore_ascii_case("spot") {
            return Ok(Self::Spot);
        }
        match parse_duration(input).map_err(|error| error.expecting(EXPECTED))?.as_secs() {
            0 => Err(ParseError::new(input, ParseErrorKind::Zero, EXPECTED)),
            seconds => Ok(Self::from_secs(seconds)),
        }
    }
}

/// Parses a duration written as whole numbers with units `d`, `h`, `m`, `s` (largest first,
/// spaces allowed: `"1h30m"`, `"2d 12h"`, `"90s"`) or as a bare number of seconds (`"3600"`).
pub fn parse_duration(input: &str) -> Result<Duration, ParseError> {
    let error = |kind| ParseError::new(input, kind, "a duration such as `1h30m`, `90s` or `3600`");
    let text: Vec<u8> = input.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if text.iter().all(u8::is_ascii_digit) {
        return fixed::parse_ascii::<u64>(&text, 0).map(Duration::from_secs).map_err(error);
    }
    let mut seconds: u64 = 0;
    let mut last_unit = u64::MAX;
    let mut rest = &text[..];
    while !rest.is_empty() {
        let digits = rest.iter().position(|b| !b.is_ascii_digit()).unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let Some((&unit, after)) = after.split_first() else {
            // A number after the last unit has none of its own (`1h30`).
            return Err(error(ParseErrorKind::Unit));
        };
        let unit = match unit {
            b'd' => 86_400,
            b'h' => 3_600,
            b'm' => 60,
            b's' => 1,
            b'-' => return Err(error(ParseErrorKind::Negative)),
            b'.' => return Err(error(ParseErrorKind::ExcessDecimals { max: 0 })),
            _ => return Err(error(ParseErrorKind::Unit)),
        };
        let count = fixed::parse_ascii::<u64>(number, 0).map_err(error)?;
        if unit >= last_unit {
            return Err(error(ParseErrorKind::UnitOrder));
        }
        last_unit = unit;
        seconds = count
            .checked_mul(unit)
            .and_then(|s| s.checked_add(seconds))
            .ok_or_else(|| error(ParseErrorKind::TooLarge))?;
        rest = after;
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

/// `serde` of durations as the text people write (`"1h30m"`), whole seconds.
pub(crate) mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::{format_duration, parse_duration};

    pub(crate) fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration(*duration))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        parse(&String::deserialize(deserializer)?)
    }

    /// The same for an optional duration (`null` for `None`).
    pub(crate) mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            duration: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match duration {
                Some(duration) => super::serialize(duration, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            match Option::<String>::deserialize(deserializer)? {
                Some(text) => super::parse(&text).map(Some),
                None => Ok(None),
            }
        }
    }

    fn parse<E: serde::de::Error>(text: &str) -> Result<Duration, E> {
        parse_duration(text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_and_durations() -> Result<(), ParseError> {
        assert_eq!(parse_duration("1h30m")?, Duration::from_secs(5_400));
        assert_eq!(parse_duration("2d 12h")?, Duration::from_secs(216_000));
        assert_eq!(parse_duration("90s")?, Duration::from_secs(90));
        assert_eq!(parse_duration("3600")?, Duration::from_secs(3_600));
        assert_eq!(format_duration(Duration::from_secs(93_784)), "1d2h3m4s");
        assert_eq!(format_duration(Duration::from_millis(999)), "0s");
        assert_eq!("spot".parse::<Term>()?, Term::Spot);
        let two_hours: Term = "2h".parse()?;
        assert_eq!((two_hours.secs(), two_hours.to_string()), (7_200, "2h".to_owned()));
        assert_eq!(Term::from_secs(0), Term::Spot);
        assert!(Term::Fixed(Duration::from_millis(500)).is_spot(), "whole seconds only");
        Ok(())
    }

    #[test]
    fn refuses_bad_durations_saying_why() {
        let cases = [
            ("", ParseErrorKind::Empty),
            ("1x", ParseErrorKind::Unit),
            ("h", ParseErrorKind::Empty),
            ("30m1h", ParseErrorKind::UnitOrder),
            ("1h1h", ParseErrorKind::UnitOrder),
            ("1h30", ParseErrorKind::Unit),
            ("-1s", ParseErrorKind::Negative),
            ("-5", ParseErrorKind::Negative),
            ("1.5h", ParseErrorKind::ExcessDecimals { max: 0 }),
            ("99999999999999999999s", ParseErrorKind::TooLarge),
            ("999999999999999999d", ParseErrorKind::TooLarge),
        ];
        for (bad, kind) in cases {
            let error = parse_duration(bad).map(drop).unwrap_err();
            assert_eq!((error.input(), error.kind()), (bad, kind), "{error}");
        }
        let zero = "0s".parse::<Term>().map(drop).unwrap_err();
        assert_eq!((zero.input(), zero.kind()), ("0s", ParseErrorKind::Zero));
        let bad_term = "2 weeks".parse::<Term>().map(drop).unwrap_err();
        assert!(bad_term.to_string().contains("`spot`"), "a term's error says spot is possible: {bad_term}");
    }
}
