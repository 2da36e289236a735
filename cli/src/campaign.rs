//! A reward campaign's rounds (`snm campaign`): a round computed from usage reports by
//! the SDK's reward engine and shown as a table ([`compute`], [`round_text`]), the checks before it
//! is published ([`check_dump`], [`check_owner`]) and claimed ([`check_current`],
//! [`claim_status`]), and the distributor's state ([`Status`]), over the SDK's
//! [`DistributorService`].

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
};
use snm_sdk::{
    Client, Error,
    rewards::{
        ApplicationError, Campaign, ConflictRule, EndpointError, RewardsError, Round, RoundFiles,
        RoundInputs, StandardMerkleTree, compute_round_with,
    },
    services::{DistributorService, RewardStatus, RewardsPaid},
    units::{Snm, format_duration},
};

use crate::{
    table::{Align, Table},
    units::{plural, thousands},
};

/// Why a campaign step failed. Nothing is published or claimed when it does.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// The reward engine refused an input: names the file, the line and the reason.
    #[error(transparent)]
    Rewards(#[from] RewardsError),
    /// An application or admission refused, or its file unusable: names the account, IP or file
    /// and the reason.
    #[error(transparent)]
    Application(#[from] ApplicationError),
    /// The application endpoint could not be reached, or refused the application (with the
    /// reason).
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// `--to` is not an http(s) URL.
    #[error(
        "--to `{0}`: expected the operator's endpoint as an http:// or https:// URL (http://203.0.113.1:8650)"
    )]
    BadEndpoint(String),
    /// `serve` cannot listen on the address.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The endpoint stopped on an error.
    #[error("the application endpoint stopped: {0}")]
    Serve(#[source] std::io::Error),
    /// A `--worker` that is not `ADDRESS=IP`.
    #[error("--worker `{0}`: expected the worker's address and its IP as ADDRESS=IP (0x…=203.0.113.7)")]
    BadWorker(String),
    /// `admit` without a count or a list.
    #[error("admit needs --count K (the next K applicants) or --accounts A,B (a chosen list)")]
    NothingToAdmit,
    /// The SDK's error (chain, contracts, funds).
    #[error(transparent)]
    Sdk(#[from] Error),
    /// The command line's chain options cannot be used.
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    /// `--account` names a keystore that cannot be read.
    #[error(transparent)]
    Wallet(Box<crate::wallet::WalletError>),
    /// `--account` names a keystore whose file does not say its address.
    #[error("keystore `{account}` does not say its address: pass the participant's address to --account")]
    NoAddress {
        /// The keystore's name.
        account: String,
    },
    /// The deployment has no reward distributor.
    #[error(
        "the deployment names no reward distributor: pass a deployment file with one, or --distributor with --market"
    )]
    NoDistributor,
    /// The Merkle dump beside a round file is not that round's.
    #[error(
        "{}: not the Merkle dump of {} (its bytes differ from the round's tree): publish the two files `compute` wrote together",
        dump.display(),
        round.display()
    )]
    DumpMismatch {
        /// The round file.
        round: PathBuf,
        /// The dump found beside it.
        dump: PathBuf,
    },
    /// The key is not the distributor's owner.
    #[error(
        "{account} is not the distributor's owner ({owner}): only the campaign's operator publishes rounds"
    )]
    NotOwner {
        /// The key's account.
        account: Address,
        /// The owner.
        owner: Address,
    },
    /// The round does not follow the accepted one.
    #[error(
        "round {round} follows root {follows}, but the distributor's accepted root is {accepted} (round {accepted_round}): \
         publish round {} first",
        accepted_round + 1
    )]
    OutOfOrder {
        /// The round's number.
        round: u64,
        /// The root the round was computed after (zero for round 1).
        follows: B256,
        /// The accepted root.
        accepted: B256,
        /// Its round.
        accepted_round: u64,
    },
    /// Another root is already proposed.
    #[error(
        "root {root} is already proposed as round {round}: it must be accepted or cancelled before another is proposed"
    )]
    OtherPending {
        /// The pending root.
        root: B256,
        /// Its round.
        round: u64,
    },
    /// The chain's time did not reach a proposal's acceptance time.
    #[error(
        "the chain's clock did not reach block time {acceptable_at} within {}: is the node producing blocks?",
        format_duration(*waited)
    )]
    ClockStuck {
        /// When the proposal can be accepted.
        acceptable_at: u64,
        /// How long was waited.
        waited: Duration,
    },
    /// The payouts file could not be written.
    #[error("{}: cannot write the payouts: {source}", path.display())]
    Payouts {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The account has no leaf in the dump.
    #[error("{account} has no leaf in {} ({leaves} accounts): nothing to claim", dump.display())]
    NoLeaf {
        /// The account.
        account: Address,
        /// The dump.
        dump: PathBuf,
        /// Its number of leaves.
        leaves: usize,
    },
    /// The account has already claimed its whole cumulative amount.
    #[error(
        "nothing left to claim: {account} has already claimed {claimed}, all of its cumulative {cumulative}"
    )]
    NothingToClaim {
        /// The account.
        account: Address,
        /// What it has claimed.
        claimed: Snm,
        /// Its cumulative amount in the dump.
        cumulative: Snm,
    },
    /// The dump is of a round that has been replaced.
    #[error("{} is of round {dump_round}, replaced by round {current_round}: claim with round {current_round}'s dump", dump.display())]
    StaleDump {
        /// The dump.
        dump: PathBuf,
        /// Its round.
        dump_round: u64,
        /// The accepted round.
        current_round: u64,
    },
    /// The dump's root is proposed but not accepted yet.
    #[error(
        "{}: its root is proposed as round {round} but not accepted yet (acceptable at block time {acceptable_at})",
        dump.display()
    )]
    NotAccepted {
        /// The dump.
        dump: PathBuf,
        /// The round it is proposed as.
        round: u64,
        /// When it can be accepted.
        acceptable_at: u64,
    },
    /// The dump's root is unknown to the distributor.
    #[error("{}: its root {root} was never proposed to this distributor (accepted root: {accepted})", dump.display())]
    UnknownRoot {
        /// The dump.
        dump: PathBuf,
        /// Its root.
        root: B256,
        /// The accepted root.
        accepted: B256,
    },
}

