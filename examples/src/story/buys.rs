//! Step 3: the customer buys the asks it picked, several at a time. The buys are one account's
//! transactions: the SDK's nonce layer numbers them as they are sent and their receipts are awaited
//! in nonce order (`sdk/src/tx/receipt_order.rs`), so several can be in flight without sharing a
//! nonce. Sent one after another, N buys took N round trips to a node mining a block per
//! transaction, whose time per transaction grows with the chain: 68 s of the story at 1,000
//! suppliers.
//!
//! A signed ask's buy takes its deposit from the customer's free balance in the market, and
//! `Customer::buy` deposits what that balance lacks when it reads it: buys in flight at once would
//! each read the same balance, and the later ones find it spent (`InsufficientBalance`, seen at
//! 1,000 suppliers). So the signed picks' deposits are paid in once, before any buy: one deposit
//! transaction instead of one per deal.

use std::sync::Arc;

use alloy::providers::DynProvider;
use snm_sdk::{
    Customer,
    market::{DealOpened, OpenAsk, Purchase},
    units::Snm,
};
use tokio::{sync::Semaphore, task::JoinSet};

/// Buys in flight at once: enough that the node always has the next one to mine while the customer
/// simulates and signs the others, few enough that a refused buy wastes little.
pub const BUYS_AT_ONCE: usize = 16;

/// Buys every `(ask, purchase)` of `picks` as `customer`, at most `at_once` in flight; returns the
/// deals opened, in the order of `picks`. The first refusal ends it with that error (buys already
/// sent still open their deals).
pub async fn buy_all(
    customer: &Customer<DynProvider>,
    picks: Vec<(OpenAsk, Purchase)>,
    at_once: usize,
) -> anyhow::Result<Vec<DealOpened>> {
    let signed_deposits: Snm = picks
        .iter()
        .filter(|(ask, _)| matches!(ask, OpenAsk::Signed(_)))
        .map(|(_, purchase)| purchase.deposit)
        .sum();
    let free = customer.escrow().free_balance(customer.sender()).await?;
    if let Some(missing) = signed_deposits.checked_sub(free).filter(|missing| *missing > Snm::ZERO) {
        customer.deposit(missing).await?;
    }
    let turns = Arc::new(Semaphore::new(at_once.max(1)));
    let mut buys = JoinSet::new();
    let count = picks.len();
    for (k, (ask, purchase)) in picks.into_iter().enumerate() {
        let (customer, turns) = (customer.clone(), turns.clone());
        buys.spawn(async move {
            let _turn = turns.acquire_owned().await?;
            let deal = match &ask {
                OpenAsk::Placed(placed) => customer.quick_buy(placed, &purchase).await?,
                OpenAsk::Signed(signed) => customer.market().quick_buy_signed(signed, &purchase).await?,
            };
            anyhow::Ok((k, deal))
        });
    }
    let mut opened: Vec<Option<DealOpened>> = vec![None; count];
    while let Some(result) = buys.join_next().await {
        let (k, deal) = result??;
        opened[k] = Some(deal);
    }
    Ok(opened.into_iter().flatten().collect())
}
