//! The SNM token through the whole pipeline: anvil started by the SDK, the token deployed through
//! the generated bindings, a transfer, balances read back.

use alloy::{primitives::U256, providers::Provider};
use snm_sdk::{Error, bindings::SNMToken, devnet::Devnet, units::Snm};

#[tokio::test]
async fn devnet_deploys_and_funds_the_token() -> Result<(), Error> {
    let devnet = Devnet::start().await?;
    let accounts = devnet.accounts();
    assert_eq!(accounts.len(), 10);
    for account in &accounts[1..] {
        assert_eq!(devnet.snm_balance(*account).await?, Snm::from_whole(1_000_000));
    }
    assert_eq!(devnet.snm_balance(accounts[0]).await?, Snm::from_whole(444_000_000 - 9 * 1_000_000));
    Ok(())
}

#[tokio::test]
async fn transfer_moves_exact_amounts() -> Result<(), Error> {
    let devnet = Devnet::start().await?;
    let accounts = devnet.accounts();
    let (alice, bob) = (accounts[1], accounts[2]);
    let token = SNMToken::new(devnet.token(), devnet.provider());
    let amount: Snm = "12.5 SNM".parse()?;

    let receipt = token.transfer(bob, amount.wei()).from(alice).send().await?.get_receipt().await?;
    assert!(receipt.status());

    assert_eq!(
        devnet.snm_balance(alice).await?,
        Snm::from_whole(1_000_000).checked_sub(amount).unwrap_or_default()
    );
    assert_eq!(
        devnet.snm_balance(bob).await?,
        Snm::from_whole(1_000_000).checked_add(amount).unwrap_or_default()
    );
    assert_eq!(token.decimals().call().await?, 18);
    assert_eq!(token.symbol().call().await?, "SNM");
    let total: U256 = token.totalSupply().call().await?;
    assert_eq!(Snm::from_wei(total), Snm::from_whole(444_000_000));
    assert!(devnet.provider().get_block_number().await? > 0);
    Ok(())
}

#[tokio::test]
async fn transfer_beyond_balance_reverts() -> Result<(), Error> {
    let devnet = Devnet::start().await?;
    let accounts = devnet.accounts();
    let token = SNMToken::new(devnet.token(), devnet.provider());
    let too_much = Snm::from_whole(1_000_001);
    let result = token.transfer(accounts[2], too_much.wei()).from(accounts[1]).send().await;
    let error = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("revert"), "expected a revert, got {error:?}");
    Ok(())
}
