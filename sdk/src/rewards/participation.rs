//! Online time of admitted IPs, from the agents' availability records: the union of the periods in
//! which each admitted IP had an open ask or a running deal, from its admission time on.

use std::{
    io::{BufRead, BufReader},
    net::IpAddr,
    path::{Path, PathBuf},
};

use alloy::primitives::{Address, map::HashMap};

use super::{
    availability::AvailabilityRecord,
    error::RewardsError,
    input_error::{InputReason, Location},
};

/// Online seconds of every admitted IP (keyed in canonical form) found available in `files`.
///
/// A record counts when its IP is admitted for its account and its state is `ask` or `deal`; its
/// period `[period_start, period_end]` (inclusive seconds) is cut to begin no earlier than the
/// admission time. The periods of an IP are merged (overlaps and repeats count once: the same
/// file given twice, or every file of the campaign so far given again each round, changes
/// nothing) and their seconds summed. Records of IPs not admitted, or of another account, are
/// skipped. A malformed line is a [`RewardsError::Input`] naming the file and line.
pub(super) fn online_seconds(
    files: &[PathBuf],
    admitted: &HashMap<IpAddr, (Address, u64)>,
) -> Result<HashMap<IpAddr, u64>, RewardsError> {
    let mut periods: HashMap<IpAddr, Vec<(u64, u64)>> = HashMap::default();
    for path in files {
        read_file(path, admitted, &mut periods)?;
    }
    Ok(periods.into_iter().map(|(ip, list)| (ip, union_seconds(list))).collect())
}

fn read_file(
    path: &Path,
    admitted: &HashMap<IpAddr, (Address, u64)>,
    periods: &mut HashMap<IpAddr, Vec<(u64, u64)>>,
) -> Result<(), RewardsError> {
    let file = std::fs::File::open(path).map_err(|e| RewardsError::io(path, e))?;
    for (k, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| RewardsError::io(path, e))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let at = || Location::line(path, k as u64 + 1);
        let record: AvailabilityRecord = serde_json::from_str(line)
            .map_err(|e| RewardsError::Input { at: at(), reason: InputReason::Json(e.to_string()) })?;
        if record.period_end < record.period_start {
            return Err(RewardsError::Input {
                at: at(),
                reason: InputReason::PeriodReversed { start: record.period_start, end: record.period_end },
            });
        }
        let ip = record.ip.to_canonical();
        let Some(&(account, from)) = admitted.get(&ip) else { continue };
        if account != record.account || !record.state.is_available() {
            continue;
        }
        let start = record.period_start.max(from);
        if start <= record.period_end {
            periods.entry(ip).or_default().push((start, record.period_end));
        }
    }
    Ok(())
}

/// The seconds covered by inclusive periods, overlaps counted once.
fn union_seconds(mut periods: Vec<(u64, u64)>) -> u64 {
    periods.sort_unstable();
    let mut total = 0u64;
    let mut current: Option<(u64, u64)> = None;
    for (start, end) in periods {
        current = match current {
            Some((s, e)) if start <= e.saturating_add(1) => Some((s, e.max(end))),
            Some((s, e)) => {
                total = total.saturating_add(e - s + 1);
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((s, e)) = current {
        total = total.saturating_add(e - s + 1);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_and_repeated_periods_count_once() {
        assert_eq!(union_seconds(vec![]), 0);
        assert_eq!(union_seconds(vec![(0, 9)]), 10);
        assert_eq!(union_seconds(vec![(10, 19), (0, 9), (0, 9)]), 20, "adjacent and repeated");
        assert_eq!(union_seconds(vec![(0, 100), (50, 60), (200, 299)]), 201);
    }
}
