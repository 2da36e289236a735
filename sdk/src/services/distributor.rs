//! The distributor service: the reward distributor's claims (open to anyone), its funding, and the
//! roots of a campaign's rounds (its owner proposes, waits out the delay, accepts).

use std::{collections::HashMap, fmt, time::Duration};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::{SolCall, SolEvent},
};
use serde::{Deserialize, Serialize};

use crate::{
    Client, Error, Funds,
    bindings::RewardDistributor::{self, RewardDistributorInstance},
    block_time::BlockTime,
    error::{Target, from_contract},
    tx,
    units::{Snm, format_duration},
};

/// What one reward claim transaction paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardsPaid {
    /// Each account paid and the amount paid now, in the transaction's order (its `Claimed`
    /// events). A batch entry with nothing left to claim is absent.
    pub paid: Vec<(Address, Snm)>,
    /// Gas the transaction used.
    pub gas_used: u64,
    /// The transaction.
    pub transaction: B256,
}

impl RewardsPaid {
    /// Everything the transaction paid.
    pub fn total(&self) -> Snm {
        self.paid.iter().map(|(_, amount)| *amount).sum()
    }

    /// What `account` was paid (zero when it is not among the payments).
    pub fn paid_to(&self, account: Address) -> Snm {
        self.paid.iter().filter(|(a, _)| *a == account).map(|(_, amount)| *amount).sum()
    }
}

impl fmt::Display for RewardsPaid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let accounts = self.paid.len();
        write!(
            f,
            "paid {} to {accounts} account{} (gas {}, transaction {})",
            self.total(),
            if accounts == 1 { "" } else { "s" },
            self.gas_used,
            self.transaction
        )
    }
}

/// The reward distributor's state ([`DistributorService::status`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardStatus {
    /// The accepted round (0 before the first).
    pub round: u64,
    /// The accepted root claims are checked against (zero before the first round).
    pub root: B256,
    /// Its cumulative total: everything ever claimable under it.
    pub total: Snm,
    /// Everything funded so far.
    pub funded: Snm,
    /// Where the accepted round's proofs are published.
    pub uri: String,
    /// Hash of the proofs file.
    pub content_hash: B256,
    /// The proposal waiting for its delay, if any.
    pub pending: Option<PendingRound>,
}

impl fmt::Display for RewardStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.round == 0 {
            write!(f, "no round accepted yet, {} funded", self.funded)?;
        } else {
            write!(
                f,
                "round {} accepted (root {}, total {}, proofs at {}), {} funded",
                self.round, self.root, self.total, self.uri, self.funded
            )?;
        }
        match &self.pending {
            Some(pending) => write!(f, "; {pending}"),
            None => f.write_str("; nothing proposed"),
        }
    }
}

/// A proposed reward root waiting to be accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRound {
    /// The round it becomes.
    pub round: u64,
    /// The proposed root.
    pub root: B256,
    /// Its cumulative total.
    pub total: Snm,
    /// Earliest block time it can be accepted.
    pub acceptable_at: u64,
}

impl fmt::Display for PendingRound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "round {} proposed (root {}, total {}), acceptable from block time {}",
            self.round,
            self.root,
            self.total,
            BlockTime(self.acceptable_at)
        )
    }
}

/// The reward distributor (see the [module documentation](crate::services)).
#[derive(Clone, Debug)]
pub struct DistributorService<P> {
    client: Client<P>,
    address: Address,
}

impl<P> DistributorService<P> {
    /// The distributor at `address`, through `client` (see
    /// [`Client::distributor`](crate::Client::distributor) for the deployment's).
    pub fn new(client: Client<P>, address: Address) -> Self {
        Self { client, address }
    }

    /// Its address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The connection it sends through.
    pub fn client(&self) -> &Client<P> {
        &self.client
    }
}

impl<P: Provider + Clone> DistributorService<P> {
    /// The distributor's generated binding, for what the service does not cover.
    pub fn contract(&self) -> RewardDistributorInstance<&P> {
        RewardDistributor::new(self.address, self.client.provider())
    }

    // ------------------------------------------------------------------ reads

    /// The accepted root, its total, what was funded, and any pending proposal.
    pub async fn status(&self) -> Result<RewardStatus, Error> {
        let distributor = self.contract();
        let (current, pending, funded) =
            (distributor.currentRoot(), distributor.pendingRoot(), distributor.totalFunded());
        let (current, pending, funded) = tokio::try_join!(current.call(), pending.call(), funded.call())
            .map_err(|e| from_contract(e, Target::Distributor))?;
        Ok(RewardStatus {
            round: current.round,
            root: current.root,
            total: Snm::from_wei(current.total),
            funded: Snm::from_wei(funded),
            uri: current.uri,
            content_hash: current.contentHash,
            pending: (!pending.root.is_zero()).then(|| PendingRound {
                round: pending.round,
                root: pending.root,
                total: Snm::from_wei(pending.total),
                acceptable_at: pending.acceptableAt,
            }),
        })
    }

