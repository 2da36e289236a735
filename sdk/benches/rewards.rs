//! Reward engine benchmark (`make bench-rewards`, i.e. `cargo bench -p snm-sdk --bench rewards`).
//!
//! (a) 1,000,000 accounts: build OpenZeppelin's StandardMerkleTree, compute every proof and write
//!     the `standard-v1` dump; target <= 1.5 s on a 2-core machine.
//! (b) 10,000,000 usage records (a CSV generated first, not timed) streamed into a tally and
//!     settled; target <= 10 s, memory bounded by distinct accounts and IPs.
//! (c) 1,000,000 JSON-lines records read and tallied (no target; JSON parsing is slower).
//! (d) The operator's sweep (`snm campaign claim --all`) on a devnet: a round of 1,000,000
//!     accounts published to the distributor, then batches of 100 neighbouring leaves in tree order
//!     (`StandardMerkleTree::sweep_batches`) claimed by a third party: three by multiproof and one by
//!     `claimMany` for accounts already holding SNM, one of each for new holders; receipt gas per
//!     account (target <= 45,000 for a batch claim) and calldata bytes per account. Needs anvil
//!     (`make toolchain`).
//!
//! Every time is printed beside its floor, measured in the same run, and their ratio, so that the
//! ratio means the same on any machine (a shared or slower one gives longer times and longer
//! floors): hashing is `hashes × keccak256 time ÷ threads` (keccak256 of 64 bytes probed on one
//! thread before and after the work, the median taken), reading a report is its bytes at the
//! disk's read speed (the same file read with `O_DIRECT`, past the page cache), writing a dump is
//! its bytes at the speed of plain buffered writes of as many bytes. Proofs hash nothing and have
//! no floor; a total's floor is the sum of its parts' floors.
//!
//! Without `--bench` in its arguments (as `cargo test --all-targets` runs it) it uses tiny sizes.
//! Other arguments choose parts by name (`merkle`, `ingest`, `jsonl`, `sweep`), for example
//! `cargo bench -p snm-sdk --bench rewards -- sweep`; none runs every part.

use rand::{RngCore, SeedableRng, rngs::StdRng};
use std::{
    fs,
    io::{BufWriter, Read, Write},
    num::NonZeroUsize,
    path::Path,
    thread,
    time::Instant,
};

use alloy::{
    consensus::Transaction as _,
    primitives::{Address, B256, U256, keccak256},
    providers::Provider,
};
use snm_sdk::{
    bindings::RewardDistributor,
    devnet::{Devnet, DevnetConfig},
    gas::thousands,
    rewards::{Campaign, RewardClaim, StandardMerkleTree, Tally, UsageReader, merkle},
    units::{Snm, SnmPerUsd},
};

/// Published / measured figures of other builders for 1M (address, uint256) leaves, on a 2-core
/// x86-64 machine like this project's (copied from the project's comparison notes).
const OZ_JS_1M_SECONDS: f64 = 290.0;
const OZ_JS_1M_PEAK_GB: f64 = 2.47;
const MERKRS_1M_SECONDS: f64 = 5.2;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A `/proc/self/status` field in kB (VmHWM = peak resident set, VmRSS = current).
fn status_kb(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kb: Option<u64>) -> String {
    kb.map_or_else(|| "n/a".to_owned(), |kb| format!("{:.0} MiB", kb as f64 / 1024.0))
}

/// Resets the peak-RSS counter so that each part reports its own peak (Linux `clear_refs` 5).
fn reset_peak() {
    let _ = fs::write("/proc/self/clear_refs", "5");
}

fn account(k: u64) -> Address {
    Address::from_word(alloy::primitives::keccak256(k.to_be_bytes()))
}

/// The least time a part's unavoidable work takes on this machine, measured in the same run, so
/// that a time read beside it (their ratio) means the same on any machine: hashing is bound by
/// keccak256 on every thread, reading a report by the disk's read speed, writing a dump by the
/// write speed.
struct Floors {
    /// Seconds for one keccak256 of 64 bytes on one thread, one sample per probe.
    samples: Vec<f64>,
    /// Threads the engine hashes on (its thread pool: `RAYON_NUM_THREADS`, else every core).
    threads: usize,
}

