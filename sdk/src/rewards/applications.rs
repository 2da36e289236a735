//! The operator's applications file: signed applications, one JSON line each, in the order they
//! came; an application is checked and refused (with the reason) before it is written.

use std::{
    fs,
    io::Write,
    net::IpAddr,
    path::{Path, PathBuf},
};

use alloy::primitives::{Address, map::HashMap};

use super::{admission_error::ApplicationError, application::Application, input_error::Location};

/// A campaign's applications, in application order, backed by a JSON-lines file (one
/// [`Application`] a line).
///
/// [`ApplicationBook::submit`] refuses, naming the reason: a signature not by the master
/// ([`ApplicationError::NotSignedByMaster`]), another campaign's application, a second
/// application of one master ([`ApplicationError::AlreadyApplied`]) and an IP that another
/// account applied with first ([`ApplicationError::IpClaimed`]); an accepted one is appended to
/// the file and synced before `submit` returns.
#[derive(Debug)]
pub struct ApplicationBook {
    path: PathBuf,
    campaign: String,
    applications: Vec<Application>,
    by_master: HashMap<Address, usize>,
    by_ip: HashMap<IpAddr, Address>,
}

impl ApplicationBook {
    /// Opens the applications of `campaign` in `path` (none yet when the file does not exist),
    /// checking every stored line as [`ApplicationBook::submit`] checks a new one.
    pub fn open(path: &Path, campaign: &str) -> Result<Self, ApplicationError> {
        let mut book = Self {
            path: path.to_owned(),
            campaign: campaign.to_owned(),
            applications: Vec::new(),
            by_master: HashMap::default(),
            by_ip: HashMap::default(),
        };
        let mut text = match fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(book),
            Err(e) => return Err(ApplicationError::io(path, e)),
        };
        drop_torn_tail(path, &mut text)?;
        for (k, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.trim_ascii().is_empty() {
                continue;
            }
            let at = Location::line(path, k as u64 + 1);
            let application: Application = serde_json::from_slice(line)
                .map_err(|source| ApplicationError::Json { at: at.clone(), source })?;
            book.check(&application)
                .map_err(|source| ApplicationError::Stored { at, source: Box::new(source) })?;
            book.insert(application);
        }
        Ok(book)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The campaign's id.
    pub fn campaign(&self) -> &str {
        &self.campaign
    }

    /// Every application, in the order they were accepted.
    pub fn applications(&self) -> &[Application] {
        &self.applications
    }

    /// The application of `master` and its 0-based position, if it applied.
    pub fn get(&self, master: Address) -> Option<(usize, &Application)> {
        self.by_master.get(&master).map(|&k| (k, &self.applications[k]))
    }

    /// Checks `application` against the campaign and the applications before it, and appends it
    /// to the file; a refusal says why and writes nothing.
    pub fn submit(&mut self, application: Application) -> Result<(), ApplicationError> {
        self.check(&application)?;
        let mut line = serde_json::to_vec(&application)
            .map_err(|source| ApplicationError::Json { at: Location::file(&self.path), source })?;
        line.push(b'\n');
        let created = !self.path.exists();
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| ApplicationError::io(&self.path, e))?;
        // One write of the whole line, synced before `submit` returns: a crash leaves at most an
        // unacknowledged partial last line, which `open` drops.
        file.write_all(&line)
            .and_then(|()| file.sync_all())
            .map_err(|e| ApplicationError::io(&self.path, e))?;
        if created {
            sync_parent(&self.path).map_err(|e| ApplicationError::io(&self.path, e))?;
        }
        self.insert(application);
        Ok(())
    }

    fn check(&self, application: &Application) -> Result<(), ApplicationError> {
        if application.campaign != self.campaign {
            return Err(ApplicationError::WrongCampaign {
                expected: self.campaign.clone(),
                found: application.campaign.clone(),
            });
        }
        application.verify()?;
        if let Some(&k) = self.by_master.get(&application.master) {
            return Err(ApplicationError::AlreadyApplied { master: application.master, position: k + 1 });
        }
        for worker in &application.workers {
            if let Some(&owner) = self.by_ip.get(&worker.ip) {
                return Err(ApplicationError::IpClaimed { ip: worker.ip, owner });
            }
        }
        Ok(())
    }

    fn insert(&mut self, application: Application) {
        self.by_master.insert(application.master, self.applications.len());
        for worker in &application.workers {
            self.by_ip.insert(worker.ip, application.master);
        }
        self.applications.push(application);
    }
}

/// Drops a last line that has no newline and is not an application: a write cut short by a crash
/// (an application is acknowledged only once its whole line, newline included, is synced).
fn drop_torn_tail(path: &Path, text: &mut Vec<u8>) -> Result<(), ApplicationError> {
    if text.last().is_none_or(|&b| b == b'\n') {
        return Ok(());
    }
    let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |k| k + 1);
    if serde_json::from_slice::<Application>(&text[keep..]).is_ok() {
        return Ok(());
    }
    let file = fs::OpenOptions::new().write(true).open(path).map_err(|e| ApplicationError::io(path, e))?;
    file.set_len(keep as u64).and_then(|()| file.sync_all()).map_err(|e| ApplicationError::io(path, e))?;
    text.truncate(keep);
    Ok(())
}

/// Syncs the directory holding `path`, so that a file just created survives a crash.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::File::open(parent)?.sync_all()
}

#[cfg(test)]
mod tests {
    use alloy::signers::local::PrivateKeySigner;

    use super::*;
    use crate::rewards::WorkerIp;

    async fn application(key: &PrivateKeySigner, ip: &str) -> Application {
        let workers = vec![WorkerIp { worker: Address::repeat_byte(0xf1), ip: ip.parse().unwrap() }];
        Application::sign(key, "operation-a", workers, 1_767_225_600).await.unwrap()
    }

    #[tokio::test]
    async fn a_line_cut_short_by_a_crash_is_dropped_and_the_acknowledged_ones_kept() {
        let dir = std::env::temp_dir().join(format!("snm-applications-torn-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("applications.jsonl");
        let (a, b) = (PrivateKeySigner::random(), PrivateKeySigner::random());
        let mut book = ApplicationBook::open(&path, "operation-a").unwrap();
        book.submit(application(&a, "203.0.113.7").await).unwrap();
        let acknowledged = fs::read(&path).unwrap();
        let torn = serde_json::to_vec(&application(&b, "203.0.113.8").await).unwrap();
        fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&torn[..torn.len() / 2]).unwrap();

        let mut book = ApplicationBook::open(&path, "operation-a").unwrap();
        assert_eq!(book.applications().len(), 1);
        assert_eq!(fs::read(&path).unwrap(), acknowledged);
        book.submit(application(&b, "203.0.113.8").await).unwrap();
        let book = ApplicationBook::open(&path, "operation-a").unwrap();
        assert_eq!(book.get(b.address()).map(|(k, _)| k), Some(1));
        fs::remove_dir_all(&dir).unwrap();
    }
}
