//! Step 8: every supplier claims its reward, many at a time. Each claim is its own supplier's
//! transaction (its master pays the gas), so the claims of different suppliers never share a nonce
//! and can be in flight together; sent one after another, N claims took N round trips to a node
//! that mines one block per transaction, the longest step of the story at 500 suppliers.

use std::sync::Arc;

use alloy::providers::DynProvider;
use snm_sdk::{
    Supplier,
    rewards::Round,
    units::{Bytes, Snm},
};
use tokio::{sync::Semaphore, task::JoinSet};

/// Claims in flight at once: enough to keep the node mining while each waits for its receipt, few
/// enough that the node's pool and the open connections stay small at 1,000 suppliers.
pub const CLAIMS_AT_ONCE: usize = 32;

/// What one supplier's claim did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Claimed {
    /// Its reward in the round.
    pub reward: Snm,
    /// What the claim paid it.
    pub paid: Snm,
    /// The traffic the round counted for it.
    pub bytes: Bytes,
}

/// Every supplier with a reward in `round` claims it, at most `at_once` claims in flight; returns
/// what each supplier got, in the order of `suppliers` (zero for one with no reward).
pub async fn claim_all(
    suppliers: &[Supplier<DynProvider>],
    round: &Round,
    at_once: usize,
) -> anyhow::Result<Vec<Claimed>> {
    let turns = Arc::new(Semaphore::new(at_once.max(1)));
    let mut claims = JoinSet::new();
    for (k, supplier) in suppliers.iter().enumerate() {
        let master = supplier.master();
        let (Some(reward), Some((amount, proof))) = (round.account(master), round.claim(master)) else {
            continue;
        };
        let (reward, bytes) = (reward.round_amount, reward.bytes);
        let (supplier, turns) = (supplier.clone(), turns.clone());
        claims.spawn(async move {
            let _turn = turns.acquire_owned().await?;
            let paid = supplier.distributor()?.claim(master, amount, proof).await?;
            anyhow::Ok((k, Claimed { reward, paid: paid.total(), bytes }))
        });
    }
    let mut claimed = vec![Claimed::default(); suppliers.len()];
    while let Some(result) = claims.join_next().await {
        let (k, one) = result??;
        claimed[k] = one;
    }
    Ok(claimed)
}
