//! Where participants of a campaign with admission stand: the stage, online time and exclusions
//! of a round ([`participation_text`]), and one account's standing across the campaign's files
//! ([`AccountStanding`], `snm campaign status --account`).

use std::fmt;

use alloy::primitives::Address;
use snm_sdk::{
    rewards::{AccountReward, AdmissionList, Admitted, Application, ApplicationBook, ExclusionReason, Round},
    units::Bytes,
};

use crate::{
    table::{Align, Table},
    units::plural,
};

/// Hours, with one decimal, of `seconds`.
fn hours(seconds: u64) -> String {
    format!("{}.{} h", seconds / 3600, seconds % 3600 * 10 / 3600)
}

/// The admitted accounts' stage, IPs and online time, and the records not counted for want of
/// admission; empty for a campaign without admission.
pub fn participation_text(round: &Round) -> String {
    if !round.campaign().admission {
        return String::new();
    }
    let mut text = String::from("\nadmitted accounts");
    if let Some(min) = round.campaign().min_online {
        text.push_str(&format!(" (an IP is paid once available for {min})"));
    }
    text.push_str(":\n");
    let mut table = Table::new(&[
        ("account", Align::Left),
        ("stage", Align::Right),
        ("admitted from", Align::Right),
        ("IPs admitted", Align::Right),
        ("IPs online", Align::Right),
        ("online", Align::Right),
        ("traffic", Align::Right),
        ("cumulative", Align::Right),
    ]);
    for account in round.accounts() {
        let Some(p) = &account.participation else { continue };
        table.row([
            account.account.to_string(),
            p.stage.to_string(),
            p.admitted_from.to_string(),
            p.ips_admitted.to_string(),
            p.ips_online.to_string(),
            hours(p.online_seconds),
            account.bytes.in_tb().to_string(),
            account.cumulative.to_string(),
        ]);
    }
    text.push_str(&table.to_string());
    if !round.exclusions().is_empty() {
        text.push_str(&format!(
            "\n{} not counted (records of IPs not admitted for the account, or before admission):\n",
            plural(round.exclusions().len(), "IP and account")
        ));
        let mut excluded = Table::new(&[
            ("IP", Align::Left),
            ("account", Align::Left),
            ("reason", Align::Left),
            ("records", Align::Right),
            ("traffic", Align::Right),
        ]);
        for e in round.exclusions() {
            let reason = match e.reason {
                ExclusionReason::NotAdmitted => "not_admitted",
                ExclusionReason::OtherAccount => "other_account",
                ExclusionReason::BeforeAdmission => "before_admission",
            };
            excluded.row([
                e.ip.to_string(),
                e.account.to_string(),
                reason.to_owned(),
                e.records.to_string(),
                e.bytes.in_tb().to_string(),
            ]);
        }
        text.push_str(&excluded.to_string());
    }
    text
}

/// The deals whose supplier's and customer's figures differ beyond the campaign's tolerance, or
/// that one side only reported, with both figures and what was paid; empty for a campaign that
/// does not check traffic from both sides.
pub fn discrepancies_text(round: &Round) -> String {
    let Some(tolerance) = round.campaign().traffic_tolerance else { return String::new() };
    if round.discrepancies().is_empty() {
        return format!(
            "
every deal's figures agree within {tolerance}
"
        );
    }
    let mut text = format!(
        "
{} apart by more than {tolerance} or reported by one side only (paid: the smaller figure):
",
        plural(round.discrepancies().len(), "deal")
    );
    let mut table = Table::new(&[
        ("account", Align::Left),
        ("IP", Align::Left),
        ("start", Align::Right),
        ("supplier", Align::Right),
        ("customer", Align::Right),
        ("paid", Align::Right),
    ]);
    let tb = |bytes: Option<Bytes>| bytes.map_or_else(|| "-".to_owned(), |b| b.in_tb().to_string());
    for d in round.discrepancies() {
        table.row([
            d.account.to_string(),
            d.ip.to_string(),
            d.period_start.to_string(),
            tb(d.supplier_bytes),
            tb(d.customer_bytes),
            d.paid_bytes.in_tb().to_string(),
        ]);
    }
    text.push_str(&table.to_string());
    text
}

/// One account's standing in a campaign: its application, its admission, and its figures in the
/// latest round given.
#[derive(Debug, serde::Serialize)]
pub struct AccountStanding {
    /// The account.
    pub account: Address,
    /// Its application and 1-based position, if it applied.
    pub application: Option<(usize, Application)>,
    /// Its admission, if admitted.
    pub admission: Option<Admitted>,
    /// The round's number and the account's figures in it, if a round was given and lists it.
    pub round: Option<(u64, AccountReward)>,
}

impl AccountStanding {
    /// Gathers `account`'s standing from the campaign's files (each optional).
    pub fn gather(
        account: Address,
        book: Option<&ApplicationBook>,
        admission: Option<&AdmissionList>,
        round: Option<&Round>,
    ) -> Self {
        Self {
            account,
            application: book.and_then(|b| b.get(account)).map(|(k, a)| (k + 1, a.clone())),
            admission: admission.and_then(|l| l.get(account)).cloned(),
            round: round.and_then(|r| r.account(account).map(|a| (r.number(), a.clone()))),
        }
    }
}

impl fmt::Display for AccountStanding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "account   {}", self.account)?;
        match &self.application {
            Some((position, application)) => {
                let ips: Vec<String> = application.workers.iter().map(|w| w.ip.to_string()).collect();
                writeln!(
                    f,
                    "applied   yes: application {position}, at {}, {}: {}",
                    application.time,
                    plural(ips.len(), "worker"),
                    ips.join(", ")
                )?
            }
            None => writeln!(f, "applied   no")?,
        }
        match &self.admission {
            Some(admitted) => writeln!(
                f,
                "admitted  at stage {}, from {} ({})",
                admitted.stage,
                admitted.admitted_from,
                plural(admitted.ips.len(), "IP")
            )?,
            None => writeln!(f, "admitted  no")?,
        }
        match &self.round {
            Some((number, reward)) => {
                if let Some(p) = &reward.participation {
                    writeln!(
                        f,
                        "online    {} ({} of {} IPs online long enough)",
                        hours(p.online_seconds),
                        p.ips_online,
                        p.ips_admitted
                    )?;
                }
                writeln!(f, "IPs paid  {}", reward.ips)?;
                writeln!(f, "bytes     {} ({} TB)", reward.bytes.get(), reward.bytes.in_tb())?;
                writeln!(
                    f,
                    "earned    {} (cumulative to round {number}; {} in it)",
                    reward.cumulative, reward.round_amount
                )
            }
            None => {
                writeln!(f, "online    no round lists it")?;
                writeln!(f, "bytes     {}", Bytes::ZERO.get())?;
                writeln!(f, "earned    0 SNM")
            }
        }
    }
}
