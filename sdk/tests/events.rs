//! Event streams resume from a cursor with nothing missed or repeated, across a node restart: the
//! token's raw stream, the market's typed events and the supplier's deal watch.

mod common;

use alloy::primitives::U256;
use common::amounts;
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

/// Market events, typed, through a node restart: a reader resuming from its saved cursor gets
/// exactly what followed (no loss, no duplicate), as does the supplier's deal watch, and the SDK's
/// clients keep working across the restart.
#[tokio::test]
async fn market_events_resume_across_restart_without_loss_or_duplicates() -> Result<(), Error> {
    use snm_sdk::{
        bindings::Market::MarketEvents,
        market::{Ask, Purchase},
        supplier::DealEvent,
        units::{Snm, Term, UsdPerSecond},
    };

    let mut devnet = Devnet::start().await?;
    let (supplier, worker, customer) = (devnet.supplier(1)?, devnet.client(2)?, devnet.customer(3)?);
    supplier.register_worker(&worker).await?;
    customer.token().approve_market(Snm::from_whole(1_000)).await?;
    let price = UsdPerSecond::from_scaled(U256::from(10u64.pow(14)));
    let purchase = Purchase::new(Term::Spot, Snm::from_whole(100), "img");
    let start = EventCursor::from_block(devnet.deployment().start_block);
    let mut stream = customer.market().events(start);
    let mut watch = supplier.watch_deals(start);

    let first = supplier.market().place_ask(&Ask::new(supplier.master(), worker.sender(), price)).await?;
    let deal_a = customer.quick_buy(&first, &purchase).await?;
    let mut before = stream.poll().await?;
    let saved = stream.cursor();
    assert!(matches!(before.pop().map(|e| e.event), Some(MarketEvents::DealOpened(_))));
    assert!(matches!(watch.next().await?.event, DealEvent::Opened(ref o) if *o == deal_a));
    let watch_saved = watch.cursor();

    devnet.restart().await?;
    let second = supplier.market().place_ask(&Ask::new(supplier.master(), worker.sender(), price)).await?;
    let deal_b = customer.quick_buy(&second, &purchase).await?;
    customer.market().close_deal(deal_a.id, false).await?;

    // The old reader carries on; a new one resumes from the saved cursor: the same events.
    let mut retries = 0;
    let carried = loop {
        match stream.poll().await {
            Ok(events) => break events,
            Err(error) if retries < 5 => {
                retries += 1;
                eprintln!("retrying after {error}");
            }
            Err(error) => return Err(error),
        }
    };
    let resumed = customer.market().events(saved).poll().await?;
    assert_eq!(carried, resumed);
    let everything = customer.market().events(start).poll().await?;
    let tail = everything.iter().position(|e| e.cursor() == saved).map(|k| &everything[k + 1..]);
    assert_eq!(tail, Some(resumed.as_slice()), "exactly the events after the cursor");
    let names: Vec<&str> = resumed
        .iter()
        .map(|e| match e.event {
            MarketEvents::AskPlaced(_) => "AskPlaced",
            MarketEvents::DealOpened(_) => "DealOpened",
            MarketEvents::DealClosed(_) => "DealClosed",
            _ => "other",
        })
        .collect();
    assert_eq!(names, ["AskPlaced", "DealOpened", "DealClosed"]);

    // The supplier's watch, resumed: deal B opened, deal A closed.
    let mut resumed_watch = supplier.watch_deals(watch_saved);
    let deals: Vec<DealEvent> = resumed_watch.poll().await?.into_iter().map(|e| e.event).collect();
    assert!(matches!(&deals[..], [DealEvent::Opened(b), DealEvent::Closed(a)]
            if *b == deal_b && a.id == deal_a.id));
    let carried: Vec<DealEvent> = watch.poll().await?.into_iter().map(|e| e.event).collect();
    assert_eq!(carried, deals);
    Ok(())
}
