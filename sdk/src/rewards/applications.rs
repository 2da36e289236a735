//! The operator's applications file: signed applications, one JSON line each, in the order they
//! came; an application is checked and refused (with the reason) before it is written.

use std::{
    fs,
    io::{BufRead, BufReader, Write},
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
        let file = match fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(book),
            Err(e) => return Err(ApplicationError::io(path, e)),
        };
        for (k, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| ApplicationError::io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let at = Location::line(path, k as u64 + 1);
            let application: Application = serde_json::from_str(&line)
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
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| ApplicationError::io(&self.path, e))?;
        file.write_all(&line)
            .and_then(|()| file.sync_all())
            .map_err(|e| ApplicationError::io(&self.path, e))?;
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
