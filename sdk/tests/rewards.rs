//! The reward engine end to end: the known-answer fixture (two rounds, conflicts, roots computed by
//! OpenZeppelin's JS library), OpenZeppelin's `StandardMerkleTree.load` on our dumps and its
//! `getMultiProof` / `verifyMultiProof` on our multiproofs, previous-round
//! checks, and bad input failing with file, line and reason while writing nothing.

// Test helpers outside #[test] functions may panic too.
#![allow(clippy::expect_used)]

mod common;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use alloy::primitives::{Address, B256, U256, address};
use common::{fixture, scratch};
use snm_sdk::{
    net::AddressClass,
    rewards::{
        Campaign, ConflictRule, InputReason, LineRate, Location, PreviousRound, RewardsError, Round,
        StandardMerkleTree, Tally, UsageRecord, compute_round, merkle,
    },
    units::{Bytes, Snm},
};

const A: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
const B: Address = address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
const C: Address = address!("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
const D: Address = address!("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65");
const E: Address = address!("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc");

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn snm(text: &str) -> Snm {
    text.parse().expect("valid amount")
}

fn expected_root(round: &str) -> Result<B256> {
    let expected: serde_json::Value = serde_json::from_str(&fs::read_to_string(fixture("expected.json"))?)?;
    Ok(expected[round]["root"].as_str().ok_or("no root")?.parse()?)
}

fn campaign() -> Result<Campaign> {
    Ok(Campaign::from_toml_file(&fixture("campaign.toml"))?)
}

fn round1() -> Result<Round> {
    Ok(compute_round(&campaign()?, None, &[fixture("round1.csv")])?)
}

#[test]
fn fixture_round_one_matches_hand_checked_amounts_and_openzeppelin_root() -> Result {
    let round = round1()?;
    assert_eq!(round.number(), 1);
    assert_eq!(round.records(), 8);
    let expect = [
        (A, 1, 1_500_000_000_000u128, "200"),
        (B, 2, 5_000_000_000_000, "600"),
        (C, 1, 123_456_789, "50.0123456789"),
        (D, 1, 1_000_000_000_000, "150"),
    ];
    for (account, ips, bytes, amount) in expect {
        let reward = round.account(account).ok_or("missing account")?;
        assert_eq!(
            (reward.ips, reward.bytes, reward.cumulative),
            (ips, Bytes::new(bytes), snm(amount)),
            "{account}"
        );
        assert_eq!(reward.round_amount, reward.cumulative);
        assert_eq!(round.claim(account).map(|(amount, _)| amount), Some(snm(amount)));
    }
    assert_eq!(round.accounts().len(), 4);
    assert_eq!(round.total(), snm("1000.0123456789"));
    assert_eq!(round.round_total(), round.total());
    assert_eq!(round.ips().len(), 5);

    let conflicts = round.conflicts();
    assert_eq!(conflicts.len(), 2, "{conflicts:?}");
    assert_eq!(conflicts[0].ip.to_string(), "10.0.0.2");
    assert_eq!((conflicts[0].owner, conflicts[0].excluded), (B, A));
    assert_eq!((conflicts[0].owner_first_start, conflicts[0].excluded_first_start), (Some(500), 1000));
    assert_eq!(conflicts[0].excluded_bytes, Bytes::new(250_000_000_000));
    assert_eq!(conflicts[0].rule, ConflictRule::EarlierPeriodStart);
    assert_eq!(conflicts[1].ip.to_string(), "10.0.0.5");
    assert_eq!((conflicts[1].owner, conflicts[1].excluded), (D, C));
    assert_eq!(conflicts[1].excluded_bytes, Bytes::from_tb(1));
    assert_eq!(conflicts[1].rule, ConflictRule::LowerAddress);

    assert_eq!(round.root(), expected_root("round1")?);
    for reward in round.accounts() {
        let (amount, proof) = round.claim(reward.account).ok_or("no claim")?;
        assert!(merkle::verify(round.root(), reward.account, amount, &proof));
    }
    Ok(())
}

#[test]
fn fixture_round_two_carries_cumulative_totals_and_ip_ownership() -> Result {
    let dir = scratch("two-rounds");
    let files1 = round1()?.write(&dir)?;
    assert_eq!(files1, Round::files_in(&dir, 1));
    let round = compute_round(&campaign()?, Some(&files1.round), &[fixture("round2.jsonl")])?;
    assert_eq!(round.number(), 2);
    assert_eq!(round.previous_root(), Some(expected_root("round1")?));
    let expect = [
        (A, 2, 1, "350", "150"),
        (B, 2, 0, "800", "200"),
        (C, 1, 0, "50.0123456789", "0"),
        (D, 1, 0, "150", "0"),
        (E, 1, 1, "100", "100"),
    ];
    for (account, ips, round_ips, cumulative, added) in expect {
        let reward = round.account(account).ok_or("missing account")?;
        assert_eq!(
            (reward.ips, reward.round_ips, reward.cumulative, reward.round_amount),
            (ips, round_ips, snm(cumulative), snm(added)),
            "{account}"
        );
    }
    assert_eq!(round.total(), snm("1450.0123456789"));
    assert_eq!(round.round_total(), snm("450"));
    assert_eq!(round.conflicts().len(), 1);
    let conflict = &round.conflicts()[0];
    assert_eq!((conflict.owner, conflict.excluded, conflict.rule), (B, C, ConflictRule::EarlierRound));
    assert_eq!((conflict.owner_first_start, conflict.excluded_first_start), (Some(6000), 100));
    assert_eq!(conflict.excluded_bytes, Bytes::from_tb(1));
    assert_eq!(round.root(), expected_root("round2")?);

    let files2 = round.write(&dir)?;
    let back = PreviousRound::load(&files2.round, &campaign()?)?;
    assert_eq!((back.number(), back.root(), back.total()), (2, round.root(), round.total()));
    assert_eq!(StandardMerkleTree::load_dump(&files2.merkle)?, *round.tree());
    // Published rounds are never overwritten.
    assert!(matches!(round.write(&dir), Err(RewardsError::OutputExists { .. })));
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The repository's root when OpenZeppelin's JS library is installed in its toolchain; otherwise
/// says so (the caller skips its check).
fn openzeppelin_js() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if root.join("toolchain/node_modules/@openzeppelin/merkle-tree").exists() {
        return Some(root);
    }
    println!(
        "note: toolchain/node_modules/@openzeppelin/merkle-tree is absent (run `make toolchain`); skipping the OpenZeppelin JS check"
    );
    None
}

/// Writes `tree`'s `standard-v1` dump into `dir`.
fn write_dump(tree: &StandardMerkleTree, dir: &Path) -> Result<PathBuf> {
    let dump = dir.join("dump.json");
    let mut out = std::io::BufWriter::new(fs::File::create(&dump)?);
    tree.write_dump(&mut out)?;
    std::io::Write::flush(&mut out)?;
    Ok(dump)
}

/// Runs `node <root>/scripts/<script> <args>`, requiring success; its standard output.
fn node(root: &Path, script: &str, args: &[&Path]) -> Result<String> {
    let output = Command::new("node").arg(root.join("scripts").join(script)).args(args).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "node failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    Ok(stdout)
}

/// Writes `tree`'s dump and our proofs, and has OpenZeppelin's JS library load and verify them.
fn verify_with_openzeppelin(tree: &StandardMerkleTree, name: &str) -> Result {
    let Some(root) = openzeppelin_js() else { return Ok(()) };
    let dir = scratch(name);
    let dump = write_dump(tree, &dir)?;
    let proofs: Vec<serde_json::Value> = tree
        .values()
        .iter()
        .enumerate()
        .map(|(k, (account, amount))| {
            serde_json::json!([account, amount.wei().to_string(), tree.proof_at(k)])
        })
        .collect();
    fs::write(dir.join("proofs.json"), serde_json::to_vec(&proofs)?)?;
    let tree_root = PathBuf::from(tree.root().to_string());
    let stdout = node(&root, "verify-merkle-dump.mjs", &[&dump, &tree_root, &dir.join("proofs.json")])?;
    assert!(stdout.contains(&format!("verified {} values", tree.len())), "{stdout}");
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// `n` leaves of pseudo-random accounts with distinct amounts (as in the dump check).
fn pseudo_random_tree(n: u64) -> Result<StandardMerkleTree> {
    let values = (0..n)
        .map(|k| {
            let account = Address::from_word(alloy::primitives::keccak256(k.to_be_bytes()));
            (account, Snm::from_wei(U256::from(k) * U256::from(10u64).pow(U256::from(15)) + U256::from(1)))
        })
        .collect();
    Ok(StandardMerkleTree::build(values)?)
}

#[test]
fn openzeppelin_js_loads_and_verifies_our_dumps() -> Result {
    verify_with_openzeppelin(round1()?.tree(), "oz-fixture")?;
    for n in [1u64, 2, 3, 7, 1000] {
        verify_with_openzeppelin(&pseudo_random_tree(n)?, &format!("oz-{n}"))?;
    }
    Ok(())
}

/// The value indexes of several sets of `tree`'s leaves, each in a scrambled order: every leaf,
/// the first and the last alone, a pseudo-random third or so (seeded by the size), and each batch
/// of a sweep of every account in runs of 10.
fn leaf_sets(tree: &StandardMerkleTree) -> Result<Vec<Vec<usize>>> {
    let n = tree.len();
    let index_of = |account: Address| tree.values().binary_search_by_key(&account, |(a, _)| *a).ok();
    let mut sets = vec![(0..n).rev().collect(), vec![0], vec![n - 1]];
    let random: Vec<usize> = (0..n)
        .filter(|k| alloy::primitives::keccak256([n.to_be_bytes(), k.to_be_bytes()].concat())[0] < 85)
        .collect();
    if !random.is_empty() {
        sets.push(random);
    }
    let accounts = tree.values().iter().map(|(account, _)| *account);
    for run in tree.sweep_batches(accounts, std::num::NonZeroUsize::new(10).ok_or("batch")?)? {
        sets.push(run.into_iter().filter_map(index_of).collect());
    }
    // Scrambled: both libraries order the leaves themselves.
    for set in &mut sets {
        set.sort_by_key(|k| alloy::primitives::keccak256(k.to_be_bytes()));
    }
    Ok(sets)
}

#[test]
fn multiproofs_equal_openzeppelin_js_get_multi_proof() -> Result {
    let Some(root) = openzeppelin_js() else { return Ok(()) };
    for n in [1u64, 2, 3, 7, 100] {
        let tree = pseudo_random_tree(n)?;
        let dir = scratch(&format!("oz-multiproof-{n}"));
        let dump = write_dump(&tree, &dir)?;
        let mut given = Vec::new();
        for indexes in leaf_sets(&tree)? {
            let multiproof = tree.multi_proof_at(&indexes)?;
            assert!(multiproof.verify(tree.root()), "n={n} {indexes:?}");
            let leaves: Vec<_> = multiproof
                .leaves
                .iter()
                .map(|(account, amount)| serde_json::json!([account, amount.wei().to_string()]))
                .collect();
            given.push(serde_json::json!({
                "indexes": indexes,
                "leaves": leaves,
                "proof": multiproof.proof,
                "flags": multiproof.flags,
            }));
        }
        fs::write(dir.join("multiproofs.json"), serde_json::to_vec(&given)?)?;
        let stdout = node(&root, "verify-merkle-multiproof.mjs", &[&dump, &dir.join("multiproofs.json")])?;
        assert!(stdout.contains(&format!("verified {} multiproofs", given.len())), "n={n}: {stdout}");
        fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

#[test]
fn rounding_happens_once_per_account_never_per_record() -> Result {
    let mut campaign = campaign()?;
    // 1/3 SNM per USD (333333333333333333 wei per USD): one byte at $4/TB pays
    // 4e-12 USD × 333333333333333333 = 1_333_333.333332 wei.
    campaign.snm_per_usd = "0.333333333333333333".parse()?;
    let mut tally = Tally::new(campaign.clone(), None);
    for start in 0..3 {
        let record = UsageRecord {
            account: A,
            ip: "10.0.0.1".parse()?,
            bytes: Bytes::new(1),
            period: snm_sdk::rewards::Period { start, end: start },
        };
        tally.add(&record, || Location::file("x"))?;
    }
    let round = tally.finish()?;
    // 3 bytes × 4e18 × 333333333333333333 / 1e30 = 3_999_999.999996 -> 3_999_999 wei.
    let traffic = round.account(A).ok_or("missing")?.cumulative.wei() - campaign.snm_per_ip.wei();
    assert_eq!(traffic, U256::from(3_999_999));
    // 300 one-byte records: rounding each would give 300 × 1_333_333 = 399_999_900 wei; rounding
    // the account's 300 bytes once gives floor(399_999_999.9996) = 399_999_999 wei.
    let mut tally = Tally::new(campaign.clone(), None);
    for start in 0..300 {
        let record = UsageRecord {
            account: A,
            ip: "10.0.0.1".parse()?,
            bytes: Bytes::new(1),
            period: snm_sdk::rewards::Period { start, end: start },
        };
        tally.add(&record, || Location::file("x"))?;
    }
    let traffic = tally.finish()?.account(A).ok_or("missing")?.cumulative.wei() - campaign.snm_per_ip.wei();
    assert_eq!(traffic, U256::from(399_999_999));
    Ok(())
}

#[test]
fn bad_report_fails_with_file_line_and_reason_and_writes_nothing() -> Result {
    let dir = scratch("bad-report");
    let out = dir.join("out");
    let cases = [
        (
            "bad-ip.csv",
            format!("account,ip,bytes,period_start,period_end\n{A},10.0.0.1,1,1,2\n{A},10.0.0.300,1,1,2\n"),
            3,
            InputReason::BadIp("10.0.0.300".into()),
        ),
        (
            "neg.csv",
            format!("account,ip,bytes,period_start,period_end\n{A},10.0.0.1,-1,1,2\n"),
            2,
            InputReason::NegativeBytes("-1".into()),
        ),
        (
            "addr.jsonl",
            "{\"account\":\"0xnope\",\"ip\":\"10.0.0.1\",\"bytes\":1,\"period_start\":1,\"period_end\":2}\n"
                .to_owned(),
            1,
            InputReason::BadAddress("0xnope".into()),
        ),
    ];
    for (name, text, line, reason) in cases {
        let report = dir.join(name);
        fs::write(&report, text)?;
        let err = compute_round(&campaign()?, None, &[fixture("round1.csv"), report.clone()])
            .expect_err("must fail");
        assert!(err.to_string().starts_with(&format!("{}:{line}: ", report.display())), "{err}");
        match err {
            RewardsError::Input { at, reason: found } => {
                assert_eq!(at, Location::line(&report, line));
                assert_eq!(found, reason);
            }
            other => panic!("wrong error {other}"),
        }
        assert!(!out.exists(), "nothing may be written");
    }
    let unknown = dir.join("report.txt");
    fs::write(&unknown, "")?;
    let err = compute_round(&campaign()?, None, &[unknown]).expect_err("must fail");
    assert!(matches!(err, RewardsError::Input { reason: InputReason::UnknownFormat, .. }), "{err}");
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// What `compute_round` says of `reports` under `campaign`: the error's location and reason.
fn refusal(campaign: &Campaign, reports: &[PathBuf]) -> (Location, InputReason, String) {
    match compute_round(campaign, None, reports).expect_err("must be refused") {
        RewardsError::Input { at, reason } => {
            let shown = RewardsError::Input { at: at.clone(), reason: reason.clone() }.to_string();
            (at, reason, shown)
        }
        other => panic!("wrong error {other}"),
    }
}

#[test]
fn a_file_given_twice_under_two_names_is_refused() -> Result {
    let dir = scratch("same-file");
    fs::create_dir_all(&dir)?;
    let report = dir.join("a.csv");
    fs::write(&report, format!("account,ip,bytes,period_start,period_end\n{A},10.0.0.1,1000,1,2\n"))?;
    let linked = dir.join("b.csv");
    fs::hard_link(&report, &linked)?;
    for again in [dir.join(".").join("a.csv"), linked] {
        let (at, reason, shown) = refusal(&campaign()?, &[report.clone(), again.clone()]);
        assert_eq!(at, Location::file(&again));
        assert_eq!(reason, InputReason::DuplicateFile { first: report.clone() });
        assert!(shown.contains(&format!("the same file as `{}`", report.display())), "{shown}");
    }
    // Once, it counts once: 50 SNM for the IP and 1000 bytes at 10^8 wei.
    let round = compute_round(&campaign()?, None, std::slice::from_ref(&report))?;
    assert_eq!(round.total(), snm("50.0000001"));
    fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn an_identical_record_is_refused_with_the_file_and_line_of_both() -> Result {
    let dir = scratch("same-record");
    fs::create_dir_all(&dir)?;
    let header = "account,ip,bytes,period_start,period_end";
    let row = format!("{A},10.0.0.1,1000,1,2");
    // In one file (a blank line between changes nothing: lines are the file's).
    let one = dir.join("one.csv");
    fs::write(&one, format!("{header}\n{row}\n{A},10.0.0.1,1000,3,4\n\n{row}\n"))?;
    let (at, reason, shown) = refusal(&campaign()?, std::slice::from_ref(&one));
    assert_eq!(at, Location::line(&one, 5));
    assert_eq!(reason, InputReason::DuplicateRecord { first: Some(Location::line(&one, 2)) });
    assert!(shown.ends_with(&format!("as at {}:2: a record counts once", one.display())), "{shown}");
    // Across files and formats, past the first batch of the parsing thread, with the IP written
    // another way.
    let many = dir.join("many.csv");
    let mut text = format!("{header}\n");
    for k in 0..10_000 {
        text.push_str(&format!("{B},10.0.{}.{},{k},{k},{k}\n", k / 200, k % 200 + 1));
    }
    fs::write(&many, text)?;
    let other = dir.join("other.jsonl");
    fs::write(
        &other,
        format!(
            "{{\"account\":\"{A}\",\"ip\":\"10.0.0.1\",\"bytes\":7,\"period_start\":1,\"period_end\":2}}\n\
             {{\"account\":\"{B}\",\"ip\":\"::ffff:10.0.49.200\",\"bytes\":9999,\"period_start\":9999,\"period_end\":\"9999\"}}\n"
        ),
    )?;
    let (at, reason, _) = refusal(&campaign()?, &[many.clone(), other.clone()]);
    assert_eq!(at, Location::line(&other, 2));
    assert_eq!(reason, InputReason::DuplicateRecord { first: Some(Location::line(&many, 10_001)) });
    fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn records_no_campaign_can_pay_are_refused_with_file_and_line() -> Result {
    let dir = scratch("unsound-records");
    fs::create_dir_all(&dir)?;
    let campaign = campaign()?;
    let csv = |name: &str, line: &str| -> Result<PathBuf> {
        let report = dir.join(name);
        fs::write(
            &report,
            format!("account,ip,bytes,period_start,period_end\n{A},10.0.0.1,1,1,2\n{line}\n"),
        )?;
        Ok(report)
    };
    let ip = |text: &str| text.parse().expect("an IP");
    let zero = csv("zero.csv", &format!("{},10.0.0.2,1,1,2", Address::ZERO))?;
    assert_eq!(refusal(&campaign, std::slice::from_ref(&zero)).1, InputReason::ZeroAddress);
    // A 31-digit byte count in a day: refused at its line, not at funding.
    let huge = csv("huge.csv", &format!("{A},10.0.0.2,1234567890123456789012345678901,0,86399"))?;
    let ten_gbit = Campaign { max_line_rate: LineRate::TEN_GBIT, ..campaign.clone() };
    let (at, reason, shown) = refusal(&ten_gbit, std::slice::from_ref(&huge));
    assert_eq!(at, Location::line(&huge, 3));
    assert!(matches!(&reason, InputReason::BeyondLineRate(excess) if excess.seconds == 86_400), "{shown}");
    assert!(shown.contains("more than a 10 Gbit/s line carries (108000000000000 bytes)"), "{shown}");
    for (k, (text, class)) in [
        ("0.0.0.0", AddressClass::Unspecified),
        ("::", AddressClass::Unspecified),
        ("255.255.255.255", AddressClass::Broadcast),
        ("224.0.0.1", AddressClass::Multicast),
        ("ff02::1", AddressClass::Multicast),
    ]
    .into_iter()
    .enumerate()
    {
        let report = csv(&format!("ip-{k}.csv"), &format!("{A},{text},1,1,2"))?;
        let (at, reason, _) = refusal(&campaign, std::slice::from_ref(&report));
        assert_eq!(
            (at, reason),
            (Location::line(&report, 3), InputReason::NotAWorkerIp { ip: ip(text), class })
        );
    }
    // Loopback and private IPs count only when the campaign allows them (the fixture's does).
    let strict = Campaign { allow_private_ips: false, ..campaign.clone() };
    let loopback = dir.join("loopback.csv");
    fs::write(&loopback, format!("account,ip,bytes,period_start,period_end\n{B},127.0.0.11,1,1,2\n"))?;
    let (at, reason, shown) = refusal(&strict, std::slice::from_ref(&loopback));
    assert_eq!(at, Location::line(&loopback, 2));
    assert_eq!(reason, InputReason::PrivateIp { ip: ip("127.0.0.11"), class: AddressClass::Loopback });
    assert!(shown.contains("only with `allow_private_ips = true`"), "{shown}");
    assert_eq!(compute_round(&campaign, None, &[loopback])?.accounts().len(), 1);
    fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn a_bom_and_a_null_field_get_sentences() -> Result {
    let dir = scratch("bom-null");
    fs::create_dir_all(&dir)?;
    let line = format!(
        "{{\"account\":\"{A}\",\"ip\":\"10.0.0.1\",\"bytes\":1,\"period_start\":1,\"period_end\":2}}"
    );
    let bom = dir.join("bom.jsonl");
    fs::write(&bom, format!("\u{feff}{line}\n"))?;
    let (at, reason, shown) = refusal(&campaign()?, std::slice::from_ref(&bom));
    assert_eq!((at, reason), (Location::line(&bom, 1), InputReason::Bom));
    assert!(shown.contains("byte-order mark (BOM)"), "{shown}");
    // Two CSV files joined: the second one's BOM is on a record's line.
    let joined = dir.join("joined.csv");
    let csv = format!("\u{feff}account,ip,bytes,period_start,period_end\n{A},10.0.0.1,1,1,2\n");
    fs::write(&joined, format!("{csv}{csv}"))?;
    assert_eq!(refusal(&campaign()?, std::slice::from_ref(&joined)).0, Location::line(&joined, 3));
    let null = dir.join("null.jsonl");
    fs::write(&null, format!("{line}\n{}\n", line.replace("\"bytes\":1", "\"bytes\":null")))?;
    let (at, _, shown) = refusal(&campaign()?, std::slice::from_ref(&null));
    assert_eq!(at, Location::line(&null, 2));
    assert!(
        shown.ends_with(
            ":2: `bytes` is null: expected a whole number of bytes, as a JSON integer or a decimal string"
        ),
        "{shown}"
    );
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Rewrites `round-1.json` with `edit` applied to its JSON and expects `PreviousRound::load` to
/// refuse it with `needle` in the reason.
fn tampered(dir: &Path, name: &str, edit: impl FnOnce(&mut serde_json::Value), needle: &str) -> Result {
    let good: serde_json::Value = serde_json::from_str(&fs::read_to_string(dir.join("round-1.json"))?)?;
    let mut bad = good.clone();
    edit(&mut bad);
    let path = dir.join(name);
    fs::write(&path, serde_json::to_string_pretty(&bad)?)?;
    let err = PreviousRound::load(&path, &campaign()?).expect_err("must fail");
    assert!(matches!(&err, RewardsError::Previous { at, .. } if at.file == path), "{err}");
    assert!(err.to_string().contains(needle), "{err} should mention {needle}");
    // And a round built on it fails the same way, before anything is written.
    assert!(compute_round(&campaign()?, Some(&path), &[fixture("round2.jsonl")]).is_err());
    Ok(())
}

#[test]
fn previous_round_that_does_not_add_up_is_refused() -> Result {
    let dir = scratch("previous");
    round1()?.write(&dir)?;
    tampered(&dir, "sum.json", |v| v["total_wei"] = "1000012345678900000001".into(), "total_wei")?;
    tampered(
        &dir,
        "amount.json",
        |v| v["accounts"][0]["cumulative_wei"] = "150000000000000000001".into(),
        "pay 150000000000000000000 wei",
    )?;
    tampered(
        &dir,
        "root.json",
        |v| v["root"] = "0x0000000000000000000000000000000000000000000000000000000000000001".into(),
        "root",
    )?;
    tampered(&dir, "owner.json", |v| v["ips"][0]["owner"] = E.to_string().into(), "owns")?;
    tampered(&dir, "campaign.json", |v| v["campaign"]["snm_per_ip"] = "60 SNM".into(), "campaign")?;
    tampered(&dir, "format.json", |v| v["format"] = "v0".into(), "format")?;
    tampered(&dir, "bytes.json", |v| v["accounts"][0]["bytes"] = "-5".into(), "decimal number of bytes")?;
    // Malformed JSON names the line.
    let broken = dir.join("broken.json");
    fs::write(&broken, "{\n\"format\": \"snm-rewards-round-v1\",\n\"round\": oops\n}")?;
    let err = PreviousRound::load(&broken, &campaign()?).expect_err("must fail");
    assert!(err.to_string().starts_with(&format!("{}:3: ", broken.display())), "{err}");
    fs::remove_dir_all(&dir)?;
    Ok(())
}
