//! Reward claims open to anyone: a round file read back for publishing, a claim sent for another
//! account, the claimed amount of any account, and a batch claim (`claimMany`) paying every account
//! of a round to itself from a third party's transaction, entries with nothing left skipped; and a
//! sweep of a round of dozens of accounts in multiproof batches (`claimMultiproof`), bad multiproofs
//! refused with the distributor's decoded error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use std::num::NonZeroUsize;

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use common::{fixture, scratch};
use snm_sdk::{
    Error,
    bindings::RewardDistributor::RewardDistributorErrors,
    devnet::{Devnet, DevnetConfig},
    rewards::{
        CSV_HEADER, Campaign, RewardClaim, RewardMultiProof, RewardsError, Round, StandardMerkleTree,
        compute_round,
    },
    units::Snm,
};

#[tokio::test]
async fn anyone_claims_for_any_account_alone_or_in_a_batch() {
    // The fixture's round-1 accounts are the devnet's accounts 1 to 4.
    let devnet = Devnet::start_with(DevnetConfig { accounts: 5, ..Default::default() }).await.unwrap();
    let operator = devnet.operator().unwrap();
    let campaign = Campaign::from_toml_file(&fixture("campaign.toml")).unwrap();
    let dir = scratch("reward-claims");
    let computed = compute_round(&campaign, None, &[fixture("round1.csv")]).unwrap();
    let files = computed.write(&dir).unwrap();

    // The round file read back is the round computed.
    let round = Round::load(&files.round).unwrap();
    assert_eq!(
        (round.number(), round.root(), round.total(), round.round_total(), round.previous_root()),
        (1, computed.root(), computed.total(), computed.round_total(), None)
    );
    assert_eq!(
        (round.accounts(), round.ips(), round.conflicts()),
        (computed.accounts(), computed.ips(), computed.conflicts())
    );
    assert_eq!(round.campaign(), &campaign);
    operator.distributor().unwrap().publish_round(&round, "file://round-1.merkle.json").await.unwrap();

    let payer = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let tree = StandardMerkleTree::load_dump(&files.merkle).unwrap();
    let claims: Vec<RewardClaim> = tree.claims().collect();
    assert_eq!(claims.len(), 4);
    let accounts = devnet.accounts();
    let before: Vec<Snm> = {
        let mut balances = Vec::new();
        for claim in &claims {
            balances.push(payer.token().balance(claim.account).await.unwrap());
        }
        balances
    };

    // A claim sent by the payer for account 1: paid to account 1, once.
    let first = tree.claim(accounts[1]).unwrap();
    assert_eq!(first, claims.iter().find(|c| c.account == accounts[1]).unwrap().clone());
    let paid = payer.distributor().unwrap().claim_for(&first).await.unwrap();
    assert_eq!(paid.paid, vec![(accounts[1], first.cumulative)]);
    assert!(paid.gas_used > 21_000, "{paid:?}");
    assert_eq!(payer.distributor().unwrap().claimed(accounts[1]).await.unwrap(), first.cumulative);
    assert_eq!(payer.distributor().unwrap().claimed(accounts[2]).await.unwrap(), Snm::ZERO);
    let twice = payer.distributor().unwrap().claim_for(&first).await;
    assert!(
        matches!(
            twice.as_ref().err().and_then(Error::as_distributor),
            Some(RewardDistributorErrors::NothingToClaim(_))
        ),
        "{twice:?}"
    );

    // One batch for every account: account 1 is skipped, the others are paid their amounts.
    let batch = payer.distributor().unwrap().claim_many(&claims).await.unwrap();
    let expected: Vec<(_, Snm)> =
        claims.iter().filter(|c| c.account != accounts[1]).map(|c| (c.account, c.cumulative)).collect();
    assert_eq!(batch.paid, expected);
    assert_eq!(batch.total(), round.total().checked_sub(first.cumulative).unwrap());
    assert_eq!(batch.paid_to(accounts[1]), Snm::ZERO);
    for (claim, before) in claims.iter().zip(&before) {
        let after = payer.token().balance(claim.account).await.unwrap();
        assert_eq!(after, before.checked_add(claim.cumulative).unwrap(), "{}", claim.account);
        assert_eq!(payer.distributor().unwrap().claimed(claim.account).await.unwrap(), claim.cumulative);
    }
    assert_eq!(payer.token().balance(payer.sender()).await.unwrap(), Snm::ZERO, "the payer pays only gas");
    // Again: every entry is skipped, nothing is paid.
    assert_eq!(payer.distributor().unwrap().claim_many(&claims).await.unwrap().paid, vec![]);
    let empty = payer.distributor().unwrap().claim_many(&[]).await;
    assert!(matches!(empty, Err(Error::EmptyClaimBatch)), "{empty:?}");

    // A round file that does not add up is refused, naming the file and the reason.
    let text = std::fs::read_to_string(&files.round).unwrap();
    let tampered = dir.join("tampered.json");
    let total = round.total().wei().to_string();
    std::fs::write(&tampered, text.replace(&format!("\"total_wei\":\"{total}\""), "\"total_wei\":\"1\""))
        .unwrap();
    let refused = Round::load(&tampered).unwrap_err();
    assert!(matches!(refused, RewardsError::Round { .. }), "{refused:?}");
    let message = refused.to_string();
    assert!(
        message.starts_with(&tampered.display().to_string()) && message.contains("total_wei is 1"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The distributor's error of a refused claim, or a panic naming what came instead.
fn distributor_error<T: std::fmt::Debug>(result: Result<T, Error>) -> RewardDistributorErrors {
    match result {
        Err(Error::Distributor(error)) => *error,
        other => panic!("expected the distributor's error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_sweep_pays_every_account_in_multiproof_batches() {
    let devnet = Devnet::start_with(DevnetConfig { accounts: 2, ..Default::default() }).await.unwrap();
    let campaign = Campaign::from_toml_file(&fixture("campaign.toml")).unwrap();
    let dir = scratch("reward-sweep");

    // A round of 45 new accounts, one IP each and k GB of traffic: 50 SNM + k * 0.1 SNM.
    let accounts: Vec<Address> = (0..45).map(|_| PrivateKeySigner::random().address()).collect();
    let mut report = format!("{CSV_HEADER}\n");
    for (k, account) in accounts.iter().enumerate() {
        report.push_str(&format!("{account},10.1.0.{k},{},1000,1999\n", (k as u64 + 1) * 1_000_000_000));
    }
    let reports = dir.join("week.csv");
    std::fs::write(&reports, report).unwrap();
    let round = compute_round(&campaign, None, &[reports]).unwrap();
    devnet
        .operator()
        .unwrap()
        .distributor()
        .unwrap()
        .publish_round(&round, "file://round-1.merkle.json")
        .await
        .unwrap();
    let tree = round.tree();
    assert_eq!(tree.len(), accounts.len());
    let payer = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());

    let batch = NonZeroUsize::new(10).unwrap();
    let batches = tree.sweep_batches(accounts.iter().copied(), batch).unwrap();
    assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 10, 10, 5]);

    // Bad multiproofs of the first batch are refused as a whole with the distributor's error,
    // before anything is paid: a tampered sibling leads to no known root (`InvalidProof` names the
    // first leaf), a flipped flag takes one sibling too many or too few.
    let first = tree.multi_proof(&batches[0]).unwrap();
    let mut tampered = first.clone();
    tampered.proof[0].0[31] ^= 1;
    match distributor_error(payer.distributor().unwrap().claim_multiproof(&tampered).await) {
        RewardDistributorErrors::InvalidProof(e) => {
            assert_eq!((e.account, e.cumulativeAmount), (first.leaves[0].0, first.leaves[0].1.wei()));
        }
        other => panic!("expected InvalidProof, got {other:?}"),
    }
    let mut wrong_flag = first.clone();
    wrong_flag.flags[0] = !wrong_flag.flags[0];
    let refused = distributor_error(payer.distributor().unwrap().claim_multiproof(&wrong_flag).await);
    assert!(matches!(refused, RewardDistributorErrors::MerkleProofInvalidMultiproof(_)), "{refused:?}");
    let mut wrong_amount = first.clone();
    wrong_amount.leaves[3].1 = Snm::from_whole(1_000);
    let refused = distributor_error(payer.distributor().unwrap().claim_multiproof(&wrong_amount).await);
    assert!(matches!(refused, RewardDistributorErrors::InvalidProof(_)), "{refused:?}");
    let empty = RewardMultiProof { leaves: vec![], proof: vec![], flags: vec![] };
    let empty = payer.distributor().unwrap().claim_multiproof(&empty).await;
    assert!(matches!(empty, Err(Error::EmptyClaimBatch)), "{empty:?}");
    for account in &batches[0] {
        assert_eq!(
            payer.distributor().unwrap().claimed(*account).await.unwrap(),
            Snm::ZERO,
            "nothing paid by a refusal"
        );
    }

    // One account of the second batch claims alone first: the sweep skips it (pays it 0).
    let early = tree.claim(batches[1][4]).unwrap();
    payer.distributor().unwrap().claim_for(&early).await.unwrap();

    // The sweep: every other account paid exactly its cumulative amount, once.
    let mut paid = Vec::new();
    for run in &batches {
        let multiproof = tree.multi_proof(run).unwrap();
        assert_eq!(multiproof.accounts().collect::<Vec<_>>(), *run);
        let batch_paid = payer.distributor().unwrap().claim_multiproof(&multiproof).await.unwrap();
        assert!(batch_paid.gas_used > 21_000, "{batch_paid:?}");
        let expected: Vec<(Address, Snm)> =
            multiproof.leaves.iter().copied().filter(|(account, _)| *account != early.account).collect();
        assert_eq!(batch_paid.paid, expected, "paid in the multiproof's order, the early claimer skipped");
        paid.extend(batch_paid.paid);
    }
    assert_eq!(paid.len(), accounts.len() - 1);
    let from_events = payer.distributor().unwrap().claimed_by_account().await.unwrap();
    assert_eq!(from_events.len(), accounts.len(), "every account's Claimed event read");
    for (account, cumulative) in tree.values() {
        assert_eq!(payer.token().balance(*account).await.unwrap(), *cumulative, "{account}");
        assert_eq!(payer.distributor().unwrap().claimed(*account).await.unwrap(), *cumulative, "{account}");
        assert_eq!(from_events.get(account), Some(cumulative), "{account}");
    }
    let distributor = devnet.deployment().distributor.unwrap();
    assert_eq!(payer.token().balance(distributor).await.unwrap(), Snm::ZERO, "funded exactly the total");

    // A second sweep pays nobody (every entry skipped, no refusal).
    for run in &batches {
        let again =
            payer.distributor().unwrap().claim_multiproof(&tree.multi_proof(run).unwrap()).await.unwrap();
        assert_eq!((again.total(), again.paid), (Snm::ZERO, vec![]));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
