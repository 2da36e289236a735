//! The queries behind the HTTP service.

use std::collections::BTreeSet;

use alloy::primitives::{Address, B256, U256};
use snm_sdk::{
    market::{Ask, PlacedAsk, PlacedBid, Requirements},
    units::{Bytes, Resources, Snm, SnmPerUsd, Term, UsdPerSecond},
};

use super::{Database, int, int_saturating, uint};
use crate::{
    IndexerError,
    apply::{address_key, flags_int, price_key},
    model::{
        AskPage, BidPage, ClaimView, DealDetail, DealRecord, RewardRound, Settlement, Stats, SupplierRound,
        SupplierView, WorkerLink,
    },
};

/// Which open asks to list (`GET /v1/asks`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AskFilter {
    /// Least of each resource.
    pub resources: Resources,
    /// Flags the ask must have.
    pub flags: snm_sdk::units::NetFlags,
    /// Required region; 0: any.
    pub region: u32,
    /// Highest price.
    pub max_price: Option<UsdPerSecond>,
    /// Only this master's asks.
    pub master: Option<Address>,
    /// The term the ask must accept; when given, the contract's whole matching rule applies
    /// (expiry at `now`, term, counterparty with `customer`).
    pub term: Option<Term>,
    /// Who buys (for asks reserved to one customer).
    pub customer: Option<Address>,
    /// Block time for expiry; default: the newest indexed block's.
    pub now: Option<u64>,
}

/// Where a page starts: after the ask or bid this names (from a previous page's `next`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageAfter {
    /// The sort key of the last row shown.
    pub key: String,
    /// Its id.
    pub id: u64,
}

impl PageAfter {
    /// Parses a page token (`KEY-ID`); `None` when malformed.
    pub fn parse(token: &str) -> Option<Self> {
        let (key, id) = token.split_once('-')?;
        (key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(())
            .and_then(|()| Some(Self { key: key.to_ascii_lowercase(), id: id.parse().ok()? }))
    }

    fn token(key: &str, id: u64) -> String {
        format!("{key}-{id}")
    }
}

/// The open asks passing the SQL part of an [`AskFilter`] after a keyset position, in price
/// order: a range of the index `asks_fit`, which holds every compared column (migration 0002).
/// The row-value comparison is what both planners turn into an index range (an `OR` of the two
/// cases is not, and made SQLite scan and sort every open ask).
const ASKS_BY_PRICE: &str = "SELECT price_key, id, body FROM asks WHERE valid_to IS NULL \
     AND (price_key, id) > ($1, $2) AND price_key <= $3 \
     AND cpu_milli_cores >= $4 AND ram_bytes >= $5 AND storage_bytes >= $6 AND gpu_count >= $7 \
     AND gpu_mem_bytes >= $8 AND net_up_bps >= $9 AND net_down_bps >= $10 AND (flags & $11) = $11 \
     AND ($12 = 0 OR region = $12) AND $13 = '' \
     ORDER BY price_key, id LIMIT $14";

/// [`ASKS_BY_PRICE`] for one master's asks, through the index `asks_open_by_master` (migration
/// 0006): the master's open asks are read and sorted by price, which beats walking every open ask.
const ASKS_OF_MASTER: &str = "SELECT price_key, id, body FROM asks WHERE valid_to IS NULL AND master = $13 \
     AND (price_key, id) > ($1, $2) AND price_key <= $3 \
     AND cpu_milli_cores >= $4 AND ram_bytes >= $5 AND storage_bytes >= $6 AND gpu_count >= $7 \
     AND gpu_mem_bytes >= $8 AND net_up_bps >= $9 AND net_down_bps >= $10 AND (flags & $11) = $11 \
     AND ($12 = 0 OR region = $12) \
     ORDER BY price_key, id LIMIT $14";

/// The most rows one query of [`Database::asks`] reads.
const MAX_CHUNK: usize = 1_000;

fn decode<T: serde::de::DeserializeOwned>(table: &'static str, body: &str) -> Result<T, IndexerError> {
    serde_json::from_str(body).map_err(|source| IndexerError::CorruptRow { table, source })
}

fn snm(text: &str) -> Snm {
    Snm::from_wei(text.parse::<U256>().unwrap_or_default())
}

impl AskFilter {
    /// Whether `ask` passes the whole filter at block time `now` (SQL only narrows the search).
    pub(super) fn accepts(&self, ask: &Ask, now: u64) -> bool {
        match self.term {
            Some(term) => Requirements {
                resources: self.resources,
                flags: self.flags,
                region: self.region,
                term,
                max_price: self.max_price,
                customer: self.customer,
                master: self.master,
            }
            .matches(ask, now),
            None => {
                ask.resources.covers(&self.resources)
                    && ask.flags.contains(self.flags)
                    && (self.region == 0 || self.region == ask.region)
                    && self.max_price.is_none_or(|max| ask.price <= max)
                    && self.master.is_none_or(|master| master == ask.master)
            }
        }
    }
}

impl Database {
    /// The newest block applied, and its time when stored.
    pub async fn indexed_block(&self) -> Result<Option<(u64, Option<u64>)>, IndexerError> {
        let next: Option<i64> = sqlx::query_scalar("SELECT next_block FROM sync_state WHERE id = 1")
            .fetch_optional(self.pool())
            .await?;
        let Some(last) = next.and_then(|n| uint(n).checked_sub(1)) else { return Ok(None) };
        let time: Option<Option<i64>> =
            sqlx::query_scalar("SELECT timestamp FROM blocks WHERE number <= $1 AND timestamp IS NOT NULL ORDER BY number DESC LIMIT 1")
                .bind(int("block", last)?)
                .fetch_optional(self.pool())
                .await?;
        Ok(Some((last, time.flatten().map(uint))))
    }

