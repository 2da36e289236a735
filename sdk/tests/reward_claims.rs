//! Reward claims open to anyone: a round file read back for publishing, a claim sent for another
//! account, the claimed amount of any account, and a batch claim (`claimMany`) paying every account
//! of a round to itself from a third party's transaction, entries with nothing left skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use common::{fixture, scratch};
use snm_sdk::{
    Error,
    bindings::RewardDistributor::RewardDistributorErrors,
    devnet::{Devnet, DevnetConfig},
    rewards::{Campaign, RewardClaim, RewardsError, Round, StandardMerkleTree, compute_round},
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
    operator.publish_round(&round, "file://round-1.merkle.json").await.unwrap();

    let payer = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let tree = StandardMerkleTree::load_dump(&files.merkle).unwrap();
    let claims: Vec<RewardClaim> = tree.claims().collect();
    assert_eq!(claims.len(), 4);
    let accounts = devnet.accounts();
    let before: Vec<Snm> = {
        let mut balances = Vec::new();
        for claim in &claims {
            balances.push(payer.token_balance(claim.account).await.unwrap());
        }
        balances
    };

    // A claim sent by the payer for account 1: paid to account 1, once.
    let first = tree.claim(accounts[1]).unwrap();
    assert_eq!(first, claims.iter().find(|c| c.account == accounts[1]).unwrap().clone());
    let paid = payer.claim_reward_for(&first).await.unwrap();
    assert_eq!(paid.paid, vec![(accounts[1], first.cumulative)]);
    assert!(paid.gas_used > 21_000, "{paid:?}");
    assert_eq!(payer.claimed_reward(accounts[1]).await.unwrap(), first.cumulative);
    assert_eq!(payer.claimed_reward(accounts[2]).await.unwrap(), Snm::ZERO);
    let twice = payer.claim_reward_for(&first).await;
    assert!(
        matches!(
            twice.as_ref().err().and_then(Error::as_distributor),
            Some(RewardDistributorErrors::NothingToClaim(_))
        ),
        "{twice:?}"
    );

    // One batch for every account: account 1 is skipped, the others are paid their amounts.
    let batch = payer.claim_rewards(&claims).await.unwrap();
    let expected: Vec<(_, Snm)> =
        claims.iter().filter(|c| c.account != accounts[1]).map(|c| (c.account, c.cumulative)).collect();
    assert_eq!(batch.paid, expected);
    assert_eq!(batch.total(), round.total().checked_sub(first.cumulative).unwrap());
    assert_eq!(batch.paid_to(accounts[1]), Snm::ZERO);
    for (claim, before) in claims.iter().zip(&before) {
        let after = payer.token_balance(claim.account).await.unwrap();
        assert_eq!(after, before.checked_add(claim.cumulative).unwrap(), "{}", claim.account);
        assert_eq!(payer.claimed_reward(claim.account).await.unwrap(), claim.cumulative);
    }
    assert_eq!(payer.token_balance(payer.sender()).await.unwrap(), Snm::ZERO, "the payer pays only gas");
    // Again: every entry is skipped, nothing is paid.
    assert_eq!(payer.claim_rewards(&claims).await.unwrap().paid, vec![]);
    let empty = payer.claim_rewards(&[]).await;
    assert!(matches!(empty, Err(Error::InvalidInput(_))), "{empty:?}");

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
