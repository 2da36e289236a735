//! `snm campaign serve` (the operator's application endpoint) and `snm campaign apply --to`: two
//! masters apply over HTTP on 127.0.0.1 and are listed in order; a second application of one
//! master, an IP another account applied with, a forged signature, another campaign's application
//! and a body that is no application are each refused with the reason and store nothing; after
//! the server is killed and started again, everything it acknowledged is still there. Also `apply
//! --json` into a file, and its refusal as a JSON error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod harness;

use std::{path::Path, process::Stdio, time::Duration};

use alloy::{
    primitives::{Address, Bytes},
    signers::{Signer, local::PrivateKeySigner},
    transports::http::reqwest,
};
use harness::{assert_has, closed_port, key_hex, run_snm, scratch};
use snm_sdk::rewards::{
    Application, ApplicationRefusal, EndpointError, RefusalReason, WorkerIp, list_applications,
    submit_application,
};
use tokio::io::{AsyncBufReadExt, BufReader};

const CAMPAIGN: &str = r#"id = "operation-a"
name = "Operation A"
snm_per_ip = "50 SNM"
usd_per_tb = "$4"
snm_per_usd = "25 SNM/USD"
allow_private_ips = true
admission = true
min_online = "24h"
"#;
const WORKER: &str = "0x00000000000000000000000000000000000000f1";
const T0: u64 = 1_767_225_600;

/// A running `snm --json campaign serve` and the URL it printed.
struct Endpoint {
    child: tokio::process::Child,
    url: String,
}

impl Endpoint {
    async fn start(dir: &Path) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_snm"));
        command
            .args(["--json", "campaign", "serve", "--listen", "127.0.0.1:0", "--campaign"])
            .arg(dir.join("campaign.toml"))
            .arg("--applications")
            .arg(dir.join("applications.jsonl"))
            .env("HOME", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        for (name, _) in std::env::vars() {
            if name.starts_with("SNM_") {
                command.env_remove(name);
            }
        }
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // The first line is printed once the port is bound: the endpoint answers from then on.
        let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
            .await
            .expect("the endpoint did not say where it listens within 120 s")
            .unwrap()
            .expect("the endpoint exited before listening");
        println!("serve: {line}");
        let serving: serde_json::Value = serde_json::from_str(&line).unwrap();
        let url = serving["url"].as_str().unwrap().to_owned();
        assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/v1/applications"), "{url}");
        Self { child, url }
    }
}

async fn apply(dir: &Path, key: &PrivateKeySigner, args: &[&str]) -> harness::Run {
    let key = key_hex(key);
    run_snm(dir, args, &[("SNM_KEY", key.as_str())]).await
}

