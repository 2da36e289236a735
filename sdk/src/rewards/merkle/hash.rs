//! The standard leaf and node hashes, and a single proof checked the way the contract checks it.

use alloy::primitives::{Address, B256, keccak256};

use crate::units::Snm;

/// The standard leaf of `(account, amount)`: `keccak256(keccak256(abi.encode(account, amount)))`.
pub fn leaf_hash(account: Address, amount: Snm) -> B256 {
    let mut encoded = [0u8; 64];
    encoded[12..32].copy_from_slice(account.as_slice());
    encoded[32..].copy_from_slice(&amount.wei().to_be_bytes::<32>());
    keccak256(keccak256(encoded))
}

/// The standard inner node: the hash of the two children, smaller first.
pub fn node_hash(a: &B256, b: &B256) -> B256 {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let mut pair = [0u8; 64];
    pair[..32].copy_from_slice(low.as_slice());
    pair[32..].copy_from_slice(high.as_slice());
    keccak256(pair)
}

/// Checks a proof the way `MerkleProof.verify` does on chain.
pub fn verify(root: B256, account: Address, amount: Snm, proof: &[B256]) -> bool {
    proof.iter().fold(leaf_hash(account, amount), |node, sibling| node_hash(&node, sibling)) == root
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{U256, address, b256};

    use super::*;

    /// Known answers from `@openzeppelin/merkle-tree` 1.0.8: the root of
    /// `StandardMerkleTree.of([[A, "200000000000000000000"]], ["address", "uint256"])` (a one-leaf
    /// tree's root is its leaf), and the root and `getProof(0)` of the tree of that value and
    /// `[B, "1"]`.
    #[test]
    fn hashes_are_openzeppelins_standard_leaf_and_node() {
        let a = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        let b = address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
        let leaf_a = leaf_hash(a, Snm::from_whole(200));
        let leaf_b = leaf_hash(b, Snm::from_wei(U256::from(1)));
        assert_eq!(leaf_a, b256!("0x2d1cda990f1fc9717ef3e8c920931f9c447cafb43120cd2d7d6418da248f73c4"));
        assert_eq!(leaf_b, b256!("0x457aa17fe0228467c8ff03c94ef937caf43d83d6102043300dc6a2e9a13a7006"));
        let root = b256!("0x3c24d4015a482562fe1545ee3ad093260c927a2cda8d6f6680b7bd2956dd046e");
        assert_eq!(node_hash(&leaf_a, &leaf_b), root);
        assert_eq!(node_hash(&leaf_b, &leaf_a), root, "pairs are hashed sorted");
        assert!(verify(root, a, Snm::from_whole(200), &[leaf_b]));
        assert!(!verify(root, a, Snm::from_whole(201), &[leaf_b]));
        assert!(!verify(root, b, Snm::from_wei(U256::from(1)), &[leaf_b]));
    }
}
