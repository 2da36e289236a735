//! The claim data the distributor's calls take: one account's amount and proof
//! ([`RewardClaim`]), and OpenZeppelin's multiproof of many leaves ([`RewardMultiProof`]), with
//! its root computed as the contract computes it. Always compiled: claiming needs no engine.

use std::collections::VecDeque;

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use super::hash::{leaf_hash, node_hash};
use crate::units::Snm;

/// One account's claim under a tree's root: the account, its cumulative amount and the leaf's
/// proof, as the distributor's `claim` and `claimMany` take them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardClaim {
    /// The account paid (whoever sends the claim).
    pub account: Address,
    /// Its cumulative amount in the leaf.
    pub cumulative: Snm,
    /// The leaf's proof: siblings from the leaf up to the root.
    pub proof: Vec<B256>,
}

/// An OpenZeppelin multiproof of several leaves under one root: what `@openzeppelin/merkle-tree`'s
/// `getMultiProof` returns and the distributor's `claimMultiproof` (like `MerkleProof.multiProofVerify`)
/// takes. A sibling shared by several leaves is sent once, and a node computed from two of them is
/// not sent at all, so the multiproof of a run of neighbouring leaves (a batch of
/// [`StandardMerkleTree::sweep_batches`](crate::rewards::StandardMerkleTree::sweep_batches)) is
/// far shorter than their single proofs.
///
/// The root is computed as OpenZeppelin's `processMultiProof` does: a queue starts with the
/// leaves; each flag is one step that hashes the next queued node with either the next queued node
/// (`true`) or the next hash of `proof` (`false`), and queues the result; the last hash is the root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardMultiProof {
    /// Each leaf's account and cumulative amount, in the multiproof's order: descending index in
    /// the tree's node array (the order `claimMultiproof` needs them in).
    pub leaves: Vec<(Address, Snm)>,
    /// The sibling hashes the leaves do not produce themselves, in the order the steps take them.
    pub proof: Vec<B256>,
    /// One flag per hashing step: `true` takes the second node from the queue, `false` from
    /// `proof`.
    pub flags: Vec<bool>,
}

impl RewardMultiProof {
    /// The accounts proven, in the multiproof's order.
    pub fn accounts(&self) -> impl Iterator<Item = Address> + '_ {
        self.leaves.iter().map(|(account, _)| *account)
    }

    /// The number of leaves proven.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether no leaf is proven (never true for a multiproof the tree made).
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The root this multiproof leads to, computed exactly as OpenZeppelin's `processMultiProof`
    /// (JS) does, with its checks: at least one leaf, leaves plus proof hashes one more than the
    /// flags, and every step finding the node its flag asks for.
    pub fn compute_root(&self) -> Result<B256, MultiProofError> {
        let (leaves, proof, flags) = (self.leaves.len(), self.proof.len(), self.flags.len());
        if leaves == 0 {
            return Err(MultiProofError::NoLeaves);
        }
        if leaves + proof != flags + 1 {
            return Err(MultiProofError::LengthMismatch { leaves, proof, flags });
        }
        let mut queue: VecDeque<B256> =
            self.leaves.iter().map(|(account, amount)| leaf_hash(*account, *amount)).collect();
        let mut siblings = self.proof.iter();
        for (step, &flag) in self.flags.iter().enumerate() {
            let exhausted = |wanted| MultiProofError::Exhausted { step, wanted };
            let a = queue.pop_front().ok_or(exhausted("computed node"))?;
            let b = if flag {
                queue.pop_front().ok_or(exhausted("computed node"))?
            } else {
                *siblings.next().ok_or(exhausted("proof hash"))?
            };
            queue.push_back(node_hash(&a, &b));
        }
        // With the lengths checked, exactly one node is left: the last one computed, or the single
        // leaf when there was no step.
        queue.pop_back().ok_or(MultiProofError::NoLeaves)
    }

    /// Whether the multiproof leads to `root` (a malformed one does not).
    pub fn verify(&self, root: B256) -> bool {
        self.compute_root() == Ok(root)
    }
}

