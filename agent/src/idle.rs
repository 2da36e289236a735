//! The pause between an agent's rounds: short while things happen, longer while nothing does, so
//! that an idle agent costs the node (often a public one, with a rate limit) little.

use std::time::Duration;

/// How much longer than `poll_every` the pause grows while rounds find nothing to do.
pub(crate) const IDLE_FACTOR: u32 = 8;

/// `poll_every` after a round that did something; doubling after each quiet round, up to
/// [`IDLE_FACTOR`] times `poll_every`.
#[derive(Debug)]
pub(crate) struct IdlePause {
    base: Duration,
    current: Duration,
}

impl IdlePause {
    pub(crate) fn new(poll_every: Duration) -> Self {
        Self { base: poll_every, current: poll_every }
    }

    /// The pause after a round that did something (`busy`) or nothing.
    pub(crate) fn after(&mut self, busy: bool) -> Duration {
        if busy {
            self.current = self.base;
            return self.base;
        }
        let pause = self.current;
        self.current = (self.current * 2).min(self.base * IDLE_FACTOR);
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_rounds_double_the_pause_up_to_the_factor_and_work_resets_it() {
        let base = Duration::from_millis(100);
        let mut idle = IdlePause::new(base);
        let quiet: Vec<Duration> = (0..6).map(|_| idle.after(false)).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(quiet, [ms(100), ms(200), ms(400), ms(800), ms(800), ms(800)]);
        assert_eq!(idle.after(true), base);
        assert_eq!(idle.after(false), base);
    }
}