fn worker(ip: &str) -> String {
    format!("{WORKER}={ip}")
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn application_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

#[tokio::test]
async fn the_endpoint_accepts_refuses_with_the_reason_and_keeps_everything_over_a_restart() {
    let dir = scratch("campaign-endpoint");
    std::fs::write(dir.join("campaign.toml"), CAMPAIGN).unwrap();
    let applications = dir.join("applications.jsonl");
    let [a, b, c, d] = [(); 4].map(|()| PrivateKeySigner::random());
    let mut endpoint = Endpoint::start(&dir).await;
    let url = endpoint.url.clone();
    let time = T0.to_string();
    let to = |ip: &str| -> Vec<String> {
        [
            "campaign",
            "apply",
            "--campaign-id",
            "operation-a",
            "--to",
            &url,
            "--time",
            &time,
            "--worker",
            &worker(ip),
        ]
        .map(str::to_owned)
        .to_vec()
    };

    let first = apply(&dir, &a, &args(&to("10.0.0.1"))).await;
    assert_has(
        first.ok(),
        &[&format!(
            "{} applied for operation-a with 1 worker (application 1 accepted by {url})",
            a.address()
        )],
    );
    let mut json = vec!["--json".to_owned()];
    json.extend(to("10.0.1.1"));
    let second: serde_json::Value = apply(&dir, &b, &args(&json)).await.json();
    assert_eq!(second["account"], serde_json::json!(b.address()));
    assert_eq!(second["position"], 2);
    assert_eq!(second["workers"], 1);
    assert_eq!(second["endpoint"], url.as_str());
    assert!(second.get("applications").is_none(), "{second}");
    assert_eq!(application_lines(&applications), 2);

    // A second application of A, with another IP: refused, naming A's first application.
    let again = apply(&dir, &a, &args(&to("10.0.0.2"))).await;
    assert_has(
        again.failed(),
        &[
            "refused the application (duplicate)",
            &format!("{} has applied already (application 1)", a.address()),
        ],
    );
    // C claims B's IP: refused, naming the IP and B.
    let claimed = apply(&dir, &c, &args(&to("10.0.1.1"))).await;
    assert_has(
        claimed.failed(),
        &["(IP claimed)", &format!("IP 10.0.1.1 is claimed by {}, who applied with it first", b.address())],
    );
    // C signs an application in D's name: refused as forged, naming the real signer.
    let workers = vec![WorkerIp { worker: WORKER.parse().unwrap(), ip: "10.0.3.1".parse().unwrap() }];
    let mut forged = Application {
        campaign: "operation-a".into(),
        master: d.address(),
        workers: workers.clone(),
        time: T0,
        signature: Default::default(),
    };
    forged.signature = Bytes::copy_from_slice(&c.sign_hash(&forged.signing_hash()).await.unwrap().as_bytes());
    match submit_application(&url, &forged).await {
        Err(EndpointError::Refused { reason: RefusalReason::ForgedSignature, message, .. }) => assert_eq!(
            message,
            format!("the application of {} is signed by {}, not by the master", d.address(), c.address())
        ),
        other => panic!("a forged application should be refused as forged: {other:?}"),
    }
    // D's own application altered on the way (another IP): refused as forged too.
    let mut altered = Application::sign(&d, "operation-a", workers.clone(), T0).await.unwrap();
    altered.workers[0].ip = "10.0.3.2".parse().unwrap();
    match submit_application(&url, &altered).await {
        Err(EndpointError::Refused { reason: RefusalReason::ForgedSignature, message, .. }) => {
            assert!(message.ends_with("not by the master"), "{message}")
        }
        other => panic!("an altered application should be refused as forged: {other:?}"),
    }
    // An application for another campaign.
    let other = Application::sign(&d, "operation-b", workers, T0).await.unwrap();
    match submit_application(&url, &other).await {
        Err(EndpointError::Refused { reason: RefusalReason::WrongCampaign, message, .. }) => {
            assert_eq!(message, "the application is for campaign `operation-b`, not `operation-a`")
        }
        other => panic!("another campaign's application should be refused: {other:?}"),
    }
    // A body that is no application: 400 with the reason.
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"campaign":"operation-a"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let refusal: ApplicationRefusal = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(refusal.reason, RefusalReason::Malformed);
    assert!(refusal.message.starts_with("not an application: missing field"), "{}", refusal.message);
    assert_eq!(application_lines(&applications), 2, "a refusal stores nothing");

    let listed = list_applications(&url).await.unwrap();
    assert_eq!(listed.campaign, "operation-a");
    let masters = |list: &[Application]| list.iter().map(|x| x.master).collect::<Vec<Address>>();
    assert_eq!(masters(&listed.applications), [a.address(), b.address()]);
    for application in &listed.applications {
        application.verify().unwrap();
    }

    // Killed without warning, then started again: the two acknowledged applications are there and
    // still refuse a duplicate and a claimed IP; the next one is third.
    endpoint.child.kill().await.unwrap();
    let endpoint = Endpoint::start(&dir).await;
    let url = endpoint.url.clone();
    let relisted = list_applications(&url).await.unwrap();
    assert_eq!(relisted, listed);
    let to = |ip: &str| -> Vec<String> {
        [
            "campaign",
            "apply",
            "--campaign-id",
            "operation-a",
            "--to",
            &url,
            "--time",
            &time,
            "--worker",
            &worker(ip),
        ]
        .map(str::to_owned)
        .to_vec()
    };
    assert_has(apply(&dir, &b, &args(&to("10.0.1.2"))).await.failed(), &["(duplicate)"]);
    assert_has(apply(&dir, &c, &args(&to("10.0.0.1"))).await.failed(), &["(IP claimed)"]);
    assert_has(apply(&dir, &c, &args(&to("10.0.2.1"))).await.ok(), &["(application 3 accepted by"]);
    assert_eq!(masters(&list_applications(&url).await.unwrap().applications), [a, b, c].map(|k| k.address()));

    // SIGTERM stops it cleanly.
    let pid = nix::unistd::Pid::from_raw(endpoint.child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut child = endpoint.child;
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn apply_to_checks_the_url_and_names_an_endpoint_that_does_not_answer() {
    let dir = scratch("campaign-endpoint-bad");
    let key = PrivateKeySigner::random();
    let base = ["campaign", "apply", "--campaign-id", "operation-a", "--worker"];
    let w = worker("10.0.0.1");
    let mut args: Vec<&str> = base.to_vec();
    args.extend([w.as_str(), "--to", "ftp://127.0.0.1/x"]);
    let bad = apply(&dir, &key, &args).await;
    assert_has(
        bad.failed_with(2),
        &["--to `ftp://127.0.0.1/x`: expected the operator's endpoint as an http:// or https:// URL"],
    );

    let closed = format!("http://127.0.0.1:{}", closed_port());
    let mut args: Vec<&str> = base.to_vec();
    args.extend([w.as_str(), "--to", closed.as_str()]);
    assert_has(apply(&dir, &key, &args).await.failed(), &[&format!("{closed}/v1/applications")]);

    let mut args: Vec<&str> = base.to_vec();
    args.push(w.as_str());
    assert_has(apply(&dir, &key, &args).await.failed_with(2), &["required arguments were not provided"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn apply_json_into_a_file_prints_one_document_and_a_refusal_as_a_json_error() {
    let dir = scratch("campaign-apply-json");
    let file = dir.join("applications.jsonl");
    let (a, b) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    let args = |ip: &str| -> Vec<String> {
        let w = worker(ip);
        ["--json", "campaign", "apply", "--campaign-id", "operation-a", "--worker", &w, "--applications"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain([file.to_str().unwrap().to_owned(), "--time".into(), T0.to_string()])
            .collect()
    };
    let run = |key: PrivateKeySigner, ip: &'static str| {
        let dir = dir.clone();
        let args = args(ip);
        async move { apply(&dir, &key, &self::args(&args)).await }
    };
    let applied: serde_json::Value = run(a.clone(), "10.0.0.1").await.json();
    assert_eq!(
        applied,
        serde_json::json!({
            "account": a.address(),
            "campaign_id": "operation-a",
            "workers": 1,
            "position": 1,
            "applications": file.to_str().unwrap(),
        })
    );
    let refused = run(b.clone(), "10.0.0.1").await;
    assert_ne!(refused.code, Some(0));
    let error = refused.json_error();
    assert_eq!(
        error.message,
        format!("IP 10.0.0.1 is claimed by {}, who applied with it first", a.address())
    );
    assert_eq!(application_lines(&file), 1);
    let second: serde_json::Value = run(b.clone(), "10.0.0.2").await.json();
    assert_eq!(second["position"], 2);
    // The stored line is the signed application, checked as the engine checks it.
    let line = std::fs::read_to_string(&file).unwrap();
    let stored: Application = serde_json::from_str(line.lines().nth(1).unwrap()).unwrap();
    stored.verify().unwrap();
    assert_eq!(stored.master, b.address());
    std::fs::remove_dir_all(&dir).unwrap();
}
