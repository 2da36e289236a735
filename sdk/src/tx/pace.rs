//! How soon a client polls for a receipt: no faster than its transactions are mined.
//!
//! A receipt is polled at once (a devnet mines as it receives), then every few milliseconds, up to
//! [`TxOptions::poll_interval`](crate::tx::TxOptions::poll_interval). When the node takes longer
//! (a chain's block time, or a devnet saturated by a thousand agents), most of those polls find
//! nothing: [`MiningPace`] remembers how long the client's last transaction took from its send to
//! its receipt, and the polls after the first few fast ones are at least a quarter of that apart (a
//! few polls per block instead of one every 100 ms: 120 for one of Ethereum's 12 s blocks).
//!
//! The least pause is reached by doubling from a sixteenth of it ([`PollSchedule`]), not at once: a
//! client that learned a long wait under load (up to 3 s) and sends again once the node is quick
//! finds its receipt within a sixteenth of that wait, not a whole quarter-wait later (the main
//! job's 1,000 reward claims, 32 at a time after the busy closing step, took 123 s with the jump
//! and a few polls more each). On a 12 s chain that is about 4 polls more per transaction.
//!
//! The first poll and the fast ones after it (a millisecond apart) stay: a client that learned a
//! long wait while the node was busy must not keep it once the node is idle again (an earlier
//! version that waited before the first poll made the main job's claims after a busy phase take
//! 10.6 s instead of 1.2 s, see `sdk/BENCHMARKS.md`; one that spaced every poll after the first
//! made 500 suppliers' claims, one after the other, wait a learned pause each). An idle devnet
//! mines within the fast polls, and that receipt brings the pace back down at once.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use super::receipt_order::ReceiptOrder;

/// Parts of the last time-to-receipt between two polls of a receipt.
const POLLS_PER_MINING: u32 = 4;

/// The longest least pause: a quarter of Ethereum's block time. A transaction that waited long for
/// another reason (underpriced until replaced) does not slow the next one's polls beyond it.
const MOST_LEAST_PAUSE: Duration = Duration::from_secs(3);

/// How long a client's last transaction took to be mined (see the [module documentation](self)).
#[derive(Debug, Default)]
pub(crate) struct MiningPace {
    /// Microseconds from the send to the receipt of the last transaction mined; 0 before any.
    last_micros: AtomicU64,
    /// The nonces awaited, polled in order (see `receipt_order`).
    order: ReceiptOrder,
}

impl MiningPace {
    /// The least pause between two polls of a receipt after the first.
    pub(crate) fn least_pause(&self) -> Duration {
        (Duration::from_micros(self.last_micros.load(Ordering::Relaxed)) / POLLS_PER_MINING)
            .min(MOST_LEAST_PAUSE)
    }

    /// The client's awaited nonces.
    pub(crate) fn order(&self) -> &ReceiptOrder {
        &self.order
    }

    /// Records that a transaction was mined `took` after it was sent.
    pub(crate) fn mined_after(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.last_micros.store(micros, Ordering::Relaxed);
    }
}

/// Polls of a receipt a millisecond apart after the first, before the pause grows (and before
/// [`MiningPace`] spaces them): a devnet mines in about that.
const FAST_POLLS: u32 = 4;

/// The ramp to the least pause starts at this part of it.
const RAMP_PARTS: u32 = 16;

/// The pauses between the polls of one receipt: [`FAST_POLLS`] of a millisecond, then doubling
/// from 2 ms up to the poll interval, and never below a floor that doubles from a sixteenth of
/// the least pause ([`MiningPace::least_pause`]) up to it, nor below a quarter of the time waited
/// so far (at most [`MOST_LEAST_PAUSE`]).
///
/// The last bound keeps a long wait's polls few: a transaction queued behind a thousand others
/// (the main job's 1,000 agents settling at once, a node mining each in 60 ms) waits about a minute
/// whatever its client learned before, and polled every `poll_interval` (100 ms) that made 50
/// receipt polls per transaction, 80,000 in the step, each one more request for the very node
/// everyone waited on. Now the polls of a wait of T are about log(T) many; a receipt is seen at
/// most a quarter of its wait late.
#[derive(Debug)]
pub(crate) struct PollSchedule {
    polls: u32,
    pause: Duration,
    floor: Duration,
    least: Duration,
    poll_interval: Duration,
    /// The pauses handed out so far.
    waited: Duration,
}

