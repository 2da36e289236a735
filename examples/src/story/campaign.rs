//! The story's campaign as Operation A ran it (issue 15): every supplier applies with a signed
//! application, the operator admits them in two stages (the last ones later, and never bought:
//! there were more machines than work), the agents write availability records, the customer
//! counts every deal's bytes and signs its own usage report, and the round pays admitted IPs that
//! were online (bought or not) and traffic on the smaller of the two counts.
//!
//! The story moves the chain's clock by an hour but runs for seconds of wall time, and the agents'
//! availability records are in wall time: the story's `min_online` is one second where a real
//! campaign says "24h".

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use anyhow::{Context, bail};
use snm_sdk::{
    proxy_client::DealMeters,
    rewards::{
        AdmissionList, Admitted, Application, ApplicationBook, Campaign, OnlineTime, Round, RoundInputs,
        UsageFormat, UsageReader, WorkerIp, write_customer_report,
    },
    units::{Bytes, SnmPerUsd},
};

/// The campaign's id, signed into every application.
pub const CAMPAIGN_ID: &str = "operation-a";

/// How long an admitted IP must be available to count (a real campaign: hours; see the module).
pub const MIN_ONLINE: OnlineTime = OnlineTime::from_secs(1);

/// The agents cut their availability records at every second (a real agent: every hour).
pub const AVAILABILITY_PERIOD: Duration = Duration::from_secs(1);

/// Suppliers admitted in the second stage, after the customer bought from the first: a fifth of
/// them, at least one when there are two or more.
pub fn second_stage(suppliers: usize) -> usize {
    if suppliers < 2 { 0 } else { (suppliers / 5).max(1) }
}

/// Unix time now (the agents' availability records use the same clock).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The rules: Operation A with admission, `min_online`, and traffic checked from both sides
/// within 5 %; loopback worker IPs allowed (every worker of the story is on 127.0.0.x).
pub fn rules(rate: SnmPerUsd) -> anyhow::Result<Campaign> {
    Ok(Campaign {
        allow_private_ips: true,
        admission: true,
        min_online: Some(MIN_ONLINE),
        traffic_tolerance: Some("5%".parse().context("the tolerance")?),
        ..Campaign::operation_a(rate)
    })
}

/// The operator's files: applications and the admission list.
#[derive(Debug)]
pub struct StagedCampaign {
    book: ApplicationBook,
    admission: AdmissionList,
    admission_path: PathBuf,
}

impl StagedCampaign {
    /// A campaign with no application yet, its files in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        Ok(Self {
            book: ApplicationBook::open(&dir.join("applications.jsonl"), CAMPAIGN_ID)?,
            admission: AdmissionList::new(CAMPAIGN_ID),
            admission_path: dir.join("admission.json"),
        })
    }

    /// `master` applies with its worker at `ip` (EIP-712, checked and kept by the operator).
    pub async fn apply(
        &mut self,
        master: &PrivateKeySigner,
        worker: Address,
        ip: IpAddr,
    ) -> anyhow::Result<()> {
        let application =
            Application::sign(master, CAMPAIGN_ID, vec![WorkerIp { worker, ip }], unix_now()).await?;
        self.book.submit(application)?;
        Ok(())
    }

    /// Admits the next `count` applicants at `stage` from `from`, and writes the admission list.
    pub fn admit(&mut self, stage: u32, count: usize, from: u64) -> anyhow::Result<Vec<Admitted>> {
        let admitted = self.admission.admit_next(&self.book, stage, count, from)?;
        self.admission.write(&self.admission_path)?;
        Ok(admitted)
    }

    /// Who was admitted, and when.
    pub fn admission(&self) -> &AdmissionList {
        &self.admission
    }

    /// The applications, in the order accepted.
    pub fn applications(&self) -> usize {
        self.book.applications().len()
    }

    /// Waits until every admitted IP was available for [`MIN_ONLINE`] since its admission in the
    /// agents' availability `files` (they append a record once a second is over), for at most
    /// `limit`.
    pub async fn wait_until_online(&self, files: &[PathBuf], limit: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        let wanted = self.admission.by_ip().len();
        loop {
            let present: Vec<PathBuf> = files.iter().filter(|f| f.exists()).cloned().collect();
            let online = self.admission.online_seconds(&present)?;
            let met = online.values().filter(|s| **s >= MIN_ONLINE.secs()).count();
            if met == wanted {
                return Ok(());
            }
            if start.elapsed() > limit {
                bail!(
                    "{met} of {wanted} admitted IPs were online for {} s within {limit:?}",
                    MIN_ONLINE.secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The round's inputs besides the suppliers' usage reports.
    pub fn inputs(
        &self,
        reports: Vec<PathBuf>,
        availability: Vec<PathBuf>,
        customer: PathBuf,
    ) -> RoundInputs {
        RoundInputs {
            reports,
            admission: Some(self.admission_path.clone()),
            availability,
            customer_reports: vec![customer],
        }
    }
}

/// Writes the customer's usage report of every deal it metered at `path`, each deal's period
/// ending with its term, signed by `customer` beside it.
pub async fn write_customer_report_of(
    meters: &DealMeters,
    customer: &PrivateKeySigner,
    path: &Path,
) -> anyhow::Result<()> {
    let records: Vec<_> =
        meters.deals().iter().map(|d| d.usage_record(d.end_time.unwrap_or(d.period_start))).collect();
    write_customer_report(customer, path, &records).await?;
    Ok(())
}

/// One supplier's figures in the campaign, for the summary table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    /// The admission stage (`None`: not admitted).
    pub stage: Option<u32>,
    /// Seconds online since admission.
    pub online_seconds: u64,
    /// Bytes its agent reported.
    pub supplier_bytes: Bytes,
    /// Bytes the customer counted on its deals.
    pub customer_bytes: Bytes,
}

/// Every admitted account's standing in `round`, with the two traffic figures: the suppliers'
/// from their usage `reports`, the customer's from its `meters`.
pub fn standings(
    round: &Round,
    reports: &[PathBuf],
    meters: &DealMeters,
) -> anyhow::Result<HashMap<Address, Standing>> {
    let mut by_account: HashMap<Address, Standing> = HashMap::new();
    for account in round.accounts() {
        if let Some(p) = &account.participation {
            let standing = by_account.entry(account.account).or_default();
            standing.stage = Some(p.stage);
            standing.online_seconds = p.online_seconds;
        }
    }
    for (account, bytes) in reported_bytes(reports)? {
        by_account.entry(account).or_default().supplier_bytes = bytes;
    }
    for deal in meters.deals() {
        let standing = by_account.entry(deal.account).or_default();
        standing.customer_bytes = Bytes::new(standing.customer_bytes.get() + deal.bytes.get());
    }
    Ok(by_account)
}

/// The bytes per account of usage reports.
fn reported_bytes(reports: &[PathBuf]) -> anyhow::Result<BTreeMap<Address, Bytes>> {
    let mut sums = BTreeMap::new();
    for report in reports {
        let mut reader = UsageReader::open(report, Some(UsageFormat::Csv))?;
        while let Some(record) = reader.next_record()? {
            let sum: &mut Bytes = sums.entry(record.account).or_default();
            *sum = Bytes::new(sum.get() + record.bytes.get());
        }
    }
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifth_of_the_suppliers_come_in_the_second_stage() {
        let stages: Vec<usize> = [1, 2, 3, 20, 1_000].into_iter().map(second_stage).collect();
        assert_eq!(stages, vec![0, 1, 1, 4, 200]);
    }
}
