//! Multiproofs made from a tree, as OpenZeppelin's `getMultiProof` makes them, and the sweep's
//! batches of neighbouring leaves.

use std::{cmp::Reverse, collections::VecDeque, num::NonZeroUsize};

use alloy::primitives::Address;

use super::{
    claim::{MultiProofError, RewardMultiProof},
    tree::StandardMerkleTree,
};

impl StandardMerkleTree {
    /// The multiproof of `accounts`' leaves (in any order; the multiproof orders them), as
    /// OpenZeppelin's `getMultiProof` gives it. Fails on no account, an account without a leaf, or
    /// an account given twice.
    pub fn multi_proof(&self, accounts: &[Address]) -> Result<RewardMultiProof, MultiProofError> {
        let chosen = self.positions(accounts.iter().copied())?;
        self.multi_proof_of(chosen, |k| MultiProofError::DuplicateAccount(self.values[k].0))
    }

    /// The multiproof of the leaves of `values()[k]` for each `k` of `indexes` (in any order), as
    /// OpenZeppelin's `getMultiProof` gives it for value indexes. Fails on no index, an index out
    /// of range, or an index given twice.
    pub fn multi_proof_at(&self, indexes: &[usize]) -> Result<RewardMultiProof, MultiProofError> {
        if let Some(&index) = indexes.iter().find(|&&k| k >= self.values.len()) {
            return Err(MultiProofError::IndexOutOfRange { index, leaves: self.values.len() });
        }
        self.multi_proof_of(indexes.to_vec(), MultiProofError::DuplicateIndex)
    }

    /// OpenZeppelin's `getMultiProof` (`@openzeppelin/merkle-tree`'s core) for the values at
    /// `chosen` (in range), with `duplicate(k)` the error for a value given twice.
    fn multi_proof_of(
        &self,
        chosen: Vec<usize>,
        duplicate: impl Fn(usize) -> MultiProofError,
    ) -> Result<RewardMultiProof, MultiProofError> {
        if chosen.is_empty() {
            return Err(MultiProofError::NoLeaves);
        }
        let leaves = self.in_proof_order(chosen, duplicate)?;
        // The nodes known so far, in the order their parents are computed: a node whose sibling is
        // next in line is hashed with it (flag `true`), any other with its sibling from the tree
        // (flag `false`, sibling sent); either way the parent joins the line, until the root.
        let mut line: VecDeque<usize> = leaves.iter().map(|(node, _)| *node).collect();
        let (mut proof, mut flags) = (Vec::new(), Vec::new());
        while let Some(node) = line.pop_front().filter(|node| *node > 0) {
            let sibling = if node % 2 == 1 { node + 1 } else { node - 1 };
            if line.front() == Some(&sibling) {
                flags.push(true);
                line.pop_front();
            } else {
                flags.push(false);
                proof.push(self.tree[sibling]);
            }
            line.push_back((node - 1) / 2);
        }
        let leaves = leaves.into_iter().map(|(_, k)| self.values[k]).collect();
        Ok(RewardMultiProof { leaves, proof, flags })
    }

    /// `accounts` in the order a sweep pays them, cut into batches of up to `batch`: by descending
    /// index in the node array (the multiproof's own order), so that each batch is a run of
    /// neighbouring leaves whose multiproof shares all but a few siblings (the tree sorts leaves by
    /// hash, so an account's neighbours are arbitrary accounts, but neighbours all the same). No
    /// account gives no batch. Fails on an account without a leaf or given twice.
    pub fn sweep_batches(
        &self,
        accounts: impl IntoIterator<Item = Address>,
        batch: NonZeroUsize,
    ) -> Result<Vec<Vec<Address>>, MultiProofError> {
        // The multiproof's own order, so that each batch is already in it.
        let duplicate = |k: usize| MultiProofError::DuplicateAccount(self.values[k].0);
        let order = self.in_proof_order(self.positions(accounts)?, duplicate)?;
        let accounts: Vec<Address> = order.iter().map(|&(_, k)| self.values[k].0).collect();
        Ok(accounts.chunks(batch.get()).map(<[Address]>::to_vec).collect())
    }

