//! [`ProcessRuntime`]: each deal's workload is a local process made from a command template.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use nix::{sys::signal, unistd::Pid};
use serde::Deserialize;

use snm_sdk::{market::DealId, units::Bytes};

use super::{Runtime, RuntimeError, Usage, Workload, WorkloadSpec};
/// How long a workload that writes no stats file must stay up for its start to count.
const STARTUP_GRACE: Duration = Duration::from_millis(300);

/// The placeholders a [`ProcessRuntime`] command template may use.
pub const PLACEHOLDERS: &[&str] =
    &["deal", "image", "config_hash", "customer", "master", "worker", "ip", "dir", "stats"];

/// Runs each workload as a local process from a command template, for example
/// `["proxy", "--listen", "{ip}:0", "--stats", "{stats}", "--auth-hash", "{config_hash}"]` or
/// `["docker", "run", "--rm", "--name", "snm-{deal}", "-e", "CONFIG_HASH={config_hash}", "{image}"]`.
///
/// Placeholders ([`PLACEHOLDERS`]) are filled from the deal; `{dir}` is a directory made for the
/// deal under the runtime's root, holding the workload's log (`workload.log`) and `{stats}`
/// (`stats.json`). The process runs in its own process group, so it outlives an agent that is
/// stopped with Ctrl-C, and is stopped with SIGTERM, then SIGKILL after a grace period.
#[derive(Debug)]
pub struct ProcessRuntime {
    template: Vec<String>,
    root: PathBuf,
    ready_timeout: Duration,
    startup_grace: Duration,
    stop_timeout: Duration,
    children: Mutex<HashMap<u32, Child>>,
}

impl ProcessRuntime {
    /// A runtime running `template` (program first), with deal directories under `root`. Fails
    /// when the template is empty or names an unknown placeholder.
    pub fn new(template: Vec<String>, root: impl Into<PathBuf>) -> Result<Self, RuntimeError> {
        let Some(program) = template.first() else {
            return Err(RuntimeError::Template("the command is empty".into()));
        };
        if program.trim().is_empty() {
            return Err(RuntimeError::Template("the program is empty".into()));
        }
        for part in &template {
            check_placeholders(part)?;
        }
        Ok(Self {
            template,
            root: root.into(),
            ready_timeout: Duration::from_secs(10),
            startup_grace: STARTUP_GRACE,
            stop_timeout: Duration::from_secs(5),
            children: Mutex::default(),
        })
    }

    /// How long [`start`](Runtime::start) waits for a template using `{stats}` to write its first
    /// stats file (default 10 s).
    pub fn with_ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// How long a workload of a template without `{stats}` must stay up for its start to count
    /// (default 300 ms); a start returns as soon as the workload exits, so a long grace costs only
    /// the wait of each successful start.
    pub fn with_startup_grace(mut self, grace: Duration) -> Self {
        self.startup_grace = grace;
        self
    }

