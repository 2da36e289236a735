//! `snm campaign` against a devnet: two rounds of a campaign computed from report files, published
//! by the operator, claimed by a supplier for itself and by a third party for everyone, with exact
//! balances after each claim; and the refusals: a malformed report (file and line named, nothing
//! written or published), a round file or previous round that does not add up, a key that is not
//! the operator's, claiming twice, a stale or unaccepted dump. Also the distributor's delay waited
//! out with progress.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod harness;

use std::{path::Path, time::Duration};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use harness::{Scene, assert_has, snm};
use snm_sdk::{devnet::DevnetConfig, rewards::Round, units::Snm};

const SNM_CAMPAIGN: &[&str] = &["campaign"];

/// Operation A at 25 SNM per USD: 50 SNM per IP, 100 SNM per TB (one byte = 10^8 wei), counting
/// the private IPs (10.x.y.z) of the tests' reports.
const CAMPAIGN: &str = r#"id = "operation-a"
name = "Operation A"
snm_per_ip = "50 SNM"
usd_per_tb = "$4"
snm_per_usd = "25 SNM/USD"
allow_private_ips = true
"#;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test]
async fn computes_publishes_and_claims_two_rounds() {
    let scene = Scene::start("operation-a-rounds", DevnetConfig { accounts: 3, ..Default::default() }).await;
    let operator = scene.devnet.signer(0).unwrap().clone();
    let supplier = scene.devnet.signer(1).unwrap().clone(); // claims for itself
    let payer = scene.devnet.signer(2).unwrap().clone(); // claims for everyone
    let (a, b, c) =
        (supplier.address(), PrivateKeySigner::random().address(), PrivateKeySigner::random().address());
    let client = scene.devnet.client(0).unwrap();
    let balance = async |account: Address| client.token().balance(account).await.unwrap();
    let (campaign, rounds) = (scene.path("campaign.toml"), scene.path("rounds"));
    write(&campaign, CAMPAIGN);

    // Round 1: A 1 TB on one IP (150 SNM); B 0.5 TB (100 SNM) and a later claim on A's IP,
    // excluded; C 123,456,789 bytes (50.0123456789 SNM).
    let week1 = scene.path("week1.csv");
    write(
        &week1,
        &format!(
            "account,ip,bytes,period_start,period_end\n\
             {a},10.0.0.1,1000000000000,1000,1999\n\
             {b},10.0.0.2,500000000000,1000,1999\n\
             {b},10.0.0.1,7000000000000,1500,9999\n\
             {c},10.0.0.3,123456789,1000,1999\n"
        ),
    );
    let computed = scene
        .run(
            SNM_CAMPAIGN,
            None,
            &["compute", "--campaign", s(&campaign), "--reports", s(&week1), "--out", s(&rounds)],
        )
        .await;
    let out = computed.ok();
    assert_has(
        out,
        &[
            "Operation A (operation-a): 50 SNM per unique IP, 4 USD per TB at 25 SNM/USD",
            "round 1 (the first): 4 records",
            "1 conflict (the excluded account's records on the IP are not paid)",
            "earlier_period_start",
            "total 300.0123456789 SNM over 3 accounts (300.0123456789 SNM this round)",
        ],
    );
    let row = |account: Address| {
        out.lines()
            .find(|l| l.starts_with(&account.to_string()))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row(a), format!("{a} 1 1 1 TB 1 TB 150 SNM 150 SNM"));
    assert_eq!(
        row(c),
        format!("{c} 1 1 0.000123456789 TB 0.000123456789 TB 50.0123456789 SNM 50.0123456789 SNM")
    );
    let (round_file, dump1) = (rounds.join("round-1.json"), rounds.join("round-1.merkle.json"));
    let round1 = Round::load(&round_file).unwrap();
    assert_has(out, &[&format!("root  {}", round1.root())]);

    let status = scene.run(SNM_CAMPAIGN, None, &["status"]).await;
    assert_has(status.ok(), &["accepted round  none yet", "funded          0 SNM", "pending         none"]);

    // The operator publishes it: funds the total, proposes, accepts (no delay on this devnet).
    let published =
        scene.run(SNM_CAMPAIGN, Some(&operator), &["publish", "--round", s(&round_file), "--accept"]).await;
    assert_has(
        published.ok(),
        &[
            "funding 300.0123456789 SNM: the round's total minus the 0 SNM funded so far",
            "proposed as round 1 (proofs at file://",
            "accepted round 1",
            &format!("root            {}", round1.root()),
            "funded          300.0123456789 SNM",
        ],
    );
    let on_chain = scene.devnet.operator().unwrap().distributor().unwrap().status().await.unwrap();
    assert_eq!((on_chain.round, on_chain.root, on_chain.funded), (1, round1.root(), round1.total()));
    // Again: nothing more happens.
    let again =
        scene.run(SNM_CAMPAIGN, Some(&operator), &["publish", "--round", s(&round_file), "--accept"]).await;
    assert_has(again.ok(), &["round 1 is already accepted"]);
    assert_eq!(
        scene.devnet.operator().unwrap().distributor().unwrap().status().await.unwrap().funded,
        round1.total()
    );
    // Only the operator publishes.
    let not_owner = scene.run(SNM_CAMPAIGN, Some(&supplier), &["publish", "--round", s(&round_file)]).await;
    assert_has(
        not_owner.failed(),
        &[&format!("{a} is not the distributor's owner ({})", operator.address())],
    );

    // A claims for itself, once.
    let before = balance(a).await;
    let claimed = scene.run(SNM_CAMPAIGN, Some(&supplier), &["claim", "--dump", s(&dump1)]).await;
    assert_has(claimed.ok(), &[&format!("claimed for {a} under round 1"), "paid now        150 SNM", "gas "]);
    assert_eq!(balance(a).await, before.checked_add(snm("150 SNM")).unwrap());
    let twice = scene.run(SNM_CAMPAIGN, Some(&supplier), &["claim", "--dump", s(&dump1)]).await;
    assert_has(
        twice.failed(),
        &[&format!("nothing left to claim: {a} has already claimed 150 SNM, all of its cumulative 150 SNM")],
    );
    assert_eq!(balance(a).await, before.checked_add(snm("150 SNM")).unwrap());

    // The payer claims for everyone, by multiproof: A is skipped, B and C are paid exactly, the
    // payer pays gas only.
    let payer_before = balance(payer.address()).await;
    // A payouts file that cannot be written stops the sweep before anything is sent.
    let unwritable = scene.path("no-such-dir").join("payouts.csv");
    let refused = scene
        .run(
            SNM_CAMPAIGN,
            Some(&payer),
            &["claim", "--dump", s(&dump1), "--all", "--payouts", s(&unwritable)],
        )
        .await;
    assert_has(refused.failed(), &[&format!("{}: cannot write the payouts", unwritable.display())]);
    assert_eq!((balance(b).await, balance(c).await), (Snm::ZERO, Snm::ZERO));
    let payouts = scene.path("payouts.csv");
    let all = scene
        .run(SNM_CAMPAIGN, Some(&payer), &["claim", "--dump", s(&dump1), "--all", "--payouts", s(&payouts)])
        .await;
    let out = all.ok();
    assert_has(
        out,
        &[
            "3 accounts in the dump, 1 with nothing left to claim; paying 2 in 1 batch of up to 100 (claimMultiproof, in tree order)",
            "batch 1/1: paid 150.0123456789 SNM to 2 of 2 accounts, gas ",
            " per account (tx 0x",
            "paid 150.0123456789 SNM to 2 accounts; gas ",
            " in 1 transaction (",
            " per account sent)",
        ],
    );
    // The table lists B and C in the multiproof's order (tree order), with what each was paid.
    let row =
        |account: Address| out.lines().find(|l| l.starts_with(&account.to_string())).unwrap().to_owned();
    assert_has(&row(b), &["100 SNM"]);
    assert_has(&row(c), &["50.0123456789 SNM"]);
    let tree_order: Vec<Address> = round1.tree().multi_proof(&[b, c]).unwrap().accounts().collect();
    let (first, second) = (tree_order[0], tree_order[1]);
    let (at_first, at_second) = (out.find(&row(first)).unwrap(), out.find(&row(second)).unwrap());
    assert!(at_first < at_second, "{out}");
    assert_eq!((balance(b).await, balance(c).await), (snm("100 SNM"), snm("50.0123456789 SNM")));
    assert_eq!(balance(payer.address()).await, payer_before);
    // The payouts file has the same payments, in wei, with the batch's transaction.
    let record = std::fs::read_to_string(&payouts).unwrap();
    let lines: Vec<&str> = record.lines().collect();
    assert_eq!(lines[0], "account,cumulative_wei,claimed_before_wei,paid_wei,transaction");
    let transaction = out.split("(tx ").nth(1).unwrap().split(')').next().unwrap();
    assert_eq!(
        lines[1..],
        [first, second].map(|account| {
            let paid = if account == b { snm("100 SNM") } else { snm("50.0123456789 SNM") };
            format!("{account},{},0,{},{transaction}", paid.wei(), paid.wei())
        }),
        "{record}"
    );
    let nothing = scene.run(SNM_CAMPAIGN, Some(&payer), &["claim", "--dump", s(&dump1), "--all"]).await;
    assert_has(
        nothing.ok(),
        &["3 accounts in the dump, every one has claimed its whole amount: nothing left to claim"],
    );

    // Round 2: A 1 TB more on its IP (+100 SNM), C a new IP without traffic (+50 SNM); B unchanged.
    let week2 = scene.path("week2.jsonl");
    write(
        &week2,
        &format!(
            "{{\"account\":\"{a}\",\"ip\":\"10.0.0.1\",\"bytes\":1000000000000,\"period_start\":5000,\"period_end\":5999}}\n\
             {{\"account\":\"{c}\",\"ip\":\"10.0.0.4\",\"bytes\":0,\"period_start\":5000,\"period_end\":5999}}\n"
        ),
    );
    let previous = s(&round_file);
    let computed = scene
        .run(
            SNM_CAMPAIGN,
            None,
            &[
                "--json",
                "compute",
                "--campaign",
                s(&campaign),
                "--reports",
                s(&week2),
                "--previous",
                previous,
                "--out",
                s(&rounds),
            ],
        )
        .await;
    computed.ok();
    // With --json: the files written and the round as its file holds it.
    let computed: serde_json::Value = computed.json();
    let round2_file = rounds.join("round-2.json");
    assert_eq!(computed["round_file"], s(&round2_file));
    assert_eq!(computed["merkle_file"], s(&rounds.join("round-2.merkle.json")));
    assert_eq!(
        computed["round"],
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&round2_file).unwrap()).unwrap()
    );
    assert_eq!(
        (computed["round"]["round"].as_u64(), computed["round"]["total_wei"].as_str()),
        (Some(2), Some("450012345678900000000"))
    );
    let published =
        scene.run(SNM_CAMPAIGN, Some(&operator), &["publish", "--round", s(&round2_file), "--accept"]).await;
    assert_has(
        published.ok(),
        &[
            "funding 150 SNM: the round's total minus the 300.0123456789 SNM funded so far",
            "accepted round 2",
        ],
    );
    // Round 1's proofs are stale now.
    let stale = scene.run(SNM_CAMPAIGN, Some(&supplier), &["claim", "--dump", s(&dump1)]).await;
    assert_has(stale.failed(), &["is of round 1, replaced by round 2: claim with round 2's dump"]);
    // A claims its part as a supplier does, from the proofs file (JSON).
    let (a_before, c_before) = (balance(a).await, balance(c).await);
    let dump2 = rounds.join("round-2.merkle.json");
    let own = scene.run(&["--json", "supplier", "claim"], Some(&supplier), &["--proofs", s(&dump2)]).await;
    own.ok();
    let own: serde_json::Value = own.json();
    assert_eq!(
        (&own["account"], own["round"].as_u64(), &own["cumulative"], &own["claimed_before"], &own["paid"]),
        (
            &serde_json::json!(a),
            Some(2),
            &serde_json::json!("250 SNM"),
            &serde_json::json!("150 SNM"),
            &serde_json::json!("100 SNM")
        )
    );
    assert_eq!(balance(a).await, a_before.checked_add(snm("100 SNM")).unwrap());
    // One account per batch, by claimMany, in JSON: A and B skipped, C paid.
    let all = scene
        .run(
            SNM_CAMPAIGN,
            Some(&payer),
            &["--json", "claim", "--dump", s(&dump2), "--all", "--batch", "1", "--claim-many"],
        )
        .await;
    all.ok();
    let all: serde_json::Value = all.json();
    assert_eq!(
        (all["round"].as_u64(), all["accounts"].as_u64(), all["paying"].as_u64(), all["method"].as_str()),
        (Some(2), Some(3), Some(1), Some("claimMany"))
    );
    assert_eq!(all["batches"].as_array().unwrap().len(), 1);
    assert_eq!(all["batches"][0]["paid"], serde_json::json!([[c, "50 SNM"]]));
    assert_eq!(all["total"], "50 SNM");
    assert_eq!(balance(c).await, c_before.checked_add(snm("50 SNM")).unwrap());
    assert_eq!(balance(b).await, snm("100 SNM"));

    let status = scene.run(SNM_CAMPAIGN, None, &["status"]).await;
    assert_has(
        status.ok(),
        &[
            "accepted round  2",
            "total           450.0123456789 SNM",
            "funded          450.0123456789 SNM",
            "claimed         450.0123456789 SNM",
            "unclaimed       0 SNM",
            "held            0 SNM",
        ],
    );
    let status = scene.run(SNM_CAMPAIGN, None, &["--json", "status"]).await;
    status.ok();
    let status: serde_json::Value = status.json();
    assert_eq!(
        (
            status["reward"]["round"].as_u64(),
            &status["claimed"],
            &status["held"],
            status["delay_seconds"].as_u64()
        ),
        (Some(2), &serde_json::json!("450.0123456789 SNM"), &serde_json::json!("0 SNM"), Some(0))
    );
    let again = scene
        .run(SNM_CAMPAIGN, Some(&operator), &["--json", "publish", "--round", s(&round2_file), "--accept"])
        .await;
    again.ok();
    let again: serde_json::Value = again.json();
    assert_eq!((again["round"].as_u64(), again["accepted"].as_bool()), (Some(2), Some(true)));
}

