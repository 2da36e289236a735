//! Event streams resume from a cursor with nothing missed or repeated, across a node restart.

use alloy::primitives::U256;
use snm_sdk::{
    Error,
    bindings::SNMToken::{self, SNMTokenEvents},
    devnet::Devnet,
    events::{EventCursor, EventStream},
};

async fn transfer(devnet: &Devnet, amount: u64) -> Result<(), Error> {
    let accounts = devnet.accounts();
    let token = SNMToken::new(devnet.token(), devnet.provider());
    token.transfer(accounts[2], U256::from(amount)).from(accounts[1]).send().await?.watch().await?;
    Ok(())
}

fn amounts(events: &[snm_sdk::events::Event<SNMTokenEvents>]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            SNMTokenEvents::Transfer(t) if t.value < U256::from(1_000) => Some(t.value.to::<u64>()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn stream_resumes_across_restart_without_loss_or_duplicates() -> Result<(), Error> {
    let mut devnet = Devnet::start().await?;
    let mut stream: EventStream<_, SNMTokenEvents> =
        EventStream::new(devnet.provider().clone(), devnet.token());

    // The deployment's mint and the nine funding transfers come first.
    let setup = stream.poll().await?;
    assert_eq!(setup.len(), 10);
    assert!(stream.poll().await?.is_empty(), "a second poll repeats nothing");

    transfer(&devnet, 1).await?;
    transfer(&devnet, 2).await?;
    let first = stream.next().await?;
    let saved: EventCursor = stream.cursor();
    assert_eq!(amounts(std::slice::from_ref(&first)), vec![1]);

    // The node restarts while more events happen; a new reader resumes from the saved cursor.
    devnet.restart().await?;
    let mut retries = 0;
    while let Err(error) = stream.poll().await {
        retries += 1;
        assert!(retries < 5, "the old stream should work again after the restart: {error}");
    }
    transfer(&devnet, 3).await?;
    let mut resumed: EventStream<_, SNMTokenEvents> =
        EventStream::resume(devnet.provider().clone(), devnet.token(), saved);
    let after = resumed.poll().await?;
    assert_eq!(amounts(&after), vec![2, 3]);
    assert!(resumed.poll().await?.is_empty());
    assert!(resumed.cursor() > saved);
    Ok(())
}
