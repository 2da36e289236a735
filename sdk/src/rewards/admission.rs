//! The admission list: which applicants a campaign admitted, at which stage and from when. It is
//! one of the campaign's files and an input of every round of a campaign with `admission = true`.

use std::{fs, net::IpAddr, path::Path};

use alloy::primitives::{Address, map::HashMap};
use serde::{Deserialize, Serialize};

use super::{admission_error::ApplicationError, applications::ApplicationBook, input_error::Location};

/// The `format` string of an admission file.
pub const ADMISSION_FORMAT: &str = "snm-campaign-admission-v1";

/// One admitted account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admitted {
    /// The payout account (the application's master).
    pub account: Address,
    /// Its workers' IPs, as applied for.
    pub ips: Vec<IpAddr>,
    /// The stage that admitted it (1, 2, …).
    pub stage: u32,
    /// From when its IPs earn, unix seconds: records starting earlier are not counted, and
    /// availability before it is not online time.
    pub admitted_from: u64,
}

/// A campaign's admission list, in admission order. File (JSON):
/// `{"format":"snm-campaign-admission-v1","campaign":"operation-a","admitted":[{"account":"0x…",
/// "ips":["203.0.113.7"],"stage":1,"admitted_from":1767225600}]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionList {
    format: String,
    /// The campaign's id.
    pub campaign: String,
    /// Every admitted account, in admission order.
    pub admitted: Vec<Admitted>,
}

impl AdmissionList {
    /// An empty list for `campaign`.
    pub fn new(campaign: &str) -> Self {
        Self { format: ADMISSION_FORMAT.to_owned(), campaign: campaign.to_owned(), admitted: Vec::new() }
    }

    /// Reads an admission file and checks it: its format, its campaign, stages that start at 1 and
    /// never go back, each account and each IP once.
    pub fn load(path: &Path, campaign: &str) -> Result<Self, ApplicationError> {
        let text = fs::read_to_string(path).map_err(|e| ApplicationError::io(path, e))?;
        let list: Self = serde_json::from_str(&text).map_err(|source| ApplicationError::Json {
            at: Location::line(path, source.line() as u64),
            source,
        })?;
        if list.format != ADMISSION_FORMAT {
            return Err(ApplicationError::AdmissionFormat {
                file: path.to_owned(),
                expected: ADMISSION_FORMAT,
                found: list.format,
            });
        }
        if list.campaign != campaign {
            return Err(ApplicationError::AdmissionCampaign {
                file: path.to_owned(),
                expected: campaign.to_owned(),
                found: list.campaign,
            });
        }
        let mut checked = Self::new(campaign);
        for admitted in list.admitted {
            checked.push(admitted).map_err(|source| ApplicationError::Stored {
                at: Location::file(path),
                source: Box::new(source),
            })?;
        }
        Ok(checked)
    }

    /// Reads `path`, or starts an empty list for `campaign` when it does not exist.
    pub fn load_or_new(path: &Path, campaign: &str) -> Result<Self, ApplicationError> {
        if path.exists() { Self::load(path, campaign) } else { Ok(Self::new(campaign)) }
    }

    /// Writes the list to `path`: to a temporary file first, then renamed over it.
    pub fn write(&self, path: &Path) -> Result<(), ApplicationError> {
        let temp = path.with_extension(format!("json.tmp-{}", std::process::id()));
        let text = serde_json::to_vec_pretty(self)
            .map_err(|source| ApplicationError::Json { at: Location::file(path), source })?;
        let written = fs::File::create(&temp).and_then(|mut file| {
            std::io::Write::write_all(&mut file, &text)?;
            std::io::Write::write_all(&mut file, b"\n")?;
            file.sync_all()
        });
        if let Err(e) = written.and_then(|()| fs::rename(&temp, path)) {
            let _ = fs::remove_file(&temp);
            return Err(ApplicationError::io(path, e));
        }
        Ok(())
    }

    /// The last stage admitted (0 when nobody is).
    pub fn last_stage(&self) -> u32 {
        self.admitted.last().map_or(0, |a| a.stage)
    }

    /// The admission of `account`, if admitted.
    pub fn get(&self, account: Address) -> Option<&Admitted> {
        self.admitted.iter().find(|a| a.account == account)
    }

    /// Online seconds since admission of every admitted IP found available in the availability
    /// `files`, by the rules a round applies (sdk/REWARDS.md, "Online time"): what a participant
    /// or the operator checks against `min_online` before the round.
    pub fn online_seconds(
        &self,
        files: &[std::path::PathBuf],
    ) -> Result<HashMap<IpAddr, u64>, super::error::RewardsError> {
        super::participation::online_seconds(files, &self.by_ip())
    }

    /// Every admitted IP: its account and admission time.
    pub fn by_ip(&self) -> HashMap<IpAddr, (Address, u64)> {
        let mut ips = HashMap::default();
        for admitted in &self.admitted {
            for ip in &admitted.ips {
                ips.insert(ip.to_canonical(), (admitted.account, admitted.admitted_from));
            }
        }
        ips
    }

    /// Admits the next `count` applicants of `book` not admitted yet, in application order (fewer
    /// when fewer are left), at `stage` from `from`; returns who was admitted.
    pub fn admit_next(
        &mut self,
        book: &ApplicationBook,
        stage: u32,
        count: usize,
        from: u64,
    ) -> Result<Vec<Admitted>, ApplicationError> {
        let next: Vec<Address> = book
            .applications()
            .iter()
            .map(|a| a.master)
            .filter(|master| self.get(*master).is_none())
            .take(count)
            .collect();
        self.admit_chosen(book, stage, &next, from)
    }

    /// Admits the chosen `accounts` (each must have applied, and not be admitted yet) at `stage`
    /// from `from`; nothing is admitted when one of them cannot be.
    pub fn admit_chosen(
        &mut self,
        book: &ApplicationBook,
        stage: u32,
        accounts: &[Address],
        from: u64,
    ) -> Result<Vec<Admitted>, ApplicationError> {
        let mut next = self.clone();
        let mut admitted = Vec::with_capacity(accounts.len());
        for &account in accounts {
            let (_, application) = book.get(account).ok_or(ApplicationError::NotApplied { account })?;
            let entry = Admitted {
                account,
                ips: application.workers.iter().map(|w| w.ip).collect(),
                stage,
                admitted_from: from,
            };
            next.push(entry.clone())?;
            admitted.push(entry);
        }
        *self = next;
        Ok(admitted)
    }

    fn push(&mut self, admitted: Admitted) -> Result<(), ApplicationError> {
        let last = self.last_stage();
        if admitted.stage == 0 || admitted.stage < last {
            return Err(ApplicationError::BadStage { stage: admitted.stage, last });
        }
        if let Some(before) = self.get(admitted.account) {
            return Err(ApplicationError::AlreadyAdmitted { account: admitted.account, stage: before.stage });
        }
        for ip in &admitted.ips {
            if ip.to_canonical() != *ip {
                return Err(ApplicationError::NonCanonicalIp { ip: *ip });
            }
            if let Some(owner) = self.admitted.iter().find(|a| a.ips.contains(ip)) {
                return Err(ApplicationError::IpClaimed { ip: *ip, owner: owner.account });
            }
        }
        self.admitted.push(admitted);
        Ok(())
    }
}