    /// Who proposes and accepts roots.
    pub async fn owner(&self) -> Result<Address, Error> {
        self.contract().owner().call().await.map_err(|e| from_contract(e, Target::Distributor))
    }

    /// How long a proposed root waits before it can be accepted.
    pub async fn delay(&self) -> Result<Duration, Error> {
        let delay =
            self.contract().delay().call().await.map_err(|e| from_contract(e, Target::Distributor))?;
        Ok(Duration::from_secs(delay))
    }

    /// The round `root` was accepted as, or 0 when it never was.
    pub async fn round_of(&self, root: B256) -> Result<u64, Error> {
        self.contract().roundOf(root).call().await.map_err(|e| from_contract(e, Target::Distributor))
    }

    /// What `account` has claimed so far (cumulative).
    pub async fn claimed(&self, account: Address) -> Result<Snm, Error> {
        let claimed = self.contract().claimed(account).call().await;
        claimed.map(Snm::from_wei).map_err(|e| from_contract(e, Target::Distributor))
    }

    /// What every account has claimed so far (cumulative), read from the `Claimed` events since
    /// [`Deployment::start_block`](crate::Deployment::start_block), one `eth_getLogs` per
    /// [`MAX_BLOCKS_PER_QUERY`](crate::events::MAX_BLOCKS_PER_QUERY) blocks, instead of one call
    /// per account: for a sweep of a large round. Accounts that never claimed are absent; claims
    /// mined after the read are not in it.
    pub async fn claimed_by_account(&self) -> Result<HashMap<Address, Snm>, Error> {
        let address = self.address;
        let filter =
            Filter::new().address(address).event_signature(RewardDistributor::Claimed::SIGNATURE_HASH);
        let mut claimed: HashMap<Address, Snm> = HashMap::new();
        self.client
            .scan_logs(filter, self.client.deployment().start_block, |log| {
                let event = RewardDistributor::Claimed::decode_log(&log.inner).map_err(|error| {
                    Error::UndecodableEvent {
                        address,
                        block: log.block_number.unwrap_or_default(),
                        log_index: log.log_index.unwrap_or_default(),
                        reason: error.to_string(),
                    }
                })?;
                // Cumulative amounts only grow: the largest is the latest.
                let cumulative = Snm::from_wei(event.cumulativeAmount);
                let entry = claimed.entry(event.account).or_insert(cumulative);
                *entry = (*entry).max(cumulative);
                Ok(())
            })
            .await?;
        Ok(claimed)
    }

    /// Everything claims have paid so far: the sum of every account's latest cumulative claim
    /// ([`Self::claimed_by_account`]).
    pub async fn claimed_total(&self) -> Result<Snm, Error> {
        Ok(self.claimed_by_account().await?.into_values().sum())
    }

    // ------------------------------------------------------------------ claims, open to anyone

    /// Claims `account`'s rewards: `cumulative` is its amount in the accepted root's leaf and
    /// `proof` the leaf's proof. Anyone may send it and pay the gas; the tokens go to `account`,
    /// which is paid its cumulative amount minus what it has claimed. Refused with the
    /// distributor's `NothingToClaim` when the account has already claimed that much,
    /// `StaleProof` for a proof of a replaced root, `RootNotAccepted` for one of the proposed root.
    pub async fn claim(
        &self,
        account: Address,
        cumulative: Snm,
        proof: Vec<B256>,
    ) -> Result<RewardsPaid, Error> {
        let call = RewardDistributor::claimCall { account, cumulativeAmount: cumulative.wei(), proof };
        self.send_claims(call).await
    }

    async fn send_claims(&self, call: impl SolCall) -> Result<RewardsPaid, Error> {
        let receipt = self.client.send_to(Target::Distributor, call).await?;
        let paid = tx::events::<RewardDistributor::Claimed>(&receipt, self.address)
            .map(|claimed| (claimed.account, Snm::from_wei(claimed.amount)))
            .collect();
        Ok(RewardsPaid { paid, gas_used: receipt.gas_used, transaction: receipt.transaction_hash })
    }

    // ------------------------------------------------------------------ the owner