impl Floors {
    /// Starts with a first keccak256 probe (call [`Self::probe`] again after the timed work, so the
    /// figure reflects the machine's load while the work ran).
    fn measure() -> Self {
        let threads = std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
        let mut floors = Self { samples: Vec::new(), threads };
        floors.probe();
        floors
    }

    /// Five chains of 50,000 keccak256 of 64 bytes, each hash feeding the next; one sample each.
    fn probe(&mut self) {
        let mut block = [0u8; 64];
        for _ in 0..5 {
            let probe = Instant::now();
            for _ in 0..50_000 {
                let hash = keccak256(block);
                block[..32].copy_from_slice(hash.as_slice());
            }
            self.samples.push(probe.elapsed().as_secs_f64() / 50_000.0);
        }
        std::hint::black_box(block);
    }

    /// Seconds per keccak256: the median sample.
    fn keccak(&self) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
    }

    /// Floor of `hashes` keccak256 calls spread over every thread, and how it is made.
    fn hashing(&self, hashes: u64) -> (f64, String) {
        (
            hashes as f64 * self.keccak() / self.threads as f64,
            format!(
                "{} keccaks × {:.0} ns ÷ {} threads",
                thousands(hashes),
                self.keccak() * 1e9,
                self.threads
            ),
        )
    }

    /// The hashes of a tree of `leaves` leaves: two per leaf (the leaf is hashed twice), one per
    /// inner node.
    fn tree_hashes(leaves: u64) -> u64 {
        (3 * leaves).saturating_sub(1)
    }
}

/// Reads up to 256 MB of `path` from the disk itself (`O_DIRECT`: the page cache, which holds the
/// file just generated, is bypassed); the speed in bytes per second.
#[cfg(target_os = "linux")]
fn disk_read_speed(path: &Path) -> Result<f64> {
    use std::os::unix::fs::OpenOptionsExt;
    const LIMIT: u64 = 256_000_000;
    let mut file = fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECT).open(path)?;
    // O_DIRECT reads need a buffer aligned to the disk's blocks: 4 KiB covers every common one.
    let mut buf = vec![0u8; (1 << 20) + 4096];
    let at = buf.as_ptr().align_offset(4096);
    let buf = &mut buf[at..at + (1 << 20)];
    let start = Instant::now();
    let mut bytes = 0u64;
    while bytes < LIMIT {
        let read = file.read(buf)?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
        std::hint::black_box(&buf);
    }
    Ok(bytes as f64 / start.elapsed().as_secs_f64())
}

/// Elsewhere the page cache cannot be bypassed this way: plain reads of up to 256 MB.
#[cfg(not(target_os = "linux"))]
fn disk_read_speed(path: &Path) -> Result<f64> {
    let mut file = fs::File::open(path)?.take(256_000_000);
    let start = Instant::now();
    let bytes = std::io::copy(&mut file, &mut std::io::sink())?;
    Ok(bytes as f64 / start.elapsed().as_secs_f64())
}

/// Floor of reading the report at `path`: its bytes at the disk's read speed, timed now, and how
/// it is made.
fn read_floor(path: &Path) -> Result<(f64, String)> {
    let size = fs::metadata(path)?.len() as f64;
    let speed = disk_read_speed(path)?;
    Ok((
        size / speed,
        format!("{:.0} MB at the disk's {:.0} MB/s (timed in this run)", size / 1e6, speed / 1e6),
    ))
}

/// Floor of writing `bytes` bytes into `dir` as a dump is written (4 MiB buffered writes, no
/// sync), timed now, and how it is made.
fn write_floor(dir: &Path, bytes: u64) -> Result<(f64, String)> {
    let path = dir.join("write-floor.bin");
    let chunk = vec![b'0'; 1 << 16];
    let start = Instant::now();
    let mut out = BufWriter::with_capacity(1 << 22, fs::File::create(&path)?);
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    drop(out);
    let secs = start.elapsed().as_secs_f64();
    fs::remove_file(&path)?;
    Ok((
        secs,
        format!(
            "{:.0} MB written at {:.0} MB/s (timed in this run)",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs
        ),
    ))
}

