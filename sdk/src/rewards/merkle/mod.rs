//! OpenZeppelin's `StandardMerkleTree` for `(address account, uint256 cumulativeAmount)` leaves,
//! built exactly as `@openzeppelin/merkle-tree` 1.x builds it, so that its `StandardMerkleTree.load`
//! accepts our dumps and the contract's `MerkleProof.verify` accepts our proofs:
//!
//! - leaf = `keccak256(bytes.concat(keccak256(abi.encode(account, amount))))`;
//! - node = `keccak256(min(a, b) ‖ max(a, b))` (sorted pair, bytes compared as big-endian numbers);
//! - leaves are sorted by hash (ascending) and stored at the end of the array in reverse order:
//!   leaf `k` of the sorted list sits at `tree[2n - 2 - k]`; node `i` has children `2i + 1` and
//!   `2i + 2`; the root is `tree[0]`;
//! - a proof lists the siblings from the leaf up to (not including) the root;
//! - a multiproof ([`RewardMultiProof`]) proves several leaves at once, as OpenZeppelin's
//!   `getMultiProof` makes it and `processMultiProof` checks it.
//!
//! The hashes and the claim data the distributor's calls take ([`RewardClaim`],
//! [`RewardMultiProof`]) are always here; building a tree, its multiproofs and its `standard-v1`
//! dump come with the `rewards` feature (the engine), on every core of rayon's pool.

mod claim;
#[cfg(feature = "rewards")]
mod dump;
mod hash;
#[cfg(feature = "rewards")]
mod multiproof;
#[cfg(feature = "rewards")]
mod tree;

pub use claim::{MultiProofError, RewardClaim, RewardMultiProof};
#[cfg(feature = "rewards")]
pub use dump::LEAF_ENCODING;
pub use hash::{leaf_hash, node_hash, verify};
#[cfg(feature = "rewards")]
pub use tree::StandardMerkleTree;
