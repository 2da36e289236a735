//! The story's proxies do not outlive it. A workload runs in a process group of its own, so an
//! agent that stops (or restarts) leaves it running and adopts it again; the story's agents stop
//! their workloads when their deals close, but a story that fails half way (a refused tunnel in
//! step 5, say) used to exit with every proxy still running: 800 orphans after a failed run at
//! 1,000 suppliers, each holding whatever descriptors the story inherited (a benchmark lock among
//! them, so the next run waited for ever).

use std::path::{Path, PathBuf};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

/// Kills, when dropped, every process group led by a child of this process whose command line
/// names the story's directory (the proxies its agents started); nothing when they were stopped.
#[derive(Debug)]
pub struct LeftoverWorkloads {
    dir: PathBuf,
}

impl LeftoverWorkloads {
    /// Guards the workloads started under `dir`.
    pub fn under(dir: &Path) -> Self {
        Self { dir: dir.to_owned() }
    }

    /// The children of this process still running a workload under the story's directory.
    pub fn running(&self) -> Vec<i32> {
        let own = std::process::id().to_string();
        let needle = self.dir.to_string_lossy().into_owned();
        let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // `pid (comm) state ppid pgrp ...`: the fields after the command's closing parenthesis.
                let fields: Vec<&str> = stat
                    .rsplit_once(')')
                    .map(|(_, rest)| rest.split_whitespace().collect())
                    .unwrap_or_default();
                let (Some(ppid), Some(group)) = (fields.get(1), fields.get(2)) else { return false };
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                *ppid == own
                    && *group == pid.to_string()
                    && String::from_utf8_lossy(&cmdline).contains(&needle)
            })
            .collect()
    }
}

impl Drop for LeftoverWorkloads {
    fn drop(&mut self) {
        let left = self.running();
        if !left.is_empty() {
            eprintln!("quickstart: stopping {} workloads its agents left running", left.len());
        }
        for pid in left {
            // The group: the workload and anything it started.
            kill(Pid::from_raw(-pid), Signal::SIGKILL).ok();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_child_running_under_the_directory_is_killed_on_drop() {
        let dir = std::env::temp_dir().join(format!("leftovers-{}", std::process::id()));
        // A shell whose command line names the directory (its `$0`), in a group of its own.
        let mut child = std::process::Command::new("sh");
        child.arg("-c").arg("sleep 600; : \"$0\"").arg(dir.join("marker"));
        std::os::unix::process::CommandExt::process_group(&mut child, 0);
        let mut child = child.spawn().unwrap();
        let guard = LeftoverWorkloads::under(&dir);
        assert_eq!(guard.running(), [child.id() as i32]);
        assert!(LeftoverWorkloads::under(Path::new("/elsewhere")).running().is_empty());
        drop(guard);
        let status = child.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
    }
}