/// The sum of floors (of the parts that have one).
fn sum(floors: &[&(f64, String)]) -> f64 {
    floors.iter().map(|(secs, _)| secs).sum()
}

/// The table's head.
fn head() {
    println!("    {:<12} {:>9}  {:>9}  {:>7}  floor", "", "time", "floor", "ratio");
}

/// One timed row: the time, its floor and their ratio, then what the floor is made of.
fn row(label: &str, secs: f64, floor: Option<f64>, why: &str) {
    match floor {
        Some(floor) => println!(
            "    {label:<12} {secs:>7.3} s  {floor:>7.3} s  {:>6.2}×  {why}",
            secs / floor.max(f64::MIN_POSITIVE)
        ),
        None => println!("    {label:<12} {secs:>7.3} s  {:>9}  {:>7}  {why}", "-", "-"),
    }
}

fn merkle_part(accounts: u64, dir: &Path) -> Result {
    let values: Vec<(Address, Snm)> = (0..accounts)
        .map(|k| (account(k), Snm::from_wei(U256::from(k + 1) * U256::from(1_000_000_007u64))))
        .collect();
    let path = dir.join("merkle.json");
    let mut floors = Floors::measure();
    reset_peak();
    let start = Instant::now();
    let tree = StandardMerkleTree::build(values)?;
    let built = start.elapsed();
    // Every proof, on every core; folded into a checksum so the work cannot be skipped.
    let threads = thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = tree.len().div_ceil(threads);
    let (nodes, fold) = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let tree = &tree;
                scope.spawn(move || {
                    let mut proof = Vec::with_capacity(32);
                    let (mut nodes, mut fold) = (0usize, B256::ZERO);
                    for k in t * chunk..((t + 1) * chunk).min(tree.len()) {
                        tree.proof_into(k, &mut proof);
                        nodes += proof.len();
                        fold ^= proof[0];
                    }
                    (nodes, fold)
                })
            })
            .collect();
        handles.into_iter().fold((0, B256::ZERO), |(n, f), h| {
            let (hn, hf) = h.join().unwrap_or_default();
            (n + hn, f ^ hf)
        })
    });
    let proved = start.elapsed();
    let mut out = BufWriter::with_capacity(1 << 22, fs::File::create(&path)?);
    tree.write_dump(&mut out)?;
    out.flush()?;
    drop(out);
    let total = start.elapsed();
    let peak = status_kb("VmHWM:");
    floors.probe();
    let size = fs::metadata(&path)?.len();
    fs::remove_file(&path)?;
    // Spot-check a few proofs against the root (outside the timing).
    for k in [0, tree.len() / 2, tree.len() - 1] {
        let (who, amount) = tree.values()[k];
        assert!(merkle::verify(tree.root(), who, amount, &tree.proof_at(k)));
    }
    let hashing = floors.hashing(Floors::tree_hashes(accounts));
    let writing = write_floor(dir, size)?;
    println!(
        "(a) Merkle tree of {accounts} (address, uint256) leaves ({} nodes), {} threads; keccak256 of 64 bytes {:.0} ns on one thread",
        tree.nodes().len(),
        floors.threads,
        floors.keccak() * 1e9
    );
    head();
    row("build", built.as_secs_f64(), Some(hashing.0), &hashing.1);
    row(
        "proofs",
        (proved - built).as_secs_f64(),
        None,
        &format!("no hashing: {nodes} sibling hashes copied (checksum {:.8})", fold.to_string()),
    );
    row("dump", (total - proved).as_secs_f64(), Some(writing.0), &writing.1);
    row(
        "total",
        total.as_secs_f64(),
        Some(sum(&[&hashing, &writing])),
        &format!("build's + dump's; peak RSS {}, root {:.10}", mib(peak), tree.root().to_string()),
    );
    if accounts == 1_000_000 {
        println!(
            "    vs @openzeppelin/merkle-tree 1.0.8 (JS): {OZ_JS_1M_SECONDS} s, {OZ_JS_1M_PEAK_GB} GB peak;  merkrs 0.1: {MERKRS_1M_SECONDS} s"
        );
        println!(
            "    target <= 1.5 s on a 2-core machine: {}",
            if total.as_secs_f64() <= 1.5 { "met" } else { "MISSED" }
        );
    }
    Ok(())
}