impl PollSchedule {
    /// The schedule of a wait with the client's `least` pause and its options' `poll_interval`.
    pub(crate) fn new(least: Duration, poll_interval: Duration) -> Self {
        Self {
            polls: 0,
            pause: Duration::from_millis(1),
            floor: least / RAMP_PARTS,
            least,
            poll_interval,
            waited: Duration::ZERO,
        }
    }

    /// The pause before the next poll.
    pub(crate) fn next_pause(&mut self) -> Duration {
        // The fast polls first: an idle devnet mines in them, whatever the client learned while
        // the node was busy.
        let pause = if self.polls < FAST_POLLS {
            self.pause
        } else {
            let late = (self.waited / POLLS_PER_MINING).min(MOST_LEAST_PAUSE);
            self.pause.max(self.floor).max(late)
        };
        self.waited += pause;
        self.polls += 1;
        if self.polls > FAST_POLLS {
            self.floor = (self.floor * 2).min(self.least);
        }
        if self.polls >= FAST_POLLS {
            self.pause = (self.pause * 2).min(self.poll_interval);
        }
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pauses(least: Duration, count: usize) -> Vec<u64> {
        let mut schedule = PollSchedule::new(least, Duration::from_millis(100));
        (0..count).map(|_| u64::try_from(schedule.next_pause().as_millis()).unwrap_or(u64::MAX)).collect()
    }

    #[test]
    fn after_the_fast_polls_the_pause_ramps_up_to_the_least_pause() {
        assert_eq!(pauses(Duration::ZERO, 10), [1, 1, 1, 1, 2, 4, 8, 16, 32, 64], "nothing learned");
        assert_eq!(
            pauses(Duration::from_secs(3), 11),
            [1, 1, 1, 1, 187, 375, 750, 1_500, 3_000, 3_000, 3_000],
            "a long wait learned: from a sixteenth of it, doubling"
        );
        assert_eq!(
            pauses(Duration::from_millis(40), 10),
            [1, 1, 1, 1, 2, 5, 10, 20, 40, 64],
            "then the poll interval's ramp"
        );
    }

    #[test]
    fn a_long_wait_is_polled_ever_more_rarely() {
        let mut schedule = PollSchedule::new(Duration::ZERO, Duration::from_millis(100));
        let (mut waited, mut polls) = (Duration::ZERO, 0);
        while waited < Duration::from_secs(60) {
            let pause = schedule.next_pause();
            assert!(pause <= MOST_LEAST_PAUSE, "never more than {MOST_LEAST_PAUSE:?} apart: {pause:?}");
            waited += pause;
            polls += 1;
        }
        // Every 100 ms that would be 600 polls.
        assert!(polls < 50, "{polls} polls for a minute's wait");
        assert_eq!(schedule.next_pause(), MOST_LEAST_PAUSE);
    }

    #[test]
    fn polls_are_a_quarter_of_the_last_mining_time_apart() {
        let pace = MiningPace::default();
        assert_eq!(pace.least_pause(), Duration::ZERO, "nothing known: the fast polls");
        pace.mined_after(Duration::from_secs(12));
        assert_eq!(pace.least_pause(), Duration::from_secs(3));
        pace.mined_after(Duration::from_secs(60));
        assert_eq!(pace.least_pause(), Duration::from_secs(3), "at most a quarter of Ethereum's block");
        pace.mined_after(Duration::from_millis(2));
        assert_eq!(pace.least_pause(), Duration::from_micros(500));
    }
}
