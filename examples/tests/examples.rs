//! Every short example runs to its end on its own devnet and prints its story's outcome.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::process::Command;

/// Runs the example `program`; returns what it printed, failing the test on a non-zero exit.
fn run(program: &str) -> String {
    let out = Command::new(program).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("$ {program}\n{stdout}{stderr}");
    assert!(out.status.success(), "{program} failed ({:?}):\n{stdout}\n{stderr}", out.status);
    stdout
}

#[track_caller]
fn assert_has(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
}

#[test]
fn quick_buy_takes_the_cheapest_fitting_machine_and_its_deposit_lasts_the_term() {
    let out = run(env!("CARGO_BIN_EXE_quick_buy"));
    // The 0.9 USD/h machine (ask 2), not the 1.8 USD/h one; two hours at 100 SNM/USD is 180 SNM,
    // within the 200 SNM budget, and all 200 are deposited.
    assert_has(&out, &["cheapest fitting ask: 2 at 0.9 USD/h", "deal 3:", "term 2h, deposit 200 SNM"]);
    assert_has(&out, &["200 SNM left, lasting 2h", "to the end of its term"]);
}

#[test]
fn a_supplier_is_paid_for_the_time_used_and_withdraws() {
    let out = run(env!("CARGO_BIN_EXE_supplier_asks"));
    // 90 minutes at 0.72 USD/h and 100 SNM/USD: 108 SNM, plus 0.02 SNM for each second the
    // example's own blocks took on the wall clock (anvil's time runs on); the rest of the 300 goes
    // back to the customer and the supplier withdraws exactly what it was paid.
    assert_has(&out, &["ask 1 placed at 0.72 USD/h", "deal 2:", "term spot, deposit 300 SNM"]);
    // The settle pays the 90 minutes; the close pays the seconds since then, so the supplier's
    // total is what it withdraws.
    let settled = amount_before(&out, " SNM paid to");
    let withdrawn = amount_before(&out, " SNM; wallet holds");
    assert!(
        (108.0..=108.2).contains(&settled) && (settled..=108.2).contains(&withdrawn),
        "settled {settled} and withdrew {withdrawn} SNM, expected 108 SNM and at most 10 s more in:\n{out}"
    );
    let refunded = amount_before(&out, " SNM refunded");
    assert!(
        (withdrawn + refunded - 300.0).abs() < 1e-9,
        "withdrew {withdrawn} + refunded {refunded} is not the 300 SNM deposit in:\n{out}"
    );
}

/// The decimal number just before the first `marker` in `text`.
#[track_caller]
fn amount_before(text: &str, marker: &str) -> f64 {
    let end = text.find(marker).unwrap_or_else(|| panic!("expected {marker:?} in:\n{text}"));
    let start = text[..end].rfind(|c: char| !(c.is_ascii_digit() || c == '.')).map_or(0, |i| i + 1);
    text[start..end].parse().unwrap_or_else(|_| panic!("no amount before {marker:?} in:\n{text}"))
}

#[test]
fn a_reward_round_pays_50_snm_per_ip_and_4_usd_per_tb() {
    let out = run(env!("CARGO_BIN_EXE_reward_round"));
    // Alice: 2 IPs (100 SNM) and 1.75 TB ($7 = 700 SNM); Bob: 1 IP (50 SNM) and 3 TB ($12 = 1200 SNM).
    assert_has(&out, &["round 1: total 2050 SNM", "round 1 accepted"]);
    assert_has(&out, &["claimed 800 SNM", "claimed 1250 SNM"]);
}

#[test]
fn a_provider_of_ones_own_with_the_sdks_layers_sends_for_a_fresh_key() {
    let out = run(env!("CARGO_BIN_EXE_own_provider"));
    assert_has(&out, &["deposited; free balance in the market 120 SNM", "wallet holds 380 SNM"]);
}
