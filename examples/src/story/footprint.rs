//! What the story costs the machine: its peak memory and the node's, read from
//! `/proc/<pid>/status` (`VmHWM`, the resident set's high-water mark), and the open-files limit the
//! proxies need raised.

use std::path::Path;

use anyhow::Context;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use snm_sdk::units::Bytes;

/// File descriptors the story needs per supplier: its agent's connection to the node, the proxy's
/// pipes and listening socket, the traffic's connections through it (client and target sides).
const FILES_PER_SUPPLIER: u64 = 12;

/// Raises this process's soft limit of open files to its hard limit (the proxies it starts inherit
/// it), and fails, saying how to raise it, when even the hard limit is short for `suppliers`.
/// Returns the limit now in force.
pub fn raise_open_files(suppliers: usize) -> anyhow::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("reading the open-files limit")?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).context("raising the open-files limit")?;
    }
    let need = 256 + FILES_PER_SUPPLIER * suppliers as u64;
    if hard < need {
        anyhow::bail!(
            "{suppliers} suppliers need about {need} open files, and this process may open at most {hard}: \
             raise the hard limit (`ulimit -Hn {need}` as root, or LimitNOFILE in a systemd unit)"
        );
    }
    Ok(hard)
}

/// How many files this process has open now (entries of `/proc/self/fd`), if readable.
pub fn open_files() -> Option<u64> {
    std::fs::read_dir("/proc/self/fd").ok().map(|dir| dir.count() as u64)
}

/// The peak resident memory of process `pid` (`VmHWM` in `/proc/<pid>/status`), if readable.
pub fn peak_memory_of(pid: u32) -> Option<Bytes> {
    peak_memory(&Path::new("/proc").join(pid.to_string()).join("status"))
}

/// This process's peak resident memory.
pub fn own_peak_memory() -> Option<Bytes> {
    peak_memory(Path::new("/proc/self/status"))
}

fn peak_memory(status: &Path) -> Option<Bytes> {
    let text = std::fs::read_to_string(status).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u128 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(Bytes::new(kib * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_peak_memory() {
        let peak = own_peak_memory().unwrap_or(Bytes::ZERO);
        assert!(peak > Bytes::from_mib(1), "{peak}");
        assert_eq!(peak_memory_of(u32::MAX), None);
    }
}
