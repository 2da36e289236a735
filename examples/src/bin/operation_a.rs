//! `operation_a`: runs a reward campaign such as SONM's "Operation A" (50 SNM per unique supplier
//! IP plus $4 per TB of customer traffic, at a fixed SNM/USD rate) from usage reports to tokens in
//! the suppliers' accounts.
//!
//! 1. `compute` runs the SDK's reward engine on the reports (CSV or JSON lines; no chain needed),
//!    after the previous round's file if any, writes `round-N.json` and `round-N.merkle.json`, and
//!    prints every account's IPs, traffic, this round's amount and the cumulative one, the
//!    conflicts (an IP reported by several accounts), the total and the Merkle root. A malformed
//!    report or a previous round that does not add up stops it with the engine's error (file,
//!    line, reason), and nothing is written.
//! 2. `publish` (the operator's key) checks the round file and its dump again, funds the reward
//!    distributor with what the round adds beyond what was funded, proposes the root with its total
//!    and the URI of the proofs, and with `--accept` waits out the distributor's delay (showing
//!    what is left) and accepts it. Run again, it resumes: a proposed root is accepted, an accepted
//!    one reported.
//! 3. `claim` (any key) claims the key's own account from the dump; `--all` claims for every
//!    account in it (the key pays the gas, each account is paid to itself), skipping accounts with
//!    nothing left to claim: it sweeps the accounts in tree order, each batch a run of neighbouring
//!    leaves sent as one OpenZeppelin multiproof (`claimMultiproof`: siblings shared by the batch
//!    are sent once), or with `--claim-many` as `claimMany` (one proof per account), and prints
//!    what each was paid and the gas, per batch and per account.
//! 4. `status` shows the distributor's accepted and pending roots, funded and claimed totals.
//!
//! ```text
//! operation_a compute --campaign campaign.toml --reports week1.csv week1b.jsonl --out rounds/
//! export SNM_RPC=http://127.0.0.1:8545 SNM_DEPLOYMENT=deployment.json
//! SNM_KEY=$OPERATOR_KEY operation_a publish --round rounds/round-1.json --accept
//! SNM_KEY=$SUPPLIER_KEY operation_a claim --dump rounds/round-1.merkle.json
//! SNM_KEY=$ANY_KEY operation_a claim --dump rounds/round-1.merkle.json --all
//! operation_a status
//! operation_a compute --campaign campaign.toml --reports week2.csv --previous rounds/round-1.json --out rounds/
//! ```

use std::{
    collections::HashMap,
    fs::File,
    io::{BufWriter, Write},
    num::NonZeroUsize,
    path::{Path, PathBuf},
    process::ExitCode,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256},
    providers::DynProvider,
};
use clap::{Parser, Subcommand};
use snm_examples::{
    campaign::{self, CampaignError, ClaimState, Distributor},
    cli::ChainArgs,
    table::{Align, Table},
    units::{plural, sum, thousands},
};
use snm_sdk::{
    Client, Operator,
    client::RewardsPaid,
    operator::PendingRound,
    rewards::{RewardClaim, RewardsError, Round, StandardMerkleTree},
    units::{Snm, format_duration},
};

