// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {SNMToken} from "../../src/SNMToken.sol";
import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "forge-std/Test.sol";

/// @notice Shared set-up: the token (whole supply held by this test), a distributor owned by
/// `operator`, and helpers to fund, publish roots and build trees.
abstract contract RewardDistributorBase is Test {
    uint256 internal constant SUPPLY = 444_000_000e18;
    uint64 internal constant DELAY = 1 days;
    string internal constant URI = "ipfs://bafy-proofs";

    /// @dev A test tree: leaf `i` is `(accounts[i], amounts[i])`; `total` is the sum of the amounts.
    struct Tree {
        address[] accounts;
        uint256[] amounts;
        bytes32[] leaves;
        bytes32 root;
        uint256 total;
    }

    SNMToken internal token;
    RewardDistributor internal distributor;
    address internal operator = makeAddr("operator");

    function setUp() public virtual {
        token = new SNMToken(address(this), SUPPLY);
        distributor = new RewardDistributor(IERC20(address(token)), operator, DELAY);
        token.approve(address(distributor), type(uint256).max);
    }

    function _fund(uint256 amount) internal {
        distributor.fund(amount);
    }

    function _propose(bytes32 root, uint256 total) internal {
        vm.prank(operator);
        distributor.proposeRoot(root, total, keccak256(abi.encode(root)), URI);
    }

    function _accept(bytes32 root) internal {
        vm.prank(operator);
        distributor.acceptRoot(root);
    }

    /// @dev Proposes, waits for the delay and accepts.
    function _publish(bytes32 root, uint256 total) internal {
        _propose(root, total);
        vm.warp(block.timestamp + DELAY);
        _accept(root);
    }

    /// @dev Funds what is missing for `total`, then publishes.
    function _fundAndPublish(bytes32 root, uint256 total) internal {
        uint256 funded = distributor.totalFunded();
        if (total > funded) _fund(total - funded);
        _publish(root, total);
    }

    function _accounts(uint256 n, string memory prefix) internal returns (address[] memory out) {
        out = new address[](n);
        for (uint256 i; i < n; ++i) {
            out[i] = makeAddr(string.concat(prefix, vm.toString(i)));
        }
    }

    function _sum(uint256[] memory amounts) internal pure returns (uint256 total) {
        for (uint256 i; i < amounts.length; ++i) {
            total += amounts[i];
        }
    }

    /// @dev A tree over `accounts` and `amounts` (in that leaf order), with its root and total.
    function _tree(address[] memory accounts, uint256[] memory amounts)
        internal
        pure
        returns (Tree memory t)
    {
        t.accounts = accounts;
        t.amounts = amounts;
        t.leaves = MerkleBuilder.leaves(accounts, amounts);
        t.root = MerkleBuilder.root(t.leaves);
        t.total = _sum(amounts);
    }

    /// @dev `n` accounts named `prefix0`.. with amounts `base`, `2 * base`, ...
    function _linearTree(uint256 n, string memory prefix, uint256 base) internal returns (Tree memory) {
        uint256[] memory amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            amounts[i] = base * (i + 1);
        }
        return _tree(_accounts(n, prefix), amounts);
    }

    /// @dev A new tree: `t` with `extra` added to leaf `i`'s amount (`t` itself is unchanged).
    function _grow(Tree memory t, uint256 i, uint256 extra) internal pure returns (Tree memory) {
        uint256[] memory amounts = new uint256[](t.amounts.length);
        for (uint256 k; k < amounts.length; ++k) {
            amounts[k] = t.amounts[k];
        }
        amounts[i] += extra;
        return _tree(t.accounts, amounts);
    }

    function _proof(Tree memory t, uint256 i) internal pure returns (bytes32[] memory) {
        return MerkleBuilder.proof(t.leaves, i);
    }

    /// @dev The batch entries of leaves `indices` of `t`.
    function _entries(Tree memory t, uint256[] memory indices)
        internal
        pure
        returns (IRewardDistributor.Claim[] memory claims)
    {
        claims = new IRewardDistributor.Claim[](indices.length);
        for (uint256 i; i < indices.length; ++i) {
            uint256 k = indices[i];
            claims[i] = _claimEntry(t.leaves, t.accounts[k], t.amounts[k], k);
        }
    }

    /// @dev Claims leaf `i` of `t` (sent by this test contract).
    function _claim(Tree memory t, uint256 i) internal returns (uint256) {
        return distributor.claim(t.accounts[i], t.amounts[i], _proof(t, i));
    }

    function _claimEntry(bytes32[] memory tree, address account, uint256 amount, uint256 index)
        internal
        pure
        returns (IRewardDistributor.Claim memory)
    {
        return IRewardDistributor.Claim({
            account: account, cumulativeAmount: amount, proof: MerkleBuilder.proof(tree, index)
        });
    }
}
