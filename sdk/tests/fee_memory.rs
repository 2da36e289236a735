//! A client sending transactions in a row asks the node for the fees at most once a second, not
//! once per transaction (`tx::fee_memory`), and its transactions are still mined.

use std::time::Instant;

use snm_sdk::{Error, devnet::Devnet, units::Snm};

#[tokio::test]
async fn transactions_in_a_row_reuse_the_fee_estimate_for_a_second() -> Result<(), Error> {
    let devnet = Devnet::start().await?;
    let client = devnet.client(1)?;
    let to = devnet.accounts()[2];
    let fee_history = || devnet.requests().by_method().get("eth_feeHistory").copied().unwrap_or(0);
    let before = fee_history();
    let start = Instant::now();
    const SENT: u64 = 6;
    for _ in 0..SENT {
        client.token().transfer(to, Snm::from_whole(1)).await?;
    }
    let elapsed = start.elapsed();
    let asked = fee_history() - before;
    // One estimate per started second (a loaded machine may take several seconds for the six).
    assert!(asked >= 1, "the fees were estimated at least once");
    assert!(
        asked <= 1 + elapsed.as_secs(),
        "{asked} fee estimates for {SENT} transactions in {elapsed:?}: at most one per second"
    );
    assert!(asked < SENT || elapsed.as_secs() + 1 >= SENT, "not one estimate per transaction");
    assert_eq!(devnet.snm_balance(to).await?, Snm::from_whole(1_000_000 + SENT));
    Ok(())
}