/// Computes a round of `campaign` (a TOML file) from `inputs` (usage reports, and for a campaign
/// with admission its admission list and availability records), after `previous` (a round file)
/// if given, and writes `round-N.json` and `round-N.merkle.json` into `out`. Nothing is written
/// when any input is bad. It blocks (files and hashing, as [`compute_round_with`] does): call it
/// from a blocking thread in async code.
pub fn compute(
    campaign: &Path,
    inputs: &RoundInputs,
    previous: Option<&Path>,
    out: &Path,
) -> Result<(Round, RoundFiles), CampaignError> {
    let campaign = Campaign::from_toml_file(campaign)?;
    let round = compute_round_with(&campaign, previous, inputs)?;
    let files = round.write(out)?;
    Ok((round, files))
}

/// A round as people read it: the campaign's rules, every account's IPs, traffic, this round's
/// amount and the cumulative one, the conflicts, the total and the root.
pub fn round_text(round: &Round) -> String {
    let campaign = round.campaign();
    let mut text = format!(
        "{} ({}): {} per unique IP, {} per TB at {}\n",
        campaign.name, campaign.id, campaign.snm_per_ip, campaign.usd_per_tb, campaign.snm_per_usd
    );
    let after = match round.previous_root() {
        Some(root) => format!("after round {}, root {root}", round.number() - 1),
        None => "the first".to_owned(),
    };
    text.push_str(&format!(
        "round {} ({after}): {}\n\n",
        round.number(),
        plural(round.records() as usize, "record")
    ));
    let mut table = Table::new(&[
        ("account", Align::Left),
        ("IPs", Align::Right),
        ("new IPs", Align::Right),
        ("traffic", Align::Right),
        ("round traffic", Align::Right),
        ("round amount", Align::Right),
        ("cumulative", Align::Right),
    ]);
    for account in round.accounts() {
        table.row([
            account.account.to_string(),
            account.ips.to_string(),
            account.round_ips.to_string(),
            account.bytes.in_tb().to_string(),
            account.round_bytes.in_tb().to_string(),
            account.round_amount.to_string(),
            account.cumulative.to_string(),
        ]);
    }
    text.push_str(&table.to_string());
    text.push_str(&crate::campaign_standing::participation_text(round));
    text.push_str(&crate::campaign_standing::discrepancies_text(round));
    if !round.conflicts().is_empty() {
        text.push_str(&format!(
            "\n{} (the excluded account's records on the IP are not paid):\n",
            plural(round.conflicts().len(), "conflict")
        ));
        let mut conflicts = Table::new(&[
            ("IP", Align::Left),
            ("owner", Align::Left),
            ("excluded", Align::Left),
            ("traffic", Align::Right),
            ("records", Align::Right),
            ("rule", Align::Left),
        ]);
        for conflict in round.conflicts() {
            let rule = match conflict.rule {
                ConflictRule::EarlierRound => "earlier_round",
                ConflictRule::EarlierPeriodStart => "earlier_period_start",
                ConflictRule::LowerAddress => "lower_address",
            };
            conflicts.row([
                conflict.ip.to_string(),
                conflict.owner.to_string(),
                conflict.excluded.to_string(),
                conflict.excluded_bytes.in_tb().to_string(),
                conflict.excluded_records.to_string(),
                rule.to_owned(),
            ]);
        }
        text.push_str(&conflicts.to_string());
    }
    text.push_str(&format!(
        "\ntotal {} over {} ({} this round)\nroot  {}\n",
        round.total(),
        plural(round.accounts().len(), "account"),
        round.round_total(),
        round.root()
    ));
    text
}

