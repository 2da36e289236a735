//! The oracle's rate before the start block. The deployment's start block is the market's, and the
//! oracle is deployed (and emits its first `RateUpdated`) before it: a market without reports
//! since would have no rate in the index. The rate the oracle held at the block before the start
//! is read once, when the index is created, and stored as that block's rate.

use alloy::{eips::BlockId, providers::Provider};
use snm_sdk::{Deployment, bindings::PriceOracle};
use sqlx::AnyConnection;

use crate::{
    IndexerError,
    apply::address_key,
    db::{int, int_saturating},
};

/// The oracle's rate (and its time) at the block before the start block; `None` from block 0
/// (every event is indexed then) or when the node no longer holds that block's state.
pub(crate) async fn rate_before_start<P: Provider>(
    provider: &P,
    deployment: &Deployment,
) -> Option<(String, u64)> {
    let before = deployment.start_block.checked_sub(1)?;
    let oracle = PriceOracle::new(deployment.oracle, provider);
    match oracle.latestRate().block(BlockId::number(before)).call().await {
        Ok(rate) => Some((rate.snmPerUsd.to_string(), rate.updatedAt.try_into().unwrap_or(u64::MAX))),
        Err(error) => {
            tracing::warn!(%error, block = before, "cannot read the oracle's rate before the start block");
            None
        }
    }
}

/// Stores `rate` as the oracle's rate at the block before the start block (log index 0: no event
/// of that block is indexed). It stays through every rollback, which keeps that block.
pub(crate) async fn store(
    conn: &mut AnyConnection,
    deployment: &Deployment,
    (rate, updated_at): (String, u64),
) -> Result<(), IndexerError> {
    let before = deployment.start_block.saturating_sub(1);
    sqlx::query(
        "INSERT INTO oracle_rates (block, log_index, reporter, rate, updated_at) VALUES ($1, 0, $2, $3, $4)",
    )
    .bind(int("block", before)?)
    .bind(address_key(deployment.oracle))
    .bind(rate)
    .bind(int_saturating(updated_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
