//! The operator's client against a devnet: deploying the set (with a token of its own or an
//! existing one), the oracle's rate, the fee and its collection, and reward rounds of the reward
//! engine published (fund, propose, delay, accept) and claimed by suppliers. Each test changes
//! global state, so each starts its own devnet.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::{sync::Arc, time::Duration};

use alloy::primitives::{U256, keccak256};
use common::{World, fixture, scratch};
use snm_sdk::{
    Error, Operator, Supplier,
    bindings::{RewardDistributor, RewardDistributor::RewardDistributorErrors},
    devnet::{Devnet, DevnetConfig},
    operator::DeployConfig,
    rewards::{Campaign, compute_round},
    tx::TxOptions,
    units::{Snm, SnmPerUsd, Term},
};

#[tokio::test]
async fn deploys_the_set_on_an_existing_token() {
    let devnet = Devnet::start_with(DevnetConfig { accounts: 2, ..Default::default() }).await.unwrap();
    let deployer = devnet.client(1).unwrap();
    let config = DeployConfig {
        token: Some(devnet.token()),
        snm_per_usd: SnmPerUsd::from_whole(50),
        min_runway: Duration::from_secs(600),
        reward_delay: Duration::ZERO,
        ..DeployConfig::default()
    };
    let operator = Operator::deploy(deployer.provider().clone(), deployer.sender(), &config).await.unwrap();
    let deployment = *operator.deployment();
    assert_eq!(deployment.token, devnet.token());
    assert_ne!(deployment.market, devnet.deployment().market);
    assert_eq!(
        snm_sdk::Deployment::discover(devnet.provider(), deployment.market, deployment.distributor)
            .await
            .unwrap(),
        snm_sdk::Deployment { start_block: 0, ..deployment }
    );
    let rule = operator.market().deposit_rule().await.unwrap();
    assert_eq!((rule.rate, rule.min_runway), (SnmPerUsd::from_whole(50), Duration::from_secs(600)));
    // The deployer owns everything and reports the rate.
    operator.oracle().report(SnmPerUsd::from_whole(55)).await.unwrap();
    assert_eq!(operator.oracle().rate().await.unwrap().snm_per_usd, SnmPerUsd::from_whole(55));
    operator.market().set_paused(true).await.unwrap();
    assert!(operator.market().paused().await.unwrap());
    let status = operator.distributor().unwrap().status().await.unwrap();
    assert_eq!((status.round, status.funded, status.pending), (0, Snm::ZERO, None));
}

#[tokio::test]
async fn reports_rates_sets_the_fee_and_collects_it() {
    let devnet = Arc::new(Devnet::start().await.unwrap());
    let world = World::new(devnet.clone()).await;
    let operator = world.operator();
    let treasury = world.stranger().await.sender();
    operator.escrow().set_fee(500, treasury).await.unwrap();
    assert_eq!(
        operator.escrow().fee().await.unwrap(),
        snm_sdk::market::Fee { bps: 500, treasury: Some(treasury) }
    );

    // A second reporter moves the rate by 10 %.
    let reporter = Operator::new(world.stranger().await);
    operator.oracle().set_reporter(reporter.sender(), true).await.unwrap();
    reporter.oracle().report(SnmPerUsd::from_whole(110)).await.unwrap();
    operator.oracle().set_max_age(Duration::from_secs(7_200)).await.unwrap();
    let rate = operator.oracle().rate().await.unwrap();
    assert_eq!((rate.snm_per_usd, rate.max_age), (SnmPerUsd::from_whole(110), Duration::from_secs(7_200)));
    assert!(rate.is_fresh(operator.client().now().await.unwrap()));
    operator.oracle().set_reporter(reporter.sender(), false).await.unwrap();
    assert!(reporter.oracle().report(SnmPerUsd::from_whole(100)).await.is_err());

    let deal = world.buy(&world.place(|a| a).await, Term::Spot).await.unwrap();
    assert_eq!(world.customer.market().deal(deal.id).await.unwrap().unwrap().fee_bps, 500);
    devnet.advance_time(Duration::from_secs(1_000)).await.unwrap();
    let settled = world.supplier.market().settle(deal.id).await.unwrap().unwrap();
    assert_eq!(settled.rate, SnmPerUsd::from_whole(110));
    assert_eq!(settled.fee.wei(), settled.amount.wei() * U256::from(500) / U256::from(10_000));
    assert_eq!(
        world.supplier.escrow().earnings(world.supplier.master()).await.unwrap(),
        settled.amount.checked_sub(settled.fee).unwrap()
    );
    // Closing works while paused; fees go to the treasury.
    operator.market().set_paused(true).await.unwrap();
    let closed = world.customer.market().close_deal(deal.id, false).await.unwrap();
    assert_eq!(
        operator.escrow().withdraw_fees().await.unwrap(),
        settled.fee.checked_add(closed.fee).unwrap()
    );
    assert_eq!(
        operator.token().balance(treasury).await.unwrap(),
        settled.fee.checked_add(closed.fee).unwrap()
    );
}

