//! One agent per state file: an exclusive lock on a file beside the state, held for the agent's
//! life.
//!
//! Two agents on one state would both announce, settle and meter the same deals. The lock is an
//! `flock` on `<state>.lock` (not on the state file itself, which is replaced by a rename on every
//! save and so would change under the lock); it holds the owner's process id so that a refused
//! agent can say which one runs. The kernel releases it when the owner exits, however it exits, and
//! workloads do not inherit it (Rust opens files close-on-exec), so a killed agent never leaves a
//! stale lock behind.

use std::{
    fs::{self, File, OpenOptions, TryLockError},
    io::{self, Read, Seek, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// The lock of a state file, released when dropped.
#[derive(Debug)]
pub struct StateLock {
    path: PathBuf,
    _file: File,
}

/// The state file's lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another agent holds it.
    #[error(
        "another agent{} is running on the state file {}: it holds {}; stop it first, or give \
         this agent a state file of its own",
        pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default(),
        state.display(),
        lock.display()
    )]
    Held {
        /// The state file.
        state: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The other agent's process id, when it had written it.
        pid: Option<u32>,
    },
    /// The lock file could not be created, locked or written.
    #[error("agent lock file {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
}

impl StateLock {
    /// Takes the lock of `state` (the file `<state>.lock`, created if needed) and writes this
    /// process's id into it; fails at once with [`LockError::Held`] when another process has it.
    pub fn acquire(state: &Path) -> Result<Self, LockError> {
        let path = lock_path(state);
        let io = |source| LockError::Io { path: path.clone(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held { state: state.to_owned(), pid: holder(&mut file), lock: path });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self { path, _file: file })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `<state>.lock`, beside the state file.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state.with_file_name(name)
}

/// The holder's process id. It writes it just after taking the lock: give it a moment.
fn holder(file: &mut File) -> Option<u32> {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let mut text = String::new();
        let read = file.rewind().and_then(|()| file.read_to_string(&mut text));
        if let Ok(pid) = text.trim().parse() {
            return Some(pid);
        }
        if read.is_err() || Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_of_the_same_state_is_refused_with_the_holders_pid() {
        let dir = std::env::temp_dir().join(format!("snm-agent-lock-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let state = dir.join("state.json");
        let first = StateLock::acquire(&state).unwrap();
        assert_eq!(first.path(), dir.join("state.json.lock"));
        assert_eq!(fs::read_to_string(first.path()).unwrap(), format!("{}\n", std::process::id()));

        // Each acquisition opens the file anew, so a second one in this process conflicts as a
        // second agent would.
        let error = StateLock::acquire(&state).unwrap_err();
        assert!(matches!(&error, LockError::Held { pid: Some(pid), .. } if *pid == std::process::id()));
        let text = error.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())) && text.contains("state.json"),
            "{text}"
        );

        // Released with its owner; the next one takes it, and another state file is independent.
        let other = StateLock::acquire(&dir.join("other.json")).unwrap();
        drop(first);
        // A child another test forks in this process holds a copy of the descriptor (and so the
        // lock) until it execs, which closes it: wait for that, with a deadline.
        let deadline = Instant::now() + Duration::from_secs(10);
        let again = loop {
            match StateLock::acquire(&state) {
                Ok(lock) => break lock,
                Err(LockError::Held { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(error) => panic!("the released lock was not taken again: {error}"),
            }
        };
        drop((again, other));
        let _ = fs::remove_dir_all(&dir);
    }
}
