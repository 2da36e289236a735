// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {SNMToken} from "../../src/SNMToken.sol";
import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "forge-std/Test.sol";

/// @notice Shared set-up: the token (whole supply held by this test), a distributor owned by
/// `operator`, and helpers to fund, publish roots and build trees.
abstract contract RewardDistributorBase is Test {
    uint256 internal constant SUPPLY = 444_000_000e18;
    uint64 internal constant DELAY = 1 days;
    string internal constant URI = "ipfs://bafy-proofs";

    /// @dev A test tree in OpenZeppelin's array layout (`nodes`, see `MerkleBuilder.heap`): leaf `i`
    /// is `(accounts[i], amounts[i])`; `total` is the sum of the amounts.
    struct Tree {
        address[] accounts;
        uint256[] amounts;
        bytes32[] leaves;
        bytes32[] nodes;
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

    function _cancel(bytes32 root) internal {
        vm.prank(operator);
        distributor.cancelRoot(root);
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
        t.nodes = MerkleBuilder.heap(t.leaves);
        t.root = t.nodes[0];
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
        return MerkleBuilder.heapProof(t.nodes, i);
    }

    /// @dev The batch entries of leaves `indices` of `t`.
    function _entries(Tree memory t, uint256[] memory indices)
        internal
        pure
        returns (IRewardDistributor.Claim[] memory claims)
    {
        claims = new IRewardDistributor.Claim[](indices.length);
        for (uint256 i; i < indices.length; ++i) {
            claims[i] = _claimEntry(t, indices[i]);
        }
    }

    /// @dev Claims leaf `i` of `t` (sent by this test contract).
    function _claim(Tree memory t, uint256 i) internal returns (uint256) {
        return distributor.claim(t.accounts[i], t.amounts[i], _proof(t, i));
    }

    function _claimEntry(Tree memory t, uint256 i) internal pure returns (IRewardDistributor.Claim memory) {
        return IRewardDistributor.Claim({
            account: t.accounts[i], cumulativeAmount: t.amounts[i], proof: _proof(t, i)
        });
    }

    /// @dev The multiproof of leaves `indices` of `t`, as `claimMultiproof` takes it.
    function _multiproof(Tree memory t, uint256[] memory indices)
        internal
        pure
        returns (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags)
    {
        uint256[] memory order;
        (order, proof, flags) = MerkleBuilder.multiProof(t.nodes, indices);
        leaves = new IRewardDistributor.Leaf[](order.length);
        for (uint256 k; k < order.length; ++k) {
            leaves[k] = IRewardDistributor.Leaf({
                account: t.accounts[order[k]], cumulativeAmount: t.amounts[order[k]]
            });
        }
    }

    /// @dev Expects a payment of `amount` to `account`: the `Claimed` event, then the token's `Transfer`.
    function _expectPaid(address account, uint256 amount, uint256 cumulativeAmount) internal {
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(account, amount, cumulativeAmount);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(distributor), account, amount);
    }

    /// @dev The standard leaf hashes of multiproof entries, as OpenZeppelin's `MerkleProof` takes them.
    function _hashes(IRewardDistributor.Leaf[] memory leaves) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](leaves.length);
        for (uint256 k; k < leaves.length; ++k) {
            out[k] = MerkleBuilder.leaf(leaves[k].account, leaves[k].cumulativeAmount);
        }
    }

    /// @dev The revert data of `OwnableUnauthorizedAccount`.
    function _unauthorized(address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller);
    }

    /// @dev The revert data of `InvalidProof`.
    function _invalidProof(address account, uint256 amount) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRewardDistributor.InvalidProof.selector, account, amount);
    }

    /// @dev The revert data of `StaleProof` for leaf `i` of `old`, replaced by `current`'s root.
    function _staleProof(Tree memory old, uint256 i, uint64 round, bytes32 current)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(
            IRewardDistributor.StaleProof.selector, old.accounts[i], old.amounts[i], old.root, round, current
        );
    }

    /// @dev The revert data of `NothingToClaim`.
    function _nothingToClaim(address account, uint256 amount, uint256 already)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(IRewardDistributor.NothingToClaim.selector, account, amount, already);
    }

    /// @dev The 32-byte word at byte `at` of `data`.
    function _word(bytes memory data, uint256 at) internal pure returns (bytes32 word) {
        assembly ("memory-safe") {
            word := mload(add(add(data, 0x20), at))
        }
    }

    /// @dev A copy of `data` with the word at byte `at` replaced.
    function _patched(bytes memory data, uint256 at, bytes32 word) internal pure returns (bytes memory out) {
        out = bytes.concat(data);
        assembly ("memory-safe") {
            mstore(add(add(out, 0x20), at), word)
        }
    }

    /// @dev Calls the distributor with raw calldata, expecting a revert without data (the decoder's).
    function _assertRefused(bytes memory data, string memory what) internal {
        (bool ok, bytes memory reason) = address(distributor).call(data);
        assertFalse(ok, what);
        assertEq(reason.length, 0, what);
    }
}
