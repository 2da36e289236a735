//! `snm campaign publish`: funds, proposes and accepts a computed round (the operator's key).

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::{primitives::B256, providers::DynProvider};
use snm_sdk::{
    Client,
    rewards::{RewardsError, Round},
    services::PendingRound,
    units::{Snm, format_duration},
};

use serde::Serialize;

use crate::{
    campaign::{self, CampaignError},
    chain::ChainArgs,
    error::CliError,
    output::Frame,
    units::plural,
};

/// The round to publish and how.
#[derive(Debug, clap::Args)]
pub struct Args {
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
}

/// Checks the round, funds, proposes and (with `--accept`) accepts it.
pub(super) async fn run(args: Args, frame: Frame) -> Result<(), CliError> {
    let published = publish(args, frame).await?;
    Ok(frame.emit_json(&published)?)
}

/// What `snm --json campaign publish` prints: the round, whether it is accepted or only proposed
/// (with when it can be accepted), and the distributor's state after.
#[derive(Debug, Serialize)]
struct Published {
    round: u64,
    root: B256,
    accepted: bool,
    pending: Option<PendingRound>,
    status: campaign::Status,
}

async fn publish(args: Args, frame: Frame) -> Result<Published, CampaignError> {
    let Args { chain, round: path, uri, accept } = args;
    let path = path.as_path();
    let round = Round::load(path)?;
    let dump = Round::files_in(path.parent().unwrap_or(Path::new(".")), round.number()).merkle;
    campaign::check_dump(&round, path, &dump)?;
    frame.say(format!(
        "round {} of {}: {}, total {} ({} this round)",
        round.number(),
        round.campaign().name,
        plural(round.accounts().len(), "account"),
        round.total(),
        round.round_total()
    ));
    frame.say(format!("root {}", round.root()));
    let operator = chain.connect().await?;
    let distributor = campaign::distributor(&operator)?;
    campaign::check_owner(&distributor, operator.sender()).await?;
    let status = distributor.status().await?;
    if status.root == round.root() {
        frame.say(format!("round {} is already accepted", status.round));
        let status = campaign::status(&distributor).await?;
        frame.print(&status);
        return Ok(Published {
            round: round.number(),
            root: round.root(),
            accepted: true,
            pending: None,
            status,
        });
    }
    let pending = match status.pending {
        Some(pending) if pending.root == round.root() => {
            frame.say(format!(
                "already proposed as round {}, acceptable at block time {}",
                pending.round, pending.acceptable_at
            ));
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
                Some(missing) => frame.say(format!(
                    "funding {missing}: the round's total minus the {} funded so far",
                    status.funded
                )),
                None => frame.say(format!("already funded: {} covers the round's total", status.funded)),
            }
            let uri = match uri {
                Some(uri) => uri,
                None => format!(
                    "file://{}",
                    std::fs::canonicalize(&dump).map_err(|e| RewardsError::io(&dump, e))?.display()
                ),
            };
            let pending = distributor.propose_round(&round, &uri).await?;
            frame.say(format!(
                "proposed as round {} (proofs at {uri}), acceptable at block time {}",
                pending.round, pending.acceptable_at
            ));
            pending
        }
    };
    if accept {
        wait_for_delay(&operator, &pending, frame).await?;
        let accepted = distributor.accept_when_ready(&pending).await?;
        frame.say(format!("accepted round {}", accepted.round));
    } else {
        frame.say(format!(
            "not accepted yet: run again with --accept (from block time {})",
            pending.acceptable_at
        ));
    }
    let status = campaign::status(&distributor).await?;
    frame.print(&status);
    Ok(Published {
        round: round.number(),
        root: round.root(),
        accepted: accept,
        pending: (!accept).then_some(pending),
        status,
    })
}

/// Waits until the chain's time reaches the proposal's acceptance time, saying how long is left
/// every ten seconds; fails when the clock does not get there within that time and two minutes.
async fn wait_for_delay(
    operator: &Client<DynProvider>,
    pending: &PendingRound,
    frame: Frame,
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
            frame.say(format!(
                "waiting for the delay: {left} left (until block time {})",
                pending.acceptable_at
            ));
            last_report = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_secs(left).min(Duration::from_secs(1))).await;
    }
}