    /// Adds `amount` of the sender's tokens to the distributor: two transactions, an approval of
    /// the distributor and its `fund`. Checked first: [`Error::InsufficientFunds`] with
    /// [`Funds::TokenBalance`].
    pub async fn fund(&self, amount: Snm) -> Result<(), Error> {
        let token = self.client.token();
        self.client.check_funds(Funds::TokenBalance, token.balance(self.client.sender()).await?, amount)?;
        token.approve(self.address, amount).await?;
        let call = RewardDistributor::fundCall { amount: amount.wei() };
        self.client.send_to(Target::Distributor, call).await.map(drop)
    }

    /// Proposes `root` with its cumulative `total`, the hash of its proofs file and where that is
    /// published (the owner only); it can be accepted once the delay has passed.
    pub async fn propose_root(
        &self,
        root: B256,
        total: Snm,
        content_hash: B256,
        uri: &str,
    ) -> Result<PendingRound, Error> {
        let call = RewardDistributor::proposeRootCall {
            root,
            total: total.wei(),
            contentHash: content_hash,
            uri: uri.to_owned(),
        };
        let proposed: RewardDistributor::RootProposed =
            self.client.send_event(Target::Distributor, call).await?;
        Ok(PendingRound {
            round: proposed.round,
            root: proposed.root,
            total: Snm::from_wei(proposed.total),
            acceptable_at: proposed.acceptableAt,
        })
    }

    /// Withdraws the proposal of `root` (the owner only).
    pub async fn cancel_root(&self, root: B256) -> Result<(), Error> {
        self.client.send_to(Target::Distributor, RewardDistributor::cancelRootCall { root }).await.map(drop)
    }

    /// Accepts the proposal of `root` once its delay has passed (the owner only); returns the new
    /// state.
    pub async fn accept_root(&self, root: B256) -> Result<RewardStatus, Error> {
        self.client.send_to(Target::Distributor, RewardDistributor::acceptRootCall { root }).await?;
        self.status().await
    }

    /// Waits until the chain's time reaches the proposal's `acceptable_at` (at most that long plus
    /// the receipt timeout, then [`Error::Timeout`]) and accepts it. The wait polls the chain's
    /// time: on a devnet with a delay, advance it
    /// ([`Devnet::advance_time`](crate::devnet::Devnet::advance_time)).
    pub async fn accept_when_ready(&self, pending: &PendingRound) -> Result<RewardStatus, Error> {
        let start = std::time::Instant::now();
        let options = *self.client.options();
        let mut now = self.client.now().await?;
        let limit = Duration::from_secs(pending.acceptable_at.saturating_sub(now)) + options.receipt_timeout;
        while now < pending.acceptable_at {
            if start.elapsed() >= limit {
                return Err(Error::Timeout {
                    what: format!(
                        "the delay of root {} (acceptable from block time {}, {} after the wait began)",
                        pending.root,
                        BlockTime(pending.acceptable_at),
                        format_duration(Duration::from_secs(pending.acceptable_at.saturating_sub(now)))
                    ),
                    waited: limit,
                });
            }
            tokio::time::sleep(options.poll_interval).await;
            now = self.client.now().await?;
        }
        self.accept_root(pending.root).await
    }
}

/// Claims from the claim data the reward engine makes ([`crate::rewards::RewardClaim`],
/// [`crate::rewards::RewardMultiProof`]), which a client without the engine has too.
mod claims {
    use alloy::providers::Provider;

    use super::{DistributorService, RewardsPaid};
    use crate::{
        Error,
        bindings::{IRewardDistributor, RewardDistributor},
        rewards::{RewardClaim, RewardMultiProof},
    };

    impl From<&RewardClaim> for IRewardDistributor::Claim {
        fn from(claim: &RewardClaim) -> Self {
            Self {
                account: claim.account,
                cumulativeAmount: claim.cumulative.wei(),
                proof: claim.proof.clone(),
            }
        }
    }

    impl<P: Provider + Clone> DistributorService<P> {
        /// [`Self::claim`] of `claim.account` with its amount and proof (for example from
        /// [`StandardMerkleTree::claim`](crate::rewards::StandardMerkleTree::claim)).
        pub async fn claim_for(&self, claim: &RewardClaim) -> Result<RewardsPaid, Error> {
            self.claim(claim.account, claim.cumulative, claim.proof.clone()).await
        }

