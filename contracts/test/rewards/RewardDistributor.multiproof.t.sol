// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";
import {RewardDistributorBase} from "./RewardDistributorBase.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice Unit and adversarial tests of `claimMultiproof` on a 7-leaf tree in OpenZeppelin's layout.
contract RewardDistributorMultiproofTest is RewardDistributorBase {
    uint256 internal constant BASE = 10e18;

    Tree internal t;

    function setUp() public override {
        super.setUp();
        t = _linearTree(7, "multi", BASE);
        _fundAndPublish(t.root, t.total);
    }

    function _set(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory out) {
        out = new uint256[](3);
        (out[0], out[1], out[2]) = (a, b, c);
    }

    function _invalidProof(IRewardDistributor.Leaf memory first) internal pure returns (bytes memory) {
        return _invalidProof(first.account, first.cumulativeAmount);
    }

    function test_ClaimMultiproof() public {
        Tree memory tree = t;
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(tree, _set(5, 1, 2));
        assertTrue(
            MerkleProof.multiProofVerify(proof, flags, tree.root, _hashes(leaves)), "OpenZeppelin verifies"
        );
        assertEq(leaves[0].account, tree.accounts[1], "leaves in reverse tree order");

        for (uint256 k; k < 3; ++k) {
            _expectPaid(leaves[k].account, leaves[k].cumulativeAmount, leaves[k].cumulativeAmount);
        }
        uint256 paid = distributor.claimMultiproof(leaves, proof, flags);
        assertEq(paid, tree.amounts[1] + tree.amounts[2] + tree.amounts[5], "paid");
        for (uint256 k; k < 3; ++k) {
            assertEq(token.balanceOf(leaves[k].account), leaves[k].cumulativeAmount, "balance");
            assertEq(distributor.claimed(leaves[k].account), leaves[k].cumulativeAmount, "claimed");
        }
    }

    /// @dev Every leaf: no sibling is sent, every flag is set.
    function test_ClaimMultiproof_WholeTree() public {
        Tree memory tree = t;
        uint256[] memory all = new uint256[](7);
        for (uint256 i; i < 7; ++i) {
            all[i] = 6 - i;
        }
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(tree, all);
        assertEq(proof.length, 0, "no siblings");
        assertEq(flags.length, 6, "one hash per inner node");
        assertEq(distributor.claimMultiproof(leaves, proof, flags), tree.total);
        assertEq(token.balanceOf(address(distributor)), 0, "distributor emptied");
    }

    /// @dev One leaf: the multiproof is the plain proof with every flag clear.
    function test_ClaimMultiproof_OneLeaf() public {
        Tree memory tree = t;
        uint256[] memory one = new uint256[](1);
        one[0] = 4;
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(tree, one);
        assertEq(proof, _proof(tree, 4), "same siblings as the plain proof");
        for (uint256 k; k < flags.length; ++k) {
            assertFalse(flags[k]);
        }
        assertEq(distributor.claimMultiproof(leaves, proof, flags), tree.amounts[4]);
    }

    /// @dev Accounts claimed meanwhile are skipped; the others are paid their difference.
    function test_ClaimMultiproof_SkipsAlreadyClaimed() public {
        _claim(t, 2);
        Tree memory tree = _grow(t, 3, 1e18);
        _fundAndPublish(tree.root, tree.total);
        _claim(tree, 0);
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(tree, _set(0, 2, 3));
        vm.recordLogs();
        assertEq(distributor.claimMultiproof(leaves, proof, flags), tree.amounts[3], "only the new one");
        assertEq(vm.getRecordedLogs().length, 2, "one Claimed, one Transfer");
    }

    /// @dev OpenZeppelin's multiproof of no leaves "proves" `proof[0]`; the distributor refuses it.
    function test_RevertWhen_ClaimMultiproofEmpty() public {
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = t.root;
        assertTrue(MerkleProof.multiProofVerify(proof, new bool[](0), t.root, new bytes32[](0)), "quirk");
        vm.expectRevert(IRewardDistributor.EmptyBatch.selector);
        distributor.claimMultiproof(new IRewardDistributor.Leaf[](0), proof, new bool[](0));
    }

    function test_RevertWhen_ClaimMultiproofLengthsMismatch() public {
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(t, _set(0, 3, 6));
        bool[] memory longer = new bool[](flags.length + 1);
        for (uint256 k; k < flags.length; ++k) {
            longer[k] = flags[k];
        }
        vm.expectRevert(MerkleProof.MerkleProofInvalidMultiproof.selector);
        distributor.claimMultiproof(leaves, proof, longer);
    }

    /// @dev Lengths that fit, but a set flag where a sibling was due: a sibling is left unused.
    function test_RevertWhen_ClaimMultiproofSiblingUnused() public {
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(t, _set(0, 3, 6));
        uint256 k;
        while (flags[k]) ++k;
        flags[k] = true;
        vm.expectRevert(MerkleProof.MerkleProofInvalidMultiproof.selector);
        distributor.claimMultiproof(leaves, proof, flags);
    }

    function test_RevertWhen_ClaimMultiproofInvalid() public {
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(t, _set(0, 3, 6));
        leaves[2].cumulativeAmount += 1;
        assertFalse(
            MerkleProof.multiProofVerify(proof, flags, t.root, _hashes(leaves)), "OpenZeppelin refuses"
        );
        vm.expectRevert(_invalidProof(leaves[0]));
        distributor.claimMultiproof(leaves, proof, flags);
    }

    /// @dev The leaves must come in the multiproof's order.
    function test_RevertWhen_ClaimMultiproofWrongOrder() public {
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(t, _set(0, 3, 6));
        (leaves[0], leaves[2]) = (leaves[2], leaves[0]);
        vm.expectRevert(_invalidProof(leaves[0]));
        distributor.claimMultiproof(leaves, proof, flags);
    }

    /// @dev The same leaf twice cannot be proven (its pair hash is no node of the tree).
    function test_RevertWhen_ClaimMultiproofRepeatedLeaf() public {
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(t, _set(0, 1, 6));
        leaves[1] = leaves[0];
        vm.expectRevert(_invalidProof(leaves[0]));
        distributor.claimMultiproof(leaves, proof, flags);
        assertEq(token.balanceOf(leaves[0].account), 0);
    }

    function test_RevertWhen_ClaimMultiproofStale() public {
        Tree memory old = t;
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(old, _set(0, 3, 6));
        Tree memory next = _grow(old, 3, 1e18);
        _fundAndPublish(next.root, next.total);
        vm.expectRevert(_staleProof(old, 0, 1, next.root));
        distributor.claimMultiproof(leaves, proof, flags);
    }

    function test_RevertWhen_ClaimMultiproofRootNotAccepted() public {
        Tree memory next = _grow(t, 3, 1e18);
        _propose(next.root, next.total);
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(next, _set(0, 3, 6));
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RootNotAccepted.selector,
                leaves[0].account,
                leaves[0].cumulativeAmount,
                next.root,
                uint64(block.timestamp) + DELAY
            )
        );
        distributor.claimMultiproof(leaves, proof, flags);
    }

    /// @dev Second preimage, as for `claim`: an inner node's children passed off as a leaf's values.
    function test_RevertWhen_ClaimMultiproofInnerNodeAsLeaf() public {
        Tree memory tree = t;
        (bytes32 left, bytes32 right) =
            tree.nodes[3] < tree.nodes[4] ? (tree.nodes[3], tree.nodes[4]) : (tree.nodes[4], tree.nodes[3]);
        IRewardDistributor.Leaf[] memory leaves = new IRewardDistributor.Leaf[](1);
        leaves[0] = IRewardDistributor.Leaf({
            account: address(uint160(uint256(left))), cumulativeAmount: uint256(right)
        });
        bytes32[] memory proof = MerkleBuilder.heapProof(tree.nodes, tree.nodes.length - 1 - 1); // node 1's path
        bool[] memory flags = new bool[](proof.length);
        vm.expectRevert(_invalidProof(leaves[0]));
        distributor.claimMultiproof(leaves, proof, flags);
    }

    /// @dev Malformed calldata is refused without data, as the decoder refuses it.
    function test_RevertWhen_ClaimMultiproofDirtyWords() public {
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(t, _set(0, 3, 6));
        bytes memory good = abi.encodeCall(IRewardDistributor.claimMultiproof, (leaves, proof, flags));
        // selector | 3 offsets | leaves: length, (account, amount) x 3 | proof | flags
        uint256 firstAccount = 4 + 0x60 + 0x20;
        uint256 firstFlag = good.length - 0x20 * flags.length;
        _assertRefused(
            _patched(good, firstAccount, _word(good, firstAccount) | bytes32(uint256(1) << 160)),
            "dirty account"
        );
        _assertRefused(_patched(good, firstFlag, bytes32(uint256(2))), "flag of 2");
        (bool ok,) = address(distributor).call(good);
        assertTrue(ok, "the unpatched call pays");
    }
}
