//! Campaigns with applications, staged admission and participation by availability (issue 15):
//! signed applications and their refusals, the admission list, records before admission or of
//! another account, idle-but-online IPs paid and offline ones not, each with its exact amounts,
//! an offline admitted IP earning nothing, the sum of the leaves equal to the round's total over
//! random campaigns, and over random two-sided figures each account paid on the smaller ones.

// Test helpers outside #[test] functions may panic too.
#![allow(clippy::expect_used)]

use std::{
    fmt::Write as _,
    fs,
    net::IpAddr,
    path::{Path, PathBuf},
};

use alloy::{
    primitives::{Address, B256},
    signers::local::PrivateKeySigner,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use snm_sdk::{
    rewards::{
        AdmissionList, Application, ApplicationBook, ApplicationError, AvailabilityRecord, Campaign,
        ExclusionReason, OnlineTime, PreviousRound, ReportSignature, RewardsError, Round, RoundInputs,
        SupplierOnly, WorkerIp, WorkerState, compute_round_with,
    },
    units::{Bytes, Snm, SnmPerUsd},
};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The first admission time; stage 2 comes a day later.
const T0: u64 = 1_767_225_600;
const HOUR: u64 = 3600;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snm-admission-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn key(k: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(k)).expect("a key")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an IP")
}

fn workers(ips: &[&str]) -> Vec<WorkerIp> {
    ips.iter()
        .enumerate()
        .map(|(k, text)| WorkerIp { worker: Address::repeat_byte(0x70 + k as u8), ip: ip(text) })
        .collect()
}

/// Operation A at 25 SNM/USD (1 TB = $4 = 100 SNM) with admission, on private IPs.
fn campaign(min_online: Option<OnlineTime>) -> Campaign {
    Campaign {
        allow_private_ips: true,
        admission: true,
        min_online,
        ..Campaign::operation_a(SnmPerUsd::from_whole(25))
    }
}

fn usage(path: &Path, records: &[(Address, &str, Bytes, u64)]) -> Result {
    let mut text = String::from("account,ip,bytes,period_start,period_end\n");
    for (account, at, bytes, start) in records {
        writeln!(text, "{account},{at},{},{start},{}", bytes.get(), start + HOUR - 1)?;
    }
    Ok(fs::write(path, text)?)
}

fn available(account: Address, at: &str, state: WorkerState, start: u64, hours: u64) -> AvailabilityRecord {
    AvailabilityRecord {
        account,
        worker: Address::repeat_byte(0x70),
        ip: ip(at),
        period_start: start,
        period_end: start + hours * HOUR - 1,
        state,
        bytes: Bytes::ZERO,
    }
}

fn write_availability(path: &Path, records: &[AvailabilityRecord]) -> Result {
    Ok(fs::write(path, records.iter().map(AvailabilityRecord::to_json_line).collect::<String>())?)
}