/// Operation A at 25 SNM/USD, counting the generated reports' private IPs (`10.x.y.z`).
fn campaign() -> Campaign {
    Campaign { allow_private_ips: true, ..Campaign::operation_a(SnmPerUsd::from_whole(25)) }
}

fn ingest_part(records: u64, accounts: u64, ips: u64, dir: &Path) -> Result {
    let path = dir.join("usage.csv");
    let generated = Instant::now();
    {
        let mut out = BufWriter::with_capacity(1 << 22, fs::File::create(&path)?);
        writeln!(out, "{}", snm_sdk::rewards::CSV_HEADER)?;
        let mut rng = StdRng::seed_from_u64(42);
        let owners: Vec<String> = (0..accounts).map(|k| format!("{:#x}", account(k))).collect();
        for r in 0..records {
            let ip = rng.next_u64() % ips;
            // Each IP has a home account; 1 record in 100 comes from another account (a conflict).
            let who =
                if rng.next_u64().is_multiple_of(100) { rng.next_u64() % accounts } else { ip % accounts };
            let bytes = rng.next_u64() % 10_000_000_000;
            let start = 1_767_225_600 + (r % 30) * 86_400;
            writeln!(
                out,
                "{},10.{}.{}.{},{bytes},{start},{}",
                owners[who as usize],
                (ip >> 16) & 255,
                (ip >> 8) & 255,
                ip & 255,
                start + 86_399
            )?;
        }
        out.flush()?;
    }
    let size = fs::metadata(&path)?.len();
    let generated = generated.elapsed();
    let campaign = campaign();
    let mut floors = Floors::measure();
    let reading = read_floor(&path)?;
    reset_peak();
    let start = Instant::now();
    let mut tally = Tally::new(campaign, None);
    tally.read(&mut UsageReader::open(&path, None)?)?;
    let read = start.elapsed();
    let read_peak = status_kb("VmHWM:");
    let round = tally.finish()?;
    let total = start.elapsed();
    floors.probe();
    fs::remove_file(&path)?;
    let hashing = floors.hashing(Floors::tree_hashes(round.tree().len() as u64));
    println!(
        "(b) {} usage records ({:.0} MB CSV, generated in {:.1} s, not timed), {accounts} accounts, {ips} IPs; {} accounts paid, {} IPs, {} conflicts",
        round.records(),
        size as f64 / 1e6,
        generated.as_secs_f64(),
        round.accounts().len(),
        round.ips().len(),
        round.conflicts().len(),
    );
    head();
    row(
        "read+tally",
        read.as_secs_f64(),
        Some(reading.0),
        &format!(
            "{}; {:.1} M records/s, peak RSS while reading {}",
            reading.1,
            round.records() as f64 / read.as_secs_f64() / 1e6,
            mib(read_peak)
        ),
    );
    row("settle+tree", (total - read).as_secs_f64(), Some(hashing.0), &format!("the tree's {}", hashing.1));
    row(
        "total",
        total.as_secs_f64(),
        Some(sum(&[&reading, &hashing])),
        &format!("read's + tree's; peak RSS {}, total {}", mib(status_kb("VmHWM:")), round.total()),
    );
    if records == 10_000_000 {
        println!(
            "    target <= 10 s on a 2-core machine: {}",
            if total.as_secs_f64() <= 10.0 { "met" } else { "MISSED" }
        );
    }
    Ok(())
}

