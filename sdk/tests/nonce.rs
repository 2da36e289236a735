//! Nonces: a refused action never leaves a gap (even through a provider with alloy's default
//! cached nonce manager, the pitfall that makes the next `watch()` hang), a transaction that passed
//! its simulation but reverted when mined is decoded and leaves no gap either, many customers
//! opening deals at once (each of them several at once) all get consecutive nonces, and so do the
//! raw bindings' sends mixed with the clients' on one provider.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::Address,
    providers::{Provider, ProviderBuilder},
    rpc::{client::ClientBuilder, json_rpc::RequestPacket},
    signers::local::PrivateKeySigner,
    transports::TransportFut,
};
use common::{
    World,
    intercept::{Intercept, Pass},
    shared, snm,
};
use snm_sdk::{
    Client, Customer, Error, Supplier,
    bindings::{Market::MarketErrors, SNMToken},
    devnet::{Devnet, DevnetConfig},
    market::Purchase,
    provider::{self, NonceLayer, RetryReadsLayer},
    tx::TxOptions,
    units::{Snm, Term},
};
use tokio::{sync::watch, task::JoinSet, time::timeout};

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_refused_action_leaves_no_gap_with_alloys_default_nonce_manager() {
    let world = World::new(shared().await).await;
    // The customer's key behind a provider with alloy's recommended fillers (cached nonces).
    let provider = ProviderBuilder::new()
        .wallet(world.customer_key.clone())
        .connect_http(world.devnet.endpoint())
        .erased();
    let customer = Customer::new(snm_sdk::Client::new(
        provider.clone(),
        *world.devnet.deployment(),
        world.customer.sender(),
    ));
    let ask = world.place(|a| a).await;
    let sent_before = provider.get_transaction_count(customer.sender()).await.unwrap();

    let too_small = Purchase::new(Term::Spot, snm("1 SNM"), "img");
    let refused = timeout(LIMIT, customer.quick_buy(&ask, &too_small)).await.unwrap();
    assert!(matches!(refused, Err(Error::Market(MarketErrors::DepositBelowRunway(_)))), "{refused:?}");
    let refused = timeout(LIMIT, customer.market().set_blacklist(alloy::primitives::Address::ZERO, true))
        .await
        .unwrap();
    assert!(matches!(refused, Err(Error::Market(MarketErrors::ZeroAddress(_)))), "{refused:?}");
    timeout(LIMIT, customer.quick_buy(&ask, &Purchase::new(Term::Spot, snm("100 SNM"), "img")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(provider.get_transaction_count(customer.sender()).await.unwrap(), sent_before + 1);

    // The provider's own cached nonces still work after the SDK's sends, and the SDK's after them.
    let token = SNMToken::new(customer.client().deployment().token, &provider);
    let transfer = token.transfer(world.supplier.master(), snm("1 SNM").wei()).from(customer.sender());
    timeout(LIMIT, async { transfer.send().await.unwrap().watch().await.unwrap() }).await.unwrap();
    timeout(LIMIT, customer.token().approve_market(snm("5 SNM"))).await.unwrap().unwrap();
    assert_eq!(provider.get_transaction_count(customer.sender()).await.unwrap(), sent_before + 3);
}

#[tokio::test]
async fn a_transaction_reverted_when_mined_is_decoded_and_leaves_no_gap() {
    // Two customers race for one ask in the same block: both simulations pass, one transaction
    // reverts on chain. Mining is manual here (no periodic blocks), so this test has a devnet of
    // its own.
    let config = DevnetConfig { sweep_interval: None, ..DevnetConfig::default() };
    let devnet = Arc::new(Devnet::start_with(config).await.unwrap());
    let world = World::new(devnet.clone()).await;
    let rival = World::new(devnet.clone()).await;
    let ask = world.place(|a| a).await;
    let provider = devnet.connect(devnet.signer(0).unwrap()).provider().clone();
    provider.raw_request::<_, ()>("evm_setAutomine".into(), (false,)).await.unwrap();

    let purchase = Purchase::new(Term::Spot, snm("100 SNM"), "img");
    // The node simulates on its pending block, which holds what its pool holds: the buyers' sends
    // wait until both simulations are done, so that both pass whatever the machine's pace.
    let simulations = SimulationsFirst::new(2);
    let buyer = |world: &World| {
        let rpc = ClientBuilder::default()
            .layer(RetryReadsLayer::default())
            .layer(simulations.layer())
            .http(devnet.endpoint());
        let key = world.customer_key.clone();
        let provider = provider::connect_client(rpc, key.clone(), &TxOptions::default(), &NonceLayer::new());
        Customer::new(Client::new(provider, *devnet.deployment(), key.address()))
    };
    let buyers = [buyer(&world), buyer(&rival)];
    let mut races = JoinSet::new();
    for buyer in buyers.clone() {
        let (ask, purchase) = (ask.clone(), purchase.clone());
        races.spawn(async move { buyer.quick_buy(&ask, &purchase).await });
    }
    // Both transactions wait in the pool, then one block takes them.
    timeout(LIMIT, async {
        loop {
            let status: serde_json::Value = provider.raw_request("txpool_status".into(), ()).await.unwrap();
            let pending = match &status["pending"] {
                serde_json::Value::String(hex) => {
                    u64::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap()
                }
                other => other.as_u64().unwrap(),
            };
            if pending == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    provider.raw_request::<_, String>("evm_mine".into(), ()).await.unwrap();
    provider.raw_request::<_, ()>("evm_setAutomine".into(), (true,)).await.unwrap();
    let results = timeout(LIMIT, races.join_all()).await.unwrap();
    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    assert_eq!((won.len(), lost.len()), (1, 1), "one buyer wins");
    let lost = lost.into_iter().next().unwrap().unwrap_err();
    let Error::Market(MarketErrors::OrderMismatch(e)) = lost else { panic!("{lost:?}") };
    assert_eq!(e.orderId, ask.id.word());

    // Both buyers' next transactions go through: the reverted one used its nonce.
    for buyer in &buyers {
        let next = world.place(|a| a).await;
        timeout(LIMIT, buyer.quick_buy(&next, &purchase)).await.unwrap().unwrap();
        // approve, the race, this buy.
        assert_eq!(provider.get_transaction_count(buyer.sender()).await.unwrap(), 3);
    }
}

#[tokio::test]
async fn many_customers_open_deals_at_once() {
    const CUSTOMERS: usize = 8;
    const DEALS_EACH: usize = 5;
    let world = World::new(shared().await).await;
    let devnet = world.devnet.clone();

    // Two suppliers place twenty asks each, all at once.
    let second = Supplier::new(world.stranger().await);
    let worker = world.stranger().await;
    second.register_worker(&worker).await.unwrap();
    let mut placing = JoinSet::new();
    for k in 0..CUSTOMERS * DEALS_EACH {
        let (supplier, ask) = if k % 2 == 0 {
            (world.supplier.clone(), world.ask())
        } else {
            (
                second.clone(),
                snm_sdk::market::Ask { master: second.master(), worker: worker.sender(), ..world.ask() },
            )
        };
        placing.spawn(async move { supplier.market().place_ask(&ask).await });
    }
    let mut asks: Vec<_> = placing.join_all().await.into_iter().map(Result::unwrap).collect();
    asks.sort_by_key(|a| a.id);
    assert!(asks.windows(2).all(|w| w[0].id < w[1].id), "distinct ids");

    let mut customers = Vec::new();
    for _ in 0..CUSTOMERS {
        let key = devnet.new_account(snm("1000 SNM")).await.unwrap();
        let customer = Customer::new(devnet.connect(&key));
        customer.token().approve_market(snm("1000 SNM")).await.unwrap();
        customers.push(customer);
    }
    let mut buying = JoinSet::new();
    for (k, ask) in asks.iter().enumerate() {
        let customer = customers[k % CUSTOMERS].clone();
        let ask = ask.clone();
        buying.spawn(async move {
            customer.quick_buy(&ask, &Purchase::new(Term::Spot, snm("100 SNM"), format!("job-{k}"))).await
        });
    }
    let deals: Vec<_> = timeout(Duration::from_secs(120), buying.join_all()).await.unwrap();
    let mut ids: Vec<_> = deals.into_iter().map(|d| d.unwrap().id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), CUSTOMERS * DEALS_EACH);
    for customer in &customers {
        let sent = customer.client().provider().get_transaction_count(customer.sender()).await.unwrap();
        assert_eq!(sent, 1 + DEALS_EACH as u64, "approve and its deals, nothing skipped or repeated");
        assert_eq!(customer.token().balance(customer.sender()).await.unwrap(), Snm::from_whole(500));
    }
    let book = world.customer.market().order_book().await.unwrap();
    assert!(asks.iter().all(|a| book.ask(a.id).is_none()), "every ask consumed");
}

#[tokio::test]
async fn raw_binding_sends_mixed_with_client_sends_on_one_provider_get_consecutive_nonces() {
    const SENDS: usize = 12;
    let devnet = shared().await;
    let key = devnet.new_account(snm("1000 SNM")).await.unwrap();
    let account = key.address();
    // The SDK's provider, shared by a client and the token's generated binding.
    let provider = provider::connect_http(devnet.endpoint(), key, &TxOptions::default());
    let client = Client::new(provider.clone(), *devnet.deployment(), account);
    let token = SNMToken::new(devnet.token(), provider.clone());
    let before = provider.get_transaction_count(account).await.unwrap();
    let recipients: Vec<Address> = (0..SENDS).map(|_| PrivateKeySigner::random().address()).collect();

    let send_all = |recipients: Vec<Address>| {
        let mut sending = JoinSet::new();
        for (k, recipient) in recipients.into_iter().enumerate() {
            let (client, token) = (client.clone(), token.clone());
            sending.spawn(async move {
                if k % 2 == 0 {
                    client.token().transfer(recipient, snm("1 SNM")).await.unwrap();
                } else {
                    // No `from`: the binding's send goes out as the provider's signer.
                    let receipt = token.transfer(recipient, snm("1 SNM").wei()).send().await.unwrap();
                    assert!(receipt.get_receipt().await.unwrap().status());
                }
            });
        }
        timeout(LIMIT, sending.join_all())
    };
    let (first, second) = recipients.split_at(SENDS / 2);
    send_all(first.to_vec()).await.unwrap();
    // Between them, sends the node refuses (more tokens than the account has), through the
    // binding and through the client: they take no nonce.
    let refused = token.transfer(recipients[0], snm("1000000 SNM").wei()).send().await;
    assert!(refused.is_err(), "a transfer beyond the balance is refused");
    let refused = client.token().transfer(recipients[0], snm("1000000 SNM")).await;
    assert!(matches!(refused, Err(Error::InsufficientFunds { .. })), "{refused:?}");
    send_all(second.to_vec()).await.unwrap();

    // Every transfer was mined once, with the nonces after `before` and none other: a gap would
    // have left the later ones waiting, a nonce given twice would have lost one of them.
    let mined = provider.get_transaction_count(account).await.unwrap();
    assert_eq!(mined, before + SENDS as u64, "one nonce per transfer");
    let pending = provider.get_transaction_count(account).pending().await.unwrap();
    assert_eq!(pending, mined, "nothing left waiting");
    for recipient in recipients {
        assert_eq!(client.token().balance(recipient).await.unwrap(), snm("1 SNM"), "paid once");
    }
}

/// A transport layer holding every `eth_sendRawTransaction` until `count` `eth_estimateGas`
/// answers came back (through any clone).
#[derive(Clone)]
struct SimulationsFirst {
    count: usize,
    done: Arc<watch::Sender<usize>>,
}

impl SimulationsFirst {
    fn new(count: usize) -> Self {
        Self { count, done: Arc::new(watch::Sender::new(0)) }
    }
}

impl SimulationsFirst {
    /// The transport layer holding the sends.
    fn layer(
        &self,
    ) -> Intercept<impl Fn(RequestPacket, Pass) -> TransportFut<'static> + Send + Sync + 'static> {
        let simulations = self.clone();
        Intercept::new(move |request: RequestPacket, pass: Pass| -> TransportFut<'static> {
            let simulations = simulations.clone();
            let method = request.method_names().next().unwrap_or_default().to_owned();
            Box::pin(async move {
                if method == "eth_sendRawTransaction" {
                    let mut done = simulations.done.subscribe();
                    done.wait_for(|done| *done >= simulations.count).await.unwrap();
                }
                let response = pass.send(request).await;
                if method == "eth_estimateGas" {
                    simulations.done.send_modify(|done| *done += 1);
                }
                response
            })
        })
    }
}
