//! The supplier agent's configuration file (TOML).
//!
//! ```toml
//! state = "agent/state.json"          # what the agent remembers across restarts
//! usage_report = "agent/usage.csv"    # metered traffic, in the reward engine's CSV format
//! poll_every = "1s"                   # how often the chain is read ("500ms" works too)
//! settle_every = "10m"                # how often open deals are settled
//! withdraw_at = "100 SNM"             # earnings withdrawn once they reach this (omit: never)
//!
//! [runtime]                           # how a deal's workload runs (see ProcessRuntime)
//! command = ["snm-proxy", "--listen", "{ip}:0", "--stats", "{stats}", "--auth-hash", "{config_hash}"]
//! dir = "agent/workloads"
//!
//! [[worker]]
//! address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
//! ip = "203.0.113.7"
//!
//! [[ask]]                             # one open ask per entry, placed again after each deal
//! worker = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
//! price = "0.05 USD/h"
//! cpu_milli_cores = 1000
//! ram_mib = 512
//! storage_mib = 1024
//! net_up_mbps = 100
//! net_down_mbps = 100
//! flags = "PUBLIC_IP | INCOMING"
//! region = 276
//! min_duration = "1m"
//! max_duration = "24h"                # omit: no maximum, spot deals accepted
//! ```
//!
//! Relative paths are relative to the configuration file's directory.

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::primitives::Address;
use serde::Deserialize;

use snm_sdk::{
    Error,
    market::Ask,
    units::{Bytes, NetFlags, ParseError, ParseErrorKind, Resources, Snm, UsdPerHour, fixed, parse_duration},
};

use crate::error::ConfigError;

/// One of the master's machines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// The machine's key (its address); it must be a confirmed worker of the master, or have
    /// asked to join it (the agent then confirms it).
    pub address: Address,
    /// Its public IP: where its workloads serve, and what the campaign counts.
    pub ip: IpAddr,
}

/// The agent's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentConfig {
    /// The state file.
    pub state: PathBuf,
    /// The usage report (CSV), rewritten as deals finish; `None`: none written.
    pub usage_report: Option<PathBuf>,
    /// How often the chain is read.
    pub poll_every: Duration,
    /// How often open deals are settled.
    pub settle_every: Duration,
    /// Earnings are withdrawn to the master once they reach this; `None`: never.
    pub withdraw_at: Option<Snm>,
    /// The workload command template (see [`ProcessRuntime`](super::ProcessRuntime)).
    pub command: Vec<String>,
    /// Where workloads get their directories.
    pub workload_dir: PathBuf,
    /// The machines.
    pub workers: Vec<WorkerConfig>,
    /// The asks to keep open, with the master left unset (the agent's master fills it).
    pub asks: Vec<AskTemplate>,
}

/// An ask the agent keeps open on one worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AskTemplate {
    /// The worker offered.
    pub worker: Address,
    /// Price per hour, as written (kept to show it).
    pub price: UsdPerHour,
    /// What the machine provides.
    pub resources: Resources,
    /// Network capabilities.
    pub flags: NetFlags,
    /// Region code; 0 = unspecified.
    pub region: u32,
    /// Shortest fixed term accepted.
    pub min_duration: Duration,
    /// Longest fixed term accepted; `None`: no maximum, spot deals accepted.
    pub max_duration: Option<Duration>,
}

