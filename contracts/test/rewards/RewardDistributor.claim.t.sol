// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";
import {RewardDistributorBase} from "./RewardDistributorBase.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Unit tests of `claim` and `claimMany` on a 5-leaf tree (proofs of 2 and 3 siblings, so
/// both the odd-length and the two-levels-per-iteration paths of the proof loop run).
contract RewardDistributorClaimTest is RewardDistributorBase {
    uint256 internal constant BASE = 100e18;

    Tree internal t;

    function setUp() public override {
        super.setUp();
        t = _linearTree(5, "claimer", BASE);
        _fundAndPublish(t.root, t.total);
    }

    function _indices(uint256 a, uint256 b) internal pure returns (uint256[] memory out) {
        out = new uint256[](2);
        (out[0], out[1]) = (a, b);
    }

    /*//////////////////////////////////////////////////////////////
                                 CLAIM
    //////////////////////////////////////////////////////////////*/

    function test_Claim() public {
        Tree memory tree = t;
        for (uint256 i; i < 5; ++i) {
            address account = tree.accounts[i];
            _expectPaid(account, tree.amounts[i], tree.amounts[i]);
            vm.prank(account);
            uint256 paid = distributor.claim(account, tree.amounts[i], _proof(tree, i));
            assertEq(paid, tree.amounts[i], "returned");
            assertEq(token.balanceOf(account), tree.amounts[i], "balance");
            assertEq(distributor.claimed(account), tree.amounts[i], "claimed");
        }
        assertEq(token.balanceOf(address(distributor)), 0, "distributor emptied");
    }

    /// @dev A later round pays the difference between the new cumulative amount and what was claimed.
    function test_Claim_NextRoundPaysDifference() public {
        _claim(t, 2);
        Tree memory tree = _grow(t, 2, 7e18);
        _fundAndPublish(tree.root, tree.total);

        _expectPaid(tree.accounts[2], 7e18, tree.amounts[2]);
        assertEq(_claim(tree, 2), 7e18, "returned");
        assertEq(token.balanceOf(tree.accounts[2]), tree.amounts[2], "balance");
        assertEq(distributor.claimed(tree.accounts[2]), tree.amounts[2], "claimed");
    }

    /// @dev An account that skipped rounds gets everything at once with the latest proof.
    function test_Claim_SkippedRounds() public {
        Tree memory tree = t;
        for (uint256 round; round < 3; ++round) {
            tree = _grow(tree, 0, 1e18);
            _fundAndPublish(tree.root, tree.total);
        }
        assertEq(_claim(tree, 0), BASE + 3e18);
    }

    /// @dev A one-leaf tree: the root is the leaf and the proof is empty.
    function test_Claim_SingleLeafTree() public {
        Tree memory tree = _linearTree(1, "solo", 5e18);
        _fundAndPublish(tree.root, t.total + tree.total);
        assertEq(tree.root, MerkleBuilder.leaf(tree.accounts[0], 5e18));
        _expectPaid(tree.accounts[0], 5e18, 5e18);
        distributor.claim(tree.accounts[0], 5e18, new bytes32[](0));
    }

    function test_RevertWhen_ClaimNothingLeft() public {
        Tree memory tree = t;
        _claim(tree, 3);
        vm.expectRevert(_nothingToClaim(tree.accounts[3], tree.amounts[3], tree.amounts[3]));
        _claim(tree, 3);
    }

    /// @dev A round that lowers an account's cumulative amount below what it claimed pays nothing.
    function test_RevertWhen_ClaimBelowClaimed() public {
        _claim(t, 4);
        uint256 claimedBefore = t.amounts[4];
        Tree memory tree = _grow(t, 0, 1); // same total, which may not decrease
        tree.amounts[4] -= 1;
        tree = _tree(tree.accounts, tree.amounts);
        _fundAndPublish(tree.root, tree.total);
        vm.expectRevert(_nothingToClaim(tree.accounts[4], tree.amounts[4], claimedBefore));
        _claim(tree, 4);
    }

    function test_RevertWhen_ClaimWrongAmount() public {
        Tree memory tree = t;
        bytes32[] memory proof = _proof(tree, 1);
        vm.expectRevert(_invalidProof(tree.accounts[1], tree.amounts[1] + 1));
        distributor.claim(tree.accounts[1], tree.amounts[1] + 1, proof);
    }

    function test_RevertWhen_ClaimWrongAccount() public {
        Tree memory tree = t;
        bytes32[] memory proof = _proof(tree, 1);
        vm.expectRevert(_invalidProof(tree.accounts[2], tree.amounts[1]));
        distributor.claim(tree.accounts[2], tree.amounts[1], proof);
    }

    function test_RevertWhen_ClaimWrongProof() public {
        Tree memory tree = t;
        bytes32[] memory proof = _proof(tree, 1);
        proof[0] = bytes32(uint256(proof[0]) ^ 1);
        vm.expectRevert(_invalidProof(tree.accounts[1], tree.amounts[1]));
        distributor.claim(tree.accounts[1], tree.amounts[1], proof);
    }

    function test_RevertWhen_ClaimEmptyProof() public {
        Tree memory tree = t;
        vm.expectRevert(_invalidProof(tree.accounts[1], tree.amounts[1]));
        distributor.claim(tree.accounts[1], tree.amounts[1], new bytes32[](0));
    }

    function test_RevertWhen_ClaimBeforeFirstRoot() public {
        distributor = new RewardDistributor(IERC20(address(token)), operator, DELAY);
        Tree memory tree = _linearTree(2, "early", 1e18);
        vm.expectRevert(_invalidProof(tree.accounts[0], tree.amounts[0]));
        distributor.claim(tree.accounts[0], tree.amounts[0], _proof(tree, 0));
    }

    /*//////////////////////////////////////////////////////////////
                               CLAIM MANY
    //////////////////////////////////////////////////////////////*/

    function test_ClaimMany() public {
        Tree memory tree = t;
        uint256[] memory indices = new uint256[](5);
        for (uint256 i; i < 5; ++i) {
            indices[i] = 4 - i; // any order
        }
        IRewardDistributor.Claim[] memory claims = _entries(tree, indices);
        for (uint256 i; i < 5; ++i) {
            _expectPaid(tree.accounts[4 - i], tree.amounts[4 - i], tree.amounts[4 - i]);
        }
        assertEq(distributor.claimMany(claims), tree.total, "paid");
        for (uint256 i; i < 5; ++i) {
            assertEq(token.balanceOf(tree.accounts[i]), tree.amounts[i], "balance");
            assertEq(distributor.claimed(tree.accounts[i]), tree.amounts[i], "claimed");
        }
    }

    function test_RevertWhen_ClaimManyEmpty() public {
        vm.expectRevert(IRewardDistributor.EmptyBatch.selector);
        distributor.claimMany(new IRewardDistributor.Claim[](0));
    }

    /// @dev Accounts claimed meanwhile (by themselves or a front-runner) are skipped, silently.
    function test_ClaimMany_SkipsAlreadyClaimed() public {
        Tree memory tree = t;
        _claim(tree, 1);
        _claim(tree, 3);
        uint256[] memory indices = new uint256[](4);
        (indices[0], indices[1], indices[2], indices[3]) = (0, 1, 3, 4);

        _expectPaid(tree.accounts[0], tree.amounts[0], tree.amounts[0]);
        _expectPaid(tree.accounts[4], tree.amounts[4], tree.amounts[4]);
        vm.recordLogs();
        uint256 paid = distributor.claimMany(_entries(tree, indices));
        assertEq(paid, tree.amounts[0] + tree.amounts[4], "paid");
        assertEq(vm.getRecordedLogs().length, 4, "two Claimed and two Transfer events, nothing for skips");
        assertEq(token.balanceOf(tree.accounts[1]), tree.amounts[1], "skipped account paid once");
    }

    function test_ClaimMany_AllAlreadyClaimed() public {
        Tree memory tree = t;
        _claim(tree, 0);
        _claim(tree, 2);
        vm.recordLogs();
        assertEq(distributor.claimMany(_entries(tree, _indices(2, 0))), 0);
        assertEq(vm.getRecordedLogs().length, 0, "no events");
    }

    /// @dev The same entry twice pays once.
    function test_ClaimMany_DuplicateEntry() public {
        Tree memory tree = t;
        assertEq(distributor.claimMany(_entries(tree, _indices(2, 2))), tree.amounts[2]);
        assertEq(token.balanceOf(tree.accounts[2]), tree.amounts[2]);
    }

    /// @dev A later round's batch pays each account its difference.
    function test_ClaimMany_NextRound() public {
        _claim(t, 0);
        Tree memory tree = _grow(_grow(t, 0, 3e18), 1, 4e18);
        _fundAndPublish(tree.root, tree.total);
        _expectPaid(tree.accounts[0], 3e18, tree.amounts[0]);
        _expectPaid(tree.accounts[1], tree.amounts[1], tree.amounts[1]);
        assertEq(distributor.claimMany(_entries(tree, _indices(0, 1))), 3e18 + tree.amounts[1]);
    }

    /// @dev One bad proof reverts the whole batch: nobody is paid.
    function test_RevertWhen_ClaimManyInvalidProof() public {
        Tree memory tree = t;
        IRewardDistributor.Claim[] memory claims = _entries(tree, _indices(0, 1));
        claims[1].cumulativeAmount += 1;
        vm.expectRevert(_invalidProof(tree.accounts[1], tree.amounts[1] + 1));
        distributor.claimMany(claims);
        assertEq(token.balanceOf(tree.accounts[0]), 0);
    }

    function test_RevertWhen_ClaimManyStaleProof() public {
        Tree memory old = t;
        Tree memory tree = _grow(old, 3, 1e18);
        _fundAndPublish(tree.root, tree.total);

        IRewardDistributor.Claim[] memory claims = _entries(tree, _indices(0, 1));
        claims[1] = _claimEntry(old, 3);
        vm.expectRevert(_staleProof(old, 3, 1, tree.root));
        distributor.claimMany(claims);
    }

    function test_RevertWhen_ClaimManyRootNotAccepted() public {
        Tree memory tree = _grow(t, 0, 1e18);
        _propose(tree.root, tree.total);
        uint64 acceptableAt = distributor.pendingRoot().acceptableAt;

        uint256[] memory indices = new uint256[](1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RootNotAccepted.selector,
                tree.accounts[0],
                tree.amounts[0],
                tree.root,
                acceptableAt
            )
        );
        distributor.claimMany(_entries(tree, indices));
    }
}
