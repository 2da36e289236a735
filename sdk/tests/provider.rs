//! The SDK's provider stack (`snm_sdk::provider`): every read is retried by the transport,
//! whoever makes it; a send whose answer was lost is not sent again, and the next send takes the
//! next nonce; the fee cap holds for a transaction the raw bindings send.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy::{
    consensus::Transaction as _,
    primitives::Address,
    providers::{DynProvider, Provider},
    rpc::{client::ClientBuilder, json_rpc::RequestPacket},
    signers::local::PrivateKeySigner,
    transports::{TransportErrorKind, TransportFut},
};
use common::{
    intercept::{Intercept, Pass},
    shared, snm,
};
use snm_sdk::{
    Client, Error,
    bindings::SNMToken,
    devnet::{Devnet, DevnetConfig},
    provider::{self, NonceLayer, RetryReadsLayer},
    tx::TxOptions,
};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

/// A new account holding 1,000 SNM, behind the SDK's provider over a transport that `flaky`
/// troubles (under the read retries).
async fn flaky_client(devnet: &Devnet, flaky: &Flaky) -> Client<DynProvider> {
    let key = devnet.new_account(snm("1000 SNM")).await.unwrap();
    let rpc = ClientBuilder::default()
        .layer(RetryReadsLayer::default())
        .layer(flaky.layer())
        .http(devnet.endpoint());
    let provider = provider::connect_client(rpc, key.clone(), &TxOptions::default(), &NonceLayer::new());
    Client::new(provider, *devnet.deployment(), key.address())
}

#[tokio::test]
async fn every_read_is_retried_by_the_transport_whoever_makes_it() {
    let devnet = shared().await;
    let flaky = Flaky::default();
    let client = flaky_client(&devnet, &flaky).await;

    // A client's read: its first three attempts fail, the fourth is answered.
    flaky.fail_reads(3);
    assert_eq!(
        timeout(LIMIT, client.token().balance(client.sender())).await.unwrap().unwrap(),
        snm("1000 SNM")
    );
    assert_eq!(flaky.calls(), ["eth_call ✗", "eth_call ✗", "eth_call ✗", "eth_call"]);

    // The provider's own reads and a raw binding's call, likewise.
    flaky.fail_reads(2);
    let head = timeout(LIMIT, client.provider().get_block_number()).await.unwrap().unwrap();
    assert!(head > 0);
    assert_eq!(flaky.calls(), ["eth_blockNumber ✗", "eth_blockNumber ✗", "eth_blockNumber"]);
    flaky.fail_reads(1);
    let token = SNMToken::new(devnet.token(), client.provider());
    let balance = timeout(LIMIT, token.balanceOf(client.sender()).call()).await.unwrap().unwrap();
    assert_eq!(balance, snm("1000 SNM").wei());
    assert_eq!(flaky.calls(), ["eth_call ✗", "eth_call"]);

    // Beyond the retries (four), the failure reaches the caller.
    flaky.fail_reads(5);
    let failed = timeout(LIMIT, client.token().balance(client.sender())).await.unwrap();
    assert!(matches!(failed, Err(Error::Transport(_))), "{failed:?}");
    assert_eq!(flaky.calls().len(), 5, "the first attempt and four retries");
}

#[tokio::test]
async fn a_send_whose_answer_was_lost_is_not_sent_again_and_the_next_takes_the_next_nonce() {
    let devnet = shared().await;
    let flaky = Flaky::default();
    let client = flaky_client(&devnet, &flaky).await;
    let account = client.sender();
    let recipient = PrivateKeySigner::random().address();
    let rpc = devnet.provider();
    let before = rpc.get_transaction_count(account).await.unwrap();

    // The node gets the transaction, its answer is lost: the caller hears of the failure, nothing
    // is sent twice.
    flaky.lose_send_answers(1);
    let lost = timeout(LIMIT, client.token().transfer(recipient, snm("5 SNM"))).await.unwrap();
    assert!(matches!(lost, Err(Error::Transport(_))), "{lost:?}");
    let sends = flaky.calls().iter().filter(|call| call.starts_with("eth_sendRawTransaction")).count();
    assert_eq!(sends, 1, "the send is not repeated");
    // It was mined all the same (the devnet mines what it gets).
    until_mined(rpc, account, before + 1).await;

    // The next send takes the next nonce: the lost one's was not given again.
    timeout(LIMIT, client.token().transfer(recipient, snm("5 SNM"))).await.unwrap().unwrap();
    assert_eq!(rpc.get_transaction_count(account).await.unwrap(), before + 2);
    assert_eq!(client.token().balance(recipient).await.unwrap(), snm("10 SNM"));
}

