//! The main job, small: 3 suppliers and 1 MB per proxy, end to end on its own devnet. Its output
//! must show every phase, a summary line per supplier whose figures agree with the campaign's
//! rules, the gas table beside SONM's, and every SNM accounted for.

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

    // One line per supplier: its own IP, the bytes its proxy carried, a deal paid in full (an hour
    // at 0.36 + 0.018 (i mod 200) USD/h and 100 SNM/USD), and 50 SNM per IP plus $4/TB at 100 SNM/USD
    // (4 * 10^-10 SNM per byte), claimed in full.
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
        let bytes: u128 = row[3].parse().unwrap();
        assert!((800_000..=2_000_000).contains(&bytes), "{row:?}");
        let tenths = 360 + 18 * i as u128;
        let earned = Fixed::from_u128(tenths, 1).to_string();
        assert_eq!(&row[4..6], [earned.as_str(), "SNM"], "{row:?}");
        let reward_wei = 50 * 10u128.pow(18) + bytes * 4 * 10u128.pow(8);
        let reward = Fixed::from_u128(reward_wei, 18).to_string();
        assert_eq!(&row[6..8], [reward.as_str(), "SNM"], "{row:?}");
        assert_eq!(row[6..8], row[8..10], "claimed all: {row:?}");
    }

    for line in ["quick buy", "settle", "close deal", "place ask", "claim reward", "announce endpoint"] {
        assert!(stdout.lines().any(|l| l.starts_with(line)), "no gas row for {line}:\n{stdout}");
    }
    assert!(stdout.contains("883877") && stdout.contains("a whole deal here"), "{stdout}");
    assert!(stdout.contains("accounted for            444000000 SNM: ok"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
