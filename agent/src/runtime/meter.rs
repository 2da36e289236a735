//! [`Meter`]: the traffic of a deal's container, as a [`DockerRuntime`](super::DockerRuntime)
//! persists it between samples.
//!
//! The Engine's network counters start from zero with each run of a container (its network
//! namespace is made anew), and vanish when it stops. So each sample is saved, and when the
//! container exits its last sample is moved to `carried` before it runs again: a restarted agent
//! reads the file and neither loses nor counts twice what earlier runs carried.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use snm_sdk::{market::DealId, units::Bytes};

use super::RuntimeError;

/// The traffic of a deal's container across its runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    /// The container's id.
    pub container: String,
    /// Bytes (received and sent, over all interfaces) of the container's earlier runs.
    pub carried: u128,
    /// The latest sample of the current run.
    pub last: u64,
    /// How often the container exited by itself.
    pub exits: u32,
    /// When it last exited (the Engine's `FinishedAt`), so that one exit is counted once.
    pub last_exit_at: Option<String>,
    /// Its last exit code.
    pub last_exit_code: Option<i64>,
    /// Of [`carried`](Self::carried): the bytes the container received.
    #[serde(default)]
    pub carried_in: u128,
    /// Of [`carried`](Self::carried): the bytes the container sent.
    #[serde(default)]
    pub carried_out: u128,
    /// Of [`last`](Self::last): the bytes received.
    #[serde(default)]
    pub last_in: u64,
    /// Of [`last`](Self::last): the bytes sent.
    #[serde(default)]
    pub last_out: u64,
}

impl Meter {
    /// A meter for a new container.
    pub fn new(container: impl Into<String>) -> Self {
        Self { container: container.into(), ..Self::default() }
    }

    /// The file of a deal's meter under a runtime's directory.
    pub fn path(root: &Path, deal: DealId) -> PathBuf {
        root.join(format!("deal-{deal}")).join("meter.json")
    }

    /// The meter saved at `path`, `None` when there is none.
    pub fn load(path: &Path, deal: DealId) -> Result<Option<Self>, RuntimeError> {
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(RuntimeError::Meter { deal, path: path.to_owned(), source }),
        };
        serde_json::from_slice(&text).map(Some).map_err(|e| RuntimeError::Meter {
            deal,
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })
    }

    /// Saves the meter at `path` (atomically: a crash leaves the old or the new one).
    pub fn save(&self, path: &Path, deal: DealId) -> Result<(), RuntimeError> {
        let meter = |source| RuntimeError::Meter { deal, path: path.to_owned(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(meter)?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(|e| meter(std::io::Error::other(e)))?;
        crate::file::write_atomically(path, &json).map_err(meter)
    }

    /// Takes a sample of the current run's counters (bytes received, bytes sent); returns
    /// whether it changed the meter. Counters never go back within a run, so a lower figure (read
    /// late) is ignored.
    pub fn sample(&mut self, received: u64, sent: u64) -> bool {
        let bytes = received.saturating_add(sent);
        if bytes > self.last {
            (self.last, self.last_in, self.last_out) = (bytes, received, sent);
            true
        } else {
            false
        }
    }

    /// Records that the container exited at `finished_at` (once per exit): the run's bytes are
    /// carried. Returns whether this exit was new.
    pub fn exited(&mut self, finished_at: Option<String>, exit_code: Option<i64>) -> bool {
        if finished_at.is_some() && finished_at == self.last_exit_at {
            return false;
        }
        self.carried = self.carried.saturating_add(u128::from(self.last));
        self.carried_in = self.carried_in.saturating_add(u128::from(self.last_in));
        self.carried_out = self.carried_out.saturating_add(u128::from(self.last_out));
        (self.last, self.last_in, self.last_out) = (0, 0, 0);
        self.exits += 1;
        self.last_exit_at = finished_at;
        self.last_exit_code = exit_code;
        true
    }

    /// All the traffic counted: earlier runs and the current one.
    pub fn total(&self) -> Bytes {
        Bytes::new(self.carried.saturating_add(u128::from(self.last)))
    }

    /// The traffic counted by direction: (received, sent) by the container.
    pub fn by_direction(&self) -> (Bytes, Bytes) {
        (
            Bytes::new(self.carried_in.saturating_add(u128::from(self.last_in))),
            Bytes::new(self.carried_out.saturating_add(u128::from(self.last_out))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_carry_the_run_once_and_late_samples_do_not_go_back() {
        let mut meter = Meter::new("abc");
        assert!(meter.sample(60, 40));
        assert!(!meter.sample(50, 40), "a late, lower reading is ignored");
        assert!(meter.exited(Some("t1".into()), Some(3)));
        assert!(!meter.exited(Some("t1".into()), Some(3)), "the same exit counts once");
        assert_eq!((meter.carried, meter.last, meter.exits), (100, 0, 1));
        meter.sample(10, 30);
        assert_eq!(meter.total(), Bytes::new(140));
        assert_eq!(meter.by_direction(), (Bytes::new(70), Bytes::new(70)));

        let dir = std::env::temp_dir().join(format!("snm-meter-{}", std::process::id()));
        let path = Meter::path(&dir, DealId(7));
        assert_eq!(Meter::load(&path, DealId(7)).unwrap(), None);
        meter.save(&path, DealId(7)).unwrap();
        assert_eq!(Meter::load(&path, DealId(7)).unwrap(), Some(meter));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
