// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A small Merkle tree builder for tests: OpenZeppelin standard leaves over
/// `(address, uint256)`, sorted-pair hashing. Levels are built bottom-up; an odd node at the end of
/// a level is carried up unchanged (no duplication), so every proof is a plain sibling path that
/// OpenZeppelin's `MerkleProof` accepts. Leaf order is the caller's (not `StandardMerkleTree`'s).
library MerkleBuilder {
    /// @notice OpenZeppelin's standard leaf of `(account, amount)`.
    function leaf(address account, uint256 amount) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
    }

    /// @notice Sorted-pair hash of two nodes.
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @notice Standard leaves of parallel `accounts` and `amounts`.
    function leaves(address[] memory accounts, uint256[] memory amounts)
        internal
        pure
        returns (bytes32[] memory out)
    {
        require(accounts.length == amounts.length, "MerkleBuilder: length mismatch");
        out = new bytes32[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            out[i] = leaf(accounts[i], amounts[i]);
        }
    }

    /// @notice The root of a tree over `nodes` (at least one).
    function root(bytes32[] memory nodes) internal pure returns (bytes32) {
        require(nodes.length > 0, "MerkleBuilder: no leaves");
        bytes32[] memory level = nodes;
        while (level.length > 1) {
            level = _up(level);
        }
        return level[0];
    }

    /// @notice The proof of `nodes[index]`: its siblings from the bottom up.
    function proof(bytes32[] memory nodes, uint256 index) internal pure returns (bytes32[] memory) {
        require(index < nodes.length, "MerkleBuilder: index out of range");
        bytes32[] memory path = new bytes32[](256);
        uint256 depth;
        bytes32[] memory level = nodes;
        while (level.length > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < level.length) path[depth++] = level[sibling];
            level = _up(level);
            index >>= 1;
        }
        assembly ("memory-safe") {
            mstore(path, depth)
        }
        return path;
    }

    /// @notice The root reached from `start` through `siblings` (sorted pairs).
    function rootOfPath(bytes32 start, bytes32[] memory siblings) internal pure returns (bytes32 node) {
        node = start;
        for (uint256 i; i < siblings.length; ++i) {
            node = hashPair(node, siblings[i]);
        }
    }

    function _up(bytes32[] memory level) private pure returns (bytes32[] memory next) {
        uint256 n = level.length;
        next = new bytes32[]((n + 1) / 2);
        for (uint256 i; i < n; i += 2) {
            next[i / 2] = i + 1 < n ? hashPair(level[i], level[i + 1]) : level[i];
        }
    }
}
