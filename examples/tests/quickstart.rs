//! The main job, small: 3 suppliers and 1 MB per proxy, end to end on its own devnet. Its output
//! must show every phase, the staged campaign (applications, two admission stages, an unbought
//! supplier paid for being online), a summary line per supplier whose figures agree with the
//! campaign's rules, the gas table beside SONM's, and every SNM accounted for.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::process::Command;

use snm_sdk::units::fixed::Fixed;

#[test]
fn the_operation_a_story_runs_end_to_end() {
    let dir = std::env::temp_dir().join(format!("snm-quickstart-test-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .args(["--suppliers", "3", "--traffic-mb", "1", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for phase in 1..=8 {
        assert!(stdout.contains(&format!("[{phase}/8]")), "phase {phase} missing:\n{stdout}");
    }
    // Every transaction the story sent succeeded on chain: none reverted (out of gas, say).
    let counted = stdout.lines().find(|l| l.starts_with("transactions: ")).unwrap_or_default();
    assert!(counted.ends_with(" sent, 0 reverted on chain"), "{counted}\n{stdout}");

    // One line per supplier. All three applied; the first two were admitted at stage 1 and bought:
    // their own IP, online since admission, the agent's and the customer's counts of the bytes
    // their proxy carried (equal: both count the application's bytes, both ways), paid on the
    // smaller, a deal paid in full (an hour at 0.36 + 0.018 (i mod 200) USD/h and 100 SNM/USD),
    // and 50 SNM per IP plus $4/TB at 100 SNM/USD (4 * 10^-10 SNM per byte), claimed in full. The
    // third came at stage 2, was never bought, and was online: 50 SNM.
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Suppliers"))
        .skip(2)
        .take(3)
        .map(|l| l.split_whitespace().collect())
        .collect();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], (i + 1).to_string(), "{row:?}");
        assert_eq!(row[2], format!("127.0.0.{}", 11 + i));
        let online: u64 = row[4].strip_suffix('s').unwrap().parse().unwrap();
        assert!(online >= 1, "online at least min_online: {row:?}");
        let (agent, customer, paid): (u128, u128, u128) =
            (row[5].parse().unwrap(), row[6].parse().unwrap(), row[7].parse().unwrap());
        assert_eq!(paid, agent.min(customer), "{row:?}");
        assert_eq!(agent, customer, "{row:?}");
        let (stage, earned_tenths) = if i < 2 {
            assert!((800_000..=2_000_000).contains(&paid), "{row:?}");
            ("1", 360 + 18 * i as u128)
        } else {
            assert_eq!(paid, 0, "{row:?}");
            ("2", 0)
        };
        assert_eq!(row[3], stage, "{row:?}");
        let earned = Fixed::from_u128(earned_tenths, 1).to_string();
        assert_eq!(&row[8..10], [earned.as_str(), "SNM"], "{row:?}");
        let reward_wei = 50 * 10u128.pow(18) + paid * 4 * 10u128.pow(8);
        let reward = Fixed::from_u128(reward_wei, 18).to_string();
        assert_eq!(&row[10..12], [reward.as_str(), "SNM"], "{row:?}");
        assert_eq!(row[10..12], row[12..14], "claimed all: {row:?}");
    }
    assert!(stdout.contains("3 applications signed and accepted; stage 1 admits 2 from"), "{stdout}");
    assert!(stdout.contains("stage 2 admits 1 more suppliers from"), "{stdout}");
    assert!(stdout.contains("2 deals counted by both sides, 0 differing by more than 5 %"), "{stdout}");

    for line in ["quick buy", "settle", "place ask", "claim reward", "announce endpoint"] {
        assert!(stdout.lines().any(|l| l.starts_with(line)), "no gas row for {line}:\n{stdout}");
    }
    // The agents close ended terms with their payout in the close (they withdraw: `withdraw_at`).
    assert!(
        stdout.lines().any(|l| l.starts_with("close and withdraw") || l.starts_with("close deal")),
        "{stdout}"
    );
    assert!(stdout.contains("883877") && stdout.contains("a whole deal here"), "{stdout}");
    // With the market data service beside it (`snm-indexer` built next to `quickstart`, as `make
    // demo` and `make test` build it), the agents sign their asks but one, the customer buys both
    // kinds from the indexer's book, and the signed cycle is measured beside the on-chain one.
    if stdout.contains("market data service (snm-indexer) at") {
        assert!(stdout.contains("(signed ask)") && stdout.contains("(placed ask)"), "{stdout}");
        assert!(stdout.lines().any(|l| l.starts_with("quick buy signed")), "{stdout}");
        let whole = |prefix: &str| -> u64 {
            let line = stdout
                .lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("{prefix}:\n{stdout}"));
            let figure = line.split(": ").nth(1).and_then(|rest| rest.split(' ').next()).unwrap();
            figure.parse().unwrap()
        };
        let (placed, signed) = (whole("a whole deal here"), whole("a whole deal with a signed ask"));
        assert!(signed < placed, "the signed cycle costs less: {signed} against {placed}\n{stdout}");
    }
    assert!(stdout.contains("accounted for            444000000 SNM: ok"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
