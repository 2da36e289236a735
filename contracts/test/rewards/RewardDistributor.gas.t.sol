// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";
import {RewardDistributorBase} from "./RewardDistributorBase.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";

/// @notice Claim gas at the depth of a 1,000,000-leaf tree (20 levels). Building a million leaves
/// inside a test is out of reach, so each claimed leaf is real and its 20 siblings are random: the
/// root is computed from that path, and the contract does exactly the work it does in a real tree.
/// Batch claims use a real tree of 16 leaves padded up to depth 20 with random siblings above it.
/// Figures land in snapshots/RewardDistributor.json (execution gas, without the 21,000 base and
/// calldata; scripts/reward-gas.sh measures whole receipts on anvil).
contract RewardDistributorGasTest is RewardDistributorBase {
    uint256 internal constant DEPTH = 20;
    uint256 internal constant AMOUNT = 1234e18;

    function _randomSiblings(uint256 n, uint256 seed) internal pure returns (bytes32[] memory siblings) {
        siblings = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            siblings[i] = keccak256(abi.encode("sibling", seed, i));
        }
    }

    function test_Gas_FirstClaimDepth20_ExistingHolder() public {
        address account = makeAddr("holder");
        token.transfer(account, 1e18);
        bytes32[] memory proof = _randomSiblings(DEPTH, 1);
        _fundAndPublish(MerkleBuilder.rootOfPath(MerkleBuilder.leaf(account, AMOUNT), proof), 10_000e18);

        vm.prank(account);
        distributor.claim(account, AMOUNT, proof);
        uint256 gasUsed = vm.snapshotGasLastCall("RewardDistributor", "claim_firstDepth20_existingHolder");
        assertEq(token.balanceOf(account), 1e18 + AMOUNT);
        assertLt(gasUsed, 50_000);
    }

    function test_Gas_FirstClaimDepth20_NewHolder() public {
        address account = makeAddr("newcomer");
        bytes32[] memory proof = _randomSiblings(DEPTH, 2);
        _fundAndPublish(MerkleBuilder.rootOfPath(MerkleBuilder.leaf(account, AMOUNT), proof), 10_000e18);

        vm.prank(account);
        distributor.claim(account, AMOUNT, proof);
        vm.snapshotGasLastCall("RewardDistributor", "claim_firstDepth20_newHolder");
        assertEq(token.balanceOf(account), AMOUNT);
    }

    function test_Gas_SecondRoundClaimDepth20() public {
        address account = makeAddr("holder");
        bytes32[] memory proof = _randomSiblings(DEPTH, 3);
        _fundAndPublish(MerkleBuilder.rootOfPath(MerkleBuilder.leaf(account, AMOUNT), proof), 10_000e18);
        distributor.claim(account, AMOUNT, proof);

        bytes32[] memory proof2 = _randomSiblings(DEPTH, 4);
        _fundAndPublish(MerkleBuilder.rootOfPath(MerkleBuilder.leaf(account, 2 * AMOUNT), proof2), 20_000e18);
        vm.prank(account);
        distributor.claim(account, 2 * AMOUNT, proof2);
        vm.snapshotGasLastCall("RewardDistributor", "claim_laterRoundDepth20");
        assertEq(token.balanceOf(account), 2 * AMOUNT);
    }

    function test_Gas_ClaimMany10Depth20_ExistingHolders() public {
        _batch(10, true, "claimMany10_depth20_existingHolders");
    }

    function test_Gas_ClaimMany10Depth20_NewHolders() public {
        _batch(10, false, "claimMany10_depth20_newHolders");
    }

    /// @dev A regression guard for the multiproof path (a 16-leaf tree, 10 adjacent leaves); its
    /// receipt gas at depth 20 is measured by scripts/reward-gas.sh.
    function test_Gas_ClaimMultiproof10Of16_ExistingHolders() public {
        address[] memory accounts = _accounts(16, "multi");
        uint256[] memory amounts = new uint256[](16);
        uint256[] memory indices = new uint256[](10);
        for (uint256 i; i < 16; ++i) {
            amounts[i] = AMOUNT + i;
            token.transfer(accounts[i], 1e18);
            if (i < 10) indices[i] = i;
        }
        Tree memory t = _tree(accounts, amounts);
        _fundAndPublish(t.root, t.total);
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
            _multiproof(t, indices);
        uint256 paid = distributor.claimMultiproof(leaves, proof, flags);
        vm.snapshotGasLastCall("RewardDistributor", "claimMultiproof10of16_existingHolders");
        assertEq(paid, 10 * AMOUNT + 45);
    }

    function _batch(uint256 n, bool holders, string memory name) internal {
        address[] memory accounts = _accounts(n, "batch");
        uint256[] memory amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            amounts[i] = AMOUNT + i;
            if (holders) token.transfer(accounts[i], 1e18);
        }
        // A real 16-leaf subtree (depth 4) under 16 random siblings: depth 20 in all.
        bytes32[] memory tree = new bytes32[](16);
        bytes32[] memory real = MerkleBuilder.leaves(accounts, amounts);
        for (uint256 i; i < 16; ++i) {
            tree[i] = i < n ? real[i] : keccak256(abi.encode("filler", i));
        }
        bytes32[] memory upper = _randomSiblings(DEPTH - 4, 5);
        _fundAndPublish(MerkleBuilder.rootOfPath(MerkleBuilder.root(tree), upper), 100_000e18);

        IRewardDistributor.Claim[] memory claims = new IRewardDistributor.Claim[](n);
        for (uint256 i; i < n; ++i) {
            claims[i] = IRewardDistributor.Claim({
                account: accounts[i],
                cumulativeAmount: amounts[i],
                proof: MerkleBuilder.subtreeProof(tree, i, upper)
            });
        }
        uint256 paid = distributor.claimMany(claims);
        vm.snapshotGasLastCall("RewardDistributor", name);
        assertEq(paid, _sum(amounts));
    }
}