        /// Claims for many accounts in one transaction (the distributor's `claimMany`): each
        /// account is paid its cumulative amount minus what it has claimed, to itself; an entry with
        /// nothing left to claim is skipped (absent from [`RewardsPaid::paid`]) while any invalid
        /// proof refuses the whole batch. Anyone may send it. An empty batch is refused before
        /// sending ([`Error::EmptyClaimBatch`]).
        pub async fn claim_many(&self, claims: &[RewardClaim]) -> Result<RewardsPaid, Error> {
            if claims.is_empty() {
                return Err(Error::EmptyClaimBatch);
            }
            let claims = claims.iter().map(IRewardDistributor::Claim::from).collect();
            self.send_claims(RewardDistributor::claimManyCall { claims }).await
        }

        /// Claims for the leaves of one OpenZeppelin multiproof in one transaction (the
        /// distributor's `claimMultiproof`; make it with [`StandardMerkleTree::multi_proof`](crate::rewards::StandardMerkleTree::multi_proof)):
        /// each account is paid to itself as in [`Self::claim_many`], an entry with nothing left
        /// to claim is skipped. Siblings shared by several leaves are sent once, so for a run of
        /// neighbouring leaves (a batch of [`StandardMerkleTree::sweep_batches`](crate::rewards::StandardMerkleTree::sweep_batches)) it costs less gas
        /// per account than `claimMany`; for leaves scattered over a large tree, `claimMany` is
        /// cheaper. A multiproof that does not lead to the accepted root is refused as a whole,
        /// with `InvalidProof` (or `StaleProof`, `RootNotAccepted`) naming its first leaf, and one
        /// whose lengths or flags do not fit together with `MerkleProofInvalidMultiproof`. Anyone
        /// may send it. A multiproof of no leaves is refused before sending
        /// ([`Error::EmptyClaimBatch`]).
        pub async fn claim_multiproof(&self, multiproof: &RewardMultiProof) -> Result<RewardsPaid, Error> {
            if multiproof.is_empty() {
                return Err(Error::EmptyClaimBatch);
            }
            let leaves = multiproof
                .leaves
                .iter()
                .map(|&(account, cumulative)| IRewardDistributor::Leaf {
                    account,
                    cumulativeAmount: cumulative.wei(),
                })
                .collect();
            let call = RewardDistributor::claimMultiproofCall {
                leaves,
                proof: multiproof.proof.clone(),
                proofFlags: multiproof.flags.clone(),
            };
            self.send_claims(call).await
        }
    }
}

/// Claims and rounds made by the reward engine ([`crate::rewards`]).
#[cfg(feature = "rewards")]
mod engine {
    use std::path::Path;

    use alloy::{
        primitives::{Address, Keccak256},
        providers::Provider,
    };

    use super::{DistributorService, PendingRound, RewardStatus, RewardsPaid};
    use crate::{
        Error,
        rewards::{Round, StandardMerkleTree},
        units::Snm,
    };

    /// Feeds written bytes to a Keccak-256 hasher.
    struct HashWriter(Keccak256);

    impl std::io::Write for HashWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<P: Provider + Clone> DistributorService<P> {
        /// [`Self::claim`] of `account` with the amount and proof taken from a round's Merkle dump
        /// (OpenZeppelin's `standard-v1` JSON, `round-N.merkle.json` as the reward engine writes
        /// it); [`Error::NoLeaf`] when the account has no leaf in it.
        pub async fn claim_from_dump(&self, account: Address, dump: &Path) -> Result<RewardsPaid, Error> {
            let tree = StandardMerkleTree::load_dump(dump)?;
            let claim =
                tree.claim(account).ok_or_else(|| Error::NoLeaf { account, dump: dump.to_owned() })?;
            self.claim_for(&claim).await
        }

        /// The first half of [`Self::publish_round`]: funds what the round adds (its cumulative
        /// total minus everything funded so far, so a retry never funds twice) and proposes its
        /// root with its total. The content hash is the keccak-256 of the round's Merkle dump
        /// (`round-N.merkle.json` as [`Round::write`] writes it); `uri` says where it is published.
        pub async fn propose_round(&self, round: &Round, uri: &str) -> Result<PendingRound, Error> {
            let status = self.status().await?;
            if let Some(missing) = round.total().checked_sub(status.funded).filter(|m| *m > Snm::ZERO) {
                self.fund(missing).await?;
            }
            let mut hasher = HashWriter(Keccak256::new());
            round.tree().write_dump(&mut hasher)?;
            self.propose_root(round.root(), round.total(), hasher.0.finalize(), uri).await
        }

        /// Publishes a round of the reward engine: [`Self::propose_round`], then
        /// [`Self::accept_when_ready`] (which waits out the delay in block time).
        pub async fn publish_round(&self, round: &Round, uri: &str) -> Result<RewardStatus, Error> {
            let pending = self.propose_round(round, uri).await?;
            self.accept_when_ready(&pending).await
        }
    }
}