    /// Open asks passing `filter`, cheapest first then oldest, at most `limit`, after `after`.
    pub async fn asks(
        &self,
        filter: &AskFilter,
        after: Option<&PageAfter>,
        limit: usize,
    ) -> Result<AskPage, IndexerError> {
        let indexed = self.indexed_block().await?;
        let now = filter.now.or(indexed.and_then(|(_, time)| time)).unwrap_or(0);
        let max_key = filter.max_price.map_or_else(|| "g".to_owned(), price_key);
        let r = &filter.resources;
        let (mut key, mut id) = after.map_or((String::new(), -1), |a| (a.key.clone(), int_saturating(a.id)));
        // One more row than the page tells whether a next page exists; the SQL filter is the
        // whole filter unless a term, expiry or customer is asked for, so one query is the rule
        // and the chunk only grows when the check below refuses rows.
        let mut chunk = limit + 1;
        let mut asks = Vec::with_capacity(limit);
        let mut next = None;
        // With a master, its own index (few asks) beats walking every open ask in price order.
        let sql = if filter.master.is_some() { ASKS_OF_MASTER } else { ASKS_BY_PRICE };
        'pages: loop {
            let rows: Vec<(String, i64, String)> = sqlx::query_as(sql)
                .bind(&key)
                .bind(id)
                .bind(&max_key)
                .bind(int_saturating(r.cpu_milli_cores))
                .bind(int_saturating(r.ram_bytes))
                .bind(int_saturating(r.storage_bytes))
                .bind(int_saturating(r.gpu_count))
                .bind(int_saturating(r.gpu_mem_bytes))
                .bind(int_saturating(r.net_up_bps))
                .bind(int_saturating(r.net_down_bps))
                .bind(flags_int(filter.flags.bits()))
                .bind(i64::from(filter.region))
                .bind(filter.master.map(address_key).unwrap_or_default())
                .bind(int_saturating(chunk as u64))
                .fetch_all(self.pool())
                .await?;
            let exhausted = rows.len() < chunk;
            for (row_key, row_id, body) in rows {
                let ask: PlacedAsk = decode("asks", &body)?;
                (key, id) = (row_key, row_id);
                if filter.accepts(&ask.ask, now) {
                    if asks.len() == limit {
                        // One more exists: the page ends at the previous one.
                        next = asks
                            .last()
                            .map(|a: &PlacedAsk| PageAfter::token(&price_key(a.ask.price), a.id.0));
                        break 'pages;
                    }
                    asks.push(ask);
                }
            }
            if exhausted {
                break;
            }
            chunk = (chunk * 2).min(MAX_CHUNK);
        }
        Ok(AskPage { asks, signed_asks: Vec::new(), next, indexed_block: indexed.map(|(block, _)| block) })
    }