fn jsonl_part(records: u64, accounts: u64, ips: u64, dir: &Path) -> Result {
    let path = dir.join("usage.jsonl");
    {
        let mut out = BufWriter::with_capacity(1 << 22, fs::File::create(&path)?);
        let mut rng = StdRng::seed_from_u64(7);
        let owners: Vec<String> = (0..accounts).map(|k| format!("{:#x}", account(k))).collect();
        for r in 0..records {
            let ip = rng.next_u64() % ips;
            let start = 1_767_225_600 + (r % 30) * 86_400;
            writeln!(
                out,
                "{{\"account\":\"{}\",\"ip\":\"10.{}.{}.{}\",\"bytes\":{},\"period_start\":{start},\"period_end\":{}}}",
                owners[(ip % accounts) as usize],
                (ip >> 16) & 255,
                (ip >> 8) & 255,
                ip & 255,
                rng.next_u64() % 10_000_000_000,
                start + 86_399
            )?;
        }
        out.flush()?;
    }
    let size = fs::metadata(&path)?.len();
    let reading = read_floor(&path)?;
    let start = Instant::now();
    let mut tally = Tally::new(campaign(), None);
    tally.read(&mut UsageReader::open(&path, None)?)?;
    let read = start.elapsed();
    fs::remove_file(&path)?;
    println!("(c) {} JSON-lines records ({:.0} MB)", tally.records(), size as f64 / 1e6);
    head();
    row(
        "read+tally",
        read.as_secs_f64(),
        Some(reading.0),
        &format!("{}; {:.1} M records/s", reading.1, tally.records() as f64 / read.as_secs_f64() / 1e6),
    );
    Ok(())
}

/// How one measured batch of the sweep is sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Multiproof,
    ClaimMany,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Self::Multiproof => "claimMultiproof",
            Self::ClaimMany => "claimMany",
        }
    }
}

/// One measured batch: how it is sent, whether its accounts already hold SNM, and the run.
struct SweepBatch<'a> {
    method: Method,
    holders: bool,
    run: &'a [Address],
}

/// A measured batch's receipt gas and calldata bytes.
struct Measured {
    gas: u64,
    bytes: usize,
    accounts: usize,
}

fn sweep_part(accounts: u64, batch: usize) -> Result {
    tokio::runtime::Runtime::new()?.block_on(sweep_on_devnet(accounts, batch))
}

