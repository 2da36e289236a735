//! The supplier agent's configuration file (TOML).
//!
//! ```toml
//! state = "agent/state.json"          # what the agent remembers across restarts
//! usage_report = "agent/usage.csv"    # metered traffic, in the reward engine's CSV format
//! availability_report = "agent/availability.jsonl" # ask / deal / idle spans per worker (omit: none)
//! availability_period = "1h"          # availability spans are cut at multiples of this
//! poll_every = "1s"                   # how often the chain is read ("500ms" works too)
//! settle_every = "10m"                # a deal is settled once this much chain time is unsettled
//! withdraw_at = "100 SNM"             # earnings withdrawn once they reach this, and by the agent's closes (omit: never)
//! retry_max = "2m"                    # longest pause before a failed action is tried again
//! confirmations = 3                   # blocks deep before events are read (omit: 0 on chain id
//!                                     # 31337, 3 elsewhere; `--confirmations` overrides it)
//!
//! [runtime]                           # how a deal's workload runs (see ProcessRuntime)
//! command = ["snm-proxy", "--listen", "{ip}:0", "--stats", "{stats}", "--auth-hash", "{config_hash}"]
//! dir = "agent/workloads"
//! # kind = "docker"                   # a container per deal instead (see DockerRuntime), with:
//! # [runtime.docker]
//! # host = "unix:///var/run/docker.sock"  # omit: DOCKER_HOST, else this default
//! # port = 3128                       # the container's port, published on the worker's IP
//! # restarts = 3                      # starts again of a container that exits, then reported
//! # close_on_crash = true             # the exit after the restarts ends the deal (false: kept open, crashed)
//! # network = "snm-deals"             # the containers' bridge, made without inter-container traffic
//! # isolate = true                    # iptables rules: no way to the machine, LAN or 169.254/16
//! # pull = true                       # pull images missing on the machine
//! # registry = { server = "ghcr.io", username = "me", password = "token" }
//! # config_listen = "0.0.0.0:8750"    # customers post their signed configurations here
//!
//! indexer = "http://127.0.0.1:8680/"  # the market data service; omit: none (asks on chain)
//! publish = "signed"                  # default with an indexer: signed asks, no gas; or "onchain"
//! [pricing]                           # omit: each ask's own price (see publishing_config)
//! policy = "follow"                   # or "fixed"
//! percentile = 50
//! floor = "0.02 USD/h"
//! cap = "0.1 USD/h"
//! every = "10m"
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
//!
//! Everything the market would refuse is refused here, naming the setting, rather than by a
//! transaction failing at every round: a zero price or one above the market's limit, a fixed term
//! in fractions of a second, a zero `max_duration` (which the market reads as "no maximum"), an
//! address in mixed case that is not its EIP-55 checksum (all lower or all upper case carries no
//! checksum and is taken as it is), the zero address as a worker, and a worker IP no customer
//! could reach (unspecified, broadcast or multicast).

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::primitives::{Address, U256};
use serde::Deserialize;

use crate::runtime::{DockerConfig, RegistryAuth};

use snm_sdk::{
    Error,
    market::Ask,
    net::classify,
    units::{
        Bytes, NetFlags, ParseError, ParseErrorKind, Resources, Snm, UsdPerHour, UsdPerSecond, fixed,
        parse_duration,
    },
};