#[tokio::test]
async fn forged_duplicate_and_claimed_applications_are_refused_with_the_reason() -> Result {
    let dir = scratch("applications");
    let mut book = ApplicationBook::open(&dir.join("applications.jsonl"), "operation-a")?;
    let (a, b, c) = (key(1), key(2), key(3));
    book.submit(Application::sign(&a, "operation-a", workers(&["203.0.113.1", "203.0.113.2"]), T0).await?)?;

    // B's application signed by C: a forged signature (it recovers an address that is not B).
    let mut forged = Application::sign(&c, "operation-a", workers(&["203.0.113.9"]), T0).await?;
    forged.master = b.address();
    let err = book.submit(forged).expect_err("forged");
    assert!(
        matches!(err, ApplicationError::NotSignedByMaster { master, signer } if master == b.address() && signer != b.address()),
        "{err}"
    );
    // An altered IP after signing breaks the signature too.
    let mut altered = Application::sign(&b, "operation-a", workers(&["203.0.113.9"]), T0).await?;
    altered.workers[0].ip = ip("203.0.113.10");
    assert!(matches!(book.submit(altered), Err(ApplicationError::NotSignedByMaster { .. })));

    // B claims one of A's IPs: refused, naming the IP and A.
    let err = book
        .submit(Application::sign(&b, "operation-a", workers(&["203.0.113.8", "203.0.113.2"]), T0).await?)
        .expect_err("claimed");
    assert_eq!(
        err.to_string(),
        format!("IP 203.0.113.2 is claimed by {}, who applied with it first", a.address())
    );
    // A applies again: refused.
    let err = book
        .submit(Application::sign(&a, "operation-a", workers(&["203.0.113.3"]), T0).await?)
        .expect_err("twice");
    assert!(matches!(err, ApplicationError::AlreadyApplied { position: 1, .. }), "{err}");
    // Another campaign's application.
    let err = book
        .submit(Application::sign(&b, "operation-b", workers(&["203.0.113.9"]), T0).await?)
        .expect_err("campaign");
    assert!(matches!(err, ApplicationError::WrongCampaign { .. }), "{err}");
    book.submit(Application::sign(&b, "operation-a", workers(&["203.0.113.9"]), T0 + 5).await?)?;

    // The file holds exactly the two accepted applications, read back and checked.
    let reopened = ApplicationBook::open(&dir.join("applications.jsonl"), "operation-a")?;
    let masters: Vec<Address> = reopened.applications().iter().map(|a| a.master).collect();
    assert_eq!(masters, vec![a.address(), b.address()]);
    // A line tampered with in the file is refused on opening, with its line.
    let text = fs::read_to_string(dir.join("applications.jsonl"))?.replace("203.0.113.9", "203.0.113.7");
    fs::write(dir.join("tampered.jsonl"), text)?;
    let err = ApplicationBook::open(&dir.join("tampered.jsonl"), "operation-a").expect_err("tampered");
    assert!(err.to_string().contains("tampered.jsonl:2: the application of"), "{err}");
    fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test]
