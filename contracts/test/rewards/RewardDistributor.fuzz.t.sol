// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";
import {RewardDistributorBase} from "./RewardDistributorBase.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice Fuzz tests: trees of random size and amounts built inside the test, claimed in random
/// orders and batches, over rounds whose cumulative amounts grow; every proof is also checked with
/// OpenZeppelin's `MerkleProof` (a cross-check of the contract's assembly proof loop).
contract RewardDistributorFuzzTest is RewardDistributorBase {
    uint256 internal constant MAX_LEAVES = 40;
    /// @dev Per leaf and round: 40 leaves over 4 rounds stay far below the supply.
    uint256 internal constant MAX_AMOUNT = 1e24;

    function _rand(uint256 seed, string memory what, uint256 i) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, what, i)));
    }

    /// @dev A random amount in [0, MAX_AMOUNT], zero about one time in eight.
    function _randomAmount(uint256 seed, uint256 i) internal pure returns (uint256) {
        uint256 r = _rand(seed, "amount", i);
        return r % 8 == 0 ? 0 : (r >> 3) % (MAX_AMOUNT + 1);
    }

    function _randomTree(uint256 seed, uint256 n) internal pure returns (Tree memory) {
        address[] memory accounts = new address[](n);
        uint256[] memory amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            accounts[i] = address(uint160(_rand(seed, "account", i)));
            amounts[i] = _randomAmount(seed, i);
        }
        return _tree(accounts, amounts);
    }

    /// @dev A random permutation of 0..n-1 (Fisher-Yates).
    function _permutation(uint256 seed, uint256 n) internal pure returns (uint256[] memory p) {
        p = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            p[i] = i;
        }
        for (uint256 i = n; i > 1; --i) {
            uint256 j = _rand(seed, "swap", i) % i;
            (p[i - 1], p[j]) = (p[j], p[i - 1]);
        }
    }

    /// @dev The same leaves in another order, amounts grown by random increments (some zero).
    function _nextRound(Tree memory t, uint256 seed) internal pure returns (Tree memory) {
        uint256 n = t.accounts.length;
        uint256[] memory order = _permutation(seed, n);
        address[] memory accounts = new address[](n);
        uint256[] memory amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            accounts[i] = t.accounts[order[i]];
            amounts[i] = t.amounts[order[i]] + _randomAmount(seed, i);
        }
        return _tree(accounts, amounts);
    }

    /// @dev Checks leaf `i`'s proof with OpenZeppelin, then claims it from `sender`, expecting exactly
    /// the difference to be paid (or `NothingToClaim` when there is none).
    function _claimChecked(Tree memory t, uint256 i, address sender) internal {
        bytes32[] memory proof = _proof(t, i);
        assertTrue(MerkleProof.verify(proof, t.root, t.leaves[i]), "OpenZeppelin verifies the proof");
        address account = t.accounts[i];
        uint256 already = distributor.claimed(account);
        uint256 balance = token.balanceOf(account);
        if (t.amounts[i] <= already) {
            vm.expectRevert(_nothingToClaim(account, t.amounts[i], already));
        }
        vm.prank(sender);
        uint256 paid = distributor.claim(account, t.amounts[i], proof);
        if (t.amounts[i] > already) {
            assertEq(paid, t.amounts[i] - already, "paid the difference");
            assertEq(token.balanceOf(account), balance + paid, "account received it");
        }
        assertEq(distributor.claimed(account), t.amounts[i] > already ? t.amounts[i] : already, "claimed");
    }

    function _assertSettled(Tree memory t) internal view {
        uint256 claimedSum;
        for (uint256 i; i < t.accounts.length; ++i) {
            assertEq(distributor.claimed(t.accounts[i]), t.amounts[i], "claimed = latest cumulative amount");
            assertEq(token.balanceOf(t.accounts[i]), t.amounts[i], "balance = latest cumulative amount");
            claimedSum += t.amounts[i];
        }
        assertEq(token.balanceOf(address(distributor)), distributor.totalFunded() - claimedSum, "distributor");
    }

    function testFuzz_ClaimRandomTree(uint256 seed, uint256 n) public {
        n = bound(n, 1, MAX_LEAVES);
        Tree memory t = _randomTree(seed, n);
        _fundAndPublish(t.root, t.total);
        uint256[] memory order = _permutation(seed, n);
        for (uint256 k; k < n; ++k) {
            _claimChecked(t, order[k], address(uint160(_rand(seed, "sender", k))));
        }
        _assertSettled(t);
        assertEq(token.balanceOf(address(distributor)), 0, "the exact total was paid out");
    }

    /// @dev Random batches in random order; an already-claimed entry is slipped into some batches.
    function testFuzz_ClaimManyRandomBatches(uint256 seed, uint256 n) public {
        n = bound(n, 1, MAX_LEAVES);
        Tree memory t = _randomTree(seed, n);
        _fundAndPublish(t.root, t.total);
        uint256[] memory order = _permutation(seed, n);
        uint256 done;
        for (uint256 batch; done < n; ++batch) {
            uint256 size = 1 + _rand(seed, "batch", batch) % (n - done);
            bool replay = done > 0 && _rand(seed, "replay", batch) % 2 == 0;
            uint256[] memory indices = new uint256[](size + (replay ? 1 : 0));
            uint256 expected;
            for (uint256 k; k < size; ++k) {
                indices[k] = order[done + k];
                expected += t.amounts[indices[k]];
            }
            if (replay) indices[size] = order[_rand(seed, "which", batch) % done];
            assertEq(distributor.claimMany(_entries(t, indices)), expected, "batch paid");
            done += size;
        }
        _assertSettled(t);
    }

    /// @dev Rounds with growing cumulative amounts and reshuffled leaves; between rounds a random
    /// subset claims; after each change the previous round's proofs are stale; in the end every
    /// account holds exactly its latest cumulative amount.
    function testFuzz_RootUpdatesGrowingAmounts(uint256 seed, uint256 n, uint256 rounds) public {
        n = bound(n, 1, MAX_LEAVES);
        rounds = bound(rounds, 2, 4);
        Tree memory t = _randomTree(seed, n);
        _fundAndPublish(t.root, t.total);
        for (uint256 r = 1; r < rounds; ++r) {
            for (uint256 i; i < n; ++i) {
                if (_rand(seed, string.concat("claims in round ", vm.toString(r)), i) % 3 == 0) {
                    _claimChecked(t, i, address(this));
                }
            }
            Tree memory next = _nextRound(t, _rand(seed, "round", r));
            _fundAndPublish(next.root, next.total);
            if (next.root != t.root) {
                uint256 i = _rand(seed, "stale", r) % n;
                vm.expectRevert(_staleProof(t, i, uint64(r), next.root));
                distributor.claim(t.accounts[i], t.amounts[i], _proof(t, i));
            }
            t = next;
        }
        uint256[] memory order = _permutation(seed, n);
        for (uint256 k; k < n; ++k) {
            _claimChecked(t, order[k], address(this));
        }
        _assertSettled(t);
    }

    /// @dev Any path: the root OpenZeppelin computes from an arbitrary leaf and arbitrary siblings is
    /// the one the contract computes (claims succeed under it).
    function testFuzz_ProofMatchesOpenZeppelin(address account, uint256 amount, bytes32[] memory siblings)
        public
    {
        vm.assume(account != address(0) && account != address(distributor) && account != address(this));
        amount = bound(amount, 1, SUPPLY);
        if (siblings.length > 24) {
            assembly ("memory-safe") {
                mstore(siblings, 24)
            }
        }
        bytes32 leaf = MerkleBuilder.leaf(account, amount);
        bytes32 root = MerkleProof.processProof(siblings, leaf);
        assertEq(root, MerkleBuilder.rootOfPath(leaf, siblings), "test builder agrees with OpenZeppelin");
        _fundAndPublish(root, amount);
        assertEq(distributor.claim(account, amount, siblings), amount);
        assertEq(token.balanceOf(account), amount);
    }

    /// @dev A flipped bit anywhere (amount or one sibling): OpenZeppelin rejects the proof, and the
    /// contract refuses it with `InvalidProof`.
    function testFuzz_RevertWhen_ProofBitFlipped(uint256 seed, uint256 n, uint256 index, uint256 bit) public {
        n = bound(n, 2, MAX_LEAVES);
        Tree memory t = _randomTree(seed, n);
        _fundAndPublish(t.root, t.total);
        index = bound(index, 0, n - 1);
        bytes32[] memory proof = _proof(t, index);
        uint256 amount = t.amounts[index];
        uint256 where = bound(bit >> 8, 0, proof.length); // proof.length stands for the amount
        uint256 mask = 1 << (bit & 0xff);
        if (where == proof.length) amount ^= mask;
        else proof[where] ^= bytes32(mask);
        bytes32 leaf = MerkleBuilder.leaf(t.accounts[index], amount);
        assertFalse(MerkleProof.verify(proof, t.root, leaf), "OpenZeppelin rejects it");
        vm.expectRevert(_invalidProof(t.accounts[index], amount));
        distributor.claim(t.accounts[index], amount, proof);
    }

    /// @dev A random subset claimed with one multiproof (checked with OpenZeppelin's
    /// `multiProofVerify`), then the rest with another: everyone ends with its amount.
    function testFuzz_ClaimMultiproofRandomSubsets(uint256 seed, uint256 n) public {
        n = bound(n, 1, MAX_LEAVES);
        Tree memory t = _randomTree(seed, n);
        _fundAndPublish(t.root, t.total);
        uint256 mask = _rand(seed, "subset", 0);
        for (uint256 pass; pass < 2; ++pass) {
            uint256 count;
            for (uint256 i; i < n; ++i) {
                if ((mask >> i) & 1 == pass) ++count;
            }
            if (count == 0) continue;
            uint256[] memory indices = new uint256[](count);
            uint256 expected;
            count = 0;
            for (uint256 i; i < n; ++i) {
                if ((mask >> i) & 1 == pass) {
                    indices[count++] = i;
                    expected += t.amounts[i];
                }
            }
            (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags) =
                _multiproof(t, indices);
            assertTrue(
                MerkleProof.multiProofVerify(proof, flags, t.root, _hashes(leaves)), "OpenZeppelin verifies"
            );
            assertEq(distributor.claimMultiproof(leaves, proof, flags), expected, "paid");
        }
        _assertSettled(t);
    }

    /// @notice OpenZeppelin's multiproof root, as an external call (so that its panics can be caught).
    function ozMultiproofRoot(bytes32[] memory proof, bool[] memory flags, bytes32[] memory leaves)
        external
        pure
        returns (bytes32)
    {
        return MerkleProof.processMultiProof(proof, flags, leaves);
    }

    /// @dev Arbitrary multiproofs (random leaves, siblings and flag patterns, most of them not from
    /// any tree): whenever OpenZeppelin computes a root, the contract computes the same one (claims
    /// under it are paid).
    function testFuzz_MultiproofMatchesOpenZeppelin(uint256 seed, uint256 n, uint256 p) public {
        n = bound(n, 1, 6);
        p = bound(p, 0, 8);
        IRewardDistributor.Leaf[] memory leaves = new IRewardDistributor.Leaf[](n);
        uint256 total;
        for (uint256 k; k < n; ++k) {
            leaves[k] = IRewardDistributor.Leaf({
                account: address(uint160(_rand(seed, "account", k))),
                cumulativeAmount: 1 + _randomAmount(seed, k)
            });
            total += leaves[k].cumulativeAmount;
        }
        bytes32[] memory proof = new bytes32[](p);
        for (uint256 k; k < p; ++k) {
            proof[k] = bytes32(_rand(seed, "sibling", k));
        }
        // n + p - 1 flags, p of them clear (one per sibling), at random places.
        bool[] memory flags = new bool[](n + p - 1);
        uint256[] memory places = _permutation(seed, flags.length);
        for (uint256 k; k < flags.length; ++k) {
            flags[places[k]] = k >= p;
        }
        bytes32 root;
        try this.ozMultiproofRoot(proof, flags, _hashes(leaves)) returns (bytes32 r) {
            root = r;
        } catch {
            return; // OpenZeppelin panics on this pattern (a step takes more nodes than queued)
        }
        _fundAndPublish(root, total);
        assertEq(distributor.claimMultiproof(leaves, proof, flags), total);
    }

    function testFuzz_Fund(uint128 a, uint128 b) public {
        vm.assume(a > 0 && b > 0 && uint256(a) + b <= SUPPLY);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Funded(address(this), a, a);
        distributor.fund(a);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Funded(address(this), b, uint256(a) + b);
        distributor.fund(b);
        assertEq(token.balanceOf(address(distributor)), uint256(a) + b);
    }

    /// @dev Acceptance succeeds exactly when the delay has passed and the funds cover the total.
    function testFuzz_AcceptRootWhenReadyAndFunded(uint256 elapsed, uint256 funded, uint256 total) public {
        elapsed = bound(elapsed, 0, 3 * DELAY);
        funded = bound(funded, 1, SUPPLY);
        total = bound(total, 0, SUPPLY);
        bytes32 root = keccak256(abi.encode(elapsed, funded, total));
        _fund(funded);
        _propose(root, total);
        uint64 acceptableAt = uint64(block.timestamp) + DELAY;
        vm.warp(block.timestamp + elapsed);
        if (elapsed < DELAY) {
            vm.expectRevert(
                abi.encodeWithSelector(IRewardDistributor.ProposalNotReady.selector, root, acceptableAt)
            );
        } else if (total > funded) {
            vm.expectRevert(
                abi.encodeWithSelector(IRewardDistributor.RootUnderfunded.selector, root, total, funded)
            );
        }
        _accept(root);
        if (elapsed >= DELAY && total <= funded) assertEq(distributor.merkleRoot(), root);
        else assertEq(distributor.pendingRoot().root, root, "still pending");
    }
}
