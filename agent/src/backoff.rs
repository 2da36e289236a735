//! Pauses before trying a failed action again: exponential, capped, jittered, reset on success.
//!
//! A node that is down or refusing should not be asked again every poll: the pause doubles with
//! each failure up to a cap, and is drawn at random from its upper half so that agents that failed
//! together (a node restart) do not come back in step.

use std::{
    collections::HashMap,
    fmt,
    hash::Hash,
    time::{Duration, Instant},
};

use rand::Rng;

/// The pauses after consecutive failures of one action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    first: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// Pauses from `first`, doubling with each failure, never above `cap` (nor below `first`).
    pub(crate) fn new(first: Duration, cap: Duration) -> Self {
        Self { first, cap: cap.max(first), failures: 0 }
    }

    /// Records a failure and returns the pause before the next try: `first × 2^(failures − 1)`,
    /// capped, then drawn uniformly from its upper half.
    pub(crate) fn fail(&mut self) -> Duration {
        let doubled = self.first.saturating_mul(1u32 << self.failures.min(20));
        self.failures = self.failures.saturating_add(1);
        let ceiling = doubled.min(self.cap);
        let half = ceiling / 2;
        half + rand::thread_rng().gen_range(Duration::ZERO..=ceiling - half)
    }

    /// Failures since the last success.
    #[cfg(test)]
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// Forgets the failures: the next pause is the first one again.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

/// The actions that failed and when each may be tried again, keyed by what the action is.
#[derive(Debug)]
pub(crate) struct Retries<K> {
    first: Duration,
    cap: Duration,
    failed: HashMap<K, (Backoff, Instant)>,
}

impl<K: Eq + Hash + fmt::Debug> Retries<K> {
    pub(crate) fn new(first: Duration, cap: Duration) -> Self {
        Self { first, cap, failed: HashMap::new() }
    }

    /// Whether `action` may run now: it did not fail, or its pause is over.
    pub(crate) fn due(&self, action: &K) -> bool {
        self.failed.get(action).is_none_or(|(_, next)| Instant::now() >= *next)
    }

    /// Whether `action` failed and waits to be tried again.
    #[cfg(test)]
    pub(crate) fn failed(&self, action: &K) -> bool {
        self.failed.contains_key(action)
    }

    /// Records a failure of `action`; returns the pause before its next try.
    pub(crate) fn fail(&mut self, action: K) -> Duration {
        let (first, cap) = (self.first, self.cap);
        let (backoff, next) =
            self.failed.entry(action).or_insert_with(|| (Backoff::new(first, cap), Instant::now()));
        let pause = backoff.fail();
        *next = Instant::now() + pause;
        pause
    }

    /// Records a success of `action`: its next failure starts from the first pause.
    pub(crate) fn succeed(&mut self, action: &K) {
        self.failed.remove(action);
    }

    /// Forgets the actions `keep` says no longer matter (a deal that finished).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.failed.retain(|action, _| keep(action));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap_with_jitter_and_reset_on_success() {
        let (first, cap) = (Duration::from_millis(100), Duration::from_secs(2));
        let mut backoff = Backoff::new(first, cap);
        let ceilings = [100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000].map(Duration::from_millis);
        for ceiling in ceilings {
            let pause = backoff.fail();
            assert!(pause >= ceiling / 2 && pause <= ceiling, "{pause:?} outside {ceiling:?}'s upper half");
        }
        assert_eq!(backoff.failures(), 8);
        backoff.reset();
        assert!(backoff.fail() <= first);
        // Hundreds of failures neither overflow nor pass the cap.
        (0..500).for_each(|_| assert!(backoff.fail() <= cap));
    }

    #[test]
    fn the_pauses_are_jittered() {
        let mut pauses: Vec<Duration> = (0..20)
            .map(|_| {
                let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
                (0..6).map(|_| backoff.fail()).last().unwrap_or_default()
            })
            .collect();
        pauses.sort();
        pauses.dedup();
        assert!(pauses.len() > 1, "twenty agents failing together would retry in step: {pauses:?}");
    }

    #[test]
    fn a_failed_action_waits_its_pause_and_a_success_clears_it() {
        let mut retries = Retries::new(Duration::from_secs(60), Duration::from_secs(600));
        assert!(retries.due(&"settle 1") && !retries.failed(&"settle 1"));
        let pause = retries.fail("settle 1");
        assert!(pause >= Duration::from_secs(30) && pause <= Duration::from_secs(60), "{pause:?}");
        assert!(!retries.due(&"settle 1") && retries.failed(&"settle 1"));
        assert!(retries.due(&"settle 2"), "other actions are not held back");
        retries.succeed(&"settle 1");
        assert!(retries.due(&"settle 1") && !retries.failed(&"settle 1"));

        let mut quick = Retries::new(Duration::ZERO, Duration::ZERO);
        quick.fail("announce");
        assert!(quick.due(&"announce"), "a zero pause is over at once");
        quick.retain(|action| *action != "announce");
        assert!(!quick.failed(&"announce"));
    }
}
