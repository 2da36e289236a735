//! Computing a round: the previous round, the admission list and availability, the customers'
//! reports and the suppliers' reports, tallied into a [`Round`].

use std::path::{Path, PathBuf};

use super::{
    admission::AdmissionList,
    campaign::Campaign,
    error::RewardsError,
    input_error::Location,
    participation::online_seconds,
    round::{PreviousRound, Round, RoundInputs},
    tally::Tally,
    two_sided::ReportSignature,
    usage::UsageReader,
};

/// Computes a round: loads and checks `previous` (if any) against `campaign`, reads every report
/// (format from the extension) and settles the round. Nothing is written.
///
/// **It blocks**: it reads every report and the previous round from disk and hashes the whole
/// tree on every core, seconds for millions of records (sdk/REWARDS.md, "Benchmark"), without
/// ever yielding. From async code, run it on a blocking thread so that the runtime's workers keep
/// serving other tasks (a `current_thread` runtime would otherwise stall entirely):
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use snm_sdk::rewards::{Campaign, compute_round};
/// use std::path::{Path, PathBuf};
///
/// let campaign = Campaign::from_toml_file(Path::new("campaign.toml"))?;
/// let reports = vec![PathBuf::from("week1.csv")];
/// let round = tokio::task::spawn_blocking(move || compute_round(&campaign, None, &reports)).await??;
/// # Ok(())
/// # }
/// ```
pub fn compute_round(
    campaign: &Campaign,
    previous: Option<&Path>,
    reports: &[PathBuf],
) -> Result<Round, RewardsError> {
    compute_round_with(
        campaign,
        previous,
        &RoundInputs { reports: reports.to_vec(), ..RoundInputs::default() },
    )
}

/// Computes a round as [`compute_round`] does, from every input of a campaign with admission: the
/// admission list (checked against the campaign's id) and the availability records beside the
/// usage reports. It blocks, as [`compute_round`] does.
pub fn compute_round_with(
    campaign: &Campaign,
    previous: Option<&Path>,
    inputs: &RoundInputs,
) -> Result<Round, RewardsError> {
    let previous = previous.map(|path| PreviousRound::load(path, campaign)).transpose()?;
    let mut tally = Tally::new(campaign.clone(), previous);
    match (&inputs.admission, campaign.admission) {
        (Some(path), true) => {
            let list = AdmissionList::load(path, &campaign.id)?;
            let online = online_seconds(&inputs.availability, &list.by_ip())?;
            tally.admit(&list, online);
        }
        (None, true) => {
            return Err(RewardsError::MissingInput(
                "the campaign has admission = true: give its admission list",
            ));
        }
        (Some(_), false) => {
            return Err(RewardsError::MissingInput(
                "the campaign has no admission = true: an admission list would be ignored",
            ));
        }
        (None, false) if !inputs.availability.is_empty() => {
            return Err(RewardsError::MissingInput(
                "availability counts only in a campaign with admission = true",
            ));
        }
        (None, false) => {}
    }
    match (campaign.traffic_tolerance, inputs.customer_reports.is_empty()) {
        (Some(_), _) => {
            let mut figures = Vec::new();
            for report in &inputs.customer_reports {
                ReportSignature::verify_file(report)?;
                let mut reader = UsageReader::open(report, None)?;
                while let Some(record) = reader.next_record()? {
                    campaign.check_record(&record).map_err(|reason| RewardsError::Input {
                        at: Location::line(report, reader.line()),
                        reason,
                    })?;
                    figures.push(record);
                }
            }
            tally.customer_figures(&figures);
        }
        (None, false) => {
            return Err(RewardsError::MissingInput(
                "customers' reports count only in a campaign with traffic_tolerance",
            ));
        }
        (None, true) => {}
    }
    for report in &inputs.reports {
        tally.read_file(report)?;
    }
    tally.finish()
}