/// Computes, publishes and claims the rounds of a reward campaign.
#[derive(Debug, Parser)]
#[command(name = "operation_a", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Computes a round from usage reports (no chain needed) and writes round-N.json and
    /// round-N.merkle.json.
    Compute {
        /// The campaign's rules (TOML: id, name, snm_per_ip, usd_per_tb, snm_per_usd).
        #[arg(long)]
        campaign: PathBuf,
        /// Usage reports: `.csv` (header `account,ip,bytes,period_start,period_end`) or `.jsonl`.
        #[arg(long, required = true, num_args = 1..)]
        reports: Vec<PathBuf>,
        /// The previous round's file (round-N.json); none for round 1.
        #[arg(long)]
        previous: Option<PathBuf>,
        /// Where to write the round's files (created if needed; existing rounds are never
        /// overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Publishes a computed round (the operator's key): funds what it adds, proposes its root and,
    /// with --accept, accepts it once the delay has passed.
    Publish {
        #[command(flatten)]
        chain: ChainArgs,
        /// The round file (round-N.json); its dump round-N.merkle.json must be beside it.
        #[arg(long)]
        round: PathBuf,
        /// Where claimers fetch the proofs (default: the dump's file:// URL).
        #[arg(long)]
        uri: Option<String>,
        /// Waits out the delay and accepts the root (else only proposes it).
        #[arg(long)]
        accept: bool,
    },
    /// Claims rewards from a round's Merkle dump: the key's own account, or every account with --all.
    Claim {
        #[command(flatten)]
        chain: ChainArgs,
        /// The accepted round's dump (round-N.merkle.json).
        #[arg(long)]
        dump: PathBuf,
        /// Claims for every account in the dump (paid to each account; the key pays the gas).
        #[arg(long)]
        all: bool,
        /// Accounts per transaction, with --all.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..))]
        batch: u16,
        /// With --all: sends `claimMany` batches (one proof per account) instead of one multiproof
        /// per batch (`claimMultiproof`, cheaper for a sweep in tree order).
        #[arg(long, requires = "all")]
        claim_many: bool,
        /// With --all: writes every payment to this CSV file as it is made (account, cumulative,
        /// claimed before, paid, all in wei, and the transaction), one batch at a time, so an
        /// interrupted sweep leaves a true record. The screen lists the first
        /// 50 accounts only.
        #[arg(long, requires = "all", value_name = "CSV")]
        payouts: Option<PathBuf>,
    },
    /// The distributor's accepted and pending roots, funded and claimed totals (no key needed).
    Status {
        #[command(flatten)]
        chain: ChainArgs,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Args::parse().command {
        Command::Compute { campaign, reports, previous, out } => {
            compute(&campaign, &reports, previous.as_deref(), &out)
        }
        Command::Publish { chain, round, uri, accept } => publish(&chain, &round, uri, accept).await,
        Command::Claim { chain, dump, all: false, .. } => claim_own(&chain, &dump).await,
        Command::Claim { chain, dump, all: true, batch, claim_many, payouts } => {
            let method = if claim_many { BatchMethod::ClaimMany } else { BatchMethod::Multiproof };
            // clap refuses 0, so the fallback is never taken.
            let batch = NonZeroUsize::new(batch.into()).unwrap_or(NonZeroUsize::MIN);
            claim_all(&chain, &dump, batch, method, payouts.as_deref()).await
        }
        Command::Status { chain } => status(&chain).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("operation_a: {error}");
            ExitCode::FAILURE
        }
    }
}

fn compute(
    campaign: &Path,
    reports: &[PathBuf],
    previous: Option<&Path>,
    out: &Path,
) -> Result<(), CampaignError> {
    let (round, files) = campaign::compute(campaign, reports, previous, out)?;
    print!("{}", campaign::round_text(&round));
    println!("wrote {} and {}", files.round.display(), files.merkle.display());
    Ok(())
}

async fn publish(
    chain: &ChainArgs,
    path: &Path,
    uri: Option<String>,
    accept: bool,
) -> Result<(), CampaignError> {
    let round = Round::load(path)?;
    let dump = Round::files_in(path.parent().unwrap_or(Path::new(".")), round.number()).merkle;
    campaign::check_dump(&round, path, &dump)?;
    println!(
        "round {} of {}: {}, total {} ({} this round)",
        round.number(),
        round.campaign().name,
        plural(round.accounts().len(), "account"),
        round.total(),
        round.round_total()
    );
    println!("root {}", round.root());
    let operator = Operator::new(chain.connect().await?);
    let distributor = Distributor::new(&operator)?;
    distributor.check_owner(operator.sender()).await?;
    let status = operator.reward_status().await?;
    if status.root == round.root() {
        println!("round {} is already accepted", status.round);
        print!("{}", distributor.status().await?);
        return Ok(());
    }
    let pending = match status.pending {
        Some(pending) if pending.root == round.root() => {
            println!(
                "already proposed as round {}, acceptable at block time {}",
                pending.round, pending.acceptable_at
            );
            pending
        }
        Some(other) => return Err(CampaignError::OtherPending { root: other.root, round: other.round }),
        None => {
            let follows = round.previous_root().unwrap_or(B256::ZERO);
            if status.root != follows {
                let (accepted, accepted_round) = (status.root, status.round);
                return Err(CampaignError::OutOfOrder {
                    round: round.number(),
                    follows,
                    accepted,
                    accepted_round,
                });
            }
            match round.total().checked_sub(status.funded).filter(|missing| *missing > Snm::ZERO) {
                Some(missing) => {
                    println!("funding {missing}: the round's total minus the {} funded so far", status.funded)
                }
                None => println!("already funded: {} covers the round's total", status.funded),
            }
            let uri = match uri {
                Some(uri) => uri,
                None => format!(
                    "file://{}",
                    std::fs::canonicalize(&dump).map_err(|e| RewardsError::io(&dump, e))?.display()
                ),
            };
            let pending = operator.propose_round(&round, &uri).await?;
            println!(
                "proposed as round {} (proofs at {uri}), acceptable at block time {}",
                pending.round, pending.acceptable_at
            );
            pending
        }
    };
    if accept {
        wait_for_delay(&operator, &pending).await?;
        let accepted = operator.accept_round(&pending).await?;
        println!("accepted round {}", accepted.round);
    } else {
        println!("not accepted yet: run again with --accept (from block time {})", pending.acceptable_at);
    }
    print!("{}", distributor.status().await?);
    Ok(())
}

