//! Availability records on a devnet: an agent with `availability_report` writes its worker's spans
//! with an open ask, then with a running deal, in the reward engine's format; a campaign with
//! admission and `min_online` pays the admitted worker IP from them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::providers::DynProvider;
use snm_agent::{AgentConfig, AgentEvent, ProcessRuntime, SupplierAgent};
use snm_sdk::{
    Customer, Supplier,
    devnet::{Devnet, DevnetConfig},
    market::Purchase,
    rewards::{
        AdmissionList, Admitted, AvailabilityRecord, Campaign, OnlineTime, RoundInputs, WorkerState,
        compute_round_with,
    },
    units::{Snm, SnmPerUsd, Term},
};

const CARRIED: u64 = 1234;

type Agent = SupplierAgent<DynProvider, ProcessRuntime>;

fn records(path: &Path) -> Vec<AvailabilityRecord> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("an availability record"))
        .collect()
}

/// Runs rounds until `done` holds for the records written so far (30 s at most).
async fn run_until(
    agent: &mut Agent,
    path: &Path,
    done: impl Fn(&[AvailabilityRecord]) -> bool,
) -> Vec<AgentEvent> {
    let start = Instant::now();
    let mut seen = Vec::new();
    while !done(&records(path)) {
        assert!(start.elapsed() < Duration::from_secs(30), "no such record: {:#?}\n{seen:#?}", records(path));
        seen.extend(agent.step().await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen
}

#[tokio::test]
async fn the_agent_records_asking_then_dealing_and_the_campaign_pays_the_online_ip() {
    let dir: PathBuf = std::env::temp_dir().join(format!("snm-agent-availability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let devnet = Devnet::start_with(DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await.unwrap();
    let master = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let customer =
        Customer::new(devnet.connect(&devnet.new_account("1000 SNM".parse().unwrap()).await.unwrap()));
    customer.token().approve_market("1000 SNM".parse().unwrap()).await.unwrap();
    worker.market().request_worker(master.sender()).await.unwrap();

    let script = format!("echo '{{\"bytes\": {CARRIED}}}' > {{stats}}; exec sleep 600");
    let command = ["/bin/sh".to_owned(), "-c".to_owned(), script];
    let text = common::agent_toml(&worker, &command, "50ms").replace(
        "usage_report = \"usage.csv\"\n",
        "usage_report = \"usage.csv\"\navailability_report = \"availability.jsonl\"\navailability_period = \"2s\"\n",
    );
    let config = AgentConfig::from_toml(&text, &dir).unwrap();
    let path = config.availability.as_ref().map(|a| a.path.clone()).unwrap();
    let runtime = ProcessRuntime::new(config.command.clone(), config.workload_dir.clone()).unwrap();
    let (mut agent, _) = SupplierAgent::start(Supplier::new(master.clone()), config, runtime).await.unwrap();

    // Asking: a span of the open ask, cut at the next 2-second boundary.
    run_until(&mut agent, &path, |r| r.iter().any(|r| r.state == WorkerState::Ask)).await;
    let book = customer.market().order_book().await.unwrap();
    let ask = book.asks().find(|a| a.ask.master == master.sender()).unwrap().clone();
    let purchase = Purchase::new(Term::Spot, "100 SNM".parse().unwrap(), "snm/proxy:1");
    let deal = customer.quick_buy(&ask, &purchase).await.unwrap();
    // Dealing: a span of the running deal.
    run_until(&mut agent, &path, |r| r.iter().any(|r| r.state == WorkerState::Deal)).await;
    assert!(agent.state().deals.get(&deal.id).is_some_and(|d| d.workload.is_some()));

    let written = records(&path);
    for (k, record) in written.iter().enumerate() {
        assert_eq!(
            (record.account, record.worker, record.ip),
            (master.sender(), worker.sender(), "127.0.0.1".parse().unwrap())
        );
        assert!(record.period_start <= record.period_end, "{record:?}");
        assert_eq!(record.period_start / 2, record.period_end / 2, "within one period: {record:?}");
        if k > 0 {
            assert!(
                written[k - 1].period_end < record.period_start,
                "in order, never overlapping: {written:#?}"
            );
        }
        if record.state != WorkerState::Deal {
            assert_eq!(record.bytes.get(), 0, "no traffic without a deal: {record:?}");
        }
    }
    let traffic: u128 = written.iter().map(|r| r.bytes.get()).sum();
    assert!(traffic <= u128::from(CARRIED), "no more than the workload carried: {traffic}");

    // A campaign admitting the master's IP from the first record pays it 50 SNM once it was online
    // for `min_online` (1 s, the shortest span the records can show).
    let first = written[0].period_start;
    let mut list = AdmissionList::new("operation-a");
    list.admitted.push(Admitted {
        account: master.sender(),
        ips: vec!["127.0.0.1".parse().unwrap()],
        stage: 1,
        admitted_from: first,
    });
    list.write(&dir.join("admission.json")).unwrap();
    std::fs::write(dir.join("usage-empty.csv"), "account,ip,bytes,period_start,period_end\n").unwrap();
    let campaign = Campaign {
        allow_private_ips: true,
        admission: true,
        min_online: Some(OnlineTime::from_secs(1)),
        ..Campaign::operation_a(SnmPerUsd::from_whole(25))
    };
    let inputs = RoundInputs {
        reports: vec![dir.join("usage-empty.csv")],
        admission: Some(dir.join("admission.json")),
        availability: vec![path.clone()],
        customer_reports: vec![],
    };
    let round = compute_round_with(&campaign, None, &inputs).unwrap();
    let paid = round.account(master.sender()).unwrap();
    assert_eq!((paid.ips, paid.cumulative), (1, Snm::from_whole(50)));
    let online: u64 =
        written.iter().filter(|r| r.state.is_available()).map(|r| r.period_end - r.period_start + 1).sum();
    assert_eq!(paid.participation.as_ref().map(|p| p.online_seconds), Some(online));
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}
