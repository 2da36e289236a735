// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A small Merkle tree builder for tests: OpenZeppelin standard leaves over
/// `(address, uint256)`, sorted-pair hashing, in two shapes. By levels (`root`, `proof`): built
/// bottom-up, an odd node at the end of a level carried up unchanged. In OpenZeppelin's array
/// layout (`heap`, `heapProof`, `multiProof`): what OpenZeppelin's JS merkle-tree builds, the shape
/// multiproofs need. Leaf order is the caller's (not sorted as `StandardMerkleTree` sorts it).
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

    /// @notice The proof of `nodes[index]` in a tree where the subtree over `nodes` is hashed with
    /// `upper` up to the root (`rootOfPath(root(nodes), upper)`): its path in the subtree, then `upper`.
    function subtreeProof(bytes32[] memory nodes, uint256 index, bytes32[] memory upper)
        internal
        pure
        returns (bytes32[] memory path)
    {
        bytes32[] memory lower = proof(nodes, index);
        path = new bytes32[](lower.length + upper.length);
        for (uint256 i; i < lower.length; ++i) {
            path[i] = lower[i];
        }
        for (uint256 i; i < upper.length; ++i) {
            path[lower.length + i] = upper[i];
        }
    }

    /// @notice The root reached from `start` through `siblings` (sorted pairs).
    function rootOfPath(bytes32 start, bytes32[] memory siblings) internal pure returns (bytes32 node) {
        node = start;
        for (uint256 i; i < siblings.length; ++i) {
            node = hashPair(node, siblings[i]);
        }
    }

    /// @notice OpenZeppelin's tree array over the leaves `nodes`: root first, node `j`'s children at
    /// `2j + 1` and `2j + 2`, leaf `i` at `2n - 2 - i` (the JS merkle-tree's `makeMerkleTree`).
    function heap(bytes32[] memory nodes) internal pure returns (bytes32[] memory tree) {
        uint256 n = nodes.length;
        require(n > 0, "MerkleBuilder: no leaves");
        tree = new bytes32[](2 * n - 1);
        for (uint256 i; i < n; ++i) {
            tree[tree.length - 1 - i] = nodes[i];
        }
        for (uint256 j = n - 1; j > 0; --j) {
            tree[j - 1] = hashPair(tree[2 * j - 1], tree[2 * j]);
        }
    }

    /// @notice The proof of leaf `i` of a `heap` tree.
    function heapProof(bytes32[] memory tree, uint256 i) internal pure returns (bytes32[] memory path) {
        uint256 j = tree.length - 1 - i;
        path = new bytes32[](256);
        uint256 depth;
        while (j > 0) {
            path[depth++] = tree[j % 2 == 1 ? j + 1 : j - 1];
            j = (j - 1) / 2;
        }
        assembly ("memory-safe") {
            mstore(path, depth)
        }
    }

    /// @notice OpenZeppelin's `getMultiProof` for leaves `indices` (distinct) of a `heap` tree:
    /// `order` is the leaves' order in the multiproof (ascending leaf index, i.e. reverse tree order),
    /// `hashes` the proof's siblings.
    function multiProof(bytes32[] memory tree, uint256[] memory indices)
        internal
        pure
        returns (uint256[] memory order, bytes32[] memory hashes, bool[] memory flags)
    {
        uint256 last = tree.length - 1;
        order = new uint256[](indices.length);
        for (uint256 k; k < indices.length; ++k) {
            order[k] = last - indices[k];
        }
        uint256[] memory siblings;
        (order, siblings, flags) = multiProofIndices(order);
        hashes = new bytes32[](siblings.length);
        for (uint256 k; k < order.length; ++k) {
            order[k] = last - order[k];
        }
        for (uint256 k; k < siblings.length; ++k) {
            hashes[k] = tree[siblings[k]];
        }
    }

    /// @notice OpenZeppelin's `getMultiProof` on node indices of a tree in its array layout (node
    /// `j`'s children at `2j + 1` and `2j + 2`), for trees too large to hold: `nodes` are the proven
    /// nodes (distinct, any order). Returns them in the multiproof's order (descending), the indices
    /// of the siblings the proof sends, and the flags.
    function multiProofIndices(uint256[] memory nodes)
        internal
        pure
        returns (uint256[] memory order, uint256[] memory siblings, bool[] memory flags)
    {
        uint256 n = nodes.length;
        order = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            order[k] = nodes[k];
            for (uint256 m = k; m > 0 && order[m - 1] < order[m]; --m) {
                (order[m - 1], order[m]) = (order[m], order[m - 1]);
            }
        }
        uint256 depth;
        for (uint256 j = n == 0 ? 0 : order[0]; j > 0; j = (j - 1) / 2) {
            ++depth;
        }
        uint256[] memory queue = new uint256[](n + n * depth);
        for (uint256 k; k < n; ++k) {
            require(k == 0 || order[k] != order[k - 1], "MerkleBuilder: repeated node");
            queue[k] = order[k];
        }
        siblings = new uint256[](n * depth);
        flags = new bool[](n * depth);
        (uint256 head, uint256 tail, uint256 proofLength, uint256 steps) = (0, n, 0, 0);
        while (head < tail && queue[head] > 0) {
            uint256 j = queue[head++];
            uint256 sibling = j % 2 == 1 ? j + 1 : j - 1;
            if (head < tail && queue[head] == sibling) {
                flags[steps++] = true;
                ++head;
            } else {
                flags[steps++] = false;
                siblings[proofLength++] = sibling;
            }
            queue[tail++] = (j - 1) / 2;
        }
        assembly ("memory-safe") {
            mstore(siblings, proofLength)
            mstore(flags, steps)
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
