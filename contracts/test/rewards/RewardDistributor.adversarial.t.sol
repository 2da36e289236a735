// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";
import {RewardDistributorBase} from "./RewardDistributorBase.sol";
import {ReentrantToken} from "./mocks/ReentrantToken.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice Attempts to take more than a leaf allows, or to take it under the wrong root.
contract RewardDistributorAdversarialTest is RewardDistributorBase {
    uint256 internal constant BASE = 10e18;

    address internal attacker = makeAddr("attacker");
    Tree internal t;

    function setUp() public override {
        super.setUp();
        t = _linearTree(4, "victim", BASE);
        _fundAndPublish(t.root, t.total);
    }

    /// @dev Second preimage: the 64 bytes under an inner node, passed off as a leaf's
    /// `(account, amount)`. The inner node's path is a valid OpenZeppelin proof of the node, but the
    /// contract hashes a leaf twice (and an inner node is hashed once), so it leads nowhere.
    function test_RevertWhen_InnerNodeAsLeaf() public {
        Tree memory tree = t;
        (bytes32 left, bytes32 right) = tree.leaves[0] < tree.leaves[1]
            ? (tree.leaves[0], tree.leaves[1])
            : (tree.leaves[1], tree.leaves[0]);
        bytes32 inner = MerkleBuilder.hashPair(left, right);
        bytes32[] memory above = new bytes32[](1);
        above[0] = MerkleBuilder.hashPair(tree.leaves[2], tree.leaves[3]);
        assertTrue(MerkleProof.verify(above, tree.root, inner), "the inner node's path is a valid proof");
        assertEq(inner, keccak256(abi.encode(left, right)), "inner node = hash of its 64 bytes");

        // As ABI-encoded calldata, with the left child's 32 bytes in the account's word.
        (bool ok, bytes memory reason) = address(distributor)
            .call(abi.encodeWithSelector(IRewardDistributor.claim.selector, left, right, above));
        assertFalse(ok, "64-byte preimage as (account, amount)");
        if (reason.length != 0) {
            assertEq(reason, _invalidProof(address(uint160(uint256(left))), uint256(right)));
        }

        // And with the account truncated to 20 bytes, as a well-formed call.
        address truncated = address(uint160(uint256(left)));
        vm.expectRevert(_invalidProof(truncated, uint256(right)));
        distributor.claim(truncated, uint256(right), above);
        assertEq(token.balanceOf(address(distributor)), tree.total, "nothing left the distributor");
    }

    /// @dev A tree of single-hashed leaves (not OpenZeppelin's standard leaf) is never claimable.
    function test_RevertWhen_LeafHashedOnce() public {
        address account = t.accounts[0];
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = keccak256(abi.encode(account, BASE));
        leaves[1] = keccak256(abi.encode(attacker, BASE));
        bytes32 root = MerkleBuilder.root(leaves);
        _fundAndPublish(root, t.total + 2 * BASE);
        vm.expectRevert(_invalidProof(account, BASE));
        distributor.claim(account, BASE, MerkleBuilder.proof(leaves, 0));
    }

    function test_RevertWhen_ClaimTwice() public {
        Tree memory tree = t;
        _claim(tree, 1);
        vm.prank(attacker);
        vm.expectRevert(_nothingToClaim(tree.accounts[1], tree.amounts[1], tree.amounts[1]));
        distributor.claim(tree.accounts[1], tree.amounts[1], _proof(tree, 1));
        assertEq(token.balanceOf(tree.accounts[1]), tree.amounts[1], "paid once");
    }

    /// @dev A proof of the proposed root is refused until the root is accepted, then it pays.
    function test_RevertWhen_ClaimUnderProposedRoot() public {
        Tree memory next = _grow(t, 0, 5e18);
        _fund(5e18);
        _propose(next.root, next.total);
        uint64 acceptableAt = uint64(block.timestamp) + DELAY;
        vm.warp(acceptableAt); // the delay has passed, but the root is not accepted yet
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RootNotAccepted.selector,
                next.accounts[0],
                next.amounts[0],
                next.root,
                acceptableAt
            )
        );
        _claim(next, 0);

        _accept(next.root);
        assertEq(_claim(next, 0), next.amounts[0]);
    }

    /// @dev Before the first round is accepted, too.
    function test_RevertWhen_ClaimUnderFirstProposedRoot() public {
        distributor = new RewardDistributor(IERC20(address(token)), operator, DELAY);
        Tree memory tree = t;
        _propose(tree.root, tree.total);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RootNotAccepted.selector,
                tree.accounts[2],
                tree.amounts[2],
                tree.root,
                uint64(block.timestamp) + DELAY
            )
        );
        _claim(tree, 2);
    }

    /// @dev A cancelled root's proofs are plainly invalid.
    function test_RevertWhen_ClaimUnderCancelledRoot() public {
        Tree memory next = _grow(t, 0, 5e18);
        _propose(next.root, next.total);
        _cancel(next.root);
        vm.expectRevert(_invalidProof(next.accounts[0], next.amounts[0]));
        _claim(next, 0);
    }

    /// @dev After a root change, the old proof is refused with its round and both roots.
    function test_RevertWhen_StaleProof() public {
        Tree memory old = t;
        Tree memory next = _grow(old, 3, 1e18);
        _fundAndPublish(next.root, next.total);
        vm.expectRevert(_staleProof(old, 3, 1, next.root));
        _claim(old, 3);

        // An account already paid under the old root is refused the same way, not paid again.
        _claim(next, 0);
        _fundAndPublish(_grow(next, 1, 1).root, next.total + 1);
        vm.expectRevert(_staleProof(next, 0, 2, distributor.merkleRoot()));
        _claim(next, 0);
    }

    /// @dev Re-publishing an earlier root cannot pay anyone twice: amounts are cumulative.
    function test_RevertWhen_ReplayedOldRoot() public {
        Tree memory old = t;
        _claim(old, 2);
        Tree memory next = _grow(old, 2, 1e18);
        _fundAndPublish(next.root, next.total);
        _claim(next, 2);
        _fundAndPublish(old.root, next.total); // the owner replays round 1's root
        assertEq(distributor.roundOf(old.root), 3, "replayed root has a new round");
        vm.expectRevert(_nothingToClaim(old.accounts[2], old.amounts[2], next.amounts[2]));
        _claim(old, 2);
        assertEq(token.balanceOf(old.accounts[2]), next.amounts[2]);
    }

    /// @dev Anyone may claim for an account: the account is paid, never the sender.
    function test_ClaimForSomeoneElsePaysAccount() public {
        Tree memory tree = t;
        uint256 before = token.balanceOf(attacker);
        _expectPaid(tree.accounts[0], tree.amounts[0], tree.amounts[0]);
        vm.prank(attacker);
        distributor.claim(tree.accounts[0], tree.amounts[0], _proof(tree, 0));
        assertEq(token.balanceOf(attacker), before, "sender not paid");
        assertEq(token.balanceOf(tree.accounts[0]), tree.amounts[0], "account paid");

        // Same in a batch.
        uint256[] memory indices = new uint256[](1);
        indices[0] = 1;
        vm.prank(attacker);
        distributor.claimMany(_entries(tree, indices));
        assertEq(token.balanceOf(attacker), before, "sender not paid by a batch");
        assertEq(token.balanceOf(tree.accounts[1]), tree.amounts[1], "account paid by a batch");
    }

    /// @dev The owner may publish a tree whose leaves add up to more than its declared (funded)
    /// total: claims are paid while the funds last, then fail without paying anyone partially.
    function test_RevertWhen_ClaimBeyondFundedTotal() public {
        Tree memory tree = _linearTree(3, "overdrawn", 100e18); // leaves add up to 600
        uint256 declared = t.total + 400e18;
        _fundAndPublish(tree.root, declared);
        uint256 balance = token.balanceOf(address(distributor));
        assertEq(balance, declared, "funded the declared total only");

        _claim(tree, 2); // 300
        _claim(tree, 1); // 200
        uint256 left = balance - 500e18;
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientBalance.selector, address(distributor), left, tree.amounts[0]
            )
        );
        _claim(tree, 0);
        assertEq(distributor.claimed(tree.accounts[0]), 0, "claim undone");
        assertEq(token.balanceOf(tree.accounts[0]), 0, "nothing paid");
    }

    /// @dev Proofs that are close to a valid one: an extra sibling, swapped siblings, a shorter path.
    function test_RevertWhen_ProofTampered() public {
        Tree memory tree = t;
        bytes32[] memory valid = _proof(tree, 0);
        assertEq(valid.length, 2);

        bytes32[] memory longer = new bytes32[](3);
        (longer[0], longer[1], longer[2]) = (valid[0], valid[1], keccak256("extra"));
        vm.expectRevert(_invalidProof(tree.accounts[0], tree.amounts[0]));
        distributor.claim(tree.accounts[0], tree.amounts[0], longer);

        bytes32[] memory swapped = new bytes32[](2);
        (swapped[0], swapped[1]) = (valid[1], valid[0]);
        vm.expectRevert(_invalidProof(tree.accounts[0], tree.amounts[0]));
        distributor.claim(tree.accounts[0], tree.amounts[0], swapped);

        bytes32[] memory shorter = new bytes32[](1);
        shorter[0] = valid[0];
        vm.expectRevert(_invalidProof(tree.accounts[0], tree.amounts[0]));
        distributor.claim(tree.accounts[0], tree.amounts[0], shorter);
    }

    /// @dev A token that re-enters `claim` from its transfer finds the claim already recorded.
    function test_RevertWhen_ReenteredFromToken() public {
        ReentrantToken hostile = new ReentrantToken(1000e18);
        distributor = new RewardDistributor(IERC20(address(hostile)), operator, 0);
        hostile.approve(address(distributor), type(uint256).max);
        Tree memory tree = t;
        _fundAndPublish(tree.root, tree.total);

        bytes32[] memory proof = _proof(tree, 1);
        hostile.arm(distributor, tree.accounts[1], tree.amounts[1], proof);
        distributor.claim(tree.accounts[1], tree.amounts[1], proof);
        assertTrue(hostile.reentered(), "re-entered");
        assertEq(hostile.reentryError(), _nothingToClaim(tree.accounts[1], tree.amounts[1], tree.amounts[1]));
        assertEq(hostile.balanceOf(tree.accounts[1]), tree.amounts[1], "paid once");
    }

    /// @dev `claimMany` decodes its entries by hand; malformed calldata is refused as Solidity's
    /// decoder refuses it (a revert without data), field by field.
    function test_RevertWhen_ClaimManyMalformed() public {
        Tree memory tree = t;
        uint256[] memory indices = new uint256[](1);
        bytes memory good = abi.encodeCall(IRewardDistributor.claimMany, (_entries(tree, indices)));
        // selector | array offset | length 1 | entry offset | account | amount | proof offset | proof length | proof
        uint256 account = 0x64;
        uint256 proofLength = 0xc4;
        assertEq(_word(good, account), bytes32(uint256(uint160(tree.accounts[0]))), "layout");
        assertEq(uint256(_word(good, proofLength)), 2, "layout");

        _assertRefused(
            _patched(good, account, _word(good, account) | bytes32(uint256(1) << 160)), "dirty account"
        );
        _assertRefused(_patched(good, proofLength, bytes32(uint256(3))), "proof beyond calldata");
        _assertRefused(_patched(good, proofLength, bytes32(uint256(1) << 32)), "proof length >= 2^32");
        _assertRefused(_patched(good, proofLength, bytes32(uint256(1) << 251)), "proof size overflowing");
        _assertRefused(_patched(good, 0x44, bytes32(uint256(1) << 255)), "entry beyond calldata");
        _assertRefused(_patched(good, 0xa4, bytes32(uint256(1) << 255)), "proof offset beyond calldata");

        (bool ok,) = address(distributor).call(good);
        assertTrue(ok, "the unpatched call pays");
    }
}
