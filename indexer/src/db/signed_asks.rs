//! The stored signed asks (migration `0003_signed_asks.sql`): what `POST /v1/asks` accepted.

use alloy::primitives::Address;
use snm_sdk::market::SignedAsk;

use super::{AskFilter, Database, int, int_saturating, uint};
use crate::{
    IndexerError,
    apply::{address_key, price_key},
};

/// The most signed asks one `GET /v1/asks` reads before filtering.
const MAX_SIGNED_READ: i64 = 10_000;

impl Database {
    /// Stores `ask`, replacing the ask of the same worker and nonce (a new price); returns whether
    /// one was replaced.
    pub async fn put_signed_ask(&self, ask: &SignedAsk) -> Result<bool, IndexerError> {
        let body = serde_json::to_string(ask)
            .map_err(|source| IndexerError::CorruptRow { table: "signed_asks", source })?;
        let worker = address_key(ask.ask.worker);
        let nonce = int("ask nonce", ask.nonce)?;
        let mut tx = self.pool().begin().await?;
        let replaced = sqlx::query("DELETE FROM signed_asks WHERE worker = $1 AND nonce = $2")
            .bind(&worker)
            .bind(nonce)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "INSERT INTO signed_asks (worker, nonce, master, price_key, expiry, body) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&worker)
        .bind(nonce)
        .bind(address_key(ask.ask.master))
        .bind(price_key(ask.ask.price))
        .bind(ask.ask.expiry.map_or(i64::MAX, int_saturating))
        .bind(body)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(replaced > 0)
    }

    /// The stored signed asks passing `filter` at block time `now`, cheapest first, at most `limit`.
    pub async fn signed_asks(
        &self,
        filter: &AskFilter,
        now: u64,
        limit: usize,
    ) -> Result<Vec<SignedAsk>, IndexerError> {
        let max_key = filter.max_price.map_or_else(|| "g".to_owned(), price_key);
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT body FROM signed_asks WHERE price_key <= $1 AND expiry >= $2 \
             ORDER BY price_key, worker LIMIT $3",
        )
        .bind(max_key)
        .bind(int_saturating(now))
        .bind(MAX_SIGNED_READ)
        .fetch_all(self.pool())
        .await?;
        let mut asks = Vec::new();
        for (body,) in rows {
            let ask: SignedAsk = serde_json::from_str(&body)
                .map_err(|source| IndexerError::CorruptRow { table: "signed_asks", source })?;
            if filter.accepts(&ask.ask, now) {
                asks.push(ask);
                if asks.len() == limit {
                    break;
                }
            }
        }
        Ok(asks)
    }

    /// Every worker with a stored signed ask, with the lowest nonce stored for it.
    pub async fn signed_ask_workers(&self) -> Result<Vec<(Address, u64)>, IndexerError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT worker, MIN(nonce) FROM signed_asks GROUP BY worker")
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().filter_map(|(worker, nonce)| Some((worker.parse().ok()?, uint(nonce)))).collect())
    }

    /// Drops the signed asks of `worker` signed for a nonce below `current` (taken, cancelled, or
    /// the worker left its master); returns how many.
    pub async fn drop_stale_signed_asks(&self, worker: Address, current: u64) -> Result<u64, IndexerError> {
        Ok(sqlx::query("DELETE FROM signed_asks WHERE worker = $1 AND nonce < $2")
            .bind(address_key(worker))
            .bind(int_saturating(current))
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    /// Drops the signed asks expired before block time `now`;
    /// returns how many.
    pub async fn drop_expired_signed_asks(&self, now: u64) -> Result<u64, IndexerError> {
        Ok(sqlx::query("DELETE FROM signed_asks WHERE expiry < $1")
            .bind(int_saturating(now))
            .execute(self.pool())
            .await?
            .rows_affected())
    }
}