#[tokio::test]
async fn publishes_reward_rounds_that_suppliers_claim() {
    // The fixture's accounts are the devnet's accounts 1 to 5.
    let devnet = Devnet::start().await.unwrap();
    let operator = devnet.operator().unwrap();
    let campaign = Campaign::from_toml_file(&fixture("campaign.toml")).unwrap();
    let dir = scratch("operator");

    let round1 = compute_round(&campaign, None, &[fixture("round1.csv")]).unwrap();
    let files1 = round1.write(&dir).unwrap();
    let before = operator.token().balance(operator.sender()).await.unwrap();
    let status =
        operator.distributor().unwrap().publish_round(&round1, "file://round-1.merkle.json").await.unwrap();
    assert_eq!(
        (status.round, status.root, status.total, status.funded),
        (1, round1.root(), round1.total(), round1.total())
    );
    assert_eq!(
        status.content_hash,
        keccak256(std::fs::read(&files1.merkle).unwrap()),
        "hash of the dump file"
    );
    assert_eq!((status.uri.as_str(), status.pending), ("file://round-1.merkle.json", None));
    assert_eq!(
        operator.token().balance(operator.sender()).await.unwrap(),
        before.checked_sub(round1.total()).unwrap()
    );

    let alice = Supplier::new(devnet.client(1).unwrap());
    let bob = Supplier::new(devnet.client(2).unwrap());
    let (amount, proof) = round1.claim(alice.master()).unwrap();
    assert_eq!(
        alice.distributor().unwrap().claim(alice.master(), amount, proof.clone()).await.unwrap().total(),
        amount
    );
    let again = alice.distributor().unwrap().claim(alice.master(), amount, proof).await;
    let e = again.as_ref().err().and_then(Error::as_distributor);
    assert!(matches!(e, Some(RewardDistributorErrors::NothingToClaim(_))), "{again:?}");
    let bob_amount = round1.account(bob.master()).unwrap().cumulative;
    assert_eq!(
        bob.distributor()
            .unwrap()
            .claim_from_dump(bob.master(), &files1.merkle)
            .await
            .unwrap()
            .paid_to(bob.master()),
        bob_amount
    );
    assert_eq!(bob.distributor().unwrap().claimed(bob.master()).await.unwrap(), bob_amount);
    let wrong = alice
        .distributor()
        .unwrap()
        .claim(
            alice.master(),
            amount.checked_add(Snm::from_whole(1)).unwrap(),
            round1.claim(alice.master()).unwrap().1,
        )
        .await;
    assert!(
        matches!(
            wrong.as_ref().err().and_then(Error::as_distributor),
            Some(RewardDistributorErrors::InvalidProof(_))
        ),
        "{wrong:?}"
    );

    // Round 2 funds only what it adds; the round-1 proof is now stale.
    let round2 = compute_round(&campaign, Some(&files1.round), &[fixture("round2.jsonl")]).unwrap();
    let status =
        operator.distributor().unwrap().publish_round(&round2, "file://round-2.merkle.json").await.unwrap();
    assert_eq!((status.round, status.funded), (2, round2.total()));
    assert_eq!(
        operator.token().balance(operator.sender()).await.unwrap(),
        before.checked_sub(round2.total()).unwrap()
    );
    let (old_amount, old_proof) = round1.claim(alice.master()).unwrap();
    let stale = alice.distributor().unwrap().claim(alice.master(), old_amount, old_proof).await;
    assert!(
        matches!(
            stale.as_ref().err().and_then(Error::as_distributor),
            Some(RewardDistributorErrors::StaleProof(_))
        ),
        "{stale:?}"
    );
    let (amount2, proof2) = round2.claim(alice.master()).unwrap();
    assert_eq!(
        alice.distributor().unwrap().claim(alice.master(), amount2, proof2).await.unwrap().total(),
        amount2.checked_sub(amount).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn waits_out_the_reward_delay() {
    // No periodic blocks: the chain's clock moves only when told to.
    let config = DevnetConfig {
        accounts: 4,
        reward_delay: Duration::from_secs(2),
        sweep_interval: None,
        ..Default::default()
    };
    let devnet = Devnet::start_with(config).await.unwrap();
    let operator = devnet.operator().unwrap();
    let campaign = Campaign::from_toml_file(&fixture("campaign.toml")).unwrap();
    let round = compute_round(&campaign, None, &[fixture("round1.csv")]).unwrap();
    let pending = operator.distributor().unwrap().propose_round(&round, "ipfs://round-1").await.unwrap();
    let status = operator.distributor().unwrap().status().await.unwrap();
    assert_eq!((status.round, status.funded, status.pending.as_ref()), (0, round.total(), Some(&pending)));
    assert_eq!(pending.acceptable_at, operator.client().now().await.unwrap() + 2);

    // Too early for the distributor, and the chain's clock does not move by itself on anvil.
    let distributor =
        RewardDistributor::new(operator.deployment().distributor.unwrap(), operator.client().provider());
    let early =
        distributor.acceptRoot(pending.root).from(operator.sender()).call().await.map_err(Error::from);
    assert!(
        matches!(
            early.as_ref().err().and_then(Error::as_distributor),
            Some(RewardDistributorErrors::ProposalNotReady(_))
        ),
        "{early:?}"
    );
    let impatient = Operator::new(
        operator
            .client()
            .as_account(operator.sender())
            .with_options(TxOptions { receipt_timeout: Duration::from_millis(300), ..TxOptions::default() }),
    );
    // The wait is bounded by the delay left plus the receipt timeout (2.3 s here).
    let waited = tokio::time::timeout(
        Duration::from_secs(60),
        impatient.distributor().unwrap().accept_when_ready(&pending),
    )
    .await
    .unwrap();
    assert!(matches!(waited, Err(Error::Timeout { .. })), "{waited:?}");

    devnet.advance_time(Duration::from_secs(2)).await.unwrap();
    let status = operator.distributor().unwrap().accept_when_ready(&pending).await.unwrap();
    assert_eq!((status.round, status.root, status.uri.as_str()), (1, round.root(), "ipfs://round-1"));
}