impl AskTemplate {
    /// The ask for `master`. Fails when the price per hour is not a whole number of 10^-18 USD
    /// per second (see [`UsdPerHour::to_per_second`]).
    pub fn ask(&self, master: Address) -> Result<Ask, Error> {
        Ok(Ask::new(master, self.worker, self.price.to_per_second()?)
            .resources(self.resources)
            .flags(self.flags)
            .region(self.region)
            .durations(self.min_duration, self.max_duration))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    state: PathBuf,
    usage_report: Option<PathBuf>,
    poll_every: Option<String>,
    settle_every: Option<String>,
    withdraw_at: Option<String>,
    runtime: RawRuntime,
    #[serde(default, rename = "worker")]
    workers: Vec<RawWorker>,
    #[serde(default, rename = "ask")]
    asks: Vec<RawAsk>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    command: Vec<String>,
    dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorker {
    address: Address,
    ip: IpAddr,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAsk {
    worker: Address,
    price: String,
    #[serde(default)]
    cpu_milli_cores: u64,
    #[serde(default)]
    ram_mib: u64,
    #[serde(default)]
    storage_mib: u64,
    #[serde(default)]
    gpus: u64,
    #[serde(default)]
    gpu_mem_mib: u64,
    #[serde(default)]
    net_up_mbps: u64,
    #[serde(default)]
    net_down_mbps: u64,
    #[serde(default)]
    flags: Option<String>,
    #[serde(default)]
    region: u32,
    min_duration: Option<String>,
    max_duration: Option<String>,
}

/// A duration as [`parse_duration`] reads it, or a whole number of milliseconds (`"250ms"`).
fn parse_interval(text: &str) -> Result<Duration, ParseError> {
    const EXPECTED: &str = "whole milliseconds, as in `250ms`, or a duration such as `2s`";
    match text.trim().strip_suffix("ms") {
        Some(millis) => {
            let millis = fixed::parse_u128(millis.trim(), 0)
                .map_err(|error| ParseError::new(text, error.kind(), EXPECTED))?;
            u64::try_from(millis)
                .map(Duration::from_millis)
                .map_err(|_| ParseError::new(text, ParseErrorKind::TooLarge, EXPECTED))
        }
        None => parse_duration(text),
    }
}

impl AgentConfig {
    /// Reads and checks a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { file: path.to_owned(), source })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, base).map_err(|error| error.in_file(path.to_owned()))
    }

    /// Parses a configuration; relative paths are taken from `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|source| ConfigError::Syntax { file: None, source })?;
        Self::from_raw(raw, base).map_err(|reason| ConfigError::Invalid { file: None, reason })
    }

    /// Checks every setting of a parsed file; the error names the setting.
    fn from_raw(raw: RawConfig, base: &Path) -> Result<Self, String> {
        let duration = |name: &str, value: &Option<String>, default: Duration| match value {
            None => Ok(default),
            Some(text) => parse_interval(text).map_err(|e| format!("`{name}`: {e}")),
        };
        let poll_every = duration("poll_every", &raw.poll_every, Duration::from_secs(1))?;
        let settle_every = duration("settle_every", &raw.settle_every, Duration::from_secs(600))?;
        if poll_every.is_zero() || settle_every.is_zero() {
            return Err("`poll_every` and `settle_every` must be above zero".into());
        }
        let withdraw_at = raw
            .withdraw_at
            .map(|text| text.parse::<Snm>().map_err(|e| format!("`withdraw_at`: {e}")))
            .transpose()?;
        if raw.runtime.command.is_empty() {
            return Err("`runtime.command` is empty".into());
        }
        if raw.workers.is_empty() {
            return Err("no `[[worker]]`: the agent needs at least one machine".into());
        }
        let workers: Vec<WorkerConfig> =
            raw.workers.into_iter().map(|w| WorkerConfig { address: w.address, ip: w.ip }).collect();
        for (i, worker) in workers.iter().enumerate() {
            if workers[..i].iter().any(|w| w.address == worker.address) {
                return Err(format!("worker {} is listed twice", worker.address));
            }
        }
        let mut asks = Vec::with_capacity(raw.asks.len());
        for (index, ask) in raw.asks.into_iter().enumerate() {
            let at = |what: String| format!("ask {} (worker {}): {what}", index + 1, ask.worker);
            if !workers.iter().any(|w| w.address == ask.worker) {
                return Err(at("the worker is not one of the `[[worker]]`s".into()));
            }
            let price: UsdPerHour = ask.price.parse().map_err(|e| at(format!("`price`: {e}")))?;
            price.to_per_second().map_err(|e| at(format!("`price`: {e}")))?;
            let flags = match &ask.flags {
                None => NetFlags::empty(),
                Some(text) => text.parse().map_err(|e| at(format!("`flags`: {e}")))?,
            };
            let min_duration = duration("min_duration", &ask.min_duration, Duration::ZERO).map_err(at)?;
            let max_duration = ask
                .max_duration
                .as_ref()
                .map(|text| parse_duration(text).map_err(|e| at(format!("`max_duration`: {e}"))))
                .transpose()?;
            if max_duration.is_some_and(|max| max < min_duration) {
                return Err(at("`max_duration` is below `min_duration`".into()));
            }
            asks.push(AskTemplate {
                worker: ask.worker,
                price,
                resources: Resources::new()
                    .cpu_milli_cores(ask.cpu_milli_cores)
                    .ram(Bytes::from_mib(ask.ram_mib))
                    .storage(Bytes::from_mib(ask.storage_mib))
                    .gpus(ask.gpus)
                    .gpu_mem(Bytes::from_mib(ask.gpu_mem_mib))
                    .net_up_mbps(ask.net_up_mbps)
                    .net_down_mbps(ask.net_down_mbps),
                flags,
                region: ask.region,
                min_duration,
                max_duration,
            });
        }
        Ok(Self {
            state: base.join(raw.state),
            usage_report: raw.usage_report.map(|p| base.join(p)),
            poll_every,
            settle_every,
            withdraw_at,
            command: raw.runtime.command,
            workload_dir: base.join(raw.runtime.dir),
            workers,
            asks,
        })
    }

    /// The worker with this address.
    pub fn worker(&self, address: Address) -> Option<&WorkerConfig> {
        self.workers.iter().find(|w| w.address == address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    fn config(asks: &str) -> String {
        format!(
            r#"
state = "state.json"
usage_report = "usage.csv"
settle_every = "5m"
poll_every = "250ms"
withdraw_at = "10 SNM"
[runtime]
command = ["proxy", "--listen", "{{ip}}:0"]
dir = "workloads"
[[worker]]
address = "{WORKER}"
ip = "203.0.113.7"
{asks}"#
        )
    }

    #[test]
    fn reads_a_full_configuration() {
        let ask = format!(
            "[[ask]]\nworker = \"{WORKER}\"\nprice = \"0.9 USD/h\"\ncpu_milli_cores = 1500\nram_mib = 512\n\
             flags = \"PUBLIC_IP | INCOMING\"\nregion = 276\nmin_duration = \"1m\"\nmax_duration = \"2h\"\n"
        );
        let c = AgentConfig::from_toml(&config(&ask), Path::new("/etc/agent")).unwrap();
        assert_eq!(c.state, PathBuf::from("/etc/agent/state.json"));
        assert_eq!(c.usage_report, Some(PathBuf::from("/etc/agent/usage.csv")));
        assert_eq!((c.poll_every, c.settle_every), (Duration::from_millis(250), Duration::from_secs(300)));
        assert_eq!(c.withdraw_at, Some(Snm::from_whole(10)));
        assert_eq!(c.workers[0].ip, "203.0.113.7".parse::<IpAddr>().unwrap());
        let a = &c.asks[0];
        assert_eq!((a.resources.cpu_milli_cores, a.resources.ram_bytes), (1500, 512 * 1024 * 1024));
        assert_eq!(a.flags, NetFlags::PUBLIC_IP | NetFlags::INCOMING);
        assert_eq!(
            (a.min_duration, a.max_duration),
            (Duration::from_secs(60), Some(Duration::from_secs(7200)))
        );
        let built = a.ask(Address::repeat_byte(1)).unwrap();
        assert_eq!((built.master, built.worker, built.region), (Address::repeat_byte(1), a.worker, 276));
    }

    #[test]
    fn errors_name_the_field() {
        let bad = |asks: &str| AgentConfig::from_toml(&config(asks), Path::new(".")).unwrap_err().to_string();
        let other = "0x0000000000000000000000000000000000000001";
        assert!(bad(&format!("[[ask]]\nworker = \"{other}\"\nprice = \"0.9 USD/h\"")).contains("not one of"));
        assert!(bad(&format!("[[ask]]\nworker = \"{WORKER}\"\nprice = \"cheap\"")).contains("`price`"));
        assert!(
            bad(&format!("[[ask]]\nworker = \"{WORKER}\"\nprice = \"0.9 USD/h\"\nflags = \"FAST\""))
                .contains("`flags`")
        );
        let inverted = format!(
            "[[ask]]\nworker = \"{WORKER}\"\nprice = \"0.9 USD/h\"\nmin_duration = \"2h\"\nmax_duration = \"1h\""
        );
        assert!(bad(&inverted).contains("below `min_duration`"));
        assert!(bad("[[ask]]\nworker = \"0x12\"").contains("worker"));
        assert!(bad("colour = 1").contains("unknown field"));
        // 1 USD/h is 1/3600 USD per second: not a whole number of the contract's units.
        assert!(bad(&format!("[[ask]]\nworker = \"{WORKER}\"\nprice = \"1 USD/h\"")).contains("`price`"));
    }
}
