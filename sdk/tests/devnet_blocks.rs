//! The devnet's periodic block and its node's bounded history: blocks come without transactions,
//! and anvil keeps only the last 64 blocks' states (anvil's own block timer would make it keep up
//! to 1,500, a copy of the whole state each: see `sdk/src/devnet/sweeper.rs`).

use std::time::{Duration, Instant};

use alloy::{eips::BlockId, providers::Provider};
use snm_sdk::devnet::{Devnet, DevnetConfig};

#[tokio::test]
async fn blocks_come_every_interval_without_transactions() -> Result<(), Box<dyn std::error::Error>> {
    let config = DevnetConfig {
        accounts: 1,
        sweep_interval: Some(Duration::from_millis(200)),
        ..DevnetConfig::default()
    };
    let devnet = Devnet::start_with(config).await?;
    let provider = devnet.provider();
    let first = provider.get_block_number().await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while provider.get_block_number().await? < first + 3 {
        assert!(Instant::now() < deadline, "no periodic block within 30 s (from block {first})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[tokio::test]
async fn the_node_keeps_only_the_last_64_blocks_states() -> Result<(), Box<dyn std::error::Error>> {
    let devnet = Devnet::start().await?;
    let provider = devnet.provider();
    let operator = devnet.accounts()[0];
    let start = provider.get_block_number().await?;
    // With the periodic block on (the default), as the story runs.
    let _: () = provider.raw_request("anvil_mine".into(), (200u64,)).await?;
    let latest = provider.get_block_number().await?;
    assert!(latest >= start + 200);

    provider.get_balance(operator).block_id(BlockId::number(latest - 10)).await?;
    let old = provider.get_balance(operator).block_id(BlockId::number(start)).await;
    assert!(
        old.is_err(),
        "the state of block {start}, {} blocks back, is still kept: {old:?}",
        latest - start
    );
    Ok(())
}
