//! Event consumers follow the chain through reorganisations: a stream reports a rollback to the
//! common ancestor and then delivers the canonical events (also when resumed from a saved
//! position), the deal watch reports the deal that replaced a taken-back one under the same id,
//! and the order book undoes what orphaned blocks did. Reorganisations are made with anvil's
//! `anvil_reorg` and with `evm_snapshot` / `evm_revert`. Following the chain costs no more
//! requests per poll than reading without the checks did.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::sync::{Arc, Mutex};

use alloy::{
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    rpc::{client::ClientBuilder, json_rpc::RequestPacket},
    sol_types::SolCall,
    transports::TransportFut,
};
use common::{
    amounts,
    intercept::{Intercept, Pass},
};
use snm_sdk::{
    Deployment, Error,
    bindings::SNMToken::{self, SNMTokenEvents},
    devnet::{Devnet, DevnetConfig},
    events::{EventCursor, EventStream, Rollback},
    market::{Ask, AskId, Purchase},
    supplier::DealEvent,
    units::{Snm, Term, UsdPerSecond},
};

/// Mines one block (the stream tests turn automine off, so that nothing is mined behind their back:
/// anvil puts the transactions of the blocks a reorganisation takes back into its pool again).
async fn mine(devnet: &Devnet) -> Result<(), Error> {
    devnet.provider().raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await?;
    Ok(())
}

/// A devnet that mines only when told: no periodic block, no automine.
async fn manual_devnet() -> Result<Devnet, Error> {
    let devnet = Devnet::start_with(DevnetConfig { sweep_interval: None, ..DevnetConfig::default() }).await?;
    devnet.provider().raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,)).await?;
    Ok(devnet)
}

/// A transfer of `amount` from account 1, mined in a block of its own; returns the block.
async fn transfer(devnet: &Devnet, amount: u64) -> Result<u64, Error> {
    transfer_from(devnet, 1, amount).await
}

/// A transfer of `amount` from account `from`, mined in a block of its own; returns the block. (An
/// account whose transfer a reorganisation took back sends no more: the devnet's nonce layer still
/// counts the dropped transaction.)
async fn transfer_from(devnet: &Devnet, from: usize, amount: u64) -> Result<u64, Error> {
    let accounts = devnet.accounts();
    let token = SNMToken::new(devnet.token(), devnet.provider());
    let pending = token.transfer(accounts[2], U256::from(amount)).from(accounts[from]).send().await?;
    mine(devnet).await?;
    let receipt = pending.get_receipt().await?;
    Ok(receipt.block_number.unwrap_or_default())
}

/// Replaces the last `depth` blocks with new ones, the first holding a transfer of `amount` from
/// account 3 (anvil signs for its own accounts), then drops what the taken-back blocks put back
/// in the pool.
async fn reorg_with_transfer(devnet: &Devnet, depth: u64, amount: u64) -> Result<(), Error> {
    let accounts = devnet.accounts();
    let ancestor = devnet.block_number().await? - depth;
    let nonce = devnet.provider().get_transaction_count(accounts[3]).number(ancestor).await?;
    let input = SNMToken::transferCall { to: accounts[2], value: U256::from(amount) }.abi_encode();
    let tx = serde_json::json!({
        "from": accounts[3],
        "to": devnet.token(),
        "input": alloy::hex::encode_prefixed(input),
        "gas": "0x30000",
        "nonce": format!("{nonce:#x}"),
    });
    devnet.provider().raw_request::<_, ()>("anvil_reorg".into(), (depth, [(tx, 0u64)])).await?;
    devnet.provider().raw_request::<_, ()>("anvil_dropAllTransactions".into(), ()).await?;
    Ok(())
}

/// The token's transfers now on the chain after block `after` (a reader that never saw the
/// orphaned blocks).
async fn canonical_after(devnet: &Devnet, after: u64) -> Result<Vec<u64>, Error> {
    let mut fresh: EventStream<_, SNMTokenEvents> =
        EventStream::resume(devnet.provider().clone(), devnet.token(), EventCursor::from_block(after + 1));
    Ok(amounts(&fresh.poll().await?))
}

async fn snapshot(devnet: &Devnet) -> Result<U256, Error> {
    Ok(devnet.provider().raw_request::<_, U256>("evm_snapshot".into(), ()).await?)
}

async fn revert(devnet: &Devnet, id: U256) -> Result<(), Error> {
    let reverted: bool = devnet.provider().raw_request("evm_revert".into(), (id,)).await?;
    assert!(reverted, "anvil reverted to the snapshot");
    Ok(())
}