    /// How long [`stop`](Runtime::stop) waits after SIGTERM before SIGKILL (default 5 s).
    pub fn with_stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = timeout;
        self
    }

    /// The directory of a deal's workload.
    pub fn deal_dir(&self, deal_id: DealId) -> PathBuf {
        self.root.join(format!("deal-{deal_id}"))
    }

    fn fill(&self, part: &str, spec: &WorkloadSpec, dir: &Path, stats: &Path) -> String {
        let mut out = part.to_owned();
        for name in PLACEHOLDERS {
            let key = format!("{{{name}}}");
            if !out.contains(&key) {
                continue;
            }
            let value = match *name {
                "deal" => spec.deal_id.to_string(),
                "image" => spec.image.clone(),
                "config_hash" => spec.config_hash.to_string(),
                "customer" => spec.customer.to_string(),
                "master" => spec.master.to_string(),
                "worker" => spec.worker.to_string(),
                "ip" => spec.ip.to_string(),
                "dir" => dir.display().to_string(),
                _ => stats.display().to_string(),
            };
            out = out.replace(&key, &value);
        }
        out
    }

    /// Checks the template's program as it will run: a path as written, a bare name on `PATH` (as
    /// the system looks it up). A program made of a placeholder is known only per deal.
    fn check_program(&self) -> Result<(), RuntimeError> {
        let Some(program) = self.template.first() else {
            return Err(RuntimeError::Template("the command is empty".into()));
        };
        if PLACEHOLDERS.iter().any(|name| program.contains(&format!("{{{name}}}"))) {
            return Ok(());
        }
        if program.contains('/') {
            return executable(Path::new(program));
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let found = std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .any(|candidate| executable(&candidate).is_ok());
        if found {
            Ok(())
        } else {
            Err(RuntimeError::NotOnPath {
                program: program.clone(),
                path: path.to_string_lossy().into_owned(),
            })
        }
    }

    /// Whether deal directories can be made and written under the root.
    fn check_root(&self) -> Result<(), RuntimeError> {
        let unwritable = |source| RuntimeError::DirNotWritable { dir: self.root.clone(), source };
        std::fs::create_dir_all(&self.root).map_err(unwritable)?;
        let probe = self.root.join(format!(".snm-agent-check-{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(unwritable)?;
        std::fs::remove_file(&probe).map_err(unwritable)
    }

    fn uses_stats(&self) -> bool {
        self.template.iter().any(|part| part.contains("{stats}"))
    }

    /// The traffic the workload's stats file reports.
    fn read_usage(&self, workload: &Workload) -> Result<Usage, RuntimeError> {
        Ok(Usage { bytes: read_stats(workload)?.map_or(Bytes::ZERO, |file| file.bytes()) })
    }

    /// Whether the workload's process exited; reaps it when it is our child.
    fn exited_workload(&self, workload: &Workload) -> Option<String> {
        let pid = workload.pid;
        let ours = self.children.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&pid);
        if !ours && workload.process_start.is_some() && process_start(pid) != workload.process_start {
            return Some("exited (its process id now belongs to another process)".to_owned());
        }
        self.exited(pid)
    }

    /// Whether the child exited; reaps it when it is ours.
    fn exited(&self, pid: u32) -> Option<String> {
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(child) = children.get_mut(&pid) {
            return match child.try_wait() {
                Ok(Some(status)) => {
                    children.remove(&pid);
                    Some(status.to_string())
                }
                Ok(None) => None,
                Err(error) => Some(error.to_string()),
            };
        }
        drop(children);
        (!process_alive(pid)).then(|| "exited".to_owned())
    }
}

impl Runtime for ProcessRuntime {
    async fn start(&self, spec: &WorkloadSpec) -> Result<Workload, RuntimeError> {
        let deal = spec.deal_id;
        let dir = self.deal_dir(deal);
        let io = |path: &Path, source| RuntimeError::Io { deal, path: path.to_owned(), source };
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        // Started before (by an agent that stopped before it could record it) and still running:
        // adopt it rather than run the deal twice.
        let record = dir.join("workload.json");
        if let Some(mut running) = read_record(&record).filter(|w| self.exited_workload(w).is_none()) {
            if running.endpoint.is_none() {
                running.endpoint = read_stats(&running).ok().flatten().and_then(StatsFile::endpoint);
            }
            return Ok(running);
        }
        let stats = dir.join("stats.json");
        // A stats file left by an earlier workload must not be taken for this one's.
        match std::fs::remove_file(&stats) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&stats, e)),
            _ => {}
        }
        let log_path = dir.join("workload.log");
        let log = std::fs::File::create(&log_path).map_err(|e| io(&log_path, e))?;
        let log_err = log.try_clone().map_err(|e| io(&log_path, e))?;

        let args: Vec<String> =
            self.template.iter().map(|part| self.fill(part, spec, &dir, &stats)).collect();
        let (program, rest) = args.split_first().ok_or_else(|| RuntimeError::Template("empty".into()))?;
        let mut command = Command::new(program);
        command.args(rest).stdin(Stdio::null()).stdout(log).stderr(log_err);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().map_err(|source| RuntimeError::Spawn {
            deal,
            program: program.clone(),
            source,
        })?;
        let pid = child.id();
        self.children.lock().unwrap_or_else(|e| e.into_inner()).insert(pid, child);

        let mut workload = Workload {
            deal_id: deal,
            pid,
            started_at: unix_now(),
            dir,
            stats,
            endpoint: None,
            process_start: process_start(pid),
            container: None,
        };
        write_record(&record, &workload).map_err(|e| io(&record, e))?;
        let started = Instant::now();
        let deadline = started + self.ready_timeout;
        loop {
            if let Some(status) = self.exited(pid) {
                return Err(RuntimeError::ExitedEarly { deal, status, output: log_tail(&log_path) });
            }
            if !self.uses_stats() {
                // Nothing to wait for but an immediate failure (a bad image, a port in use).
                if started.elapsed() >= self.startup_grace.min(self.ready_timeout) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            // A file caught half-written by a workload that does not write atomically reads as
            // invalid: try again until the deadline.
            if let Ok(Some(file)) = read_stats(&workload) {
                workload.endpoint = file.endpoint();
                break;
            }
            if Instant::now() >= deadline {
                // Running but silent: stop it rather than leave a workload the agent cannot meter.
                self.stop(&workload).await.ok();
                return Err(RuntimeError::BadStats {
                    deal,
                    path: workload.stats.clone(),
                    reason: format!("not written within {:?}", self.ready_timeout),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        write_record(&record, &workload).map_err(|e| io(&record, e))?;
        Ok(workload)
    }

    async fn is_running(&self, workload: &Workload) -> bool {
        self.exited_workload(workload).is_none()
    }

    /// The program exists and is executable (a bare name: on `PATH`), and the directory of
    /// workloads can be written.
    fn check(&self) -> Result<(), RuntimeError> {
        self.check_program()?;
        self.check_root()
    }

    async fn usage(&self, workload: &Workload) -> Result<Usage, RuntimeError> {
        self.read_usage(workload)
    }

    async fn stop(&self, workload: &Workload) -> Result<Usage, RuntimeError> {
        let pid = workload.pid;
        if self.exited_workload(workload).is_none() {
            // The group: a wrapper (a shell, `docker run`) takes its children down with it.
            let group = Pid::from_raw(-(pid as i32));
            signal::kill(group, signal::Signal::SIGTERM).ok();
            let deadline = Instant::now() + self.stop_timeout;
            while self.exited(pid).is_none() {
                if Instant::now() >= deadline {
                    signal::kill(group, signal::Signal::SIGKILL).ok();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    self.exited(pid);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        self.read_usage(workload)
    }
}

/// What the runtime reads of a stats file.
#[derive(Debug, Deserialize)]
struct StatsFile {
    bytes_up: Option<u64>,
    bytes_down: Option<u64>,
    bytes: Option<u64>,
    listen: Option<String>,
    /// The SHA-256 of the certificate a TLS workload (such as `snm-proxy`) serves.
    fingerprint: Option<String>,
}

impl StatsFile {
    /// Where the workload serves: `listen`, and `#sha256=<fingerprint>` when it names its
    /// certificate, so that customers can pin it.
    fn endpoint(self) -> Option<String> {
        let listen = self.listen?;
        Some(match self.fingerprint {
            Some(fingerprint) => format!("{listen}#sha256={fingerprint}"),
            None => listen,
        })
    }

    fn bytes(&self) -> Bytes {
        let part = |v: Option<u64>| u128::from(v.unwrap_or(0));
        Bytes::new(part(self.bytes) + part(self.bytes_up) + part(self.bytes_down))
    }
}

/// The stats file, `None` while there is none.
fn read_stats(workload: &Workload) -> Result<Option<StatsFile>, RuntimeError> {
    let (deal, path) = (workload.deal_id, &workload.stats);
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(RuntimeError::Io { deal, path: path.clone(), source }),
    };
    serde_json::from_slice(&text).map(Some).map_err(|e| RuntimeError::BadStats {
        deal,
        path: path.clone(),
        reason: e.to_string(),
    })
}

/// Checks that every `{name}` (a lowercase word in braces) is a known placeholder; other braces
/// are literal text (JSON, Go templates).
fn check_placeholders(part: &str) -> Result<(), RuntimeError> {
    let mut rest = part;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let word = rest.bytes().take_while(|b| b.is_ascii_lowercase() || *b == b'_').count();
        if word > 0 && rest[word..].starts_with('}') && !PLACEHOLDERS.contains(&&rest[..word]) {
            return Err(RuntimeError::Template(format!(
                "unknown placeholder `{{{}}}` in `{part}` (known: {})",
                &rest[..word],
                PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(())
}

/// The record of a deal's last workload, if it can be read.
fn read_record(path: &Path) -> Option<Workload> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn write_record(path: &Path, workload: &Workload) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(workload).map_err(std::io::Error::other)?;
    crate::file::write_atomically(path, &json)
}

/// The process's start time, in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (in parentheses, possibly with spaces): state is field 3.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether a process that is not our child still runs (a zombie counts as gone).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

/// Whether `program` is a file someone may execute.
fn executable(program: &Path) -> Result<(), RuntimeError> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(program)
        .map_err(|source| RuntimeError::ProgramMissing { program: program.to_owned(), source })?;
    if metadata.is_file() && metadata.permissions().mode() & 0o111 != 0 {
        Ok(())
    } else {
        Err(RuntimeError::NotExecutable { program: program.to_owned() })
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(5).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256};

    use super::*;

    fn spec() -> WorkloadSpec {
        WorkloadSpec {
            deal_id: DealId(42),
            image: "ghcr.io/acme/proxy:1".into(),
            config_hash: B256::repeat_byte(0xab),
            customer: Address::repeat_byte(1),
            master: Address::repeat_byte(2),
            worker: Address::repeat_byte(3),
            ip: "127.0.0.9".parse().unwrap(),
            resources: snm_sdk::units::Resources::new(),
        }
    }

    fn temp_root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("snm-runtime-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_workload_naming_its_certificate_gets_it_in_its_endpoint() {
        let stats = |json: &str| serde_json::from_str::<StatsFile>(json).unwrap().endpoint();
        assert_eq!(
            stats(r#"{"listen": "127.0.0.9:3128", "fingerprint": "ab12"}"#).as_deref(),
            Some("127.0.0.9:3128#sha256=ab12")
        );
        assert_eq!(stats(r#"{"listen": "127.0.0.9:3128"}"#).as_deref(), Some("127.0.0.9:3128"));
        assert_eq!(stats(r#"{"fingerprint": "ab12"}"#), None);
    }

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn refuses_unknown_placeholders_and_empty_commands() {
        let error = ProcessRuntime::new(vec!["run".into(), "{dael}".into()], "/tmp").unwrap_err();
        assert!(error.to_string().contains("unknown placeholder `{dael}`"), "{error}");
        assert!(
            ProcessRuntime::new(vec!["x{deal".into(), "{{.ID}}".into(), "{\"a\": 1}".into()], "/tmp").is_ok()
        );
        assert!(ProcessRuntime::new(vec![], "/tmp").is_err());
    }

    #[tokio::test]
    async fn fills_the_template_and_reads_usage_after_stop() {
        let root = temp_root("fill");
        // The log line comes before the stats file, which the start waits for: it is in the log
        // however soon the stop comes.
        let script = "echo {deal} {image} {config_hash} {worker}; \
                      echo \"{\\\"bytes_up\\\": 10, \\\"bytes_down\\\": 32, \\\"listen\\\": \\\"{ip}:1\\\"}\" > {stats}; \
                      exec sleep 30";
        let runtime = ProcessRuntime::new(sh(script), &root).unwrap();
        let workload = runtime.start(&spec()).await.unwrap();
        assert_eq!(workload.endpoint.as_deref(), Some("127.0.0.9:1"));
        assert!(runtime.is_running(&workload).await);
        let usage = runtime.stop(&workload).await.unwrap();
        assert_eq!(usage.bytes, Bytes::new(42));
        assert!(!runtime.is_running(&workload).await);
        let log = std::fs::read_to_string(workload.dir.join("workload.log")).unwrap();
        assert!(log.starts_with(&format!(
            "42 ghcr.io/acme/proxy:1 {} {}",
            B256::repeat_byte(0xab),
            spec().worker
        )));
        // Stopping again is harmless.
        assert_eq!(runtime.stop(&workload).await.unwrap().bytes, Bytes::new(42));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn a_workload_that_dies_at_start_is_an_error_with_its_output() {
        let root = temp_root("dies");
        // However slow the machine, the start waits for the exit rather than a fixed grace.
        let runtime = ProcessRuntime::new(sh("echo cannot bind {ip} >&2; exit 3"), &root)
            .unwrap()
            .with_startup_grace(Duration::from_secs(60));
        let error = runtime.start(&spec()).await.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("exited during start") && text.contains("cannot bind 127.0.0.9"), "{text}");

        let missing = ProcessRuntime::new(vec!["/nonexistent/workload".into()], &root).unwrap();
        assert!(matches!(missing.start(&spec()).await, Err(RuntimeError::Spawn { .. })));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_check_finds_programs_as_the_system_runs_them_and_a_writable_directory() {
        let root = temp_root("check");
        let check = |template: Vec<String>, root: &Path| ProcessRuntime::new(template, root).unwrap().check();
        check(sh("true"), &root).unwrap();
        assert!(root.is_dir(), "the check makes the workload directory");
        check(vec!["/bin/sh".into()], &root).unwrap();
        // Known only per deal: not checked.
        check(vec!["{image}".into()], &root).unwrap();

        let missing = check(vec!["/nonexistent/proxy".into()], &root).unwrap_err();
        assert!(matches!(missing, RuntimeError::ProgramMissing { .. }), "{missing}");
        assert!(missing.to_string().contains("/nonexistent/proxy"), "{missing}");
        let bare = check(vec!["snm-no-such-program".into()], &root).unwrap_err();
        assert!(matches!(bare, RuntimeError::NotOnPath { .. }), "{bare}");
        assert!(bare.to_string().contains("`snm-no-such-program` is in no directory of PATH"), "{bare}");
        let plain = root.join("plain.txt");
        std::fs::write(&plain, "not a program").unwrap();
        let not_executable = check(vec![plain.display().to_string()], &root).unwrap_err();
        assert!(matches!(not_executable, RuntimeError::NotExecutable { .. }), "{not_executable}");
        let directory = check(vec![root.display().to_string()], &root).unwrap_err();
        assert!(matches!(directory, RuntimeError::NotExecutable { .. }), "{directory}");

        // A directory under a file cannot be made.
        let unwritable = check(sh("true"), &plain.join("workloads")).unwrap_err();
        assert!(matches!(unwritable, RuntimeError::DirNotWritable { .. }), "{unwritable}");
        assert!(unwritable.to_string().contains("plain.txt/workloads"), "{unwritable}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn a_new_runtime_adopts_and_stops_a_running_workload() {
        let root = temp_root("adopt");
        // The stats file is written once the trap is set: the start waits for it, not for a grace.
        let script = "trap 'exit 0' TERM; echo '{\"bytes\": 0}' > {stats}; while true; do sleep 0.05; done";
        let first = ProcessRuntime::new(sh(script), &root).unwrap();
        let workload = first.start(&spec()).await.unwrap();
        // The agent restarts: a fresh runtime knows the workload only from its persisted record.
        let record = serde_json::to_string(&workload).unwrap();
        let second =
            ProcessRuntime::new(sh("true"), &root).unwrap().with_stop_timeout(Duration::from_secs(2));
        let adopted: Workload = serde_json::from_str(&record).unwrap();
        assert!(second.is_running(&adopted).await);
        assert_eq!(second.stop(&adopted).await.unwrap().bytes, Bytes::ZERO);
        // The first runtime still holds the child: reaping it shows it is gone.
        assert!(!first.is_running(&workload).await);
        assert!(!second.is_running(&adopted).await);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn starting_a_running_deal_again_adopts_its_workload() {
        let root = temp_root("again");
        let script = "echo '{\"bytes\": 5, \"listen\": \"{ip}:7\"}' > {stats}; exec sleep 30";
        let first = ProcessRuntime::new(sh(script), &root).unwrap();
        let workload = first.start(&spec()).await.unwrap();
        // An agent that crashed before recording the workload starts the deal again.
        let second = ProcessRuntime::new(sh(script), &root).unwrap();
        let again = second.start(&spec()).await.unwrap();
        assert_eq!((again.pid, again.endpoint.as_deref()), (workload.pid, Some("127.0.0.9:7")));
        second.stop(&again).await.unwrap();
        // Once it is gone, a start runs a new process.
        let fresh = second.start(&spec()).await.unwrap();
        assert_ne!(fresh.pid, workload.pid);
        assert_eq!(second.stop(&fresh).await.unwrap().bytes, Bytes::new(5));
        assert!(!first.is_running(&workload).await);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn a_workload_ignoring_sigterm_is_killed() {
        let root = temp_root("kill");
        // The stats file is written once SIGTERM is ignored: the start waits for it, so the stop
        // meets a workload that ignores SIGTERM however slow the machine.
        let script = "trap '' TERM; echo '{\"bytes\": 0}' > {stats}; while true; do sleep 0.05; done";
        let runtime =
            ProcessRuntime::new(sh(script), &root).unwrap().with_stop_timeout(Duration::from_millis(200));
        let workload = runtime.start(&spec()).await.unwrap();
        let stopping = Instant::now();
        runtime.stop(&workload).await.unwrap();
        assert!(!runtime.is_running(&workload).await);
        assert!(stopping.elapsed() >= Duration::from_millis(200), "SIGTERM was not ignored");
        let _ = std::fs::remove_dir_all(&root);
    }
}