/// Checks that `dump` holds exactly the Merkle dump of `round` (what claimers will use), so a
/// round file is never published beside another round's proofs.
pub fn check_dump(round: &Round, round_file: &Path, dump: &Path) -> Result<(), CampaignError> {
    let found = std::fs::read(dump).map_err(|e| RewardsError::io(dump, e))?;
    let mut expected = Vec::with_capacity(found.len());
    round.tree().write_dump(&mut expected).map_err(|e| RewardsError::io(dump, e))?;
    if found != expected {
        return Err(CampaignError::DumpMismatch { round: round_file.to_owned(), dump: dump.to_owned() });
    }
    Ok(())
}

/// The reward distributor of `client`'s deployment ([`CampaignError::NoDistributor`], which says
/// which options name it, without one).
pub fn distributor<P: Provider + Clone>(client: &Client<P>) -> Result<DistributorService<P>, CampaignError> {
    client.distributor().map_err(|error| match error {
        Error::NoDistributor => CampaignError::NoDistributor,
        other => CampaignError::Sdk(other),
    })
}

/// Fails with [`CampaignError::NotOwner`] unless `account` owns the distributor.
pub async fn check_owner<P: Provider + Clone>(
    distributor: &DistributorService<P>,
    account: Address,
) -> Result<(), CampaignError> {
    let owner = distributor.owner().await?;
    if owner != account {
        return Err(CampaignError::NotOwner { account, owner });
    }
    Ok(())
}

/// Fails, saying why, unless the root of `tree` (loaded from `dump`) is the accepted root:
/// [`CampaignError::StaleDump`], [`CampaignError::NotAccepted`] or
/// [`CampaignError::UnknownRoot`]. Returns the accepted round's number.
pub async fn check_current<P: Provider + Clone>(
    distributor: &DistributorService<P>,
    tree: &StandardMerkleTree,
    dump: &Path,
) -> Result<u64, CampaignError> {
    let status = distributor.status().await?;
    let root = tree.root();
    if root == status.root {
        return Ok(status.round);
    }
    let dump = dump.to_owned();
    if let Some(pending) = status.pending.filter(|p| p.root == root) {
        return Err(CampaignError::NotAccepted {
            dump,
            round: pending.round,
            acceptable_at: pending.acceptable_at,
        });
    }
    let dump_round = distributor.round_of(root).await?;
    if dump_round != 0 {
        return Err(CampaignError::StaleDump { dump, dump_round, current_round: status.round });
    }
    Err(CampaignError::UnknownRoot { dump, root, accepted: status.root })
}

/// The distributor's whole state, for `status`: its roots, what claims paid (from its `Claimed`
/// events, in chunks a node accepts), what it holds.
pub async fn status<P: Provider + Clone>(distributor: &DistributorService<P>) -> Result<Status, Error> {
    let (client, token) = (distributor.client(), distributor.client().token());
    let (owner, delay, reward, claimed, held, now) = tokio::try_join!(
        distributor.owner(),
        distributor.delay(),
        distributor.status(),
        distributor.claimed_total(),
        token.balance(distributor.address()),
        client.now(),
    )?;
    Ok(Status { address: distributor.address(), owner, delay, reward, claimed, held, now })
}