#[tokio::test]
async fn refuses_bad_input_and_waits_out_the_delay() {
    let config = DevnetConfig { accounts: 2, reward_delay: Duration::from_secs(4), ..Default::default() };
    let scene = Scene::start("operation-a-refusals", config).await;
    let operator = scene.devnet.signer(0).unwrap().clone();
    let supplier = scene.devnet.signer(1).unwrap().clone();
    let a = supplier.address();
    let (campaign, rounds) = (scene.path("campaign.toml"), scene.path("rounds"));
    write(&campaign, CAMPAIGN);
    let compute = |reports: &Path| {
        ["compute", "--campaign", s(&campaign), "--reports", s(reports), "--out", s(&rounds)]
            .map(str::to_owned)
    };
    let unchanged = async || {
        let status = scene.devnet.operator().unwrap().distributor().unwrap().status().await.unwrap();
        assert_eq!(
            (status.round, status.funded, status.pending),
            (0, Snm::ZERO, None),
            "nothing was published"
        );
    };

    // A malformed line, CSV or JSON: file, line and reason; no round written.
    let malformed = [
        (
            "bad.csv",
            format!("account,ip,bytes,period_start,period_end\n{a},10.0.0.1,1,1,2\n{a},10.0.0.300,1,1,2\n"),
            ":3: `10.0.0.300` is not an IP address",
        ),
        (
            "bad.jsonl",
            format!(
                "{{\"account\":\"{a}\",\"ip\":\"10.0.0.1\",\"bytes\":1,\"period_start\":1,\"period_end\":2}}\n{{\"account\":\n"
            ),
            ":2: malformed JSON record",
        ),
        (
            "zero.csv",
            format!("account,ip,bytes,period_start,period_end\n{},10.0.0.1,1,1,2\n", Address::ZERO),
            ":2: the payout account is the zero address: nobody could ever claim its reward",
        ),
        (
            "huge.csv",
            format!(
                "account,ip,bytes,period_start,period_end\n{a},10.0.0.1,1234567890123456789012345678901,0,86399\n"
            ),
            ":2: 1234567890123456789012345678901 bytes in 86400 s are more than a 10 Gbit/s line carries",
        ),
        (
            "broadcast.csv",
            format!(
                "account,ip,bytes,period_start,period_end\n{a},10.0.0.1,1,1,2\n{a},255.255.255.255,1,1,2\n"
            ),
            ":3: `255.255.255.255` is broadcast: no worker has it",
        ),
        (
            "unspecified.csv",
            format!("account,ip,bytes,period_start,period_end\n{a},0.0.0.0,1,1,2\n"),
            ":2: `0.0.0.0` is unspecified: no worker has it",
        ),
        (
            "twice.csv",
            format!("account,ip,bytes,period_start,period_end\n{a},10.0.0.1,1,1,2\n{a},10.0.0.1,1,1,2\n"),
            ":3: the same record (account, IP, bytes and period) as at ",
        ),
        (
            "bom.jsonl",
            format!(
                "\u{feff}{{\"account\":\"{a}\",\"ip\":\"10.0.0.1\",\"bytes\":1,\"period_start\":1,\"period_end\":2}}\n"
            ),
            ":1: the line starts with a UTF-8 byte-order mark (BOM)",
        ),
        (
            "null.jsonl",
            format!(
                "{{\"account\":\"{a}\",\"ip\":\"10.0.0.1\",\"bytes\":null,\"period_start\":1,\"period_end\":2}}\n"
            ),
            ":1: `bytes` is null: expected a whole number of bytes",
        ),
    ];
    for (name, text, reason) in malformed {
        let report = scene.path(name);
        write(&report, &text);
        let refused = scene.run(SNM_CAMPAIGN, None, &compute(&report).each_ref().map(String::as_str)).await;
        assert_has(refused.failed(), &[&format!("{}{reason}", report.display())]);
    }
    // The same file under two names; loopback IPs under a campaign that does not count them.
    let once = scene.path("once.csv");
    write(&once, &format!("account,ip,bytes,period_start,period_end\n{a},127.0.0.1,1,1,2\n"));
    let again = once.parent().unwrap().join(".").join("once.csv");
    let args = ["compute", "--campaign", s(&campaign), "--reports", s(&once), s(&again), "--out", s(&rounds)];
    let refused = scene.run(SNM_CAMPAIGN, None, &args).await;
    assert_has(refused.failed(), &[&format!("{}: the same file as `{}`", again.display(), once.display())]);
    let strict = scene.path("strict.toml");
    write(&strict, &CAMPAIGN.replace("allow_private_ips = true\n", ""));
    let args = ["compute", "--campaign", s(&strict), "--reports", s(&once), "--out", s(&rounds)];
    let refused = scene.run(SNM_CAMPAIGN, None, &args).await;
    assert_has(
        refused.failed(),
        &[&format!(
            "{}:2: `127.0.0.1` is loopback: the campaign counts such IPs only with \
             `allow_private_ips = true`",
            once.display()
        )],
    );
    assert!(!rounds.join("round-1.json").exists() && !rounds.join("round-1.merkle.json").exists());

    // A good round, and a copy whose amounts were edited: publishing the copy is refused.
    let good = scene.path("good.csv");
    write(&good, &format!("account,ip,bytes,period_start,period_end\n{a},10.0.0.1,1000000000000,1,1000\n"));
    scene.run(SNM_CAMPAIGN, None, &compute(&good).each_ref().map(String::as_str)).await.ok();
    let tampered = scene.path("tampered");
    std::fs::create_dir_all(&tampered).unwrap();
    let text = std::fs::read_to_string(rounds.join("round-1.json")).unwrap();
    let edited = text.replace(
        "\"cumulative_wei\":\"150000000000000000000\"",
        "\"cumulative_wei\":\"1150000000000000000000\"",
    );
    assert_ne!(edited, text);
    write(&tampered.join("round-1.json"), &edited);
    std::fs::copy(rounds.join("round-1.merkle.json"), tampered.join("round-1.merkle.json")).unwrap();
    let tampered_round = tampered.join("round-1.json");
    let refused = scene
        .run(SNM_CAMPAIGN, Some(&operator), &["publish", "--round", s(&tampered_round), "--accept"])
        .await;
    assert_has(
        refused.failed(),
        &[&format!(
            "{}: round file does not add up: {a}: cumulative 1150000000000000000000 wei",
            tampered_round.display()
        )],
    );
    unchanged().await;
    // The same file as a previous round.
    let next = scene.path("next");
    let args = [
        "compute",
        "--campaign",
        s(&campaign),
        "--reports",
        s(&good),
        "--previous",
        s(&tampered_round),
        "--out",
        s(&next),
    ];
    let refused = scene.run(SNM_CAMPAIGN, None, &args).await;
    assert_has(refused.failed(), &[&format!("{}: previous round does not add up", tampered_round.display())]);
    // A round file beside another round's dump.
    write(&tampered.join("round-1.json"), &text);
    write(&tampered.join("round-1.merkle.json"), "{}");
    let refused = scene.run(SNM_CAMPAIGN, Some(&operator), &["publish", "--round", s(&tampered_round)]).await;
    assert_has(refused.failed(), &["not the Merkle dump of"]);
    unchanged().await;

    // Proposed only: claims are refused until it is accepted; then --accept waits out the delay.
    let round_file = rounds.join("round-1.json");
    let proposed = scene.run(SNM_CAMPAIGN, Some(&operator), &["publish", "--round", s(&round_file)]).await;
    assert_has(
        proposed.ok(),
        &[
            "proposed as round 1",
            "not accepted yet: run again with --accept",
            "pending         round 1, root",
        ],
    );
    let dump = rounds.join("round-1.merkle.json");
    let early = scene.run(SNM_CAMPAIGN, Some(&supplier), &["claim", "--dump", s(&dump)]).await;
    assert_has(early.failed(), &["its root is proposed as round 1 but not accepted yet"]);
    let accepted =
        scene.run(SNM_CAMPAIGN, Some(&operator), &["publish", "--round", s(&round_file), "--accept"]).await;
    assert_has(
        accepted.ok(),
        &[
            "already proposed as round 1",
            "waiting for the delay: ",
            "accepted round 1",
            "pending         none",
        ],
    );
    let claimed = scene.run(SNM_CAMPAIGN, Some(&supplier), &["claim", "--dump", s(&dump)]).await;
    assert_has(claimed.ok(), &["paid now        150 SNM"]);
}

