//! The units' fixed-point codec against baselines measured in the same run
//! (`cargo bench -p snm-sdk --bench units`), so that each ratio means the same on any machine:
//!
//! - whole numbers, as usage reports and reward files hold byte counts and wei: `fixed::parse_u128`
//!   against the standard library's `u128::from_str`, and `Fixed` against `u128`'s `Display`;
//! - SNM amounts at 18 decimals: `Snm::from_str` against alloy's `parse_units` and `Snm`'s
//!   `Display` against alloy's `format_units` (which pads to 18 decimals where ours trims).
//!
//! Each figure is the best of 15 rounds, ours and the baseline's in turn, over the same 200,000 values (a deterministic mix of
//! magnitudes). Without `--bench` in its arguments (as `cargo test --all-targets` runs it) it uses
//! 1,000 values and one round.

use rand::{RngCore, SeedableRng, rngs::StdRng};
use std::{fmt::Write as _, hint::black_box, time::Instant};

use alloy::primitives::{
    U256,
    utils::{format_units, parse_units},
};
use snm_sdk::units::{Snm, fixed, fixed::Fixed};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The best time per item, in nanoseconds, of `rounds` runs of `ours` and of `baseline` over
/// `items` items, run in turn so that both see the same load.
fn best_ns(
    rounds: usize,
    items: usize,
    mut ours: impl FnMut() -> Result,
    mut baseline: impl FnMut() -> Result,
) -> Result<(f64, f64)> {
    let mut best = (f64::INFINITY, f64::INFINITY);
    let time = |work: &mut dyn FnMut() -> Result| -> Result<f64> {
        let start = Instant::now();
        work()?;
        Ok(start.elapsed().as_secs_f64() * 1e9 / items as f64)
    };
    for _ in 0..rounds {
        best.0 = best.0.min(time(&mut ours)?);
        best.1 = best.1.min(time(&mut baseline)?);
    }
    Ok(best)
}

fn line(what: &str, ours: f64, baseline: f64, against: &str) {
    println!("{what:<38} {ours:>7.1} ns   {against:<34} {baseline:>7.1} ns   ratio {:.2}", ours / baseline);
}

fn main() -> Result {
    let full = std::env::args().any(|a| a == "--bench");
    let (count, rounds) = if full { (200_000, 15) } else { (1_000, 1) };
    let mut rng = StdRng::seed_from_u64(2024);
    // Byte counts and wei of every size: up to 2^64 shifted down by a random amount.
    let integers: Vec<u128> = (0..count)
        .map(|_| u128::from(rng.next_u64() >> (rng.next_u64() % 64)) * u128::from(rng.next_u64() % 1_000))
        .collect();
    let integer_texts: Vec<String> = integers.iter().map(u128::to_string).collect();
    // Amounts from 10^-6 SNM to about 10^7 SNM, half of them round numbers.
    let amounts: Vec<Snm> = (0..count)
        .map(|_| {
            let wei = U256::from(rng.next_u64() >> (rng.next_u64() % 40)) * U256::from(1_000_000_000_000u64);
            let round =
                if rng.next_u64().is_multiple_of(2) { U256::from(10u64.pow(15)) } else { U256::from(1) };
            Snm::from_wei(wei / round * round)
        })
        .collect();
    let amount_texts: Vec<String> = amounts.iter().map(|a| Fixed::new(a.wei(), 18).to_string()).collect();

    println!("units codec, {count} values, best of {rounds}");
    let (ours, baseline) = best_ns(
        rounds,
        count,
        || {
            for text in &integer_texts {
                black_box(fixed::parse_u128(black_box(text), 0)?);
            }
            Ok(())
        },
        || {
            for text in &integer_texts {
                black_box(black_box(text).parse::<u128>()?);
            }
            Ok(())
        },
    )?;
    line("parse a whole number: fixed::parse_u128", ours, baseline, "std u128::from_str");

    let (mut out, mut std_out) = (String::with_capacity(64), String::with_capacity(64));
    let (ours, baseline) = best_ns(
        rounds,
        count,
        || {
            for &n in &integers {
                out.clear();
                write!(out, "{}", Fixed::from_u128(black_box(n), 0))?;
                black_box(&out);
            }
            Ok(())
        },
        || {
            for &n in &integers {
                std_out.clear();
                write!(std_out, "{}", black_box(n))?;
                black_box(&std_out);
            }
            Ok(())
        },
    )?;
    line("write a whole number: Fixed", ours, baseline, "std u128 Display");

    let (ours, baseline) = best_ns(
        rounds,
        count,
        || {
            for text in &amount_texts {
                black_box(black_box(text.as_str()).parse::<Snm>()?);
            }
            Ok(())
        },
        || {
            for text in &amount_texts {
                black_box(parse_units(black_box(text), 18)?);
            }
            Ok(())
        },
    )?;
    line("parse an amount at 18 decimals: Snm", ours, baseline, "alloy parse_units (truncates)");

    let (ours, baseline) = best_ns(
        rounds,
        count,
        || {
            for amount in &amounts {
                out.clear();
                write!(out, "{}", black_box(amount))?;
                black_box(&out);
            }
            Ok(())
        },
        || {
            for amount in &amounts {
                black_box(format_units(black_box(amount.wei()), 18)?);
            }
            Ok(())
        },
    )?;
    line("write an amount at 18 decimals: Snm", ours, baseline, "alloy format_units (pads)");
    Ok(())
}
