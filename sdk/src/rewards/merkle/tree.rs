//! Building the tree: leaves hashed and sorted, inner nodes hashed a level at a time, on every
//! core of rayon's pool; and each value's proof.

use alloy::primitives::{Address, B256};
use rayon::prelude::*;

use super::{
    claim::RewardClaim,
    hash::{leaf_hash, node_hash},
};
use crate::{rewards::RewardsError, units::Snm};

/// Below this many items a parallel pass is not split further: hashing a few thousand pairs takes
/// about as long as handing work to another thread.
const MIN_PER_TASK: usize = 4096;

/// A built tree: every node, and each value's position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandardMerkleTree {
    /// Every node, root first (OpenZeppelin's array layout).
    pub(super) tree: Vec<B256>,
    /// The leaves' values, sorted by account.
    pub(super) values: Vec<(Address, Snm)>,
    /// For `values[k]`, its index in `tree`.
    pub(super) tree_index: Vec<usize>,
}

impl StandardMerkleTree {
    /// Builds the tree of `(account, cumulative amount)` values. The values may come in any
    /// order; they are kept sorted by account. Fails on no values or a repeated account. Hashing
    /// runs on every core of rayon's global pool and blocks the calling thread until done (about
    /// a second for a million leaves): in async code, call it on a blocking thread.
    pub fn build(mut values: Vec<(Address, Snm)>) -> Result<Self, RewardsError> {
        if values.is_empty() {
            return Err(RewardsError::NothingToDistribute);
        }
        values.par_sort_unstable_by_key(|(account, _)| *account);
        if let Some(pair) = values.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(RewardsError::DuplicateAccount(pair[0].0));
        }
        let n = values.len();
        // (leaf hash, value index), sorted by hash.
        let mut leaves: Vec<(B256, usize)> = values
            .par_iter()
            .with_min_len(MIN_PER_TASK)
            .enumerate()
            .map(|(k, &(account, amount))| (leaf_hash(account, amount), k))
            .collect();
        leaves.par_sort_unstable_by_key(|(hash, _)| *hash);