/// Waits until the chain's time reaches the proposal's acceptance time, saying how long is left
/// every ten seconds; fails when the clock does not get there within that time and two minutes.
async fn wait_for_delay(
    operator: &Operator<DynProvider>,
    pending: &PendingRound,
) -> Result<(), CampaignError> {
    let start = Instant::now();
    let mut last_report: Option<Instant> = None;
    let mut limit = None;
    loop {
        let now = operator.now().await?;
        let Some(left) = pending.acceptable_at.checked_sub(now).filter(|left| *left > 0) else {
            return Ok(());
        };
        let limit = *limit.get_or_insert(Duration::from_secs(left) + Duration::from_secs(120));
        if start.elapsed() >= limit {
            return Err(CampaignError::ClockStuck { acceptable_at: pending.acceptable_at, waited: limit });
        }
        if last_report.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
            let left = format_duration(Duration::from_secs(left));
            println!("waiting for the delay: {left} left (until block time {})", pending.acceptable_at);
            last_report = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_secs(left).min(Duration::from_secs(1))).await;
    }
}

/// The dump and the accepted round, after checking that the dump's root is the accepted one.
async fn current_dump(
    client: &Client<DynProvider>,
    dump: &Path,
) -> Result<(StandardMerkleTree, u64), CampaignError> {
    let tree = StandardMerkleTree::load_dump(dump)?;
    let round = Distributor::new(client)?.check_current(&tree, dump).await?;
    Ok((tree, round))
}

async fn claim_own(chain: &ChainArgs, dump: &Path) -> Result<(), CampaignError> {
    let client = chain.connect().await?;
    let account = client.sender();
    let (tree, round) = current_dump(&client, dump).await?;
    let claim = tree.claim(account).ok_or_else(|| CampaignError::NoLeaf {
        account,
        dump: dump.to_owned(),
        leaves: tree.len(),
    })?;
    let claimed = client.claimed_reward(account).await?;
    if claimed >= claim.cumulative {
        return Err(CampaignError::NothingToClaim { account, claimed, cumulative: claim.cumulative });
    }
    let paid = client.claim_reward_for(&claim).await?;
    println!("claimed for {account} under round {round} (root {})", tree.root());
    let line = |label: &str, value: String| println!("  {label:<16}{value}");
    line("cumulative", claim.cumulative.to_string());
    line("claimed before", claimed.to_string());
    line("paid now", paid.total().to_string());
    line("gas", format!("{} (tx {})", thousands(paid.gas_used), paid.transaction));
    Ok(())
}

/// How `claim --all` sends a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BatchMethod {
    /// One OpenZeppelin multiproof for the batch (`claimMultiproof`).
    Multiproof,
    /// One proof per account (`claimMany`).
    ClaimMany,
}

impl BatchMethod {
    fn function(self) -> &'static str {
        match self {
            Self::Multiproof => "claimMultiproof",
            Self::ClaimMany => "claimMany",
        }
    }
}

