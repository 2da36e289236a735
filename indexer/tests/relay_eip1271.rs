//! The relay of signed asks (`POST /v1/asks`) for a master that is a contract wallet (EIP-1271, as
//! a Safe would be): the test wallet of the contracts' tests (`contracts/test/market/mocks/
//! Wallet1271.sol`; `tests/fixtures/Wallet1271.json` is its `forge build` artifact, ABI and
//! bytecode) accepts what its owner's key signed and can be told to refuse everything. The relay
//! accepts an ask the wallet validates and refuses one it rejects (400 naming the signature);
//! the wallet cancelling its worker's signed asks is ingested (the event comes from the market's
//! address) and the relay drops the ask.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use alloy::{
    primitives::Bytes,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolCall,
};
use common::{TestDb, devnet, get, indexer, post, serve_relaying};
use snm_indexer::api::Relay;
use snm_sdk::{
    bindings::{Market, MarketSignedAsks},
    market::{Ask, SignedAsk, signed},
    prelude::*,
};

#[allow(missing_docs, unreachable_pub, missing_debug_implementations)]
mod wallet {
    alloy::sol!(
        #[sol(rpc)]
        Wallet1271,
        "tests/fixtures/Wallet1271.json"
    );
}

use wallet::Wallet1271;

/// `ask` for `nonce`, signed by `key` over the market's EIP-712 digest (the wallet, not the key,
/// is the ask's master, so the SDK's `SignedAsk::sign` does not apply).
fn signed_by(
    key: &PrivateKeySigner,
    ask: Ask,
    nonce: u64,
    domain: &alloy::sol_types::Eip712Domain,
) -> SignedAsk {
    let signature = key.sign_hash_sync(&signed::digest(&ask, nonce, domain)).unwrap();
    SignedAsk { ask, nonce, signature: Bytes::copy_from_slice(&signature.as_bytes()) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contract_wallet_master_signs_through_eip1271() {
    let devnet = devnet().await;
    let db = TestDb::sqlite();
    let (database, mut follower) = indexer(&devnet, &db.url("eip1271")).await;
    let market = devnet.deployment().market;
    let chain_id = alloy::providers::Provider::get_chain_id(devnet.provider()).await.unwrap();
    let relay = Relay::new(devnet.provider().clone(), chain_id, market);
    let address = serve_relaying(database.clone(), follower.health(), Some(relay.clone())).await;

    // The wallet, owned by a key, becomes the worker's master.
    let owner_key = devnet.new_account(Snm::ZERO).await.unwrap();
    let owner = devnet.connect(&owner_key);
    let wallet = Wallet1271::deploy(owner.provider().clone(), owner_key.address()).await.unwrap();
    let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    worker.market().request_worker(*wallet.address()).await.unwrap();
    let confirm = Market::confirmWorkerCall { worker: worker.sender() }.abi_encode();
    wallet.execute(market, confirm.into()).send().await.unwrap().get_receipt().await.unwrap();
    assert_eq!(worker.market().ask_nonce(worker.sender()).await.unwrap(), 0);

    let domain = signed::domain(chain_id, market);
    let ask = |usd_per_hour: u64| {
        Ask::new(
            *wallet.address(),
            worker.sender(),
            UsdPerHour::from_whole(usd_per_hour).to_per_second_down(),
        )
        .resources(Resources::new().cpu_cores(4))
    };

    // Signed by the owner's key: the wallet validates it, the relay accepts and serves it.
    let accepted = signed_by(&owner_key, ask(2), 0, &domain);
    assert!(accepted.verify(&domain).is_err(), "no key of the wallet's own: only EIP-1271 can accept it");
    let (status, body) = post(address, "/v1/asks", &accepted).await;
    assert_eq!((status, body["replaced"].as_bool()), (200, Some(false)), "{body}");
    let (_, page) = get(address, "/v1/asks").await;
    assert_eq!(page["signed_asks"], serde_json::to_value(vec![&accepted]).unwrap());

    // Signed by a stranger: the wallet rejects it, and so does the relay, naming the wallet.
    let stranger = signed_by(&PrivateKeySigner::random(), ask(1), 0, &domain);
    let (status, body) = post(address, "/v1/asks", &stranger).await;
    assert_eq!((status, body["parameter"].as_str()), (400, Some("signature")), "{body}");
    let reason = body["error"].as_str().unwrap();
    assert!(reason.contains("EIP-1271") && reason.contains(&wallet.address().to_string()), "{reason}");

    // The wallet told to refuse everything: even its owner's signature is refused.
    wallet.setRefuseAll(true).send().await.unwrap().get_receipt().await.unwrap();
    let (status, body) = post(address, "/v1/asks", &signed_by(&owner_key, ask(1), 0, &domain)).await;
    assert_eq!((status, body["parameter"].as_str()), (400, Some("signature")), "{body}");
    let (_, page) = get(address, "/v1/asks").await;
    assert_eq!(
        page["signed_asks"],
        serde_json::to_value(vec![&accepted]).unwrap(),
        "nothing refused is stored"
    );

    // The wallet cancels its worker's signed asks: the indexer ingests the event, the relay drops
    // the ask.
    let cancel = MarketSignedAsks::cancelSignedAsksCall { worker: worker.sender() }.abi_encode();
    wallet.execute(market, cancel.into()).send().await.unwrap().get_receipt().await.unwrap();
    assert_eq!(worker.market().ask_nonce(worker.sender()).await.unwrap(), 1);
    tokio::time::timeout(Duration::from_secs(60), follower.catch_up()).await.unwrap().unwrap();
    assert_eq!(relay.prune(&database).await.unwrap(), 1);
    let (_, page) = get(address, "/v1/asks").await;
    assert_eq!(page["signed_asks"].as_array().map(Vec::len), Some(0));
}
