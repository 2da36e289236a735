//! `snm campaign apply`, `admit`, `compute` with admission and availability, and `status
//! --account`: three suppliers apply (a fourth, claiming an applied IP, is refused with the
//! reason), two are admitted at stage 1 and one at stage 2, and the round pays the idle-but-online
//! one, not the one admitted too late to be online long enough, with exact amounts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod harness;

use std::path::Path;

use harness::{Scene, assert_has};
use snm_sdk::{
    devnet::DevnetConfig,
    rewards::{AvailabilityRecord, Round, WorkerState},
    units::{Bytes, Snm},
};

const SNM_CAMPAIGN: &[&str] = &["campaign"];
const T0: u64 = 1_767_225_600;
const HOUR: u64 = 3600;

/// Operation A at 25 SNM per USD (100 SNM per TB) with admission: an IP is paid once online 24 h.
const CAMPAIGN: &str = r#"id = "operation-a"
name = "Operation A"
snm_per_ip = "50 SNM"
usd_per_tb = "$4"
snm_per_usd = "25 SNM/USD"
allow_private_ips = true
admission = true
min_online = "24h"
"#;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test]
async fn applies_admits_in_stages_computes_and_shows_where_an_account_stands() {
    let scene = Scene::start("campaign-admission", DevnetConfig { accounts: 4, ..Default::default() }).await;
    let keys: Vec<_> = (0..4).map(|k| scene.devnet.signer(k).unwrap().clone()).collect();
    let (a, b, c) = (keys[0].address(), keys[1].address(), keys[2].address());
    let (campaign, applications, admission) =
        (scene.path("campaign.toml"), scene.path("applications.jsonl"), scene.path("admission.json"));
    std::fs::write(&campaign, CAMPAIGN).unwrap();
    let worker = "0x00000000000000000000000000000000000000f1";
    for (key, ip, time) in
        [(&keys[0], "10.0.0.1", T0 - 50), (&keys[1], "10.0.1.1", T0 - 40), (&keys[2], "10.0.2.1", T0 - 30)]
    {
        let applied = scene
            .run(
                SNM_CAMPAIGN,
                Some(key),
                &[
                    "apply",
                    "--campaign-id",
                    "operation-a",
                    "--worker",
                    &format!("{worker}={ip}"),
                    "--applications",
                    s(&applications),
                    "--time",
                    &time.to_string(),
                ],
            )
            .await;
        assert_has(applied.ok(), &["applied for operation-a with 1 worker"]);
    }
    // A fourth account claims B's IP: refused, naming the IP and B; nothing written.
    let refused = scene
        .run(
            SNM_CAMPAIGN,
            Some(&keys[3]),
            &[
                "apply",
                "--campaign-id",
                "operation-a",
                "--worker",
                &format!("{worker}=10.0.1.1"),
                "--applications",
                s(&applications),
            ],
        )
        .await;
    assert_has(refused.failed(), &[&format!("IP 10.0.1.1 is claimed by {b}, who applied with it first")]);
    assert_eq!(std::fs::read_to_string(&applications).unwrap().lines().count(), 3);
    // A bad --worker names the value and what is expected.
    let bad = scene
        .run(
            SNM_CAMPAIGN,
            Some(&keys[3]),
            &[
                "apply",
                "--campaign-id",
                "operation-a",
                "--worker",
                "10.0.3.1",
                "--applications",
                s(&applications),
            ],
        )
        .await;
    assert_eq!(bad.code, Some(2), "a usage error: {}", bad.stderr);
    assert_has(&bad.stderr, &["`10.0.3.1`", "ADDRESS=IP"]);

    // Stage 1: the next two in application order (A, B) from T0; stage 2: C a day later.
    let admit = |stage: &'static str, who: Vec<String>, from: u64| {
        let mut args = vec![
            "admit".to_owned(),
            "--campaign".into(),
            s(&campaign).into(),
            "--applications".into(),
            s(&applications).into(),
            "--admission".into(),
            s(&admission).into(),
            "--stage".into(),
            stage.into(),
            "--from".into(),
            from.to_string(),
        ];
        args.extend(who);
        args
    };
    let first = admit("1", vec!["--count".into(), "2".into()], T0);
    let out = scene.run(SNM_CAMPAIGN, None, &first.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_has(
        out.ok(),
        &["stage 1: admitted 2 accounts", "(2 admitted in all, 1 waiting)", &a.to_string(), &b.to_string()],
    );
    let second = admit("2", vec!["--accounts".into(), c.to_string()], T0 + 86_400);
    let out = scene.run(SNM_CAMPAIGN, None, &second.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_has(out.ok(), &["stage 2: admitted 1 account", "(3 admitted in all, 0 waiting)"]);
    // Going back to stage 1 is refused.
    let back = admit("1", vec!["--count".into(), "1".into()], T0);
    let out = scene.run(SNM_CAMPAIGN, None, &back.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(out.ok().contains("admitted 0 accounts"), "nobody is left to admit");
    // The same in JSON.
    let out =
        scene.run(&["--json", "campaign"], None, &back.iter().map(String::as_str).collect::<Vec<_>>()).await;
    out.ok();
    let json: serde_json::Value = out.json();
    assert_eq!(
        (
            json["stage"].as_u64(),
            json["admitted"].as_array().map(Vec::len),
            json["admitted_in_all"].as_u64(),
            json["waiting"].as_u64()
        ),
        (Some(1), Some(0), Some(3), Some(0))
    );

    // A: a deal for 48 h and 1 TB (150 SNM); B: asking 30 h, never bought (50 SNM); C: online
    // 40 h from T0 but admitted a day later, 16 h since (0 SNM).
    let usage = scene.path("usage.csv");
    std::fs::write(
        &usage,
        format!(
            "account,ip,bytes,period_start,period_end\n{a},10.0.0.1,1000000000000,{},{}\n",
            T0 + HOUR,
            T0 + 2 * HOUR - 1
        ),
    )
    .unwrap();
    let record = |account, ip: &str, state, hours: u64| AvailabilityRecord {
        account,
        worker: worker.parse().unwrap(),
        ip: ip.parse().unwrap(),
        period_start: T0,
        period_end: T0 + hours * HOUR - 1,
        state,
        bytes: Bytes::ZERO,
    };
    let availability = scene.path("availability.jsonl");
    let lines: String = [
        record(a, "10.0.0.1", WorkerState::Deal, 48),
        record(b, "10.0.1.1", WorkerState::Ask, 30),
        record(c, "10.0.2.1", WorkerState::Ask, 40),
    ]
    .iter()
    .map(AvailabilityRecord::to_json_line)
    .collect();
    std::fs::write(&availability, lines).unwrap();
    let rounds = scene.path("rounds");
    let computed = scene
        .run(
            SNM_CAMPAIGN,
            None,
            &[
                "compute",
                "--campaign",
                s(&campaign),
                "--reports",
                s(&usage),
                "--admission",
                s(&admission),
                "--availability",
                s(&availability),
                "--out",
                s(&rounds),
            ],
        )
        .await;
    assert_has(
        computed.ok(),
        &[
            "admitted accounts (an IP is paid once available for 1d):",
            "48.0 h",
            "30.0 h",
            "16.0 h",
            "total 200 SNM over 3 accounts",
        ],
    );
    let round = Round::load(&rounds.join("round-1.json")).unwrap();
    let amounts: Vec<_> = [a, b, c].iter().map(|who| round.account(*who).map(|r| r.cumulative)).collect();
    assert_eq!(amounts, vec![Some(Snm::from_whole(150)), Some(Snm::from_whole(50)), Some(Snm::ZERO)]);

    // Without the admission list the campaign refuses to compute.
    let missing = scene
        .run(
            SNM_CAMPAIGN,
            None,
            &["compute", "--campaign", s(&campaign), "--reports", s(&usage), "--out", s(&scene.path("none"))],
        )
        .await;
    assert_has(missing.failed(), &["admission = true: give its admission list"]);

    let status = |who: String| {
        let round = rounds.join("round-1.json");
        let (campaign, applications, admission) =
            (s(&campaign).to_owned(), s(&applications).to_owned(), s(&admission).to_owned());
        vec![
            "status".to_owned(),
            "--account".into(),
            who,
            "--campaign".into(),
            campaign,
            "--applications".into(),
            applications,
            "--admission".into(),
            admission,
            "--round".into(),
            s(&round).to_owned(),
        ]
    };
    let args = status(b.to_string());
    let out = scene.run(SNM_CAMPAIGN, None, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_has(
        out.ok(),
        &[
            "applied   yes: application 2",
            "admitted  at stage 1, from 1767225600",
            "online    30.0 h (1 of 1 IPs online long enough)",
            "earned    50 SNM",
        ],
    );
    let args = status(c.to_string());
    let out = scene.run(SNM_CAMPAIGN, None, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_has(
        out.ok(),
        &[
            "admitted  at stage 2, from 1767312000",
            "online    16.0 h (0 of 1 IPs online long enough)",
            "earned    0 SNM",
        ],
    );
    let args = status(c.to_string());
    let out =
        scene.run(&["--json", "campaign"], None, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    out.ok();
    let json: serde_json::Value = out.json();
    assert_eq!(json["account"], serde_json::json!(c));
    assert_eq!(
        (json["admission"]["stage"].as_u64(), json["admission"]["admitted_from"].as_u64()),
        (Some(2), Some(1767312000))
    );
    let args = status(keys[3].address().to_string());
    let out = scene.run(SNM_CAMPAIGN, None, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_has(out.ok(), &["applied   no", "admitted  no", "earned    0 SNM"]);
}