#[tokio::test]
async fn the_fee_cap_holds_a_raw_binding_send() {
    // A devnet of its own that mines only what is sent: the base fee stays as it is between the
    // estimate here and the send.
    let config = DevnetConfig { accounts: 2, sweep_interval: None, ..DevnetConfig::default() };
    let devnet = Devnet::start_with(config).await.unwrap();
    let key = devnet.new_account(snm("1000 SNM")).await.unwrap();
    let rpc = devnet.provider();
    // Below what the node's estimate offers (twice the base fee, and the tip), above the base
    // fee, so that the capped transaction is still mined.
    let estimate = rpc.estimate_eip1559_fees().await.unwrap();
    let cap = estimate.max_fee_per_gas * 3 / 4;
    let options = TxOptions { max_fee_per_gas_cap: Some(cap), ..TxOptions::default() };
    let provider = provider::connect_http(devnet.endpoint(), key, &options);

    let token = SNMToken::new(devnet.token(), &provider);
    let sent = token.transfer(PrivateKeySigner::random().address(), snm("1 SNM").wei()).send().await.unwrap();
    let receipt = timeout(LIMIT, sent.get_receipt()).await.unwrap().unwrap();
    assert!(receipt.status());

    let mined = rpc.get_transaction_by_hash(receipt.transaction_hash).await.unwrap().unwrap();
    assert_eq!(mined.max_fee_per_gas(), cap, "held at the cap (the estimate offered {estimate:?})");
    assert!(mined.max_priority_fee_per_gas().unwrap() <= cap);
}

/// Waits until `account` has `count` transactions mined.
async fn until_mined(rpc: &DynProvider, account: Address, count: u64) {
    timeout(LIMIT, async {
        while rpc.get_transaction_count(account).await.unwrap() < count {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{account} has no {count} transactions mined after {LIMIT:?}"));
}

/// A transport layer that fails requests on demand: the next reads with a broken connection
/// (before they reach the node), or the next sends' answers (after the node got them). It records
/// each request's method, with a ✗ when it failed.
#[derive(Clone, Default)]
struct Flaky {
    reads_to_fail: Arc<AtomicUsize>,
    answers_to_lose: Arc<AtomicUsize>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Flaky {
    /// Fails the next `count` reads, and forgets the calls recorded so far.
    fn fail_reads(&self, count: usize) {
        self.calls.lock().unwrap().clear();
        self.reads_to_fail.store(count, Ordering::SeqCst);
    }

    /// Loses the node's answer to the next `count` sends, and forgets the calls recorded so far.
    fn lose_send_answers(&self, count: usize) {
        self.calls.lock().unwrap().clear();
        self.answers_to_lose.store(count, Ordering::SeqCst);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// Takes one of `counter`'s failures, if one is left.
    fn take(counter: &AtomicUsize) -> bool {
        counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok()
    }
}

impl Flaky {
    /// The transport layer doing what this `Flaky` was told.
    fn layer(
        &self,
    ) -> Intercept<impl Fn(RequestPacket, Pass) -> TransportFut<'static> + Send + Sync + 'static> {
        let flaky = self.clone();
        Intercept::new(move |request: RequestPacket, pass: Pass| -> TransportFut<'static> {
            let calls = Arc::clone(&flaky.calls);
            let method = request.method_names().collect::<Vec<_>>().join("+");
            let record = move |failed: bool| {
                let call = if failed { format!("{method} ✗") } else { method.clone() };
                calls.lock().unwrap().push(call);
            };
            let sending = request.method_names().any(|method| method.starts_with("eth_send"));
            if !sending && Flaky::take(&flaky.reads_to_fail) {
                record(true);
                return Box::pin(async { Err(TransportErrorKind::custom_str("connection reset (test)")) });
            }
            let lose = sending && Flaky::take(&flaky.answers_to_lose);
            Box::pin(async move {
                let response = pass.send(request).await;
                record(lose);
                if lose {
                    Err(TransportErrorKind::custom_str("connection reset after sending (test)"))
                } else {
                    response
                }
            })
        })
    }
}
