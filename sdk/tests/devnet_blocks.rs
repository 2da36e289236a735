//! The devnet's mining modes: by default a block per transaction; with
//! `DevnetConfig::block_interval`, a block every interval holding every transaction sent since, so
//! transactions sent together share a block (what keeps anvil's work per transaction flat when
//! many agents send at once).

#![allow(clippy::expect_used)] // test helpers outside #[test] functions

use std::{collections::BTreeSet, time::Duration};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
};
use snm_sdk::devnet::{Devnet, DevnetConfig};
use tokio::time::timeout;

const TRANSFERS: u64 = 8;
const LIMIT: Duration = Duration::from_secs(60);

/// Sends [`TRANSFERS`] transfers from the operator without waiting between them, then waits for
/// every receipt; returns the blocks that hold them.
async fn blocks_of_transfers(devnet: &Devnet) -> BTreeSet<u64> {
    let mut pending = Vec::new();
    for k in 1..=TRANSFERS {
        let to = Address::with_last_byte(0x40 + k as u8);
        let request = TransactionRequest::default().with_to(to).with_value(U256::from(k));
        pending.push(devnet.provider().send_transaction(request).await.expect("sent"));
    }
    let mut blocks = BTreeSet::new();
    for transaction in pending {
        let receipt =
            timeout(LIMIT, transaction.get_receipt()).await.expect("mined in time").expect("receipt");
        assert!(receipt.status(), "transfer reverted");
        blocks.insert(receipt.block_number.expect("mined"));
    }
    blocks
}

#[tokio::test]
async fn with_a_block_interval_transactions_sent_together_share_a_block() {
    // Half a second is far longer than sending eight transfers takes, even on a loaded machine: at
    // most two blocks (a boundary may fall between two sends).
    let config = DevnetConfig {
        accounts: 1,
        block_interval: Some(Duration::from_millis(500)),
        ..DevnetConfig::default()
    };
    let devnet = Devnet::start_with(config).await.expect("devnet");
    let blocks = blocks_of_transfers(&devnet).await;
    assert!(blocks.len() <= 2, "{TRANSFERS} transfers sent together were mined in blocks {blocks:?}");
}

#[tokio::test]
async fn by_default_every_transaction_has_a_block_of_its_own() {
    let config = DevnetConfig { accounts: 1, sweep_interval: None, ..DevnetConfig::default() };
    let devnet = Devnet::start_with(config).await.expect("devnet");
    let blocks = blocks_of_transfers(&devnet).await;
    assert_eq!(blocks.len() as u64, TRANSFERS, "blocks {blocks:?}");
}