/// A sweep of more accounts than the screen lists: 50 rows, then a line pointing to the payouts
/// file, which has every payment.
#[tokio::test]
async fn a_large_sweep_lists_fifty_accounts_and_records_every_payment() {
    const ACCOUNTS: usize = 120;
    let scene =
        Scene::start("operation-a-large-sweep", DevnetConfig { accounts: 2, ..Default::default() }).await;
    let operator = scene.devnet.signer(0).unwrap().clone();
    let payer = scene.devnet.signer(1).unwrap().clone();
    let (campaign, rounds, reports) =
        (scene.path("campaign.toml"), scene.path("rounds"), scene.path("week.csv"));
    write(&campaign, CAMPAIGN);
    // Every account one IP of its own without traffic: 50 SNM each.
    let accounts: Vec<Address> = (0..ACCOUNTS).map(|_| PrivateKeySigner::random().address()).collect();
    let mut csv = String::from("account,ip,bytes,period_start,period_end\n");
    for (k, account) in accounts.iter().enumerate() {
        csv.push_str(&format!("{account},10.1.{}.{},0,1000,1999\n", k / 200, k % 200 + 1));
    }
    write(&reports, &csv);
    let args = ["compute", "--campaign", s(&campaign), "--reports", s(&reports), "--out", s(&rounds)];
    scene.run(SNM_CAMPAIGN, None, &args).await.ok();
    let (round_file, dump) = (rounds.join("round-1.json"), rounds.join("round-1.merkle.json"));
    scene.run(SNM_CAMPAIGN, Some(&operator), &["publish", "--round", s(&round_file), "--accept"]).await.ok();

    let payouts = scene.path("payouts.csv");
    let args = ["claim", "--dump", s(&dump), "--all", "--batch", "50", "--payouts", s(&payouts)];
    let swept = scene.run(SNM_CAMPAIGN, Some(&payer), &args).await;
    let out = swept.ok();
    assert_has(
        out,
        &[
            "paying 120 in 3 batches of up to 50 (claimMultiproof, in tree order)",
            &format!("… and 70 more accounts: every payment is in {}", payouts.display()),
            "paid 6000 SNM to 120 accounts; gas ",
        ],
    );
    let listed = accounts.iter().filter(|account| out.lines().any(|l| l.starts_with(&account.to_string())));
    assert_eq!(listed.count(), 50, "{out}");

    let record = std::fs::read_to_string(&payouts).unwrap();
    let mut paid: Vec<Address> = Vec::new();
    for line in record.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[3], snm("50 SNM").wei().to_string(), "{line}");
        paid.push(fields[0].parse().unwrap());
    }
    let mut expected = accounts.clone();
    paid.sort();
    expected.sort();
    assert_eq!(paid, expected, "every account once");
    let client = scene.devnet.client(0).unwrap();
    for account in &accounts {
        assert_eq!(client.token().balance(*account).await.unwrap(), snm("50 SNM"));
    }
}
