//! The reward engine's proofs verified on-chain: the known-answer fixture's two rounds published to
//! a RewardDistributor on anvil (fund, propose, delay, accept) and claimed by every account, with a
//! stale proof after the root change refused as `StaleProof`, and round 2 paid through one
//! OpenZeppelin multiproof (`claimMultiproof`) and one batch (`claimMany`).

mod common;

use std::{fs, time::Duration};

use alloy::primitives::{Address, B256, U256};
use common::{fixture, scratch};
use snm_sdk::{
    bindings::{
        IRewardDistributor,
        RewardDistributor::{self, RewardDistributorErrors},
        SNMToken,
    },
    devnet::Devnet,
    rewards::{Campaign, Round, compute_round},
};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const DELAY: Duration = Duration::from_secs(3_600);

async fn publish(devnet: &Devnet, distributor: Address, round: &Round, funding: U256) -> Result {
    let provider = devnet.provider();
    let token = SNMToken::new(devnet.token(), provider);
    let rewards = RewardDistributor::new(distributor, provider);
    token.approve(distributor, funding).send().await?.watch().await?;
    rewards.fund(funding).send().await?.watch().await?;
    let uri = format!("file://round-{}.merkle.json", round.number());
    rewards.proposeRoot(round.root(), round.total().wei(), B256::ZERO, uri).send().await?.watch().await?;
    devnet.advance_time(DELAY).await?;
    rewards.acceptRoot(round.root()).send().await?.watch().await?;
    Ok(())
}

#[tokio::test]
async fn engine_proofs_claim_on_chain_round_after_round() -> Result {
    let devnet = Devnet::start().await?;
    let provider = devnet.provider();
    let operator = devnet.accounts()[0];
    let stranger = devnet.accounts()[9];
    let rewards = RewardDistributor::deploy(provider, devnet.token(), operator, DELAY.as_secs()).await?;
    let token = SNMToken::new(devnet.token(), provider);
    let campaign = Campaign::from_toml_file(&fixture("campaign.toml"))?;

    // Round 1: every account is claimed for by a stranger and paid its exact amount.
    let round1 = compute_round(&campaign, None, &[fixture("round1.csv")])?;
    publish(&devnet, *rewards.address(), &round1, round1.total().wei()).await?;
    for reward in round1.accounts() {
        let (amount, proof) = round1.claim(reward.account).ok_or("no claim")?;
        let before = token.balanceOf(reward.account).call().await?;
        rewards.claim(reward.account, amount.wei(), proof).from(stranger).send().await?.watch().await?;
        assert_eq!(token.balanceOf(reward.account).call().await? - before, amount.wei());
    }

    // Round 2 (cumulative): the round-1 proof is now stale, the new one pays only the difference.
    let dir = scratch("rewards-onchain");
    let files1 = round1.write(&dir)?;
    let round2 = compute_round(&campaign, Some(&files1.round), &[fixture("round2.jsonl")])?;
    publish(&devnet, *rewards.address(), &round2, round2.total().wei() - round1.total().wei()).await?;

    let grown = round2
        .accounts()
        .iter()
        .find(|r| r.round_amount.wei() > U256::ZERO && round1.account(r.account).is_some())
        .ok_or("fixture has an account paid in both rounds")?;
    let (old_amount, old_proof) = round1.claim(grown.account).ok_or("no claim")?;
    // A call, not a send: the refusal comes back as the revert's data (a send through the bindings
    // would stop at its gas estimate, with no nonce taken: the devnet's providers read every nonce
    // afresh).
    let stale = rewards.claim(grown.account, old_amount.wei(), old_proof).call().await;
    let error = stale.err().ok_or("a stale proof must be refused")?;
    match error.as_decoded_interface_error::<RewardDistributorErrors>() {
        Some(RewardDistributorErrors::StaleProof(e)) => {
            assert_eq!(
                (e.account, e.staleRoot, e.currentRoot),
                (grown.account, round1.root(), round2.root())
            );
        }
        other => panic!("expected StaleProof, got {other:?} ({error})"),
    }

    // Every other account through one multiproof, then everyone through a batch (which skips the
    // accounts already paid): together they pay exactly the round's difference.
    let half: Vec<Address> = round2.accounts().iter().step_by(2).map(|r| r.account).collect();
    let multiproof = round2.tree().multi_proof(&half)?;
    let leaves: Vec<IRewardDistributor::Leaf> = multiproof
        .leaves
        .iter()
        .map(|&(account, amount)| IRewardDistributor::Leaf { account, cumulativeAmount: amount.wei() })
        .collect();
    let (proof, flags) = (multiproof.proof, multiproof.flags);
    let paid_multi = rewards.claimMultiproof(leaves.clone(), proof.clone(), flags.clone()).call().await?;
    rewards.claimMultiproof(leaves, proof, flags).send().await?.watch().await?;
    for account in &half {
        let amount = round2.tree().amount(*account).ok_or("no amount")?;
        assert_eq!(rewards.claimed(*account).call().await?, amount.wei());
    }

    let claims: Vec<IRewardDistributor::Claim> =
        round2.tree().claims().map(|claim| IRewardDistributor::Claim::from(&claim)).collect();
    let paid_many = rewards.claimMany(claims.clone()).call().await?;
    assert_eq!(paid_multi + paid_many, round2.total().wei() - round1.total().wei());
    rewards.claimMany(claims).send().await?.watch().await?;
    for reward in round2.accounts() {
        assert_eq!(rewards.claimed(reward.account).call().await?, reward.cumulative.wei());
    }
    assert_eq!(token.balanceOf(*rewards.address()).call().await?, U256::ZERO, "funded exactly the total");
    let _ = fs::remove_dir_all(&dir);
    Ok(())
}
