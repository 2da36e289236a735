//! Availability records for a reward campaign: for each worker, the spans in which it had an open
//! ask, a running deal or neither, cut at period boundaries, appended as JSON lines in the reward
//! engine's format ([`AvailabilityRecord`]) so that a campaign with `min_online` can pay an admitted
//! IP for being available even when nobody bought it.

use std::{
    collections::HashMap,
    io::Write,
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::primitives::Address;
use snm_sdk::{
    rewards::{AvailabilityRecord, WorkerState},
    units::Bytes,
};

/// Where availability records go and how long a period is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailabilityConfig {
    /// The JSON-lines file records are appended to.
    pub path: PathBuf,
    /// Records are cut at multiples of this (unix time); one hour by default.
    pub period: Duration,
}

/// A worker's current span: one state since `start`, last seen at `end`.
#[derive(Clone, Copy, Debug)]
struct Span {
    ip: IpAddr,
    state: WorkerState,
    start: u64,
    end: u64,
    bytes_at_start: u128,
    bytes_now: u128,
}

/// Turns the agent's observations of its workers (each step) into availability records.
///
/// A span goes on while the worker is seen in the same state, within one period, with no gap
/// longer than a period between observations (an agent that was stopped claims nothing for the
/// time it was away); it becomes a record, `[start, last seen]`, when any of that changes. Time
/// between the last observation of one span and the first of the next is in neither: the records
/// never claim more than was seen.
#[derive(Debug)]
pub struct AvailabilityLog {
    config: AvailabilityConfig,
    master: Address,
    spans: HashMap<Address, Span>,
}

impl AvailabilityLog {
    /// A log of `master`'s workers into `config.path`.
    pub fn new(config: AvailabilityConfig, master: Address) -> Self {
        Self { config, master, spans: HashMap::new() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.config.path
    }

    fn period(&self) -> u64 {
        self.config.period.as_secs().max(1)
    }

    /// Notes that `worker` (at `ip`) was in `state` at unix time `now`, its deals' workloads
    /// having carried `bytes` in all so far; returns the records this completes.
    pub fn observe(
        &mut self,
        now: u64,
        worker: Address,
        ip: IpAddr,
        state: WorkerState,
        bytes: u128,
    ) -> Vec<AvailabilityRecord> {
        let period = self.period();
        let mut done = Vec::new();
        if let Some(span) = self.spans.get_mut(&worker) {
            let continues =
                span.state == state && span.ip == ip && now >= span.end && now - span.end <= period;
            if continues {
                let boundary = (span.start / period + 1) * period;
                if now >= boundary {
                    // The span so far is cut at the boundary (with the traffic seen up to now, which
                    // cannot be split); what follows starts a new period. `now - end <= period`
                    // crosses one boundary at most.
                    let cut = Span { end: boundary - 1, bytes_now: bytes, ..*span };
                    done.push(record(self.master, worker, &cut));
                    *span =
                        Span { start: boundary, end: now, bytes_at_start: bytes, bytes_now: bytes, ..*span };
                } else {
                    span.end = now;
                    span.bytes_now = bytes;
                }
                return done;
            }
            // A change within the span's last second gives that second to the new state, so that
            // records never overlap; a span shorter than a second then leaves no record.
            let end = if now <= span.end { now.checked_sub(1) } else { Some(span.end) };
            if let Some(end) = end.filter(|end| *end >= span.start) {
                done.push(record(self.master, worker, &Span { end, ..*span }));
            }
        }
        self.spans.insert(
            worker,
            Span { ip, state, start: now, end: now, bytes_at_start: bytes, bytes_now: bytes },
        );
        done
    }

    /// Appends `records` to the file (created if needed) and syncs it.
    pub fn append(&self, records: &[AvailabilityRecord]) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let lines: String = records.iter().map(AvailabilityRecord::to_json_line).collect();
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.config.path)?;
        file.write_all(lines.as_bytes())?;
        file.sync_data()
    }
}

fn record(master: Address, worker: Address, span: &Span) -> AvailabilityRecord {
    let bytes = match span.state {
        WorkerState::Deal => span.bytes_now.saturating_sub(span.bytes_at_start),
        WorkerState::Ask | WorkerState::Idle => 0,
    };
    AvailabilityRecord {
        account: master,
        worker,
        ip: span.ip,
        period_start: span.start,
        period_end: span.end,
        state: span.state,
        bytes: Bytes::new(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log() -> AvailabilityLog {
        AvailabilityLog::new(
            AvailabilityConfig { path: PathBuf::from("unused.jsonl"), period: Duration::from_secs(100) },
            Address::repeat_byte(1),
        )
    }

    #[test]
    fn spans_are_cut_at_state_changes_period_boundaries_and_gaps() {
        let (worker, ip) = (Address::repeat_byte(2), "10.0.0.1".parse().expect("an IP"));
        let mut log = log();
        let mut records = Vec::new();
        for (now, state, bytes) in [
            (10, WorkerState::Ask, 0),
            (50, WorkerState::Ask, 0),
            (90, WorkerState::Deal, 0),
            (120, WorkerState::Deal, 700), // crosses 100: the deal's first part is cut there
            (150, WorkerState::Deal, 900),
            (400, WorkerState::Deal, 950), // a gap of 250 s: nothing claimed in it
            (430, WorkerState::Ask, 950),  // the deal, seen at 400 only, ends: [400, 400]
            (430, WorkerState::Idle, 950), // within a second: the ask leaves no record
            (431, WorkerState::Ask, 950),  // the idle second [430, 430]
        ] {
            records.extend(log.observe(now, worker, ip, state, bytes));
        }
        let spans: Vec<_> =
            records.iter().map(|r| (r.period_start, r.period_end, r.state, r.bytes.get())).collect();
        assert_eq!(
            spans,
            vec![
                (10, 50, WorkerState::Ask, 0),
                (90, 99, WorkerState::Deal, 700),
                (100, 150, WorkerState::Deal, 200),
                (400, 400, WorkerState::Deal, 0),
                (430, 430, WorkerState::Idle, 0),
            ]
        );
        assert!(records.iter().all(|r| r.account == Address::repeat_byte(1) && r.worker == worker));
    }
}