/// An account of a round's tree: its cumulative amount and what it has claimed so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimState {
    /// The account.
    pub account: Address,
    /// Its cumulative amount in the tree.
    pub cumulative: Snm,
    /// What the distributor has paid it so far.
    pub claimed: Snm,
}

impl ClaimState {
    /// Whether the tree still owes it something.
    pub fn is_due(&self) -> bool {
        self.claimed < self.cumulative
    }
}

/// Where every account of `tree` stands, in the dump's order: what it has already been paid comes
/// from the distributor's `Claimed` events in one pass
/// ([`DistributorService::claimed_by_account`]), not from one call per account.
pub async fn claim_status<P: Provider + Clone>(
    distributor: &DistributorService<P>,
    tree: &StandardMerkleTree,
) -> Result<Vec<ClaimState>, Error> {
    let claimed = distributor.claimed_by_account().await?;
    Ok(tree
        .values()
        .iter()
        .map(|&(account, cumulative)| ClaimState {
            account,
            cumulative,
            claimed: claimed.get(&account).copied().unwrap_or(Snm::ZERO),
        })
        .collect())
}

/// The reward distributor's state ([`status`]).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Status {
    /// Its address.
    pub address: Address,
    /// Its owner, who publishes rounds.
    pub owner: Address,
    /// How long a proposed root waits before it can be accepted (in JSON: `delay_seconds`).
    #[serde(rename = "delay_seconds", serialize_with = "seconds")]
    pub delay: Duration,
    /// The accepted and pending roots, the funded total.
    pub reward: RewardStatus,
    /// Everything claims have paid.
    pub claimed: Snm,
    /// Its token balance.
    pub held: Snm,
    /// The chain's time when read.
    pub now: u64,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.reward;
        let line = |f: &mut fmt::Formatter<'_>, label: &str, value: String| writeln!(f, "{label:<16}{value}");
        line(
            f,
            "distributor",
            format!("{} (owner {}, delay {})", self.address, self.owner, format_duration(self.delay)),
        )?;
        if r.round == 0 {
            line(f, "accepted round", "none yet".to_owned())?;
        } else {
            line(f, "accepted round", r.round.to_string())?;
            line(f, "root", r.root.to_string())?;
            line(f, "proofs", format!("{} (content hash {})", r.uri, r.content_hash))?;
        }
        line(f, "total", format!("{} (claimable in all under the accepted root)", r.total))?;
        line(f, "funded", r.funded.to_string())?;
        line(f, "claimed", self.claimed.to_string())?;
        let unclaimed = r.total.checked_sub(self.claimed).unwrap_or(Snm::ZERO);
        line(f, "unclaimed", format!("{unclaimed} (total minus claimed)"))?;
        line(f, "held", format!("{} (its token balance)", self.held))?;
        let pending = match &r.pending {
            None => "none".to_owned(),
            Some(p) => {
                let when = match p.acceptable_at.checked_sub(self.now).filter(|left| *left > 0) {
                    Some(left) => format!("in {}", format_duration(Duration::from_secs(left))),
                    None => "now".to_owned(),
                };
                format!(
                    "round {}, root {}, total {}, acceptable at block time {} ({when})",
                    p.round, p.root, p.total, p.acceptable_at
                )
            }
        };
        line(f, "pending", pending)
    }
}

/// One batch's line: how many of its accounts it paid, how much, the gas (also per account sent)
/// and the transaction.
pub fn batch_line(index: usize, batches: usize, accounts: usize, paid: &RewardsPaid) -> String {
    format!(
        "batch {index}/{batches}: paid {} to {} of {}, gas {}, {} per account (tx {})",
        paid.total(),
        paid.paid.len(),
        plural(accounts, "account"),
        thousands(paid.gas_used),
        thousands(per_account(paid.gas_used, accounts)),
        paid.transaction
    )
}

/// Gas per account of a batch of `accounts` accounts (rounded to the nearest unit; the whole gas
/// when there is no account).
pub fn per_account(gas: u64, accounts: usize) -> u64 {
    match u64::try_from(accounts) {
        Ok(accounts) if accounts > 0 => gas.saturating_add(accounts / 2) / accounts,
        _ => gas,
    }
}

/// A duration as its whole seconds, for JSON.
fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_secs())
}