/// Why a multiproof could not be made or does not compute a root
/// ([`StandardMerkleTree::multi_proof`](super::StandardMerkleTree::multi_proof),
/// [`RewardMultiProof::compute_root`](super::RewardMultiProof::compute_root)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MultiProofError {
    /// No leaf was asked for. OpenZeppelin's multiproof of no leaves "proves" its first sibling,
    /// so the distributor refuses it (`EmptyBatch`) and so does the SDK.
    #[error("a multiproof needs at least one leaf")]
    NoLeaves,
    /// An account asked for has no leaf in the tree.
    #[error("account {0} has no leaf in the tree")]
    UnknownAccount(Address),
    /// An account was asked for twice (a multiproof proves each leaf once).
    #[error("account {0} is asked for twice: a multiproof proves each leaf once")]
    DuplicateAccount(Address),
    /// A value index is not below the number of leaves.
    #[error("value index {index} is out of range: the tree has {leaves} leaves")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The tree's number of leaves.
        leaves: usize,
    },
    /// A value index was asked for twice.
    #[error("value index {0} is asked for twice: a multiproof proves each leaf once")]
    DuplicateIndex(usize),
    /// The lengths do not fit together: every step hashes two nodes into one, so leaves plus
    /// proof hashes must be one more than the flags.
    #[error(
        "{leaves} leaves and {proof} proof hashes need {needed} flags, the multiproof has {flags}",
        needed = (leaves + proof).saturating_sub(1)
    )]
    LengthMismatch {
        /// Leaves given.
        leaves: usize,
        /// Proof hashes given.
        proof: usize,
        /// Flags given.
        flags: usize,
    },
    /// A step found no node to take: its flag asks for a computed node (`true`) or a proof hash
    /// (`false`) when none is left.
    #[error("step {step} of the multiproof has no {wanted} left to hash: the flags are wrong")]
    Exhausted {
        /// The step (0-based), one per flag.
        step: usize,
        /// What it lacked: "computed node" or "proof hash".
        wanted: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(k: u8) -> (Address, Snm) {
        (Address::repeat_byte(k), Snm::from_whole(u64::from(k)))
    }

    fn hash(k: u8) -> B256 {
        let (account, amount) = leaf(k);
        leaf_hash(account, amount)
    }

    /// A tree of four leaves, by hand: `root = node(node(l1, l2), node(l3, l4))`.
    fn root() -> B256 {
        node_hash(&node_hash(&hash(1), &hash(2)), &node_hash(&hash(3), &hash(4)))
    }

    #[test]
    fn the_root_is_computed_as_process_multi_proof_does() -> Result<(), MultiProofError> {
        // l1 and l2 hash together (flag true); their parent takes node(l3, l4) from the proof.
        let pair = RewardMultiProof {
            leaves: vec![leaf(1), leaf(2)],
            proof: vec![node_hash(&hash(3), &hash(4))],
            flags: vec![true, false],
        };
        assert_eq!(pair.compute_root()?, root());
        assert!(pair.verify(root()));
        assert_eq!(pair.accounts().collect::<Vec<_>>(), vec![leaf(1).0, leaf(2).0]);
        // l1 and l3: each with its sibling from the proof, then the two parents together.
        let apart = RewardMultiProof {
            leaves: vec![leaf(1), leaf(3)],
            proof: vec![hash(2), hash(4)],
            flags: vec![false, false, true],
        };
        assert_eq!(apart.compute_root()?, root());
        // One leaf and no step: the root is the leaf.
        let single = RewardMultiProof { leaves: vec![leaf(1)], proof: vec![], flags: vec![] };
        assert_eq!(single.compute_root()?, hash(1));
        Ok(())
    }

    #[test]
    fn malformed_multiproofs_compute_no_root() {
        let good = RewardMultiProof {
            leaves: vec![leaf(1), leaf(3)],
            proof: vec![hash(2), hash(4)],
            flags: vec![false, false, true],
        };
        let empty = RewardMultiProof { leaves: vec![], proof: vec![], flags: vec![] };
        assert!(empty.is_empty());
        assert_eq!(empty.compute_root(), Err(MultiProofError::NoLeaves));
        let short = RewardMultiProof { flags: vec![false, false], ..good.clone() };
        assert_eq!(
            short.compute_root(),
            Err(MultiProofError::LengthMismatch { leaves: 2, proof: 2, flags: 2 })
        );
        assert!(short.compute_root().is_err_and(|e| e.to_string().contains("need 3 flags")));
        // The lengths fit, but the second step asks for a second computed node when the first
        // step's parent is the only one left.
        let wrong = RewardMultiProof { flags: vec![true, true, false], ..good.clone() };
        assert_eq!(
            wrong.compute_root(),
            Err(MultiProofError::Exhausted { step: 1, wanted: "computed node" })
        );
        // Flags that fit and take every node, in the wrong order: a root, but not the tree's.
        let reordered = RewardMultiProof { flags: vec![true, false, false], ..good.clone() };
        assert!(reordered.compute_root().is_ok() && !reordered.verify(root()));
        let amount =
            RewardMultiProof { leaves: vec![leaf(1), (leaf(3).0, Snm::from_whole(30))], ..good.clone() };
        assert!(good.verify(root()) && !amount.verify(root()));
    }

    #[test]
    fn claims_serialize_as_exact_text() -> Result<(), serde_json::Error> {
        let (account, cumulative) = leaf(5);
        let claim = RewardClaim { account, cumulative, proof: vec![hash(1)] };
        let json = serde_json::to_value(&claim)?;
        assert_eq!(json["cumulative"], "5 SNM");
        assert_eq!(serde_json::from_value::<RewardClaim>(json)?, claim);
        Ok(())
    }
}
