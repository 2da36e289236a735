//! A claim of the acting account's own reward from a round's proofs (the `round-N.merkle.json`
//! dump that `snm campaign compute` writes): what `snm supplier claim --proofs` and `snm campaign
//! claim --dump` (without `--all`) both do.

use std::{fmt, path::Path};

use alloy::primitives::{Address, B256};
use serde::Serialize;
use snm_sdk::{rewards::StandardMerkleTree, units::Snm};

use crate::{
    campaign::{self, CampaignError},
    chain::ChainArgs,
    units::thousands,
};

/// What a claim paid.
#[derive(Debug, Serialize)]
pub struct OwnClaim {
    /// The account paid (the key's).
    pub account: Address,
    /// The accepted round the proofs are of.
    pub round: u64,
    /// Its Merkle root.
    pub root: B256,
    /// The account's cumulative amount in the round.
    pub cumulative: Snm,
    /// What it had claimed before.
    pub claimed_before: Snm,
    /// What this claim paid.
    pub paid: Snm,
    /// Gas the transaction used.
    pub gas: u64,
    /// The transaction.
    pub transaction: B256,
}

impl fmt::Display for OwnClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "claimed for {} under round {} (root {})", self.account, self.round, self.root)?;
        let line =
            |f: &mut fmt::Formatter<'_>, label: &str, value: String| writeln!(f, "  {label:<16}{value}");
        line(f, "cumulative", self.cumulative.to_string())?;
        line(f, "claimed before", self.claimed_before.to_string())?;
        line(f, "paid now", self.paid.to_string())?;
        line(f, "gas", format!("{} (tx {})", thousands(self.gas), self.transaction))
    }
}

/// Claims the account's own reward from `proofs`, once checked to be the accepted round's.
pub async fn claim_own(chain: &ChainArgs, proofs: &Path) -> Result<OwnClaim, CampaignError> {
    let client = chain.connect().await?;
    let distributor = campaign::distributor(&client)?;
    let account = client.sender();
    let tree = StandardMerkleTree::load_dump(proofs)?;
    let round = campaign::check_current(&distributor, &tree, proofs).await?;
    let claim = tree.claim(account).ok_or_else(|| CampaignError::NoLeaf {
        account,
        dump: proofs.to_owned(),
        leaves: tree.len(),
    })?;
    let claimed_before = distributor.claimed(account).await?;
    if claimed_before >= claim.cumulative {
        return Err(CampaignError::NothingToClaim {
            account,
            claimed: claimed_before,
            cumulative: claim.cumulative,
        });
    }
    let paid = distributor.claim_for(&claim).await?;
    Ok(OwnClaim {
        account,
        round,
        root: tree.root(),
        cumulative: claim.cumulative,
        claimed_before,
        paid: paid.total(),
        gas: paid.gas_used,
        transaction: paid.transaction,
    })
}