async fn stages_admit_the_next_applicants_in_order_or_a_chosen_list() -> Result {
    let dir = scratch("stages");
    let mut book = ApplicationBook::open(&dir.join("applications.jsonl"), "operation-a")?;
    let keys: Vec<PrivateKeySigner> = (1..=5).map(key).collect();
    for (k, signer) in keys.iter().enumerate() {
        let at = format!("203.0.113.{}", k + 1);
        book.submit(Application::sign(signer, "operation-a", workers(&[&at]), T0 + k as u64).await?)?;
    }
    let path = dir.join("admission.json");
    let mut list = AdmissionList::load_or_new(&path, "operation-a")?;
    let first = list.admit_next(&book, 1, 2, T0)?;
    assert_eq!(
        first.iter().map(|a| a.account).collect::<Vec<_>>(),
        vec![keys[0].address(), keys[1].address()]
    );
    // Stage 2 picks the last applicant first, then the next in order.
    list.admit_chosen(&book, 2, &[keys[4].address()], T0 + 86_400)?;
    let next = list.admit_next(&book, 2, 10, T0 + 86_400)?;
    assert_eq!(
        next.iter().map(|a| a.account).collect::<Vec<_>>(),
        vec![keys[2].address(), keys[3].address()]
    );
    list.write(&path)?;
    let read = AdmissionList::load(&path, "operation-a")?;
    assert_eq!(read, list);
    assert_eq!(read.get(keys[4].address()).map(|a| (a.stage, a.admitted_from)), Some((2, T0 + 86_400)));
    // Admitted twice, never applied, a stage going back: refused, nothing admitted.
    assert!(matches!(
        list.admit_chosen(&book, 2, &[keys[0].address()], T0),
        Err(ApplicationError::AlreadyAdmitted { stage: 1, .. })
    ));
    assert!(matches!(
        list.admit_chosen(&book, 3, &[key(9).address()], T0),
        Err(ApplicationError::NotApplied { .. })
    ));
    assert!(matches!(list.admit_next(&book, 1, 1, T0), Ok(ref none) if none.is_empty()));
    assert_eq!(list.admitted.len(), 5);
    assert!(matches!(
        AdmissionList::load(&path, "operation-b"),
        Err(ApplicationError::AdmissionCampaign { .. })
    ));
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A: stage 1 (T0), 10.0.0.1 (a deal for 48 h, 1 TB after admission and 2 TB before) and
/// 10.0.0.2 (asking 20 h, 1 TB); B: stage 1, 10.0.1.1, asking 30 h, never bought; C: stage 2
/// (T0 + 1 day), 10.0.2.1, available 40 h from T0, of which 16 h after its admission; D reports
/// A's 10.0.0.1 and X an IP nobody was admitted with.
#[test]
fn admitted_ips_earn_from_admission_when_online_long_enough() -> Result {
    let dir = scratch("round");
    let (a, b, c, d, x) =
        (key(1).address(), key(2).address(), key(3).address(), key(4).address(), key(5).address());
    let mut list = AdmissionList::new("operation-a");
    list.admitted = vec![
        snm_sdk::rewards::Admitted {
            account: a,
            ips: vec![ip("10.0.0.1"), ip("10.0.0.2")],
            stage: 1,
            admitted_from: T0,
        },
        snm_sdk::rewards::Admitted { account: b, ips: vec![ip("10.0.1.1")], stage: 1, admitted_from: T0 },
        snm_sdk::rewards::Admitted {
            account: c,
            ips: vec![ip("10.0.2.1")],
            stage: 2,
            admitted_from: T0 + 86_400,
        },
    ];
    list.write(&dir.join("admission.json"))?;
    usage(
        &dir.join("usage.csv"),
        &[
            (a, "10.0.0.1", Bytes::from_tb(1), T0 + HOUR),
            (a, "10.0.0.1", Bytes::from_tb(2), T0 - HOUR),
            (a, "10.0.0.2", Bytes::from_tb(1), T0 + 2 * HOUR),
            (d, "10.0.0.1", Bytes::from_tb(4), T0 + HOUR),
            (x, "10.9.9.9", Bytes::from_tb(3), T0 + HOUR),
        ],
    )?;
    write_availability(
        &dir.join("availability.jsonl"),
        &[
            available(a, "10.0.0.1", WorkerState::Deal, T0, 48),
            available(a, "10.0.0.2", WorkerState::Ask, T0, 20),
            available(a, "10.0.0.2", WorkerState::Idle, T0 + 20 * HOUR, 28),
            available(b, "10.0.1.1", WorkerState::Ask, T0, 30),
            available(c, "10.0.2.1", WorkerState::Ask, T0, 40),
            // D claims A's IP in its availability too: not A's online time.
            available(d, "10.0.0.2", WorkerState::Deal, T0 + 20 * HOUR, 28),
        ],
    )?;
    let inputs = RoundInputs {
        reports: vec![dir.join("usage.csv")],
        admission: Some(dir.join("admission.json")),
        availability: vec![dir.join("availability.jsonl"), dir.join("availability.jsonl")],
        customer_reports: vec![],
    };
    let campaign = campaign(Some(OnlineTime::from_hours(24)));
    let round = compute_round_with(&campaign, None, &inputs)?;

    // A: 10.0.0.1 online 48 h (50 SNM) with 1 TB (100 SNM); 10.0.0.2 online 20 h only: its 1 TB
    // pays (100 SNM), the IP not. The 2 TB before admission are not counted.
    let account = round.account(a).expect("A");
    assert_eq!(
        (account.ips, account.bytes, account.cumulative),
        (1, Bytes::from_tb(2), Snm::from_whole(250))
    );
    let standing = account.participation.as_ref().expect("A's standing");
    assert_eq!(
        (standing.stage, standing.ips_admitted, standing.ips_online, standing.online_seconds),
        (1, 2, 1, 68 * HOUR)
    );
    // B: idle but online 30 h, never bought: 50 SNM.
    let account = round.account(b).expect("B");
    assert_eq!((account.ips, account.bytes, account.cumulative), (1, Bytes::ZERO, Snm::from_whole(50)));
    // C: admitted a day later, 16 h online since: listed, not paid, no leaf.
    let account = round.account(c).expect("C is listed");
    assert_eq!((account.ips, account.cumulative), (0, Snm::ZERO));
    assert_eq!(
        account.participation.as_ref().map(|p| (p.stage, p.ips_online, p.online_seconds)),
        Some((2, 0, 16 * HOUR))
    );
    assert!(round.claim(c).is_none());
    assert!(round.account(d).is_none() && round.account(x).is_none());
    let exclusions: Vec<_> =
        round.exclusions().iter().map(|e| (e.ip, e.account, e.reason, e.records, e.bytes)).collect();
    assert_eq!(
        exclusions,
        vec![
            (ip("10.0.0.1"), a, ExclusionReason::BeforeAdmission, 1, Bytes::from_tb(2)),
            (ip("10.0.0.1"), d, ExclusionReason::OtherAccount, 1, Bytes::from_tb(4)),
            (ip("10.9.9.9"), x, ExclusionReason::NotAdmitted, 1, Bytes::from_tb(3)),
        ]
    );
    assert_eq!((round.total(), round.records()), (Snm::from_whole(300), 5));

    // The round file carries the standing and exclusions and is the next round's input: C online
    // 10 more hours (26 h since admission) earns its 50 SNM; A's 10.0.0.2 reaches 24 h too.
    let files = round.write(&dir.join("out"))?;
    assert_eq!(Round::load(&files.round)?.exclusions(), round.exclusions());
    let previous = PreviousRound::load(&files.round, &campaign)?;
    assert_eq!(previous.accounts().len(), 3);
    write_availability(
        &dir.join("availability-2.jsonl"),
        &[
            available(c, "10.0.2.1", WorkerState::Ask, T0 + 64 * HOUR, 10),
            available(a, "10.0.0.2", WorkerState::Deal, T0 + 64 * HOUR, 4),
        ],
    )?;
    usage(&dir.join("usage-2.csv"), &[(b, "10.0.1.1", Bytes::new(Bytes::PER_TB / 2), T0 + 64 * HOUR)])?;
    let second = compute_round_with(
        &campaign,
        Some(&files.round),
        &RoundInputs {
            reports: vec![dir.join("usage-2.csv")],
            availability: vec![dir.join("availability.jsonl"), dir.join("availability-2.jsonl")],
            ..inputs
        },
    )?;
    let amounts: Vec<_> = [a, b, c]
        .iter()
        .map(|who| second.account(*who).map(|r| (r.ips, r.cumulative, r.round_amount)))
        .collect();
    assert_eq!(
        amounts,
        vec![
            Some((2, Snm::from_whole(300), Snm::from_whole(50))),
            Some((1, Snm::from_whole(100), Snm::from_whole(50))),
            Some((1, Snm::from_whole(50), Snm::from_whole(50))),
        ]
    );
    assert_eq!((second.total(), second.round_total()), (Snm::from_whole(450), Snm::from_whole(150)));
    fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn admission_without_min_online_pays_reported_ips_from_admission() -> Result {
    let dir = scratch("no-min-online");
    let a = key(1).address();
    let mut list = AdmissionList::new("operation-a");
    list.admitted = vec![snm_sdk::rewards::Admitted {
        account: a,
        ips: vec![ip("10.0.0.1"), ip("10.0.0.2")],
        stage: 1,
        admitted_from: T0,
    }];
    list.write(&dir.join("admission.json"))?;
    usage(
        &dir.join("u.csv"),
        &[(a, "10.0.0.1", Bytes::from_tb(1), T0), (a, "10.0.0.2", Bytes::from_tb(1), T0 - 1)],
    )?;
    let inputs = RoundInputs {
        reports: vec![dir.join("u.csv")],
        admission: Some(dir.join("admission.json")),
        availability: vec![],
        customer_reports: vec![],
    };
    let round = compute_round_with(&campaign(None), None, &inputs)?;
    let account = round.account(a).expect("A");
    // 10.0.0.1 from its admission second: 50 + 100 SNM; 10.0.0.2's record starts a second early.
    assert_eq!((account.ips, account.cumulative), (1, Snm::from_whole(150)));
    // Inputs that do not fit the campaign are refused, naming what is wrong.
    let plain = Campaign { admission: false, ..campaign(None) };
    assert!(matches!(compute_round_with(&plain, None, &inputs), Err(RewardsError::MissingInput(_))));
    let bare = RoundInputs { admission: None, ..inputs };
    assert!(matches!(compute_round_with(&campaign(None), None, &bare), Err(RewardsError::MissingInput(_))));
    fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn the_leaves_sum_to_the_total_over_random_admitted_campaigns() -> Result {
    let dir = scratch("property");
    let mut rng = StdRng::seed_from_u64(15);
    for case in 0..40 {
        let accounts: Vec<Address> =
            (0..rng.gen_range(1..12u8)).map(|k| Address::repeat_byte(k + 1)).collect();
        let mut list = AdmissionList::new("operation-a");
        let mut usage_rows = Vec::new();
        let mut availability = Vec::new();
        for (k, account) in accounts.iter().enumerate() {
            let ips: Vec<String> = (0..rng.gen_range(1..4)).map(|j| format!("10.{case}.{k}.{j}")).collect();
            let from = T0 + rng.gen_range(0..3u64) * 86_400;
            if rng.gen_bool(0.8) {
                list.admitted.push(snm_sdk::rewards::Admitted {
                    account: *account,
                    ips: ips.iter().map(|t| ip(t)).collect(),
                    stage: 1 + u32::from(from > T0),
                    admitted_from: from,
                });
            }
            list.admitted.sort_by_key(|a| a.stage);
            for at in &ips {
                for r in 0..rng.gen_range(0..4u64) {
                    let start = T0 + rng.gen_range(0..100u64) * HOUR + r;
                    usage_rows.push((
                        *account,
                        at.clone(),
                        Bytes::new(rng.gen_range(0..4_000_000_000_000u128)),
                        start,
                    ));
                }
                let state = [WorkerState::Ask, WorkerState::Deal, WorkerState::Idle][rng.gen_range(0..3)];
                availability.push(available(
                    *account,
                    at,
                    state,
                    T0 + rng.gen_range(0..50u64) * HOUR,
                    rng.gen_range(1..60),
                ));
            }
        }
        let rows: Vec<(Address, &str, Bytes, u64)> =
            usage_rows.iter().map(|(a, i, b, s)| (*a, i.as_str(), *b, *s)).collect();
        let report = dir.join(format!("u{case}.csv"));
        usage(&report, &rows)?;
        let avail = dir.join(format!("a{case}.jsonl"));
        write_availability(&avail, &availability)?;
        let admission = dir.join(format!("admission{case}.json"));
        list.write(&admission)?;
        let inputs = RoundInputs {
            reports: vec![report],
            admission: Some(admission),
            availability: vec![avail],
            customer_reports: vec![],
        };
        let round = match compute_round_with(&campaign(Some(OnlineTime::from_hours(24))), None, &inputs) {
            Err(RewardsError::NothingToDistribute) => continue,
            other => other?,
        };
        let leaves =
            round.tree().values().iter().try_fold(Snm::ZERO, |sum, (_, amount)| sum.checked_add(*amount));
        let accounts_sum =
            round.accounts().iter().try_fold(Snm::ZERO, |sum, a| sum.checked_add(a.cumulative));
        assert_eq!(leaves, Some(round.total()), "case {case}");
        assert_eq!(accounts_sum, Some(round.total()), "case {case}");
        // Only admitted IPs are owned, by their admitted account.
        let admitted = list.by_ip();
        for owner in round.ips() {
            assert_eq!(admitted.get(&owner.ip).map(|(a, _)| *a), Some(owner.owner), "case {case}");
        }
    }
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Operation A (100 SNM per TB) checking traffic from both sides within 5%.
fn two_sided(supplier_only: SupplierOnly) -> Campaign {
    Campaign {
        allow_private_ips: true,
        traffic_tolerance: Some("5%".parse().expect("a tolerance")),
        supplier_only_traffic: supplier_only,
        ..Campaign::operation_a(SnmPerUsd::from_whole(25))
    }
}

#[tokio::test]
async fn a_supplier_inflating_bytes_is_paid_on_the_customers_count_and_listed() -> Result {
    let dir = scratch("two-sided");
    let (a, b, c) = (key(1).address(), key(2).address(), key(3).address());
    let customer = key(9);
    // A's deal: A says 3 TB, the customer counted 1 TB (listed, paid 1 TB). B's: 1 TB against
    // 0.97 TB (within 5%, paid 0.97 TB, not listed). C's: only C reports it (1 TB). The customer
    // also reports a deal of B that B never did.
    usage(
        &dir.join("suppliers.csv"),
        &[
            (a, "10.0.0.1", Bytes::from_tb(3), T0),
            (b, "10.0.0.2", Bytes::from_tb(1), T0),
            (c, "10.0.0.3", Bytes::from_tb(1), T0),
        ],
    )?;
    let customer_report = dir.join("customer.csv");
    usage(
        &customer_report,
        &[
            (a, "10.0.0.1", Bytes::from_tb(1), T0),
            (b, "10.0.0.2", Bytes::new(970_000_000_000), T0),
            (b, "10.0.0.2", Bytes::from_tb(2), T0 + 7 * HOUR),
        ],
    )?;
    ReportSignature::sign_file(&customer, &customer_report).await?;
    let inputs = RoundInputs {
        reports: vec![dir.join("suppliers.csv")],
        customer_reports: vec![customer_report.clone()],
        ..RoundInputs::default()
    };
    let round = compute_round_with(&two_sided(SupplierOnly::Paid), None, &inputs)?;
    let paid: Vec<_> = [a, b, c].iter().map(|w| round.account(*w).map(|r| (r.bytes, r.cumulative))).collect();
    assert_eq!(
        paid,
        vec![
            Some((Bytes::from_tb(1), Snm::from_whole(150))),
            Some((Bytes::new(970_000_000_000), Snm::from_whole(147))),
            Some((Bytes::from_tb(1), Snm::from_whole(150))),
        ]
    );
    let listed: Vec<_> = round
        .discrepancies()
        .iter()
        .map(|d| (d.account, d.period_start, d.supplier_bytes, d.customer_bytes, d.paid_bytes))
        .collect();
    let mut expected = vec![
        (a, T0, Some(Bytes::from_tb(3)), Some(Bytes::from_tb(1)), Bytes::from_tb(1)),
        (b, T0 + 7 * HOUR, None, Some(Bytes::from_tb(2)), Bytes::ZERO),
        (c, T0, Some(Bytes::from_tb(1)), None, Bytes::from_tb(1)),
    ];
    expected.sort_by_key(|e| e.0);
    assert_eq!(listed, expected);
    // The round file keeps the list; a campaign that does not pay supplier-only deals pays C 50 SNM.
    let files = round.write(&dir.join("out"))?;
    assert_eq!(Round::load(&files.round)?.discrepancies(), round.discrepancies());
    let strict = compute_round_with(&two_sided(SupplierOnly::Unpaid), None, &inputs)?;
    assert_eq!(strict.account(c).map(|r| (r.bytes, r.cumulative)), Some((Bytes::ZERO, Snm::from_whole(50))));

    // A customer report altered after signing is refused, naming it; nothing is computed.
    let text = fs::read_to_string(&customer_report)?.replace("1000000000000,", "1000000000001,");
    fs::write(&customer_report, text)?;
    let err = compute_round_with(&two_sided(SupplierOnly::Paid), None, &inputs).expect_err("altered");
    assert!(
        matches!(&err, RewardsError::ReportSigner { claimed, .. } if *claimed == customer.address()),
        "{err}"
    );
    fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn an_offline_admitted_ip_earns_nothing() -> Result {
    let dir = scratch("offline");
    let (a, e) = (key(1).address(), key(5).address());
    let mut list = AdmissionList::new("operation-a");
    list.admitted = vec![
        snm_sdk::rewards::Admitted { account: a, ips: vec![ip("10.0.0.1")], stage: 1, admitted_from: T0 },
        snm_sdk::rewards::Admitted { account: e, ips: vec![ip("10.0.5.1")], stage: 1, admitted_from: T0 },
    ];
    list.write(&dir.join("admission.json"))?;
    usage(&dir.join("usage.csv"), &[])?;
    // E asked for 30 hours before its admission, then its worker was up with no ask for two days
    // (idle is not available): 0 seconds online. A asked for 30 hours after admission.
    write_availability(
        &dir.join("availability.jsonl"),
        &[
            available(a, "10.0.0.1", WorkerState::Ask, T0, 30),
            available(e, "10.0.5.1", WorkerState::Ask, T0 - 30 * HOUR, 30),
            available(e, "10.0.5.1", WorkerState::Idle, T0, 48),
        ],
    )?;
    let inputs = RoundInputs {
        reports: vec![dir.join("usage.csv")],
        admission: Some(dir.join("admission.json")),
        availability: vec![dir.join("availability.jsonl")],
        customer_reports: vec![],
    };
    let round = compute_round_with(&campaign(Some(OnlineTime::from_hours(24))), None, &inputs)?;
    assert_eq!(round.account(a).map(|r| (r.ips, r.cumulative)), Some((1, Snm::from_whole(50))));
    let offline = round.account(e).expect("E is listed");
    assert_eq!((offline.ips, offline.bytes, offline.cumulative), (0, Bytes::ZERO, Snm::ZERO));
    assert_eq!(
        offline.participation.as_ref().map(|p| (p.stage, p.ips_admitted, p.ips_online, p.online_seconds)),
        Some((1, 1, 0, 0))
    );
    assert!(round.claim(e).is_none());
    assert_eq!((round.total(), round.tree().values().len()), (Snm::from_whole(50), 1));
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Over random suppliers' and customers' figures (equal, lower, higher, missing on either side),
/// every account is paid on its records' smaller figures (its own for supplier-only deals), the
/// listed deals are exactly those beyond 5% or reported by one side, and the leaves sum to the
/// round's total.
#[tokio::test]
async fn the_leaves_sum_to_the_total_over_random_two_sided_figures() -> Result {
    let dir = scratch("two-sided-property");
    let mut rng = StdRng::seed_from_u64(1515);
    let customer = key(9);
    let tolerance = 500u128; // basis points
    for case in 0..25 {
        let accounts: Vec<Address> =
            (0..rng.gen_range(1..8u8)).map(|k| Address::repeat_byte(k + 1)).collect();
        let (mut supplier_rows, mut customer_rows) = (Vec::new(), Vec::new());
        let mut expected_bytes = std::collections::BTreeMap::<Address, u128>::new();
        let mut expected_listed = 0;
        for (k, account) in accounts.iter().enumerate() {
            let at = format!("10.{case}.{k}.1");
            expected_bytes.insert(*account, 0);
            for deal in 0..rng.gen_range(1..5u64) {
                let start = T0 + deal * HOUR;
                // At most 4 TB either side: a 10 Gbit/s line carries 4.5 TB in an hour.
                let supplier = rng.gen_range(0..3_000_000_000_000u128);
                let customer_figure = match rng.gen_range(0..4) {
                    0 => Some(supplier),
                    1 => Some(supplier - supplier / rng.gen_range(2..200)),
                    2 => Some(supplier + rng.gen_range(0..1_000_000_000_000)),
                    _ => None,
                };
                let only_customer = rng.gen_bool(0.1);
                if !only_customer {
                    supplier_rows.push((*account, at.clone(), Bytes::new(supplier), start));
                }
                if let Some(c) = customer_figure {
                    customer_rows.push((*account, at.clone(), Bytes::new(c), start));
                }
                let (paid, listed) = match (only_customer, customer_figure) {
                    (true, None) => (0, false),
                    (true, Some(_)) => (0, true),
                    (false, None) => (supplier, true),
                    (false, Some(c)) => {
                        let (low, high) = (supplier.min(c), supplier.max(c));
                        (low, (high - low) * 10_000 > tolerance * high)
                    }
                };
                *expected_bytes.entry(*account).or_default() += paid;
                expected_listed += usize::from(listed);
            }
        }
        let write = |path: &Path, rows: &[(Address, String, Bytes, u64)]| {
            let rows: Vec<(Address, &str, Bytes, u64)> =
                rows.iter().map(|(a, i, b, s)| (*a, i.as_str(), *b, *s)).collect();
            usage(path, &rows)
        };
        let (suppliers, customers) = (dir.join(format!("s{case}.csv")), dir.join(format!("c{case}.csv")));
        write(&suppliers, &supplier_rows)?;
        write(&customers, &customer_rows)?;
        ReportSignature::sign_file(&customer, &customers).await?;
        let inputs = RoundInputs {
            reports: vec![suppliers],
            customer_reports: vec![customers],
            ..RoundInputs::default()
        };
        let round = match compute_round_with(&two_sided(SupplierOnly::Paid), None, &inputs) {
            Err(RewardsError::NothingToDistribute) => continue,
            other => other?,
        };
        for (account, bytes) in &expected_bytes {
            let paid = round.account(*account).map_or(0, |r| r.bytes.get());
            assert_eq!(paid, *bytes, "case {case}, {account}");
        }
        assert_eq!(round.discrepancies().len(), expected_listed, "case {case}");
        let leaves =
            round.tree().values().iter().try_fold(Snm::ZERO, |sum, (_, amount)| sum.checked_add(*amount));
        assert_eq!(leaves, Some(round.total()), "case {case}");
    }
    fs::remove_dir_all(&dir)?;
    Ok(())
}