#[tokio::test]
async fn a_stream_rolls_back_orphaned_events_and_delivers_the_canonical_ones() -> Result<(), Error> {
    let devnet = manual_devnet().await?;
    let mut stream: EventStream<_, SNMTokenEvents> =
        EventStream::new(devnet.provider().clone(), devnet.token());
    let mut resumed_later: EventStream<_, SNMTokenEvents> =
        EventStream::new(devnet.provider().clone(), devnet.token());
    let first = transfer(&devnet, 1).await?;
    transfer(&devnet, 2).await?;
    let batch = stream.poll().await?;
    assert_eq!((batch.rollback, amounts(&batch)), (None, vec![1, 2]));
    resumed_later.poll().await?;
    let saved = resumed_later.position();
    drop(resumed_later);

    // The block with transfer 2 is replaced by one with transfer 5.
    reorg_with_transfer(&devnet, 1, 5).await?;
    let canonical = canonical_after(&devnet, first).await?;
    assert!(canonical.contains(&5) && !canonical.contains(&1), "{canonical:?}");
    let batch = stream.poll().await?;
    assert_eq!(batch.rollback, Some(Rollback { to_block: first }));
    assert_eq!(amounts(&batch), canonical, "only the canonical events after the ancestor");
    assert!(stream.poll().await?.is_empty() && stream.poll().await?.rollback.is_none());

    // A reader that saved its position before the reorganisation learns of it when it resumes.
    let mut resumed: EventStream<_, SNMTokenEvents> =
        EventStream::resume_at(devnet.provider().clone(), devnet.token(), saved);
    let batch = resumed.poll().await?;
    assert_eq!(batch.rollback, Some(Rollback { to_block: first }));
    assert_eq!(amounts(&batch), canonical);

    // `next` reports the rollback as an error once, then the canonical events.
    let mut next: EventStream<_, SNMTokenEvents> =
        EventStream::resume_at(devnet.provider().clone(), devnet.token(), stream.position());
    let third = transfer_from(&devnet, 4, 3).await?;
    assert_eq!(amounts(&[next.next().await?]), vec![3]);
    reorg_with_transfer(&devnet, 1, 7).await?;
    let canonical = canonical_after(&devnet, third - 1).await?;
    assert!(canonical.contains(&7) && !canonical.contains(&3), "{canonical:?}");
    let error = next.next().await.unwrap_err();
    assert!(matches!(error, Error::Reorged { to_block } if to_block == third - 1), "{error}");
    assert_eq!(amounts(&[next.next().await?]), canonical[..1]);
    Ok(())
}

#[tokio::test]
async fn a_stream_confirmations_deep_never_sees_a_shallower_reorganisation() -> Result<(), Error> {
    let devnet = manual_devnet().await?;
    let mut stream: EventStream<_, SNMTokenEvents> =
        EventStream::new(devnet.provider().clone(), devnet.token()).with_confirmations(2);
    let setup = stream.poll().await?.len();
    assert!(setup > 0);
    let first = transfer(&devnet, 1).await?;
    transfer(&devnet, 2).await?;
    let batch = stream.poll().await?;
    assert!(amounts(&batch).is_empty(), "transfer 1 is one block deep, transfer 2 at the head");
    reorg_with_transfer(&devnet, 1, 5).await?;
    let canonical = canonical_after(&devnet, first - 1).await?;
    assert!(canonical.contains(&5) && !canonical.contains(&2), "{canonical:?}");
    devnet.provider().raw_request::<_, ()>("anvil_mine".into(), (U256::from(2),)).await?;
    let batch = stream.poll().await?;
    assert_eq!((batch.rollback, amounts(&batch)), (None, canonical));
    Ok(())
}

