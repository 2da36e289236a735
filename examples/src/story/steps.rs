//! The story's steps, timed: each step's wall time and the JSON-RPC requests sent during it, so a
//! run at scale shows which step grows faster than the number of suppliers.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    time::{Duration, Instant},
};

use snm_sdk::provider::RequestCounter;

/// One finished step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepTiming {
    /// Its number.
    pub step: u32,
    /// How long it took.
    pub took: Duration,
    /// Requests sent to the node during it, by method.
    pub requests: BTreeMap<String, u64>,
}

impl StepTiming {
    /// Requests of every method.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
}

/// Starts steps, printing each one's title, and times the one before.
#[derive(Debug, Default)]
pub struct StepClock {
    current: Option<(u32, Instant, BTreeMap<String, u64>)>,
    counter: Option<RequestCounter>,
    done: Vec<StepTiming>,
}

impl StepClock {
    /// A clock with no step started.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the requests of the steps from now on with `counter` (the devnet's, once it runs).
    pub fn count_with(&mut self, counter: RequestCounter) {
        if let Some((_, _, at_start)) = &mut self.current {
            // The current step's requests so far were not counted: it started before the counter.
            at_start.clear();
        }
        self.counter = Some(counter);
    }

    /// Ends the step running, if any, and starts step `n` of eight, printing its title.
    pub fn step(&mut self, n: u32, what: &str) {
        self.finish();
        println!("[{n}/8] {what}");
        self.current = Some((n, Instant::now(), self.counts()));
    }

    /// Ends the step running, printing its time and requests; returns every step's timing.
    pub fn finish(&mut self) -> &[StepTiming] {
        if let Some((step, started, at_start)) = self.current.take() {
            let now = self.counts();
            let requests: BTreeMap<String, u64> = now
                .into_iter()
                .map(|(method, count)| {
                    let before = at_start.get(&method).copied().unwrap_or(0);
                    (method, count.saturating_sub(before))
                })
                .filter(|(_, count)| *count > 0)
                .collect();
            let timing = StepTiming { step, took: started.elapsed(), requests };
            println!("      step {step} took {}", describe(&timing));
            self.done.push(timing);
        }
        &self.done
    }

    fn counts(&self) -> BTreeMap<String, u64> {
        self.counter.as_ref().map(RequestCounter::by_method).unwrap_or_default()
    }
}

/// "1.2 s, 345 requests (eth_call 200, eth_sendRawTransaction 100, …)": the three methods most
/// used.
pub fn describe(timing: &StepTiming) -> String {
    let mut methods: Vec<(&String, &u64)> = timing.requests.iter().collect();
    methods.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut text = format!("{:.1} s, {} requests", timing.took.as_secs_f64(), timing.total_requests());
    let top: Vec<String> = methods.iter().take(3).map(|(m, c)| format!("{m} {c}")).collect();
    if !top.is_empty() {
        let _ = write!(text, " ({})", top.join(", "));
    }
    text
}

/// One line for benchmarks: `steps: 1=0.4s/12 2=3.1s/800 …` (seconds and requests per step).
pub fn scale_line(timings: &[StepTiming]) -> String {
    let parts: Vec<String> = timings
        .iter()
        .map(|t| format!("{}={:.1}s/{}", t.step, t.took.as_secs_f64(), t.total_requests()))
        .collect();
    format!("steps: {}", parts.join(" "))
}

/// One line per step for benchmarks: `methods 6: eth_call=12 eth_getLogs=3 …` (every method, most
/// used first), to tell which reads grow with the number of suppliers.
pub fn method_lines(timings: &[StepTiming]) -> Vec<String> {
    timings
        .iter()
        .map(|t| {
            let mut methods: Vec<(&String, &u64)> = t.requests.iter().collect();
            methods.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let parts: Vec<String> = methods.iter().map(|(m, c)| format!("{m}={c}")).collect();
            format!("methods {}: {}", t.step, parts.join(" "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_counts_only_the_requests_sent_during_it() {
        let timing = StepTiming {
            step: 3,
            took: Duration::from_millis(1_250),
            requests: BTreeMap::from([
                ("eth_call".to_owned(), 7),
                ("eth_sendRawTransaction".to_owned(), 9),
                ("eth_chainId".to_owned(), 1),
                ("eth_getLogs".to_owned(), 2),
            ]),
        };
        assert_eq!(
            describe(&timing),
            "1.2 s, 19 requests (eth_sendRawTransaction 9, eth_call 7, eth_getLogs 2)"
        );
        assert_eq!(scale_line(std::slice::from_ref(&timing)), "steps: 3=1.2s/19");
        assert_eq!(
            method_lines(&[timing]),
            vec!["methods 3: eth_sendRawTransaction=9 eth_call=7 eth_getLogs=2 eth_chainId=1"]
        );
    }

    #[test]
    fn the_clock_times_the_step_before_the_next() {
        let mut clock = StepClock::new();
        clock.step(1, "one");
        clock.step(2, "two");
        let done = clock.finish();
        assert_eq!(done.iter().map(|t| t.step).collect::<Vec<_>>(), vec![1, 2]);
        assert!(done.iter().all(|t| t.requests.is_empty()));
    }
}