    /// Open bids, oldest first.
    pub async fn bids(
        &self,
        customer: Option<Address>,
        after: Option<u64>,
        limit: usize,
    ) -> Result<BidPage, IndexerError> {
        let indexed = self.indexed_block().await?;
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM bids WHERE valid_to IS NULL AND id > $1 AND ($2 = '' OR customer = $2) ORDER BY id LIMIT $3",
        )
        .bind(after.map_or(-1, int_saturating))
        .bind(customer.map(address_key).unwrap_or_default())
        .bind(int_saturating(limit as u64 + 1))
        .fetch_all(self.pool())
        .await?;
        let mut bids =
            rows.iter().map(|body| decode::<PlacedBid>("bids", body)).collect::<Result<Vec<_>, _>>()?;
        let next = if bids.len() > limit {
            bids.truncate(limit);
            bids.last().map(|b| b.id.0.to_string())
        } else {
            None
        };
        Ok(BidPage { bids, next, indexed_block: indexed.map(|(block, _)| block) })
    }

    /// Deal `id` with its settlements.
    pub async fn deal(&self, id: u64) -> Result<Option<DealDetail>, IndexerError> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM deals WHERE id = $1 AND valid_to IS NULL")
                .bind(int("deal id", id)?)
                .fetch_optional(self.pool())
                .await?;
        let Some(body) = body else { return Ok(None) };
        let deal: DealRecord = decode("deals", &body)?;
        let rows: Vec<(i64, i64, String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT block, log_index, amount, fee, snm_per_usd, settled_until, final FROM settlements \
             WHERE deal_id = $1 ORDER BY block, log_index",
        )
        .bind(int("deal id", id)?)
        .fetch_all(self.pool())
        .await?;
        let settlements = rows
            .into_iter()
            .map(|(block, log_index, amount, fee, rate, until, last)| Settlement {
                block: uint(block),
                log_index: uint(log_index),
                amount: snm(&amount),
                fee: snm(&fee),
                snm_per_usd: SnmPerUsd::from_scaled(rate.parse().unwrap_or_default()),
                settled_until: uint(until),
                final_payment: last != 0,
            })
            .collect();
        Ok(Some(DealDetail { deal, settlements }))
    }

    /// Deals by customer, master and status, newest first.
    pub async fn deals(
        &self,
        customer: Option<Address>,
        master: Option<Address>,
        status: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DealRecord>, IndexerError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM deals WHERE valid_to IS NULL AND ($1 = '' OR customer = $1) AND ($2 = '' OR master = $2) \
             AND ($3 = '' OR status = $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(customer.map(address_key).unwrap_or_default())
        .bind(master.map(address_key).unwrap_or_default())
        .bind(status.unwrap_or_default())
        .bind(int_saturating(limit as u64))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|body| decode("deals", body)).collect()
    }

    /// A master's workers, asks, deals, earnings and rewards.
    pub async fn supplier(&self, master: Address) -> Result<SupplierView, IndexerError> {
        let key = address_key(master);
        let workers: Vec<(String, i64)> = sqlx::query_as(
            "SELECT worker, confirmed FROM workers WHERE master = $1 AND valid_to IS NULL ORDER BY worker",
        )
        .bind(&key)
        .fetch_all(self.pool())
        .await?;
        let workers = workers
            .into_iter()
            .filter_map(|(worker, confirmed)| {
                Some(WorkerLink { worker: worker.parse().ok()?, confirmed: confirmed != 0 })
            })
            .collect();
        let asks =
            self.asks(&AskFilter { master: Some(master), ..AskFilter::default() }, None, 1000).await?.asks;
        let deals = self.deals(None, Some(master), None, 1000).await?;
        let amounts: Vec<String> = sqlx::query_scalar("SELECT amount FROM settlements WHERE master = $1")
            .bind(&key)
            .fetch_all(self.pool())
            .await?;
        let earnings =
            Snm::from_wei(amounts.iter().fold(U256::ZERO, |sum, a| sum.saturating_add(snm(a).wei())));
        let ips = deals
            .iter()
            .filter(|d| d.status == crate::model::DealStatus::Open)
            .filter_map(|d| d.endpoint.as_deref().and_then(endpoint_host))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let claimed: Option<String> = sqlx::query_scalar(
            "SELECT cumulative FROM reward_claims WHERE account = $1 ORDER BY block DESC, log_index DESC LIMIT 1",
        )
        .bind(&key)
        .fetch_optional(self.pool())
        .await?;
        let rounds = self.supplier_rounds(&key).await?;
        let rewards_claimed = claimed.map_or(Snm::ZERO, |c| snm(&c));
        let rewards_entitled = rounds.first().map_or(Snm::ZERO, |r| r.cumulative);
        Ok(SupplierView {
            master,
            workers,
            asks,
            deals,
            earnings,
            ips,
            traffic: rounds.first().map_or(Bytes::new(0), |r| r.bytes),
            rewards_entitled,
            rewards_unclaimed: Snm::from_wei(rewards_entitled.wei().saturating_sub(rewards_claimed.wei())),
            rewards_claimed,
            rounds,
        })
    }

    /// A master's traffic and reward in each registered round, newest first.
    async fn supplier_rounds(&self, key: &str) -> Result<Vec<SupplierRound>, IndexerError> {
        let rows: Vec<(i64, i64, String, i64, String, String, String)> = sqlx::query_as(
            "SELECT round, ips, bytes, round_ips, round_bytes, round_amount, cumulative FROM round_traffic \
             WHERE account = $1 ORDER BY round DESC",
        )
        .bind(key)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(round, ips, bytes, round_ips, round_bytes, round_amount, cumulative)| SupplierRound {
                round: uint(round),
                ips: uint(ips),
                bytes: Bytes::new(bytes.parse().unwrap_or_default()),
                round_ips: uint(round_ips),
                round_bytes: Bytes::new(round_bytes.parse().unwrap_or_default()),
                round_amount: snm(&round_amount),
                cumulative: snm(&cumulative),
            })
            .collect())
    }

    /// The market at a glance.
    pub async fn stats(&self) -> Result<Stats, IndexerError> {
        let open_asks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM asks WHERE valid_to IS NULL")
            .fetch_one(self.pool())
            .await?;
        let open_bids: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bids WHERE valid_to IS NULL")
            .fetch_one(self.pool())
            .await?;
        let total_deals: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deals WHERE valid_to IS NULL")
            .fetch_one(self.pool())
            .await?;
        let open: Vec<String> =
            sqlx::query_scalar("SELECT body FROM deals WHERE valid_to IS NULL AND status = 'open'")
                .fetch_all(self.pool())
                .await?;
        let open =
            open.iter().map(|body| decode::<DealRecord>("deals", body)).collect::<Result<Vec<_>, _>>()?;
        let per_second = open.iter().fold(U256::ZERO, |sum, d| sum.saturating_add(d.price.scaled()));
        let ips: BTreeSet<String> =
            open.iter().filter_map(|d| d.endpoint.as_deref().and_then(endpoint_host)).collect();
        let rate: Option<String> =
            sqlx::query_scalar("SELECT rate FROM oracle_rates ORDER BY block DESC, log_index DESC LIMIT 1")
                .fetch_optional(self.pool())
                .await?;
        Ok(Stats {
            open_asks: uint(open_asks),
            open_bids: uint(open_bids),
            active_deals: open.len() as u64,
            total_deals: uint(total_deals),
            usd_per_hour: UsdPerSecond::from_scaled(per_second).to_per_hour(),
            unique_supplier_ips: ips.len() as u64,
            snm_per_usd: rate.and_then(|r| r.parse().ok()).map(SnmPerUsd::from_scaled),
            indexed_block: self.indexed_block().await?.map(|(block, _)| block),
        })
    }

    /// Every reward round of the distributor (one campaign per distributor), newest first.
    pub async fn rounds(&self) -> Result<Vec<RewardRound>, IndexerError> {
        let rows: Vec<(i64, String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT round, root, status, total, content_hash, uri, acceptable_at FROM reward_rounds \
             WHERE valid_to IS NULL ORDER BY round DESC",
        )
        .fetch_all(self.pool())
        .await?;
        let mut rounds = Vec::with_capacity(rows.len());
        for (round, root, status, total, content_hash, uri, acceptable_at) in rows {
            let (registered, claimed): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM reward_claims c WHERE c.account = e.account \
                 AND c.cumulative = e.cumulative) THEN 1 ELSE 0 END), 0) FROM round_entitlements e WHERE e.round = $1",
            )
            .bind(round)
            .fetch_one(self.pool())
            .await?;
            rounds.push(RewardRound {
                round: uint(round),
                root: root.parse().unwrap_or_default(),
                status,
                total: snm(&total),
                content_hash: content_hash.parse().unwrap_or_default(),
                uri,
                acceptable_at: uint(acceptable_at),
                registered_accounts: uint(registered),
                claimed_accounts: uint(claimed),
            });
        }
        Ok(rounds)
    }

    /// Registers a round's entitlements: (account, cumulative amount, proof) each.
    pub async fn register_round(
        &self,
        round: u64,
        entries: &[(Address, Snm, Vec<B256>)],
        traffic: &[snm_sdk::rewards::AccountReward],
    ) -> Result<(), IndexerError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM round_traffic WHERE round = $1")
            .bind(int("round", round)?)
            .execute(&mut *tx)
            .await?;
        for account in traffic {
            sqlx::query(
                "INSERT INTO round_traffic (round, account, ips, bytes, round_ips, round_bytes, round_amount, cumulative) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(int("round", round)?)
            .bind(address_key(account.account))
            .bind(int_saturating(account.ips))
            .bind(account.bytes.get().to_string())
            .bind(int_saturating(account.round_ips))
            .bind(account.round_bytes.get().to_string())
            .bind(account.round_amount.wei().to_string())
            .bind(account.cumulative.wei().to_string())
            .execute(&mut *tx)
            .await?;
        }
        for (account, cumulative, proof) in entries {
            let proof: Vec<String> = proof.iter().map(|p| format!("{p:#x}")).collect();
            sqlx::query("DELETE FROM round_entitlements WHERE round = $1 AND account = $2")
                .bind(int("round", round)?)
                .bind(address_key(*account))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO round_entitlements (round, account, cumulative, proof) VALUES ($1, $2, $3, $4)",
            )
            .bind(int("round", round)?)
            .bind(address_key(*account))
            .bind(cumulative.wei().to_string())
            .bind(proof.join(","))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An account's entitlement in the newest registered round, with what it claimed.
    pub async fn claim(&self, account: Address) -> Result<Option<ClaimView>, IndexerError> {
        let key = address_key(account);
        let row: Option<(i64, String, String)> = sqlx::query_as(
            "SELECT round, cumulative, proof FROM round_entitlements WHERE account = $1 ORDER BY round DESC LIMIT 1",
        )
        .bind(&key)
        .fetch_optional(self.pool())
        .await?;
        let Some((round, cumulative, proof)) = row else { return Ok(None) };
        let claimed: Option<String> = sqlx::query_scalar(
            "SELECT cumulative FROM reward_claims WHERE account = $1 ORDER BY block DESC, log_index DESC LIMIT 1",
        )
        .bind(&key)
        .fetch_optional(self.pool())
        .await?;
        Ok(Some(ClaimView {
            round: uint(round),
            account,
            cumulative: snm(&cumulative),
            proof: proof.split(',').filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect(),
            claimed: claimed.map_or(Snm::ZERO, |c| snm(&c)),
        }))
    }
}

/// The host of an announced endpoint (`https://203.0.113.7:8443#…`, `203.0.113.7:8443`, `[::1]:1`).
pub(crate) fn endpoint_host(endpoint: &str) -> Option<String> {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, rest)| rest);
    let authority = rest.split(['/', '#', '?', ' ']).next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    (!host.is_empty()).then(|| host.to_owned())
}