#[tokio::test]
async fn the_deal_watch_reports_the_deal_that_replaced_a_taken_back_one() -> Result<(), Error> {
    let devnet = Devnet::start().await?;
    let (supplier, worker) = (devnet.supplier(1)?, devnet.client(2)?);
    let (first, second) = (devnet.customer(3)?, devnet.customer(4)?);
    supplier.register_worker(&worker).await?;
    for customer in [&first, &second] {
        customer.token().approve_market(Snm::from_whole(1_000)).await?;
    }
    let price = UsdPerSecond::from_scaled(U256::from(10u64.pow(14)));
    let ask = supplier.market().place_ask(&Ask::new(supplier.master(), worker.sender(), price)).await?;
    let mut watch = supplier.watch_deals(EventCursor::from_block(devnet.deployment().start_block));
    assert!(watch.poll().await?.is_empty());
    let mut book = supplier.market().order_book().await?;
    assert!(book.ask(ask.id).is_some());

    let before = snapshot(&devnet).await?;
    let ancestor = devnet.block_number().await?;
    let purchase = Purchase::new(Term::Spot, Snm::from_whole(100), "img");
    let phantom = first.quick_buy(&ask, &purchase).await?;
    let batch = watch.poll().await?;
    assert!(matches!(&batch[..], [e] if e.event == DealEvent::Opened(phantom.clone())));
    supplier.market().sync(&mut book).await?;
    assert!(book.ask(ask.id).is_none(), "the deal took the ask");

    // The chain goes back before the deal; another customer buys the same ask: same deal id.
    revert(&devnet, before).await?;
    let real = second.quick_buy(&ask, &purchase).await?;
    assert_eq!((real.id, real.customer), (phantom.id, second.sender()));
    let batch = watch.poll().await?;
    assert_eq!(batch.rollback, Some(Rollback { to_block: ancestor }), "{batch:?}");
    assert!(matches!(&batch[..], [e] if e.event == DealEvent::Opened(real.clone())), "{batch:?}");

    // Its close is seen too.
    second.market().close_deal(real.id, false).await?;
    let closed = watch.poll().await?;
    assert!(matches!(&closed[..], [e] if matches!(&e.event, DealEvent::Closed(c) if c.id == real.id)));

    // The order book: the ask came back with the revert, then the real deal took it; a second
    // ask placed on the orphaned chain is not in it.
    let mut book = supplier.market().order_book().await?;
    let fresh_before = snapshot(&devnet).await?;
    let orphan = supplier.market().place_ask(&Ask::new(supplier.master(), worker.sender(), price)).await?;
    supplier.market().sync(&mut book).await?;
    assert!(book.ask(orphan.id).is_some());
    revert(&devnet, fresh_before).await?;
    // The supplier's nonce was taken back with the block: a fresh client sends the next ask.
    let again = Ask::new(supplier.master(), worker.sender(), UsdPerSecond::from_scaled(U256::from(7)));
    let replacement = place_after_revert(&devnet, &again).await?;
    assert_eq!(replacement, orphan.id, "the id is reused");
    supplier.market().sync(&mut book).await?;
    assert_eq!(book.ask(orphan.id).map(|a| a.ask.price), Some(again.price));
    assert_eq!(book.ask_count(), 1);
    let fresh = supplier.market().order_book().await?;
    assert_eq!(book.asks().collect::<Vec<_>>(), fresh.asks().collect::<Vec<_>>());
    Ok(())
}

/// Places `ask` as the devnet's supplier 1 through a new connection, whose nonce comes from the
/// node (the devnet's own remembers the nonce of the reverted block).
async fn place_after_revert(devnet: &Devnet, ask: &Ask) -> Result<AskId, Error> {
    let signer = devnet.signer(1)?.clone();
    let provider = snm_sdk::provider::connect_http(devnet.endpoint(), signer.clone(), &Default::default());
    let client = snm_sdk::Client::new(provider, *devnet.deployment(), signer.address());
    Ok(client.market().place_ask(ask).await?.id)
}

#[tokio::test]
async fn a_deployment_is_refused_on_another_chain_or_without_its_contracts() -> Result<(), Error> {
    let devnet = Devnet::start().await?;
    let deployment = *devnet.deployment();
    assert_eq!(deployment.chain_id, Some(31337));
    deployment.verify(devnet.provider()).await?;

    let other = Deployment { chain_id: Some(99), ..deployment };
    let error = other.verify(devnet.provider()).await.unwrap_err();
    assert!(matches!(error, Error::WrongChain { expected: 99, found: 31337 }), "{error:?}");
    assert!(error.to_string().contains("chain 31337") && error.to_string().contains("chain 99"), "{error}");

    let empty = Address::repeat_byte(0x42);
    let moved = Deployment { market: empty, ..deployment };
    let error = moved.verify(devnet.provider()).await.unwrap_err();
    assert!(
        matches!(error, Error::NoContractCode { contract: "market", address, chain_id: 31337 } if address == empty),
        "{error:?}"
    );
    let head = devnet.provider().get_block_number().await?;
    assert!(head > deployment.start_block);
    Ok(())
}

/// Requests per poll of a stream at the head: one when nothing happened (the head's hash is the
/// newest block read), two after one new block (the head, whose parent hash is the newest block
/// read, and its logs). Reading without the checks took two in both cases (the head's number and
/// the logs from the last event's block).
#[tokio::test]
async fn following_the_chain_costs_no_more_requests_per_poll() -> Result<(), Error> {
    let devnet = manual_devnet().await?;
    let calls: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = Arc::clone(&calls);
    let counting = Intercept::new(move |request: RequestPacket, pass: Pass| -> TransportFut<'static> {
        record.lock().unwrap().push(request.method_names().collect::<Vec<_>>().join("+"));
        Box::pin(pass.send(request))
    });
    let rpc = ClientBuilder::default().layer(counting).http(devnet.endpoint());
    let provider = ProviderBuilder::new().connect_client(rpc);
    let mut stream: EventStream<_, SNMTokenEvents> = EventStream::new(provider, devnet.token());
    stream.poll().await?;
    let mut poll = async || {
        calls.lock().unwrap().clear();
        let batch = stream.poll().await?;
        Ok::<_, Error>((amounts(&batch), calls.lock().unwrap().clone()))
    };
    assert_eq!(poll().await?, (vec![], vec!["eth_getBlockByNumber".to_owned()]));
    transfer(&devnet, 1).await?;
    let logs = ["eth_getBlockByNumber".to_owned(), "eth_getLogs".to_owned()];
    assert_eq!(poll().await?, (vec![1], logs.to_vec()));
    Ok(())
}