/// Pays every account of the dump with something left to claim, in tree order: a batch is a run of
/// neighbouring leaves, so its multiproof shares all but a few siblings.
async fn claim_all(
    chain: &ChainArgs,
    dump: &Path,
    batch: NonZeroUsize,
    method: BatchMethod,
    payouts: Option<&Path>,
) -> Result<(), CampaignError> {
    let client = chain.connect().await?;
    let (tree, round) = current_dump(&client, dump).await?;
    // Looked up by account as the batches (in tree order) are paid.
    let mut due: HashMap<Address, ClaimState> = campaign::claim_status(&client, &tree)
        .await?
        .into_iter()
        .filter(ClaimState::is_due)
        .map(|state| (state.account, state))
        .collect();
    print!("round {round} (root {}): {} in the dump", tree.root(), plural(tree.len(), "account"));
    if due.is_empty() {
        println!(", every one has claimed its whole amount: nothing left to claim");
        return Ok(());
    }
    let paying = due.len();
    // The sweep's order comes from the tree, not from the map's.
    let runs = tree.sweep_batches(due.keys().copied(), batch).map_err(RewardsError::from)?;
    let batches = runs.len();
    println!(
        ", {} with nothing left to claim; paying {paying} in {} of up to {batch} ({}, in tree order), gas paid by {}",
        tree.len() - paying,
        if batches == 1 { "1 batch".to_owned() } else { format!("{batches} batches") },
        method.function(),
        client.sender()
    );
    let mut payouts = payouts.map(PayoutsFile::create).transpose()?;
    let mut table = Table::new(&[
        ("account", Align::Left),
        ("cumulative", Align::Right),
        ("claimed before", Align::Right),
        ("paid now", Align::Right),
    ]);
    let (mut total, mut gas, mut accounts) = (Snm::ZERO, 0u64, 0usize);
    for (index, run) in runs.iter().enumerate() {
        let entries: Vec<ClaimState> = run.iter().filter_map(|account| due.remove(account)).collect();
        // Proofs are built per batch: a sweep of a large round never holds them all.
        let paid = match method {
            BatchMethod::Multiproof => {
                let multiproof = tree.multi_proof(run).map_err(RewardsError::from)?;
                client.claim_rewards_multiproof(&multiproof).await?
            }
            BatchMethod::ClaimMany => {
                let claims: Vec<RewardClaim> =
                    run.iter().filter_map(|account| tree.claim(*account)).collect();
                client.claim_rewards(&claims).await?
            }
        };
        println!("{}", campaign::batch_line(index + 1, batches, entries.len(), &paid));
        if let Some(file) = payouts.as_mut() {
            file.write(&entries, &paid)?;
        }
        for state in entries.iter().take(TABLE_ROWS.saturating_sub(table.len())) {
            table.row([
                state.account.to_string(),
                state.cumulative.to_string(),
                state.claimed.to_string(),
                paid.paid_to(state.account).to_string(),
            ]);
        }
        total = sum([total, paid.total()]);
        gas = gas.saturating_add(paid.gas_used);
        accounts += paid.paid.len();
    }
    print!("{table}");
    if paying > table.len() {
        let more = plural(paying - table.len(), "more account");
        match &payouts {
            Some(file) => println!("… and {more}: every payment is in {}", file.path.display()),
            None => println!("… and {more} (--payouts FILE records every payment)"),
        }
    }
    println!(
        "paid {total} to {}; gas {} in {} ({} per account sent)",
        plural(accounts, "account"),
        thousands(gas),
        plural(batches, "transaction"),
        thousands(campaign::per_account(gas, paying))
    );
    Ok(())
}

/// Accounts listed on screen by `claim --all`; the payouts file has them all.
const TABLE_ROWS: usize = 50;

/// The CSV record of a sweep's payments (`claim --all --payouts`), flushed after each batch.
struct PayoutsFile {
    path: PathBuf,
    out: BufWriter<File>,
}

impl PayoutsFile {
    fn create(path: &Path) -> Result<Self, CampaignError> {
        let mut file = Self {
            path: path.to_owned(),
            out: BufWriter::new(File::create(path).map_err(|e| Self::error(path, e))?),
        };
        writeln!(file.out, "account,cumulative_wei,claimed_before_wei,paid_wei,transaction")
            .map_err(|e| Self::error(path, e))?;
        Ok(file)
    }

    /// One line per account of a paid batch (0 for an account paid meanwhile by someone else).
    fn write(&mut self, entries: &[ClaimState], paid: &RewardsPaid) -> Result<(), CampaignError> {
        let mut lines = String::new();
        for state in entries {
            let amount = paid.paid_to(state.account);
            lines.push_str(&format!(
                "{},{},{},{},{}\n",
                state.account,
                state.cumulative.wei(),
                state.claimed.wei(),
                amount.wei(),
                paid.transaction
            ));
        }
        self.out
            .write_all(lines.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| Self::error(&self.path, e))
    }

    fn error(path: &Path, source: std::io::Error) -> CampaignError {
        CampaignError::Payouts { path: path.to_owned(), source }
    }
}

async fn status(chain: &ChainArgs) -> Result<(), CampaignError> {
    let client = chain.connect_read_only().await?;
    print!("{}", Distributor::new(&client)?.status().await?);
    Ok(())
}