        let len = 2 * n - 1;
        let mut tree = vec![B256::ZERO; len];
        let mut tree_index = vec![0usize; n];
        for (k, (hash, value)) in leaves.into_iter().enumerate() {
            tree[len - 1 - k] = hash;
            tree_index[value] = len - 1 - k;
        }
        // Inner nodes 0..n-1, one depth at a time from the deepest: the nodes of depth d are
        // indices [2^d - 1, 2^(d+1) - 1) and their children all lie at or after 2^(d+1) - 1.
        if n > 1 {
            let deepest = usize::BITS - 1 - (n - 1).leading_zeros(); // depth of node n - 2
            for depth in (0..=deepest).rev() {
                let lo = (1usize << depth) - 1;
                let split = (1usize << (depth + 1)) - 1;
                let hi = split.min(n - 1);
                let (head, tail) = tree.split_at_mut(split);
                let tail = &*tail;
                head[lo..hi].par_iter_mut().with_min_len(MIN_PER_TASK).enumerate().for_each(
                    |(offset, node)| {
                        let i = lo + offset;
                        *node = node_hash(&tail[2 * i + 1 - split], &tail[2 * i + 2 - split]);
                    },
                );
            }
        }
        Ok(Self { tree, values, tree_index })
    }

    /// The root: what the distributor is given.
    pub fn root(&self) -> B256 {
        self.tree[0]
    }

    /// The number of leaves.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the tree has no leaves (never true for a built tree).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The leaves' values, sorted by account.
    pub fn values(&self) -> &[(Address, Snm)] {
        &self.values
    }

    /// Every node in OpenZeppelin's array order (root first).
    pub fn nodes(&self) -> &[B256] {
        &self.tree
    }

    /// The cumulative amount of `account`, if it has a leaf.
    pub fn amount(&self, account: Address) -> Option<Snm> {
        self.position(account).map(|k| self.values[k].1)
    }

    pub(super) fn position(&self, account: Address) -> Option<usize> {
        self.values.binary_search_by_key(&account, |(a, _)| *a).ok()
    }

    /// The proof for `account`'s leaf (siblings from the leaf up), or `None` when the account
    /// has no leaf.
    pub fn proof(&self, account: Address) -> Option<Vec<B256>> {
        self.position(account).map(|k| self.proof_at(k))
    }

    /// `account`'s claim (cumulative amount and proof), or `None` when it has no leaf.
    pub fn claim(&self, account: Address) -> Option<RewardClaim> {
        self.position(account).map(|k| self.claim_at(k))
    }

    /// Every leaf's claim, in the order of [`Self::values`] (by account).
    pub fn claims(&self) -> impl Iterator<Item = RewardClaim> + '_ {
        (0..self.values.len()).map(|k| self.claim_at(k))
    }

    fn claim_at(&self, k: usize) -> RewardClaim {
        let (account, cumulative) = self.values[k];
        RewardClaim { account, cumulative, proof: self.proof_at(k) }
    }

    /// The proof for `values()[k]`. Panics-free: an index out of range gives an empty proof.
    pub fn proof_at(&self, k: usize) -> Vec<B256> {
        let mut proof = Vec::with_capacity(usize::BITS as usize - self.tree.len().leading_zeros() as usize);
        self.proof_into(k, &mut proof);
        proof
    }

    /// Writes the proof for `values()[k]` into `proof` (cleared first), to reuse one buffer.
    pub fn proof_into(&self, k: usize, proof: &mut Vec<B256>) {
        proof.clear();
        let Some(&start) = self.tree_index.get(k) else { return };
        let mut i = start;
        while i > 0 {
            let sibling = if i % 2 == 1 { i + 1 } else { i - 1 };
            proof.push(self.tree[sibling]);
            i = (i - 1) / 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;

    use super::*;
    use crate::rewards::merkle::verify;

    fn account(k: u8) -> Address {
        Address::repeat_byte(k)
    }

    #[test]
    fn every_proof_verifies_for_every_size() -> Result<(), RewardsError> {
        for n in 1..=33u8 {
            let values: Vec<_> = (1..=n).map(|k| (account(k), Snm::from_whole(u64::from(k)))).collect();
            let tree = StandardMerkleTree::build(values.clone())?;
            assert_eq!(tree.len(), usize::from(n));
            for (a, amount) in &values {
                let proof = tree.proof(*a).expect("has a leaf");
                assert!(verify(tree.root(), *a, *amount, &proof), "n={n} account={a}");
                assert!(!verify(tree.root(), *a, Snm::from_whole(1000), &proof));
            }
            assert_eq!(tree.proof(account(200)), None);
        }
        Ok(())
    }

    #[test]
    fn matches_the_layout_by_hand() -> Result<(), RewardsError> {
        let values = vec![(account(1), Snm::from_whole(1)), (account(2), Snm::from_whole(2))];
        let tree = StandardMerkleTree::build(values.clone())?;
        let mut leaves: Vec<B256> = values.iter().map(|(a, s)| leaf_hash(*a, *s)).collect();
        leaves.sort();
        assert_eq!(tree.nodes(), &[node_hash(&leaves[0], &leaves[1]), leaves[1], leaves[0]]);
        let single = StandardMerkleTree::build(vec![(account(7), Snm::from_whole(7))])?;
        assert_eq!(single.root(), leaf_hash(account(7), Snm::from_whole(7)));
        assert_eq!(single.proof(account(7)), Some(vec![]));
        Ok(())
    }

    #[test]
    fn rejects_empty_and_duplicates() {
        assert!(matches!(StandardMerkleTree::build(vec![]), Err(RewardsError::NothingToDistribute)));
        let dup = vec![(account(1), Snm::ZERO), (account(1), Snm::from_whole(1))];
        assert!(matches!(StandardMerkleTree::build(dup), Err(RewardsError::DuplicateAccount(_))));
    }

    #[test]
    fn parallel_build_matches_serial_definition() -> Result<(), RewardsError> {
        // Large enough to use several threads; compare against a direct serial build.
        let values: Vec<_> = (0..20_001u64)
            .map(|k| (Address::left_padding_from(&k.to_be_bytes()), Snm::from_wei(U256::from(k * 7 + 1))))
            .collect();
        let tree = StandardMerkleTree::build(values.clone())?;
        let mut leaves: Vec<B256> = values.iter().map(|(a, s)| leaf_hash(*a, *s)).collect();
        leaves.sort();
        let n = leaves.len();
        let mut serial = vec![B256::ZERO; 2 * n - 1];
        for (k, leaf) in leaves.iter().enumerate() {
            serial[2 * n - 2 - k] = *leaf;
        }
        for i in (0..n - 1).rev() {
            serial[i] = node_hash(&serial[2 * i + 1], &serial[2 * i + 2]);
        }
        assert_eq!(tree.nodes(), &serial[..]);
        Ok(())
    }
}
