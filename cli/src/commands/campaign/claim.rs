//! `snm campaign claim`: the key's own rewards, or a sweep of every account of a round.

use std::{
    collections::HashMap,
    fs::File,
    io::{BufWriter, Write},
    num::NonZeroUsize,
    path::{Path, PathBuf},
};

use alloy::{
    primitives::{Address, B256},
    providers::DynProvider,
};
use serde::Serialize;
use snm_sdk::{
    rewards::{RewardClaim, RewardsError, StandardMerkleTree},
    services::{DistributorService, RewardsPaid},
    units::Snm,
};

use crate::{
    campaign::{self, CampaignError, ClaimState},
    chain::ChainArgs,
    error::CliError,
    output::Frame,
    reward_claim,
    table::{Align, Table},
    units::{plural, thousands},
};

/// Which dump, whose claims, and how to send them.
#[derive(Debug, clap::Args)]
pub struct Args {
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
}

/// The dump and the accepted round, after checking that the dump's root is the accepted one.
async fn current_dump(
    distributor: &DistributorService<DynProvider>,
    dump: &Path,
) -> Result<(StandardMerkleTree, u64), CampaignError> {
    let tree = StandardMerkleTree::load_dump(dump)?;
    let round = campaign::check_current(distributor, &tree, dump).await?;
    Ok((tree, round))
}

/// Claims the key's own account, or with `--all` every account of the dump.
pub(super) async fn run(args: Args, frame: Frame) -> Result<(), CliError> {
    if !args.all {
        let claimed = reward_claim::claim_own(&args.chain, &args.dump).await?;
        return Ok(frame.emit(&claimed)?);
    }
    let method = if args.claim_many { BatchMethod::ClaimMany } else { BatchMethod::Multiproof };
    // clap refuses 0, so the fallback is never taken.
    let batch = NonZeroUsize::new(args.batch.into()).unwrap_or(NonZeroUsize::MIN);
    let sweep = claim_all(&args.chain, &args.dump, batch, method, args.payouts.as_deref(), frame).await?;
    Ok(frame.emit_json(&sweep)?)
}

/// What `snm --json campaign claim --all` prints: the round, how many accounts were due, and
/// every batch sent with what it paid to whom.
#[derive(Debug, Serialize)]
struct Sweep {
    round: u64,
    root: B256,
    accounts: usize,
    paying: usize,
    method: &'static str,
    batches: Vec<RewardsPaid>,
    total: Snm,
    gas: u64,
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
    frame: Frame,
) -> Result<Sweep, CampaignError> {
    let client = chain.connect().await?;
    let distributor = campaign::distributor(&client)?;
    let (tree, round) = current_dump(&distributor, dump).await?;
    // Looked up by account as the batches (in tree order) are paid.
    let mut due: HashMap<Address, ClaimState> = campaign::claim_status(&distributor, &tree)
        .await?
        .into_iter()
        .filter(ClaimState::is_due)
        .map(|state| (state.account, state))
        .collect();
    frame.print(format!(
        "round {round} (root {}): {} in the dump",
        tree.root(),
        plural(tree.len(), "account")
    ));
    let mut sweep = Sweep {
        round,
        root: tree.root(),
        accounts: tree.len(),
        paying: due.len(),
        method: method.function(),
        batches: Vec::new(),
        total: Snm::ZERO,
        gas: 0,
    };
    if due.is_empty() {
        frame.say(", every one has claimed its whole amount: nothing left to claim");
        return Ok(sweep);
    }
    let paying = due.len();
    // The sweep's order comes from the tree, not from the map's.
    let runs = tree.sweep_batches(due.keys().copied(), batch).map_err(RewardsError::from)?;
    let batches = runs.len();
    frame.say(format!(
        ", {} with nothing left to claim; paying {paying} in {} of up to {batch} ({}, in tree order), gas paid by {}",
        tree.len() - paying,
        if batches == 1 { "1 batch".to_owned() } else { format!("{batches} batches") },
        method.function(),
        client.sender()
    ));
    let progress = frame.progress(paying as u64, "claiming");
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
                distributor.claim_multiproof(&multiproof).await?
            }
            BatchMethod::ClaimMany => {
                let claims: Vec<RewardClaim> =
                    run.iter().filter_map(|account| tree.claim(*account)).collect();
                distributor.claim_many(&claims).await?
            }
        };
        if let Some(bar) = &progress {
            bar.inc(entries.len() as u64);
            bar.suspend(|| frame.say(campaign::batch_line(index + 1, batches, entries.len(), &paid)));
        } else {
            frame.say(campaign::batch_line(index + 1, batches, entries.len(), &paid));
        }
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
        total = [total, paid.total()].into_iter().sum();
        gas = gas.saturating_add(paid.gas_used);
        accounts += paid.paid.len();
        sweep.batches.push(paid);
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    frame.print(&table);
    if paying > table.len() {
        let more = plural(paying - table.len(), "more account");
        match &payouts {
            Some(file) => frame.say(format!("… and {more}: every payment is in {}", file.path.display())),
            None => frame.say(format!("… and {more} (--payouts FILE records every payment)")),
        }
    }
    frame.say(format!(
        "paid {total} to {}; gas {} in {} ({} per account sent)",
        plural(accounts, "account"),
        thousands(gas),
        plural(batches, "transaction"),
        thousands(campaign::per_account(gas, paying))
    ));
    (sweep.total, sweep.gas) = (total, gas);
    Ok(sweep)
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
