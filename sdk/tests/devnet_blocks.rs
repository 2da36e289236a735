//! The devnet's periodic block and its node's bounded history: blocks come without transactions,
//! and anvil keeps only the last 64 blocks' states (anvil's own block timer would make it keep up
//! to 1,500, a copy of the whole state each: see `sdk/src/devnet/sweeper.rs`). With a block time,
//! transactions sent together share a block.

use std::time::{Duration, Instant};

use alloy::{eips::BlockId, providers::Provider};
use snm_sdk::{
    devnet::{Devnet, DevnetConfig, FULL_BLOCK_GAS_LIMIT},
    units::Snm,
};

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
    only_the_last_64_states_kept(DevnetConfig::default()).await
}

#[tokio::test]
async fn with_a_block_time_the_node_keeps_only_the_last_64_blocks_states()
-> Result<(), Box<dyn std::error::Error>> {
    only_the_last_64_states_kept(DevnetConfig {
        block_time: Some(Duration::from_millis(50)),
        ..DevnetConfig::default()
    })
    .await
}

async fn only_the_last_64_states_kept(config: DevnetConfig) -> Result<(), Box<dyn std::error::Error>> {
    let devnet = Devnet::start_with(config).await?;
    let provider = devnet.provider();
    let operator = devnet.accounts()[0];
    let start = provider.get_block_number().await?;
    // With the devnet's own blocks on, as the story runs.
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

#[tokio::test]
async fn with_a_block_time_transactions_sent_together_share_blocks() -> Result<(), Box<dyn std::error::Error>>
{
    let config =
        DevnetConfig { accounts: 2, block_time: Some(Duration::from_secs(1)), ..DevnetConfig::default() };
    let devnet = Devnet::start_with(config).await?;
    let provider = devnet.provider();
    let automine: bool = provider.raw_request("anvil_getAutomine".into(), ()).await?;
    assert!(!automine, "anvil still mines a block per transaction");
    let latest = provider.get_block(BlockId::latest()).await?.ok_or("no latest block")?;
    assert_eq!(latest.header.gas_limit, FULL_BLOCK_GAS_LIMIT);

    const TRANSFERS: usize = 8;
    let before = provider.get_block_number().await?;
    let client = devnet.client(0)?;
    let to = devnet.accounts()[1];
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..TRANSFERS {
        let client = client.clone();
        sends.spawn(async move { client.token().transfer(to, Snm::from_whole(1)).await });
    }
    while let Some(sent) = sends.join_next().await {
        sent??;
    }
    let after = provider.get_block_number().await?;
    let mut blocks_with_transactions = 0;
    let mut transactions = 0;
    for number in before + 1..=after {
        let block = provider.get_block(BlockId::number(number)).await?.ok_or("a block went missing")?;
        let count = block.transactions.len();
        transactions += count;
        blocks_with_transactions += usize::from(count > 0);
    }
    assert_eq!(transactions, TRANSFERS, "blocks {}..={after} hold other transactions", before + 1);
    // A block per transaction would make eight; a tick can fall between the sends, so two at most
    // in practice, but only fewer than eight is what sets the two modes apart.
    assert!(
        blocks_with_transactions < TRANSFERS,
        "{TRANSFERS} transfers sent together were mined in {blocks_with_transactions} blocks"
    );
    Ok(())
}