async fn sweep_on_devnet(accounts: u64, batch: usize) -> Result {
    // About 100 SNM each: the round's total (about 10^8 SNM for 1M accounts) fits the devnet's supply.
    let values: Vec<(Address, Snm)> = (0..accounts)
        .map(|k| (account(k), Snm::from_wei(U256::from(100_000_000_000_000_000_000u128 + u128::from(k) * 7))))
        .collect();
    let total = Snm::from_wei(values.iter().fold(U256::ZERO, |sum, (_, amount)| sum + amount.wei()));
    let mut floors = Floors::measure();
    let start = Instant::now();
    let tree = StandardMerkleTree::build(values)?;
    let built = start.elapsed().as_secs_f64();
    floors.probe();
    let (floor, why) = floors.hashing(Floors::tree_hashes(accounts));

    let devnet = Devnet::start_with(DevnetConfig { accounts: 2, ..Default::default() }).await?;
    let operator = devnet.operator()?;
    operator.distributor()?.fund(total).await?;
    let address = devnet.deployment().distributor.ok_or("the devnet has no distributor")?;
    let distributor = RewardDistributor::new(address, devnet.provider());
    let uri = "file://bench.merkle.json".to_owned();
    distributor.proposeRoot(tree.root(), total.wei(), B256::ZERO, uri).send().await?.watch().await?;
    distributor.acceptRoot(tree.root()).send().await?.watch().await?;

    // The operator's sweep: every account due (a fresh round), in tree order, in runs of `batch`.
    let batch_size = NonZeroUsize::new(batch).ok_or("batch 0")?;
    let runs = tree.sweep_batches(tree.values().iter().map(|(a, _)| *a), batch_size)?;
    let [r1, r2, r3, r4, r5, r6, ..] = runs.as_slice() else { return Err("fewer than 6 batches".into()) };
    let plan = [
        SweepBatch { method: Method::Multiproof, holders: true, run: r1 },
        SweepBatch { method: Method::Multiproof, holders: true, run: r2 },
        SweepBatch { method: Method::Multiproof, holders: true, run: r3 },
        SweepBatch { method: Method::ClaimMany, holders: true, run: r4 },
        SweepBatch { method: Method::Multiproof, holders: false, run: r5 },
        SweepBatch { method: Method::ClaimMany, holders: false, run: r6 },
    ];
    // Holders get 1 wei of SNM before the claim: their token balance slot is already non-zero.
    for step in plan.iter().filter(|step| step.holders) {
        for account in step.run {
            operator.token().transfer(*account, Snm::from_wei(U256::from(1))).await?;
        }
    }
    let payer = devnet.connect(&devnet.new_account(Snm::ZERO).await?);
    println!(
        "(d) the operator's sweep (snm campaign claim --all) on anvil: {accounts}-leaf tree (built in {built:.2} s, \
         floor {floor:.2} s = {why}, ratio {:.2}×), batches of {batch} neighbouring leaves in tree order, sent by a third party",
        built / floor.max(f64::MIN_POSITIVE)
    );
    println!(
        "    batch  method           recipients   accounts        gas  per account  calldata bytes per account"
    );
    let mut measured: Vec<(Method, bool, Measured)> = Vec::new();
    for (index, step) in plan.iter().enumerate() {
        let paid = match step.method {
            Method::Multiproof => payer.distributor()?.claim_multiproof(&tree.multi_proof(step.run)?).await?,
            Method::ClaimMany => {
                let claims: Vec<RewardClaim> = step.run.iter().filter_map(|a| tree.claim(*a)).collect();
                payer.distributor()?.claim_many(&claims).await?
            }
        };
        if paid.paid.len() != step.run.len() {
            return Err(format!(
                "batch {} paid {} of {} accounts",
                index + 1,
                paid.paid.len(),
                step.run.len()
            )
            .into());
        }
        let sent =
            devnet.provider().get_transaction_by_hash(paid.transaction).await?.ok_or("no transaction")?;
        let m = Measured { gas: paid.gas_used, bytes: sent.input().len(), accounts: step.run.len() };
        println!(
            "    {:>5}  {:<15}  {:<11}  {:>8}  {:>9}  {:>11}  {:>26}",
            index + 1,
            step.method.name(),
            if step.holders { "holders" } else { "new holders" },
            m.accounts,
            thousands(m.gas),
            thousands(m.gas / m.accounts as u64),
            m.bytes / m.accounts
        );
        measured.push((step.method, step.holders, m));
    }
    for (method, holders) in [
        (Method::Multiproof, true),
        (Method::ClaimMany, true),
        (Method::Multiproof, false),
        (Method::ClaimMany, false),
    ] {
        let rows: Vec<&Measured> =
            measured.iter().filter(|(m, h, _)| (*m, *h) == (method, holders)).map(|(_, _, m)| m).collect();
        let (gas, sent) = rows.iter().fold((0u64, 0usize), |(g, a), m| (g + m.gas, a + m.accounts));
        let per_account = gas / sent.max(1) as u64;
        let target = if holders && accounts == 1_000_000 {
            format!(
                " (batch-claim target <= 45,000: {})",
                if per_account <= 45_000 { "met" } else { "MISSED" }
            )
        } else {
            String::new()
        };
        println!(
            "    {} per account, {}: {}{target}",
            method.name(),
            if holders { "holders" } else { "new holders" },
            thousands(per_account)
        );
    }
    Ok(())
}

fn main() -> Result {
    let full = std::env::args().any(|a| a == "--bench");
    // Part names among the arguments (flags such as `--bench` aside); none means every part.
    let chosen: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let runs = |part: &str| chosen.is_empty() || chosen.iter().any(|c| c == part);
    let dir = std::env::temp_dir().join(format!("snm-rewards-bench-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    if !full {
        println!("rewards bench at tiny sizes (run `make bench-rewards` for the real figures)");
    }
    let result = (|| -> Result {
        if runs("merkle") {
            merkle_part(if full { 1_000_000 } else { 1_000 }, &dir)?;
        }
        if runs("ingest") {
            if full {
                ingest_part(10_000_000, 200_000, 1_000_000, &dir)
            } else {
                ingest_part(10_000, 200, 1_000, &dir)
            }?;
        }
        if runs("jsonl") {
            if full {
                jsonl_part(1_000_000, 200_000, 1_000_000, &dir)
            } else {
                jsonl_part(1_000, 200, 1_000, &dir)
            }?;
        }
        if runs("sweep") {
            if full { sweep_part(1_000_000, 100) } else { sweep_part(1_000, 10) }?;
        }
        Ok(())
    })();
    let _ = fs::remove_dir_all(&dir);
    result
}
