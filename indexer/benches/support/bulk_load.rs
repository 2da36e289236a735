//! Loading a devnet with 100,000 deals in minutes: anvil mining one block per transaction took
//! 16.5 s per 1,000 deals (two transactions each, every one simulated, sent and awaited by the
//! SDK), so 100,000 would take half an hour. Here anvil's automatic mining is off and its block
//! gas limit raised; the transactions are signed with precomputed nonces and a fixed gas limit
//! and sent without waiting (one request each), then mined thousands per block with `evm_mine`.
//! The logs are real: every ask and deal comes from a transaction the contracts executed, and the
//! caller checks that every one succeeded (by the book read back from the logs).

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use snm_sdk::{
    bindings::Market,
    market::{Ask, PlacedAsk, Purchase},
    services::quick_buy_call,
};

/// Transactions sent before each round of mining.
const PER_ROUND: usize = 5_000;
/// Requests in flight at once.
const WINDOW: usize = 64;

/// A devnet's anvil switched to mining on request, with room for many transactions per block.
pub(crate) async fn manual_mining(provider: &DynProvider) {
    let _: serde_json::Value = provider.raw_request("evm_setAutomine".into(), (false,)).await.unwrap();
    let _: serde_json::Value =
        provider.raw_request("evm_setBlockGasLimit".into(), (U256::from(10_000_000_000u64),)).await.unwrap();
}

/// Mines until no transaction waits.
async fn mine_all(provider: &DynProvider) {
    loop {
        let status: serde_json::Value = provider.raw_request("txpool_status".into(), ()).await.unwrap();
        let waiting = |field: &str| {
            status[field]
                .as_str()
                .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0)
        };
        if waiting("pending") + waiting("queued") == 0 {
            return;
        }
        let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await.unwrap();
    }
}

/// Sends `calls` (calldata to `to`) from `from` through `provider` (which signs for it), nonces
/// counted from the account's next one, each with `gas`; mines them.
pub(crate) async fn send_all(
    provider: &DynProvider,
    chain_id: u64,
    from: Address,
    to: Address,
    calls: Vec<Vec<u8>>,
    gas: u64,
) {
    let first = provider.get_transaction_count(from).pending().await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, input) in calls.into_iter().enumerate() {
        if tasks.len() >= WINDOW {
            tasks.join_next().await.unwrap().unwrap();
        }
        if i > 0 && i % PER_ROUND == 0 {
            while let Some(done) = tasks.join_next().await {
                done.unwrap();
            }
            mine_all(provider).await;
        }
        let transaction = TransactionRequest::default()
            .with_from(from)
            .with_to(to)
            .with_input(input)
            .with_chain_id(chain_id)
            .with_nonce(first + i as u64)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(20_000_000_000)
            .with_max_priority_fee_per_gas(1_000_000_000);
        let provider = provider.clone();
        tasks.spawn(async move {
            drop(provider.send_transaction(transaction).await.unwrap());
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    mine_all(provider).await;
}

/// `placeAsk` for each of `asks`, sent by their master (`from`).
pub(crate) fn place_calls(asks: &[Ask]) -> Vec<Vec<u8>> {
    asks.iter().map(|ask| Market::placeAskCall { ask: ask.into() }.abi_encode()).collect()
}

/// `quickBuy` of each of `asks` with `purchase`.
pub(crate) fn buy_calls(asks: &[PlacedAsk], purchase: &Purchase) -> Vec<Vec<u8>> {
    asks.iter().map(|ask| quick_buy_call(ask, purchase).abi_encode()).collect()
}