use crate::{
    availability::AvailabilityConfig,
    error::ConfigError,
    lock,
    publishing_config::{self, AskPublishing, RawPricing},
};

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
    /// Availability records (JSON lines) for campaigns paying by online time; `None`: none.
    pub availability: Option<AvailabilityConfig>,
    /// How often the chain is read.
    pub poll_every: Duration,
    /// A deal is settled once this much chain time is unsettled (lazily: see the agent).
    pub settle_every: Duration,
    /// Earnings are withdrawn to the master once they reach this, and by every close of an ended
    /// deal the agent sends (`closeDealAndWithdraw`: the payout costs little more than the close);
    /// `None`: never.
    pub withdraw_at: Option<Snm>,
    /// The longest pause before a failed action (or round) is tried again; the pauses start at
    /// `poll_every` and double with each failure up to this.
    pub retry_max: Duration,
    /// How deep a block must be before its events are read; `None`: the chain's default
    /// ([`default_confirmations`](snm_sdk::events::default_confirmations)). The `snm-agent`
    /// binary builds its client with it (a program of its own sets it on its
    /// [`Client`](snm_sdk::Client) with `with_confirmations`).
    pub confirmations: Option<u64>,
    /// The workload command template (see [`ProcessRuntime`](super::ProcessRuntime)).
    pub command: Vec<String>,
    /// Containers instead of the command (`kind = "docker"`, see
    /// [`DockerRuntime`](super::DockerRuntime)); `None`: the command runs.
    pub docker: Option<DockerConfig>,
    /// Where workloads get their directories.
    pub workload_dir: PathBuf,
    /// The machines.
    pub workers: Vec<WorkerConfig>,
    /// The asks to keep open, with the master left unset (the agent's master fills it).
    pub asks: Vec<AskTemplate>,
    /// How the asks are offered and priced (`indexer`, `publish`, `[pricing]`).
    pub publishing: AskPublishing,
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
    availability_report: Option<PathBuf>,
    availability_period: Option<String>,
    poll_every: Option<String>,
    settle_every: Option<String>,
    withdraw_at: Option<String>,
    retry_max: Option<String>,
    confirmations: Option<u64>,
    indexer: Option<String>,
    publish: Option<String>,
    pricing: Option<RawPricing>,
    runtime: RawRuntime,
    #[serde(default, rename = "worker")]
    workers: Vec<RawWorker>,
    #[serde(default, rename = "ask")]
    asks: Vec<RawAsk>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    command: Vec<String>,
    dir: PathBuf,
    #[serde(default)]
    docker: Option<RawDocker>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocker {
    host: Option<String>,
    port: Option<u16>,
    restarts: Option<u32>,
    close_on_crash: Option<bool>,
    network: Option<String>,
    isolate: Option<bool>,
    pull: Option<bool>,
    registry: Option<RegistryAuth>,
    startup_grace: Option<String>,
    ready_timeout: Option<String>,
    config_listen: Option<std::net::SocketAddr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorker {
    address: String,
    ip: IpAddr,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAsk {
    worker: String,
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

/// The highest price per second the market accepts: its `uint80` limit (10^-18 USD per second).
const MAX_PRICE_SCALED: u128 = (1 << 80) - 1;

/// The default of `retry_max`.
const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(120);

/// `0x` and 40 hex digits, any case; in mixed case, the EIP-55 checksum: read as the reward engine
/// reads accounts (`snm_sdk::rewards`), so the agent takes exactly the addresses the campaign does.
/// The error says what is wrong, for the caller to name the setting.
fn parse_address(text: &str) -> Result<Address, String> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or("");
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`{text}` is not an address (`0x` and 40 hex digits)"));
    }
    let address: Address = digits.parse().map_err(|e| format!("`{text}` is not an address: {e}"))?;
    let mixed =
        digits.bytes().any(|b| b.is_ascii_lowercase()) && digits.bytes().any(|b| b.is_ascii_uppercase());
    if mixed && address.to_checksum(None)[2..] != *digits {
        return Err(format!(
            "`{text}` mixes upper and lower case but is not an EIP-55 checksum: check it for a typo \
             (or write it all in lower case)"
        ));
    }
    Ok(address)
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
        let retry_max = duration("retry_max", &raw.retry_max, DEFAULT_RETRY_MAX)?;
        if retry_max.is_zero() {
            return Err("`retry_max` must be above zero".into());
        }
        let docker = match raw.runtime.kind.as_deref() {
            None | Some("process") => {
                if raw.runtime.command.is_empty() {
                    return Err("`runtime.command` is empty".into());
                }
                None
            }
            Some("docker") => {
                let given = raw.runtime.docker.unwrap_or_default();
                let default = DockerConfig::default();
                if given.port == Some(0) {
                    return Err("`runtime.docker.port` is 0: give the container's port (1 to 65535)".into());
                }
                Some(DockerConfig {
                    host: given.host,
                    port: given.port.unwrap_or(default.port),
                    restarts: given.restarts.unwrap_or(default.restarts),
                    close_on_crash: given.close_on_crash.unwrap_or(default.close_on_crash),
                    network: given.network.or(default.network),
                    isolate: given.isolate.unwrap_or(default.isolate),
                    pull: given.pull.unwrap_or(default.pull),
                    registry_auth: given.registry,
                    startup_grace: duration(
                        "runtime.docker.startup_grace",
                        &given.startup_grace,
                        default.startup_grace,
                    )?,
                    ready_timeout: duration(
                        "runtime.docker.ready_timeout",
                        &given.ready_timeout,
                        default.ready_timeout,
                    )?,
                    stop_timeout: default.stop_timeout,
                    config_listen: given.config_listen,
                })
            }
            Some(other) => {
                return Err(format!(
                    "`runtime.kind` is `{other}`: expected `process` (the default) or `docker`"
                ));
            }
        };
        if raw.workers.is_empty() {
            return Err("no `[[worker]]`: the agent needs at least one machine".into());
        }
        let mut workers: Vec<WorkerConfig> = Vec::with_capacity(raw.workers.len());
        for (index, raw) in raw.workers.into_iter().enumerate() {
            let at = |what: String| format!("worker {}: {what}", index + 1);
            let address = parse_address(&raw.address).map_err(|e| at(format!("`address`: {e}")))?;
            if address.is_zero() {
                return Err(at("`address` is the zero address, which no key controls".into()));
            }
            if workers.iter().any(|w| w.address == address) {
                return Err(format!("worker {address} is listed twice"));
            }
            if let Some(class) = classify(raw.ip).filter(|class| class.is_never_a_host()) {
                return Err(at(format!("`ip` {} is {class}: customers could not reach it", raw.ip)));
            }
            workers.push(WorkerConfig { address, ip: raw.ip });
        }
        let mut asks = Vec::with_capacity(raw.asks.len());
        for (index, ask) in raw.asks.into_iter().enumerate() {
            let at = |what: String| format!("ask {} (worker {}): {what}", index + 1, ask.worker);
            let worker = parse_address(&ask.worker).map_err(|e| at(format!("`worker`: {e}")))?;
            if !workers.iter().any(|w| w.address == worker) {
                return Err(at("the worker is not one of the `[[worker]]`s".into()));
            }
            let price: UsdPerHour = ask.price.parse().map_err(|e| at(format!("`price`: {e}")))?;
            let per_second = price.to_per_second().map_err(|e| at(format!("`price`: {e}")))?;
            if per_second.scaled().is_zero() {
                return Err(at("`price` is zero, which the market refuses".into()));
            }
            if per_second.scaled() > U256::from(MAX_PRICE_SCALED) {
                return Err(at(format!(
                    "`price` {price} is above the market's limit ({} per hour)",
                    UsdPerSecond::from_scaled(U256::from(MAX_PRICE_SCALED)).to_per_hour()
                )));
            }
            let flags = match &ask.flags {
                None => NetFlags::empty(),
                Some(text) => text.parse().map_err(|e| at(format!("`flags`: {e}")))?,
            };
            // The market counts terms in whole seconds: a fraction would be dropped silently.
            let term = |name: &str, text: &Option<String>| {
                text.as_ref()
                    .map(|text| parse_duration(text).map_err(|e| at(format!("`{name}`: {e}"))))
                    .transpose()
            };
            let min_duration = term("min_duration", &ask.min_duration)?.unwrap_or(Duration::ZERO);
            let max_duration = term("max_duration", &ask.max_duration)?;
            if max_duration.is_some_and(|max| max.is_zero()) {
                return Err(at("`max_duration` is zero, which the market reads as no maximum (spot deals \
                     accepted): omit it for that, or give the longest term"
                    .into()));
            }
            if max_duration.is_some_and(|max| max < min_duration) {
                return Err(at("`max_duration` is below `min_duration`".into()));
            }
            asks.push(AskTemplate {
                worker,
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
        let state = base.join(raw.state);
        let usage_report = raw.usage_report.map(|p| base.join(p));
        // The report is rewritten whole: on the state, it would erase what the agent remembers.
        if usage_report.as_ref().is_some_and(|report| *report == state || *report == lock::lock_path(&state))
        {
            return Err("`usage_report` is the state file (or its lock): give it a file of its own".into());
        }
        let availability_period =
            duration("availability_period", &raw.availability_period, Duration::from_secs(3600))?;
        if availability_period.as_secs() == 0 {
            return Err("`availability_period` must be at least one second".into());
        }
        let availability = raw
            .availability_report
            .map(|p| AvailabilityConfig { path: base.join(p), period: availability_period });
        if availability.as_ref().is_some_and(|a| a.path == state || usage_report.as_ref() == Some(&a.path)) {
            return Err(
                "`availability_report` needs a file of its own (not the state or the usage report)".into()
            );
        }
        let publishing = publishing_config::parse(
            raw.indexer.as_deref(),
            raw.publish.as_deref(),
            raw.pricing,
            publishing_config::max_price(MAX_PRICE_SCALED),
            |text| parse_interval(text).map_err(|e| e.to_string()),
        )?;
        Ok(Self {
            publishing,
            state,
            usage_report,
            availability,
            poll_every,
            settle_every,
            withdraw_at,
            retry_max,
            confirmations: raw.confirmations,
            command: raw.runtime.command,
            docker,
            workload_dir: base.join(raw.runtime.dir),
            workers,
            asks,
        })
    }

    /// The resources the configuration's first ask for `worker` offers (none when it has no
    /// ask): what a container runtime limits the worker's deals to.
    pub fn resources_of(&self, worker: Address) -> Resources {
        self.asks.iter().find(|ask| ask.worker == worker).map_or_else(Resources::new, |ask| ask.resources)
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
    fn the_runtime_kind_picks_docker_with_its_defaults_and_bad_values_are_named() {
        // `runtime` follows `[runtime]` and its `dir`.
        let with_runtime = |runtime: &str| {
            let process = "command = [\"proxy\", \"--listen\", \"{ip}:0\"]\ndir = \"workloads\"\n";
            config("").replace(process, &format!("dir = \"workloads\"\n{runtime}"))
        };
        let parse = |runtime: &str| AgentConfig::from_toml(&with_runtime(runtime), Path::new("."));
        assert_eq!(AgentConfig::from_toml(&config(""), Path::new(".")).unwrap().docker, None);
        assert_eq!(parse("kind = \"docker\"\n").unwrap().docker, Some(DockerConfig::default()));
        let tuned = "kind = \"docker\"\n[runtime.docker]\nport = 8080\nrestarts = 1\nisolate = false\n\
                     close_on_crash = false\n\
                     config_listen = \"0.0.0.0:8750\"\n";
        let docker = parse(tuned).unwrap().docker.unwrap();
        assert_eq!(
            (docker.port, docker.restarts, docker.isolate, docker.close_on_crash),
            (8080, 1, false, false)
        );
        assert_eq!(docker.config_listen, Some("0.0.0.0:8750".parse().unwrap()));

        let bad = |runtime: &str| parse(runtime).unwrap_err().to_string();
        let error = bad("kind = \"podman\"\n");
        assert!(
            error.contains("`runtime.kind` is `podman`: expected `process` (the default) or `docker`"),
            "{error}"
        );
        let error = bad("kind = \"docker\"\n[runtime.docker]\nport = 0\n");
        assert!(error.contains("`runtime.docker.port` is 0"), "{error}");
        let error = bad("kind = \"process\"\n");
        assert!(error.contains("`runtime.command` is empty"), "{error}");
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
        let short = bad("[[ask]]\nworker = \"0x12\"\nprice = \"0.9 USD/h\"");
        assert!(short.contains("`worker`") && short.contains("not an address"), "{short}");
        assert!(bad("colour = 1").contains("unknown field"));
        // 1 USD/h is 1/3600 USD per second: not a whole number of the contract's units.
        assert!(bad(&format!("[[ask]]\nworker = \"{WORKER}\"\nprice = \"1 USD/h\"")).contains("`price`"));
    }

    /// The configuration with the `[[worker]]` entry's lines replaced.
    fn with_worker(worker: &str) -> String {
        config("").replace(&format!("address = \"{WORKER}\"\nip = \"203.0.113.7\""), worker)
    }

    #[test]
    fn asks_the_market_would_refuse_are_refused_at_start() {
        let bad = |ask: &str| {
            let text = config(&format!("[[ask]]\nworker = \"{WORKER}\"\n{ask}"));
            AgentConfig::from_toml(&text, Path::new(".")).unwrap_err().to_string()
        };
        // Today's InvalidOrder at every round.
        assert!(bad("price = \"0 USD/h\"").contains("`price` is zero"), "{}", bad("price = \"0 USD/h\""));
        // 10^7 USD a second: above the contract's uint80.
        let dear = bad("price = \"36000000000 USD/h\"");
        assert!(dear.contains("above the market's limit"), "{dear}");
        let fraction = bad("price = \"0.9 USD/h\"\nmin_duration = \"1500ms\"");
        assert!(fraction.contains("`min_duration`"), "{fraction}");
        let no_max = bad("price = \"0.9 USD/h\"\nmax_duration = \"0s\"");
        assert!(no_max.contains("`max_duration` is zero"), "{no_max}");
        // The highest price the market takes is accepted.
        let limit = UsdPerSecond::from_scaled(U256::from(MAX_PRICE_SCALED / 3_600 * 3_600)).to_per_hour();
        let text = config(&format!("[[ask]]\nworker = \"{WORKER}\"\nprice = \"{limit}\""));
        assert_eq!(AgentConfig::from_toml(&text, Path::new(".")).unwrap().asks[0].price, limit);
    }

    #[test]
    fn addresses_in_mixed_case_must_be_their_checksum() {
        let parse = |worker: &str| AgentConfig::from_toml(&with_worker(worker), Path::new("."));
        let one_letter_off = WORKER.replace("dc3A", "dc3a");
        let error = parse(&format!("address = \"{one_letter_off}\"\nip = \"203.0.113.7\"")).unwrap_err();
        assert!(
            error.to_string().contains("worker 1: `address`") && error.to_string().contains("EIP-55"),
            "{error}"
        );
        let expected: Address = WORKER.parse().unwrap();
        for plain in [
            WORKER.to_lowercase(),
            format!("0x{}", WORKER[2..].to_uppercase()),
            format!("0X{}", &WORKER[2..]),
        ] {
            let config = parse(&format!("address = \"{plain}\"\nip = \"203.0.113.7\"")).unwrap();
            assert_eq!(config.workers[0].address, expected, "{plain}");
        }
        // The ask's worker is read the same way.
        let text = config(&format!("[[ask]]\nworker = \"{one_letter_off}\"\nprice = \"0.9 USD/h\""));
        let error = AgentConfig::from_toml(&text, Path::new(".")).unwrap_err().to_string();
        assert!(error.contains("`worker`") && error.contains("EIP-55"), "{error}");
        let short = parse("address = \"0x1234\"\nip = \"203.0.113.7\"").unwrap_err().to_string();
        assert!(short.contains("not an address"), "{short}");
    }

    #[test]
    fn workers_no_one_could_use_are_refused() {
        let bad = |worker: &str| {
            AgentConfig::from_toml(&with_worker(worker), Path::new(".")).unwrap_err().to_string()
        };
        let zero = bad(&format!("address = \"{}\"\nip = \"203.0.113.7\"", Address::ZERO));
        assert!(zero.contains("zero address"), "{zero}");
        for (ip, why) in [
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
        ] {
            let error = bad(&format!("address = \"{WORKER}\"\nip = \"{ip}\""));
            assert!(error.contains("`ip`") && error.contains(why), "{ip}: {error}");
        }
        // The tests' and demos' loopback and private addresses are the campaign's business.
        for ip in ["127.0.0.11", "10.1.2.3"] {
            AgentConfig::from_toml(
                &with_worker(&format!("address = \"{WORKER}\"\nip = \"{ip}\"")),
                Path::new("."),
            )
            .unwrap();
        }
    }

    #[test]
    fn a_usage_report_on_the_state_file_is_refused() {
        for report in ["state.json", "./state.json", "state.json.lock"] {
            let text =
                config("").replace("usage_report = \"usage.csv\"", &format!("usage_report = \"{report}\""));
            let error = AgentConfig::from_toml(&text, Path::new("/srv/agent")).unwrap_err().to_string();
            assert!(error.contains("`usage_report` is the state file"), "{report}: {error}");
        }
    }

    #[test]
    fn confirmations_default_to_the_chains_and_can_be_set() {
        let default = AgentConfig::from_toml(&config(""), Path::new(".")).unwrap();
        assert_eq!(default.confirmations, None);
        let set =
            AgentConfig::from_toml(&format!("confirmations = 12\n{}", config("")), Path::new(".")).unwrap();
        assert_eq!(set.confirmations, Some(12));
        let negative = AgentConfig::from_toml(&format!("confirmations = -1\n{}", config("")), Path::new("."));
        assert!(negative.unwrap_err().to_string().contains("confirmations"));
    }

    #[test]
    fn retry_max_has_a_default_and_can_be_set() {
        let default = AgentConfig::from_toml(&config(""), Path::new(".")).unwrap();
        assert_eq!(default.retry_max, DEFAULT_RETRY_MAX);
        let set =
            AgentConfig::from_toml(&format!("retry_max = \"30s\"\n{}", config("")), Path::new(".")).unwrap();
        assert_eq!(set.retry_max, Duration::from_secs(30));
        let zero = AgentConfig::from_toml(&format!("retry_max = \"0s\"\n{}", config("")), Path::new("."));
        assert!(zero.unwrap_err().to_string().contains("`retry_max`"));
    }

    #[test]
    fn asks_are_signed_with_an_indexer_and_priced_as_the_pricing_table_says() {
        use crate::{
            pricing::{FollowPolicy, PricingPolicy},
            publishing_config::PublishMode,
        };
        let parse = |head: &str| AgentConfig::from_toml(&format!("{head}\n{}", config("")), Path::new("."));
        let plain = parse("").unwrap().publishing;
        assert_eq!(
            (plain.indexer, plain.publish, plain.pricing),
            (None, PublishMode::Onchain, PricingPolicy::Fixed)
        );
        let signed = parse("indexer = \"http://127.0.0.1:8680/api\"").unwrap().publishing;
        assert_eq!(signed.publish, PublishMode::Signed, "signed by default with an indexer");
        assert_eq!(signed.indexer.unwrap().as_str(), "http://127.0.0.1:8680/api/");
        let onchain = parse("indexer = \"http://127.0.0.1:8680/\"\npublish = \"onchain\"").unwrap();
        assert_eq!(onchain.publishing.publish, PublishMode::Onchain);
        // `[pricing]` follows the top-level keys: it goes at the end of the file.
        let with_pricing = |pricing: &str| {
            AgentConfig::from_toml(
                &format!("indexer = \"http://127.0.0.1:8680/\"\n{}\n[pricing]\n{pricing}", config("")),
                Path::new("."),
            )
        };
        let follow = with_pricing(
            "policy = \"follow\"\npercentile = 25\nfloor = \"0.5 USD/h\"\ncap = \"2 USD/h\"\nevery = \"90s\"",
        )
        .unwrap()
        .publishing
        .pricing;
        assert_eq!(
            follow,
            PricingPolicy::Follow(FollowPolicy {
                percentile: 25,
                floor: "0.5 USD/h".parse().unwrap(),
                cap: "2 USD/h".parse().unwrap(),
                every: Duration::from_secs(90),
            })
        );

        let bad = |head: &str| parse(head).unwrap_err().to_string();
        let error = bad("publish = \"signed\"");
        assert!(error.contains("`publish` is `signed` but no `indexer`"), "{error}");
        let error = bad("indexer = \"http://127.0.0.1:8680/\"\npublish = \"gossip\"");
        assert!(error.contains("`publish` is `gossip`: expected `signed` or `onchain`"), "{error}");
        let error = bad("indexer = \"ftp://127.0.0.1/\"");
        assert!(error.contains("`indexer`") && error.contains("http://"), "{error}");
        let error = bad("indexer = \"not a url\"");
        assert!(error.contains("`indexer` `not a url` is not a URL"), "{error}");
        let bad_pricing = |pricing: &str| with_pricing(pricing).unwrap_err().to_string();
        let follow =
            |rest: &str| format!("policy = \"follow\"\nfloor = \"0.5 USD/h\"\ncap = \"2 USD/h\"\n{rest}");
        for (pricing, expected) in [
            (follow("percentile = 101"), "`pricing.percentile` is 101: expected 0 to 100"),
            (follow("percentile = -1"), "`pricing.percentile` is -1: expected 0 to 100"),
            (follow("every = \"500ms\""), "`pricing.every` is 500 ms: expected at least 1 s"),
            (follow("every = \"soon\""), "`pricing.every`"),
            ("policy = \"follow\"\ncap = \"2 USD/h\"".to_owned(), "`pricing.floor` is missing"),
            (
                "policy = \"follow\"\nfloor = \"3 USD/h\"\ncap = \"2 USD/h\"".to_owned(),
                "`pricing.floor` 3 USD/h is above `pricing.cap` 2 USD/h",
            ),
            (
                "policy = \"follow\"\nfloor = \"0 USD/h\"\ncap = \"2 USD/h\"".to_owned(),
                "`pricing.floor` is zero",
            ),
            (
                "policy = \"follow\"\nfloor = \"1 USD/h\"\ncap = \"36000000000 USD/h\"".to_owned(),
                "`pricing.cap` 36000000000 USD/h is above the market's limit",
            ),
            ("policy = \"follow\"\nfloor = \"cheap\"\ncap = \"2 USD/h\"".to_owned(), "`pricing.floor`"),
            (
                "policy = \"auction\"".to_owned(),
                "`pricing.policy` is `auction`: expected `fixed` or `follow`",
            ),
            (
                "policy = \"fixed\"\nfloor = \"1 USD/h\"".to_owned(),
                "`pricing.floor` applies to `policy = \"follow\"` only",
            ),
        ] {
            let error = bad_pricing(&pricing);
            assert!(error.contains(expected), "{pricing}: {error}");
        }
        let error =
            AgentConfig::from_toml(&format!("{}\n[pricing]\n{}", config(""), follow("")), Path::new("."))
                .unwrap_err()
                .to_string();
        assert!(error.contains("`pricing.policy` is `follow` but no `indexer`"), "{error}");
        let onchain_follow = format!(
            "indexer = \"http://127.0.0.1:8680/\"\npublish = \"onchain\"\n{}\n[pricing]\n{}",
            config(""),
            follow("")
        );
        let error = AgentConfig::from_toml(&onchain_follow, Path::new(".")).unwrap_err().to_string();
        assert!(error.contains("`publish = \"onchain\"`"), "{error}");
    }
}
