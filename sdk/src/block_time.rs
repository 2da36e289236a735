//! How a block time (unix seconds) is shown to people: the number the contracts use, and the UTC
//! date and time it stands for.

use std::fmt;

/// A block time shown as `1700000000 (2023-11-14 22:13:20 UTC)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockTime(pub(crate) u64);

impl fmt::Display for BlockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, seconds) = (self.0 / 86_400, self.0 % 86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{} ({year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC)",
            self.0,
            seconds / 3_600,
            seconds % 3_600 / 60,
            seconds % 60
        )
    }
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Eras of 400 years (146,097 days) starting on 0000-03-01; the epoch is day 719,468 of era 0.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::BlockTime;

    #[test]
    fn shows_the_utc_date_of_a_block_time() {
        assert_eq!(BlockTime(0).to_string(), "0 (1970-01-01 00:00:00 UTC)");
        assert_eq!(BlockTime(1_700_000_000).to_string(), "1700000000 (2023-11-14 22:13:20 UTC)");
        // A leap day, and the last second of a leap year.
        assert_eq!(BlockTime(951_782_400).to_string(), "951782400 (2000-02-29 00:00:00 UTC)");
        assert_eq!(BlockTime(1_735_689_599).to_string(), "1735689599 (2024-12-31 23:59:59 UTC)");
    }
}
