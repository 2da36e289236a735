//! What the indexer stores and serves beyond the SDK's own types ([`PlacedAsk`]
//! and [`PlacedBid`] are served as they are).

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use snm_sdk::{
    market::{AskId, BidId, DealId, PlacedAsk, PlacedBid},
    units::{Bytes, Snm, SnmPerUsd, UsdPerSecond},
};

/// Whether a deal still runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealStatus {
    /// Running.
    Open,
    /// Closed (see [`DealRecord::closed`]).
    Closed,
}

impl DealStatus {
    /// The name stored and accepted in queries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// How a deal ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealClosing {
    /// The contract's close reason code.
    pub reason: u8,
    /// Who closed it.
    pub by: Address,
    /// SNM returned to the customer.
    pub refund: Snm,
    /// Whether the closer blacklisted the other side.
    pub blacklisted: bool,
    /// The block it closed in.
    pub block: u64,
}

/// A deal as the indexer knows it: its opening terms, what was paid, its announced endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealRecord {
    /// Its id.
    pub id: DealId,
    /// Who pays.
    pub customer: Address,
    /// Who is paid.
    pub master: Address,
    /// The machine's key.
    pub worker: Address,
    /// The ask it took.
    pub ask_id: AskId,
    /// The bid it took (0 for a quick buy).
    pub bid_id: BidId,
    /// Its price (after accepted changes).
    pub price: UsdPerSecond,
    /// Its deposit left, as of the last event.
    pub deposit: Snm,
    /// Block time it started.
    pub start_time: u64,
    /// Block time it ends; `None` for spot.
    pub end_time: Option<u64>,
    /// The container image.
    pub image: String,
    /// The hash of its configuration.
    pub config_hash: B256,
    /// Running or closed.
    pub status: DealStatus,
    /// The endpoint the worker announced last.
    pub endpoint: Option<String>,
    /// SNM paid to the master (fees excluded).
    pub paid: Snm,
    /// SNM taken as fees.
    pub fees: Snm,
    /// Block time up to which it is settled.
    pub settled_until: u64,
    /// The block it opened in.
    pub opened_block: u64,
    /// How it closed, once closed.
    pub closed: Option<DealClosing>,
}

/// One payment of a deal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// The block.
    pub block: u64,
    /// The log's index in it.
    pub log_index: u64,
    /// SNM to the master.
    pub amount: Snm,
    /// SNM to the treasury.
    pub fee: Snm,
    /// The oracle's rate used.
    pub snm_per_usd: SnmPerUsd,
    /// Settled up to this block time.
    pub settled_until: u64,
    /// Whether it was the closing payment.
    pub final_payment: bool,
}

/// A deal with its payments (`GET /v1/deals/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealDetail {
    /// The deal.
    #[serde(flatten)]
    pub deal: DealRecord,
    /// Its payments, oldest first.
    pub settlements: Vec<Settlement>,
}

/// A worker linked to a master.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerLink {
    /// The worker's key.
    pub worker: Address,
    /// Whether the master confirmed it (otherwise only requested).
    pub confirmed: bool,
}

/// A supplier's page (`GET /v1/suppliers/{master}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierView {
    /// The master.
    pub master: Address,
    /// Its workers.
    pub workers: Vec<WorkerLink>,
    /// Its open asks.
    pub asks: Vec<PlacedAsk>,
    /// Its deals, newest first.
    pub deals: Vec<DealRecord>,
    /// SNM paid to it over every settlement.
    pub earnings: Snm,
    /// The hosts of its running deals' endpoints.
    pub ips: Vec<String>,
    /// SNM it claimed from the reward distributor.
    pub rewards_claimed: Snm,
    /// Customer traffic its IPs carried over the campaign, as of the newest registered round
    /// that lists it (zero when none does).
    pub traffic: Bytes,
    /// SNM the newest registered round entitles it to, in all (cumulative).
    pub rewards_entitled: Snm,
    /// What of that it has not claimed yet.
    pub rewards_unclaimed: Snm,
    /// Its traffic and reward in each registered round, newest first.
    pub rounds: Vec<SupplierRound>,
}

/// A master's traffic and reward in one registered reward round (from the round file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierRound {
    /// The round.
    pub round: u64,
    /// IPs it owns over the campaign.
    pub ips: u64,
    /// Bytes over the campaign.
    pub bytes: Bytes,
    /// IPs it gained this round.
    pub round_ips: u64,
    /// Bytes this round.
    pub round_bytes: Bytes,
    /// SNM this round added.
    pub round_amount: Snm,
    /// SNM over the campaign (what the round's tree holds for it).
    pub cumulative: Snm,
}

/// A page of open asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskPage {
    /// The asks, cheapest first, then oldest.
    pub asks: Vec<PlacedAsk>,
    /// The signed asks relayed by `POST /v1/asks` that pass the same filter, cheapest first (on
    /// the first page only; at most `limit`).
    #[serde(default)]
    pub signed_asks: Vec<snm_sdk::market::SignedAsk>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next: Option<String>,
    /// Every block up to this one is in the answer.
    pub indexed_block: Option<u64>,
}

/// A page of open bids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidPage {
    /// The bids, oldest first.
    pub bids: Vec<PlacedBid>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next: Option<String>,
    /// Every block up to this one is in the answer.
    pub indexed_block: Option<u64>,
}

/// The market at a glance (`GET /v1/stats`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Open asks.
    pub open_asks: u64,
    /// Open bids.
    pub open_bids: u64,
    /// Running deals.
    pub active_deals: u64,
    /// Every deal ever opened.
    pub total_deals: u64,
    /// What the running deals pay together, per hour.
    pub usd_per_hour: snm_sdk::units::UsdPerHour,
    /// Distinct hosts among the running deals' endpoints.
    pub unique_supplier_ips: u64,
    /// The oracle's last rate.
    pub snm_per_usd: Option<SnmPerUsd>,
    /// The newest block indexed.
    pub indexed_block: Option<u64>,
}

/// A reward round as proposed on the distributor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardRound {
    /// Its number.
    pub round: u64,
    /// Its Merkle root.
    pub root: B256,
    /// `proposed`, `accepted` or `cancelled`.
    pub status: String,
    /// SNM the root entitles in total (cumulative over rounds).
    pub total: Snm,
    /// The hash of its files.
    pub content_hash: B256,
    /// Where its files are.
    pub uri: String,
    /// When it can be accepted.
    pub acceptable_at: u64,
    /// Accounts registered with the indexer for this round.
    pub registered_accounts: u64,
    /// How many of those claimed their cumulative amount since.
    pub claimed_accounts: u64,
}

/// An account's entitlement in a registered round (`GET /v1/claims/{account}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimView {
    /// The round.
    pub round: u64,
    /// The account.
    pub account: Address,
    /// Its cumulative entitlement up to this round.
    pub cumulative: Snm,
    /// The Merkle proof of (account, cumulative) under the round's root.
    pub proof: Vec<B256>,
    /// What it claimed so far (cumulative).
    pub claimed: Snm,
}

/// How far the indexer is (`GET /v1/health`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthView {
    /// `ok`, `rpc_unreachable`, `database_unreachable` or `starting`.
    pub status: String,
    /// The node's head, when last seen.
    pub chain_head: Option<u64>,
    /// The newest block indexed.
    pub indexed_block: Option<u64>,
    /// Blocks between the two.
    pub lag: Option<u64>,
    /// The last error, if the last attempt failed.
    pub last_error: Option<String>,
}