    /// The value index of each of `accounts`, in their order; fails on the first without a leaf.
    fn positions(&self, accounts: impl IntoIterator<Item = Address>) -> Result<Vec<usize>, MultiProofError> {
        accounts
            .into_iter()
            .map(|account| self.position(account).ok_or(MultiProofError::UnknownAccount(account)))
            .collect()
    }

    /// `(tree index, value index)` of each value index of `chosen` (in range), by descending tree
    /// index: the order of a multiproof's leaves (OpenZeppelin's `getMultiProof` sorts them so),
    /// with `duplicate(k)` the error for a value given twice.
    fn in_proof_order(
        &self,
        chosen: Vec<usize>,
        duplicate: impl Fn(usize) -> MultiProofError,
    ) -> Result<Vec<(usize, usize)>, MultiProofError> {
        let mut leaves: Vec<(usize, usize)> = chosen.into_iter().map(|k| (self.tree_index[k], k)).collect();
        leaves.sort_unstable_by_key(|(node, _)| Reverse(*node));
        match leaves.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            Some(pair) => Err(duplicate(pair[0].1)),
            None => Ok(leaves),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::B256;

    use super::*;
    use crate::{
        rewards::{RewardsError, merkle::leaf_hash},
        units::Snm,
    };

    fn account(k: u8) -> Address {
        Address::repeat_byte(k)
    }

    /// `n` leaves of distinct accounts 1..=n.
    fn tree_of(n: u8) -> Result<StandardMerkleTree, RewardsError> {
        StandardMerkleTree::build((1..=n).map(|k| (account(k), Snm::from_whole(u64::from(k)))).collect())
    }

    #[test]
    fn every_multiproof_verifies_for_every_size() -> Result<(), RewardsError> {
        for n in 1..=33u8 {
            let tree = tree_of(n)?;
            let all: Vec<usize> = (0..tree.len()).collect();
            let mut subsets = vec![all.clone(), vec![0], vec![tree.len() - 1]];
            subsets
                .extend((0..tree.len()).map(|k| vec![k, (k * 7 + 3) % tree.len()]).filter(|s| s[0] != s[1]));
            subsets.push(all.iter().copied().filter(|k| k % 3 != 1).collect());
            for subset in subsets {
                let multiproof = tree.multi_proof_at(&subset)?;
                assert!(multiproof.verify(tree.root()), "n={n} subset={subset:?}");
                assert_eq!(multiproof.len(), subset.len());
                assert_eq!(multiproof.leaves.len() + multiproof.proof.len(), multiproof.flags.len() + 1);
                // Leaves come by descending tree index, whatever order they were asked in.
                let order: Vec<usize> = multiproof
                    .accounts()
                    .map(|a| tree.position(a).map_or(usize::MAX, |k| tree.tree_index[k]))
                    .collect();
                assert!(order.windows(2).all(|pair| pair[0] > pair[1]), "n={n} {order:?}");
                let mut wrong = multiproof.clone();
                wrong.leaves[0].1 = Snm::from_whole(1000);
                assert!(!wrong.verify(tree.root()));
            }
            // Every leaf: nothing to send, every step hashes two computed nodes.
            let whole = tree.multi_proof_at(&all)?;
            assert!(whole.proof.is_empty() && whole.flags.iter().all(|flag| *flag), "n={n}");
        }
        Ok(())
    }

    #[test]
    fn a_single_leaf_multiproof_is_its_proof() -> Result<(), RewardsError> {
        let tree = tree_of(11)?;
        for (k, (who, amount)) in tree.values().iter().enumerate() {
            let multiproof = tree.multi_proof(&[*who])?;
            assert_eq!(multiproof.leaves, vec![(*who, *amount)]);
            assert_eq!(multiproof.proof, tree.proof_at(k));
            assert_eq!(multiproof.flags, vec![false; multiproof.proof.len()]);
            assert_eq!(multiproof, tree.multi_proof_at(&[k])?);
        }
        let single = tree_of(1)?.multi_proof(&[account(1)])?;
        assert_eq!((single.proof.len(), single.flags.len()), (0, 0));
        assert_eq!(single.compute_root()?, leaf_hash(account(1), Snm::from_whole(1)));
        Ok(())
    }

    #[test]
    fn multiproof_refusals_name_the_problem() -> Result<(), RewardsError> {
        let tree = tree_of(5)?;
        assert_eq!(tree.multi_proof(&[]), Err(MultiProofError::NoLeaves));
        assert_eq!(tree.multi_proof_at(&[]), Err(MultiProofError::NoLeaves));
        assert_eq!(
            tree.multi_proof(&[account(1), account(9)]),
            Err(MultiProofError::UnknownAccount(account(9)))
        );
        assert_eq!(
            tree.multi_proof(&[account(2), account(1), account(2)]),
            Err(MultiProofError::DuplicateAccount(account(2)))
        );
        assert_eq!(
            tree.multi_proof_at(&[0, 5]),
            Err(MultiProofError::IndexOutOfRange { index: 5, leaves: 5 })
        );
        assert_eq!(tree.multi_proof_at(&[3, 0, 3]), Err(MultiProofError::DuplicateIndex(3)));
        let message = MultiProofError::DuplicateAccount(account(2)).to_string();
        assert!(message.contains(&account(2).to_string()) && message.contains("twice"), "{message}");

        // Malformed multiproofs do not compute a root, as OpenZeppelin's processMultiProof refuses them.
        let good = tree.multi_proof(&[account(1), account(4)])?;
        let mut extra_flag = good.clone();
        extra_flag.flags.push(false);
        assert!(matches!(extra_flag.compute_root(), Err(MultiProofError::LengthMismatch { .. })));
        let mut no_leaves = good.clone();
        no_leaves.leaves.clear();
        assert_eq!(no_leaves.compute_root(), Err(MultiProofError::NoLeaves));
        // Flags all `true` with the proof's length unchanged: the line of nodes runs dry.
        let mut wrong_flags = good.clone();
        assert!(wrong_flags.flags.len() >= 2 && wrong_flags.flags.contains(&false), "{good:?}");
        wrong_flags.flags = vec![true; wrong_flags.flags.len()];
        assert!(matches!(wrong_flags.compute_root(), Err(MultiProofError::Exhausted { step: 1, .. })));
        let mut tampered = good.clone();
        tampered.proof[0] = B256::repeat_byte(0xab);
        assert!(good.verify(tree.root()) && !tampered.verify(tree.root()));
        Ok(())
    }

    #[test]
    fn sweep_batches_are_runs_in_tree_order() -> Result<(), RewardsError> {
        let tree = tree_of(23)?;
        let accounts: Vec<Address> = tree.values().iter().map(|(a, _)| *a).collect();
        let batch = NonZeroUsize::new(5).ok_or(RewardsError::NothingToDistribute)?;
        let batches = tree.sweep_batches(accounts.iter().copied(), batch)?;
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![5, 5, 5, 5, 3]);
        // Concatenated, the batches walk the leaves from the last node to the first.
        let walked: Vec<usize> = batches.concat().iter().filter_map(|a| tree.position(*a)).collect();
        let expected: Vec<usize> = (tree.len() - 1..tree.nodes().len()).rev().collect();
        assert_eq!(walked.iter().map(|k| tree.tree_index[*k]).collect::<Vec<_>>(), expected);
        for run in &batches {
            let multiproof = tree.multi_proof(run)?;
            assert!(multiproof.verify(tree.root()));
            assert_eq!(
                multiproof.accounts().collect::<Vec<_>>(),
                *run,
                "a batch is already in multiproof order"
            );
        }
        assert_eq!(tree.sweep_batches([], batch)?, Vec::<Vec<Address>>::new());
        assert_eq!(
            tree.sweep_batches([account(99)], batch),
            Err(MultiProofError::UnknownAccount(account(99)))
        );
        assert_eq!(
            tree.sweep_batches([account(3), account(3)], batch),
            Err(MultiProofError::DuplicateAccount(account(3)))
        );
        Ok(())
    }
}
