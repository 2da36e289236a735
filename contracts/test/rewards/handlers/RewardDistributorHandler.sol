// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RewardDistributor} from "../../../src/RewardDistributor.sol";
import {SNMToken} from "../../../src/SNMToken.sol";
import {IRewardDistributor} from "../../../src/interfaces/IRewardDistributor.sol";
import {MerkleBuilder} from "../utils/MerkleBuilder.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// @notice Drives a distributor through random funding, proposals, cancellations, acceptances,
/// claims (valid, stale, under the pending root), batches, multiproofs and time jumps. Its trees give every
/// actor a cumulative amount that only grows, in a leaf order that changes every round. Each call
/// predicts its own outcome (payment or custom error); a mismatch is recorded, never reverted, since
/// handler reverts are ignored (`fail_on_revert = false`). Ghost variables feed the invariants.
contract RewardDistributorHandler is CommonBase, StdCheats, StdUtils {
    uint256 public constant ACTORS = 6;
    uint256 internal constant MAX_FUND = 1e24;
    uint256 internal constant MAX_RAISE = 1e23;

    /// @dev A tree's amounts per actor and its leaf order (`order[k]` is the actor of leaf `k`).
    struct Round {
        bytes32 root;
        uint256 total;
        uint256[ACTORS] amounts;
        uint256[ACTORS] order;
    }

    RewardDistributor public immutable distributor;
    SNMToken public immutable token;
    address public immutable operator;
    address[ACTORS] public actors;

    Round internal _accepted;
    Round internal _previous;
    Round internal _pending;

    /// @notice Tokens each actor received from the distributor (balance increases during claims).
    mapping(address actor => uint256) public received;
    /// @notice Sum of every payment observed.
    uint256 public ghostPaid;
    /// @notice Set when any call lowered some actor's `claimed`.
    bool public claimedDecreased;
    /// @notice Set when a call's outcome differed from the specification; `mismatch` says which.
    string public mismatch;

    constructor(RewardDistributor distributor_, SNMToken token_, address operator_) {
        distributor = distributor_;
        token = token_;
        operator = operator_;
        for (uint256 i; i < ACTORS; ++i) {
            actors[i] = makeAddr(string.concat("actor", vm.toString(i)));
        }
        token_.approve(address(distributor_), type(uint256).max);
    }

    /// @notice The cumulative amount of `actor` under the accepted root (0 when not an actor).
    function acceptedAmount(address actor) external view returns (uint256) {
        for (uint256 i; i < ACTORS; ++i) {
            if (actors[i] == actor) return _accepted.amounts[i];
        }
        return 0;
    }

    /*//////////////////////////////////////////////////////////////
                                 ACTIONS
    //////////////////////////////////////////////////////////////*/

    function fund(uint256 amount) external {
        amount = _bound(amount, 1, MAX_FUND);
        distributor.fund(amount);
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 0, 2 * distributor.delay()));
    }

    /// @dev Every actor's amount grows by a random raise (zero one time in three), the leaves are
    /// reordered, and the declared total sometimes exceeds the leaves' sum (slack).
    function propose(uint256 seed) external {
        if (_pending.root != bytes32(0)) return;
        Round memory r;
        uint256 sum;
        for (uint256 i; i < ACTORS; ++i) {
            uint256 raise = _rand(seed, "raise", i);
            r.amounts[i] = _accepted.amounts[i] + (raise % 3 == 0 ? 0 : raise % MAX_RAISE);
            sum += r.amounts[i];
            r.order[i] = i;
        }
        for (uint256 i = ACTORS; i > 1; --i) {
            uint256 j = _rand(seed, "swap", i) % i;
            (r.order[i - 1], r.order[j]) = (r.order[j], r.order[i - 1]);
        }
        r.root = MerkleBuilder.heap(_leaves(r))[0];
        r.total = sum + (seed % 4 == 0 ? seed % MAX_RAISE : 0);
        if (r.total < _accepted.total) r.total = _accepted.total;
        vm.prank(operator);
        distributor.proposeRoot(r.root, r.total, keccak256(abi.encode(seed)), "ipfs://handler");
        _pending = r;
    }

    /// @dev Cancels one time in four (proposals need time to be accepted).
    function cancel(uint256 seed) external {
        if (_pending.root == bytes32(0) || seed % 4 != 0) return;
        vm.prank(operator);
        distributor.cancelRoot(_pending.root);
        delete _pending;
    }

    /// @dev Half the time the operator waits out the delay first, and a third of the time someone
    /// funds what is missing first; otherwise the call may be early or underfunded.
    function accept(uint256 seed) external {
        bytes32 root = _pending.root;
        if (root == bytes32(0)) return;
        uint64 acceptableAt = distributor.pendingRoot().acceptableAt;
        if (seed % 2 == 0 && block.timestamp < acceptableAt) vm.warp(acceptableAt);
        uint256 funded = distributor.totalFunded();
        if (seed % 3 == 0 && _pending.total > funded) {
            distributor.fund(_pending.total - funded);
            funded = _pending.total;
        }
        bytes memory expected;
        if (block.timestamp < acceptableAt) {
            expected =
                abi.encodeWithSelector(IRewardDistributor.ProposalNotReady.selector, root, acceptableAt);
        } else if (_pending.total > funded) {
            expected = abi.encodeWithSelector(
                IRewardDistributor.RootUnderfunded.selector, root, _pending.total, funded
            );
        }
        vm.prank(operator);
        try distributor.acceptRoot(root) {
            if (expected.length != 0) _mismatch("acceptRoot succeeded");
            _previous = _accepted;
            _accepted = _pending;
            delete _pending;
        } catch (bytes memory reason) {
            if (keccak256(reason) != keccak256(expected)) _mismatch("acceptRoot reverted unexpectedly");
        }
    }

    /// @dev A claim with the accepted round's proof, sent by anyone.
    function claim(uint256 actorSeed, address sender) external {
        if (_accepted.root == bytes32(0)) return;
        uint256 i = actorSeed % ACTORS;
        (address account, uint256 amount, bytes32[] memory proof) = _leafOf(_accepted, i);
        uint256 already = distributor.claimed(account);
        uint256[ACTORS] memory claimedBefore = _claimedAll();
        uint256 balance = token.balanceOf(account);
        vm.prank(sender);
        try distributor.claim(account, amount, proof) returns (uint256 paid) {
            if (amount <= already || paid != amount - already) _mismatch("claim paid a wrong amount");
        } catch (bytes memory reason) {
            bytes memory expected =
                abi.encodeWithSelector(IRewardDistributor.NothingToClaim.selector, account, amount, already);
            if (amount > already || keccak256(reason) != keccak256(expected)) _mismatch("claim reverted");
        }
        _record(account, balance);
        _checkClaimed(claimedBefore);
    }

    /// @dev A batch of random actors (repeats allowed) with the accepted round's proofs.
    function claimMany(uint256 seed, uint256 count) external {
        if (_accepted.root == bytes32(0)) return;
        count = _bound(count, 1, 2 * ACTORS);
        IRewardDistributor.Claim[] memory claims = new IRewardDistributor.Claim[](count);
        uint256[ACTORS] memory claimedBefore = _claimedAll();
        uint256[ACTORS] memory balances;
        bool[ACTORS] memory seen;
        uint256 expected;
        for (uint256 k; k < count; ++k) {
            uint256 i = _rand(seed, "pick", k) % ACTORS;
            (address account, uint256 amount, bytes32[] memory proof) = _leafOf(_accepted, i);
            claims[k] = IRewardDistributor.Claim({account: account, cumulativeAmount: amount, proof: proof});
            if (!seen[i] && amount > claimedBefore[i]) expected += amount - claimedBefore[i];
            seen[i] = true;
            balances[i] = token.balanceOf(account);
        }
        try distributor.claimMany(claims) returns (uint256 paid) {
            if (paid != expected) _mismatch("claimMany paid a wrong amount");
        } catch {
            _mismatch("claimMany reverted");
        }
        for (uint256 i; i < ACTORS; ++i) {
            if (seen[i]) _record(actors[i], balances[i]);
        }
        _checkClaimed(claimedBefore);
    }

    /// @dev A multiproof of a random subset of the accepted round's leaves.
    function claimMultiproof(uint256 seed) external {
        if (_accepted.root == bytes32(0)) return;
        uint256 count;
        uint256[] memory positions = new uint256[](ACTORS);
        for (uint256 k; k < ACTORS; ++k) {
            if ((seed >> k) & 1 == 1) positions[count++] = k;
        }
        if (count == 0) return;
        assembly ("memory-safe") {
            mstore(positions, count)
        }
        (uint256[] memory order, bytes32[] memory proof, bool[] memory flags) =
            MerkleBuilder.multiProof(MerkleBuilder.heap(_leaves(_accepted)), positions);
        IRewardDistributor.Leaf[] memory leaves = new IRewardDistributor.Leaf[](count);
        uint256[ACTORS] memory claimedBefore = _claimedAll();
        uint256[ACTORS] memory balances;
        uint256 expected;
        for (uint256 k; k < count; ++k) {
            uint256 i = _accepted.order[order[k]];
            leaves[k] = IRewardDistributor.Leaf({account: actors[i], cumulativeAmount: _accepted.amounts[i]});
            if (_accepted.amounts[i] > claimedBefore[i]) expected += _accepted.amounts[i] - claimedBefore[i];
            balances[i] = token.balanceOf(actors[i]);
        }
        try distributor.claimMultiproof(leaves, proof, flags) returns (uint256 paid) {
            if (paid != expected) _mismatch("claimMultiproof paid a wrong amount");
        } catch {
            _mismatch("claimMultiproof reverted");
        }
        for (uint256 k; k < count; ++k) {
            uint256 i = _accepted.order[order[k]];
            _record(actors[i], balances[i]);
        }
        _checkClaimed(claimedBefore);
    }

    /// @dev A proof of the round before the accepted one: refused as stale.
    function claimStale(uint256 actorSeed) external {
        if (_previous.root == bytes32(0) || _previous.root == _accepted.root) return;
        (address account, uint256 amount, bytes32[] memory proof) = _leafOf(_previous, actorSeed % ACTORS);
        bytes memory expected = abi.encodeWithSelector(
            IRewardDistributor.StaleProof.selector,
            account,
            amount,
            _previous.root,
            distributor.roundOf(_previous.root),
            _accepted.root
        );
        _expectRefused(account, amount, proof, expected, "stale proof");
    }

    /// @dev A proof of the pending root: refused until it is accepted.
    function claimPending(uint256 actorSeed) external {
        // A pending root equal to one accepted before (same amounts, same leaf order) reads as stale.
        if (_pending.root == bytes32(0) || distributor.roundOf(_pending.root) != 0) return;
        (address account, uint256 amount, bytes32[] memory proof) = _leafOf(_pending, actorSeed % ACTORS);
        bytes memory expected = abi.encodeWithSelector(
            IRewardDistributor.RootNotAccepted.selector,
            account,
            amount,
            _pending.root,
            distributor.pendingRoot().acceptableAt
        );
        _expectRefused(account, amount, proof, expected, "proof of the pending root");
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function _expectRefused(
        address account,
        uint256 amount,
        bytes32[] memory proof,
        bytes memory expected,
        string memory what
    ) internal {
        try distributor.claim(account, amount, proof) {
            _mismatch(string.concat(what, " accepted"));
        } catch (bytes memory reason) {
            if (keccak256(reason) != keccak256(expected)) _mismatch(string.concat(what, ": wrong error"));
        }
    }

    function _rand(uint256 seed, string memory what, uint256 i) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, what, i)));
    }

    function _leaves(Round memory r) internal view returns (bytes32[] memory leaves) {
        leaves = new bytes32[](ACTORS);
        for (uint256 k; k < ACTORS; ++k) {
            leaves[k] = MerkleBuilder.leaf(actors[r.order[k]], r.amounts[r.order[k]]);
        }
    }

    /// @dev Actor `i`'s leaf in round `r` and its proof.
    function _leafOf(Round memory r, uint256 i)
        internal
        view
        returns (address account, uint256 amount, bytes32[] memory proof)
    {
        uint256 k;
        while (r.order[k] != i) ++k;
        return (actors[i], r.amounts[i], MerkleBuilder.heapProof(MerkleBuilder.heap(_leaves(r)), k));
    }

    function _claimedAll() internal view returns (uint256[ACTORS] memory out) {
        for (uint256 i; i < ACTORS; ++i) {
            out[i] = distributor.claimed(actors[i]);
        }
    }

    function _checkClaimed(uint256[ACTORS] memory before) internal {
        for (uint256 i; i < ACTORS; ++i) {
            if (distributor.claimed(actors[i]) < before[i]) claimedDecreased = true;
        }
    }

    function _record(address account, uint256 balanceBefore) internal {
        uint256 gained = token.balanceOf(account) - balanceBefore;
        received[account] += gained;
        ghostPaid += gained;
    }

    function _mismatch(string memory what) internal {
        if (bytes(mismatch).length == 0) mismatch = what;
    }
}
