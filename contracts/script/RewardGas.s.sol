// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RewardDistributor} from "../src/RewardDistributor.sol";
import {SNMToken} from "../src/SNMToken.sol";
import {IRewardDistributor} from "../src/interfaces/IRewardDistributor.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
// The tests' Merkle helpers (library, internal functions only: nothing of it is deployed).
import {MerkleBuilder} from "../test/rewards/utils/MerkleBuilder.sol";
import {Script} from "forge-std/Script.sol";

/// @notice Broadcasts the claims whose receipts scripts/reward-gas.sh reads (run it through that
/// script, against a fresh anvil), in this order: a first claim by an account that already holds
/// SNM, a first claim by a new holder, batch claims of 10 holders, 10 new holders and 100 holders, a
/// claim in a later round by the account that claimed first (its `claimed` slot already written),
/// and multiproof claims of 10 holders at adjacent leaves (a sweep in tree order), 10 at random
/// leaves and 100 at adjacent leaves.
/// @dev Tree shape: a 1,000,000-leaf tree has proofs of depth 20. The 128 leaves claimed here are a
/// real subtree (depth 7) whose root is hashed with 13 random siblings up to the published root, so
/// every proof has 20 siblings and the contract does the work it does in a real 1M-leaf tree; the
/// random siblings stand for the other 999,872 leaves. The delay is 0 so the root can be accepted
/// at once on anvil (the delay check costs the same either way and is not in a claim's path).
/// Multiproofs are measured on more distributors whose roots are of a sparse 2^20-leaf tree: real
/// leaves at chosen positions, every node off their paths a random hash.
contract RewardGas is Script {
    string internal constant MNEMONIC = "test test test test test test test test test test test junk";
    uint256 internal constant DEPTH = 20;
    uint256 internal constant SUBTREE_DEPTH = 7;
    uint256 internal constant SUBTREE = 1 << SUBTREE_DEPTH;
    uint256 internal constant BATCH = 10;
    uint256 internal constant LARGE_BATCH = 100;
    uint256 internal constant AMOUNT = 1234e18;
    uint256 internal constant NEXT_ROUND_REWARD = 56e18;

    // Leaves of the subtree: 0 = holder, 1 = newcomer, then the batches.
    uint256 internal constant HOLDERS = 2;
    uint256 internal constant NEWCOMERS = HOLDERS + BATCH;
    uint256 internal constant LARGE_HOLDERS = NEWCOMERS + BATCH;
    uint256 internal constant CLAIMED = LARGE_HOLDERS + LARGE_BATCH;

    uint256 internal operatorKey;
    uint256 internal holderKey;
    uint256 internal newcomerKey;

    function run() external {
        operatorKey = vm.deriveKey(MNEMONIC, 0);
        holderKey = vm.deriveKey(MNEMONIC, 1);
        newcomerKey = vm.deriveKey(MNEMONIC, 2);
        address operator = vm.addr(operatorKey);

        address[] memory accounts = new address[](SUBTREE);
        uint256[] memory amounts = new uint256[](SUBTREE);
        accounts[0] = vm.addr(holderKey);
        accounts[1] = vm.addr(newcomerKey);
        for (uint256 i = 2; i < SUBTREE; ++i) {
            accounts[i] = address(uint160(uint256(keccak256(abi.encode("subtree account", i)))));
        }
        uint256 total;
        for (uint256 i; i < SUBTREE; ++i) {
            amounts[i] = AMOUNT + i * 1e15;
            total += amounts[i];
        }
        bytes32[] memory leaves = MerkleBuilder.leaves(accounts, amounts);
        bytes32[] memory upper = new bytes32[](DEPTH - SUBTREE_DEPTH);
        for (uint256 i; i < upper.length; ++i) {
            upper[i] = keccak256(abi.encode("random sibling", i));
        }
        bytes32 root = MerkleBuilder.rootOfPath(MerkleBuilder.root(leaves), upper);

        vm.startBroadcast(operatorKey);
        SNMToken token = new SNMToken(operator, 1_000_000_000e18);
        RewardDistributor distributor = new RewardDistributor(IERC20(address(token)), operator, 0);
        token.approve(address(distributor), total + NEXT_ROUND_REWARD);
        distributor.fund(total);
        token.transfer(accounts[0], 1e18);
        for (uint256 i; i < BATCH; ++i) {
            token.transfer(accounts[HOLDERS + i], 1e18);
        }
        for (uint256 i; i < LARGE_BATCH; ++i) {
            token.transfer(accounts[LARGE_HOLDERS + i], 1e18);
        }
        distributor.proposeRoot(root, total, keccak256("proofs"), "ipfs://reward-gas");
        distributor.acceptRoot(root);
        vm.stopBroadcast();

        vm.broadcast(holderKey);
        distributor.claim(accounts[0], amounts[0], MerkleBuilder.subtreeProof(leaves, 0, upper));

        vm.broadcast(newcomerKey);
        distributor.claim(accounts[1], amounts[1], MerkleBuilder.subtreeProof(leaves, 1, upper));

        vm.broadcast(operatorKey);
        distributor.claimMany(_batch(HOLDERS, BATCH, accounts, amounts, leaves, upper));

        vm.broadcast(operatorKey);
        distributor.claimMany(_batch(NEWCOMERS, BATCH, accounts, amounts, leaves, upper));

        vm.broadcast(operatorKey);
        distributor.claimMany(_batch(LARGE_HOLDERS, LARGE_BATCH, accounts, amounts, leaves, upper));

        amounts[0] = _laterRoundClaim(distributor, accounts, amounts, upper, total);

        _multiproofClaim(token, "adjacent", BATCH, false);
        _multiproofClaim(token, "random", BATCH, true);
        _multiproofClaim(token, "adjacent, large", LARGE_BATCH, false);

        require(token.balanceOf(accounts[0]) == 1e18 + amounts[0], "holder not paid");
        require(token.balanceOf(accounts[1]) == amounts[1], "newcomer not paid");
        require(
            token.balanceOf(address(distributor)) == total + NEXT_ROUND_REWARD - _paid(amounts),
            "distributor balance"
        );
    }

    /// @dev Round 2: the holder earned more, so its cumulative amount grows; it claims the difference
    /// under the new root. Returns its new cumulative amount.
    function _laterRoundClaim(
        RewardDistributor distributor,
        address[] memory accounts,
        uint256[] memory amounts,
        bytes32[] memory upper,
        uint256 total
    ) internal returns (uint256 holderRound2) {
        uint256[] memory amounts2 = new uint256[](amounts.length);
        for (uint256 i; i < amounts.length; ++i) {
            amounts2[i] = amounts[i];
        }
        holderRound2 = amounts[0] + NEXT_ROUND_REWARD;
        amounts2[0] = holderRound2;
        bytes32[] memory leaves2 = MerkleBuilder.leaves(accounts, amounts2);
        bytes32 root2 = MerkleBuilder.rootOfPath(MerkleBuilder.root(leaves2), upper);
        vm.startBroadcast(operatorKey);
        distributor.fund(NEXT_ROUND_REWARD);
        distributor.proposeRoot(
            root2, total + NEXT_ROUND_REWARD, keccak256("proofs 2"), "ipfs://reward-gas/2"
        );
        distributor.acceptRoot(root2);
        vm.stopBroadcast();

        vm.broadcast(holderKey);
        distributor.claim(accounts[0], holderRound2, MerkleBuilder.subtreeProof(leaves2, 0, upper));
    }

    /// @dev A distributor whose root is of a sparse 2^20-leaf tree holding `count` holders' leaves
    /// at adjacent or random positions, then one `claimMultiproof` of those leaves.
    function _multiproofClaim(SNMToken token, string memory name, uint256 count, bool scattered) internal {
        address operator = vm.addr(operatorKey);
        uint256[] memory positions = new uint256[](count);
        IRewardDistributor.Leaf[] memory values = new IRewardDistributor.Leaf[](count);
        uint256 total;
        for (uint256 i; i < count; ++i) {
            positions[i] =
                scattered ? uint256(keccak256(abi.encode(name, "position", i))) % (1 << DEPTH) : 654_321 + i;
            values[i] = IRewardDistributor.Leaf({
                account: address(uint160(uint256(keccak256(abi.encode(name, "account", i))))),
                cumulativeAmount: AMOUNT + i * 1e15
            });
            total += values[i].cumulativeAmount;
        }
        (IRewardDistributor.Leaf[] memory leaves, bytes32[] memory proof, bool[] memory flags, bytes32 root) =
            _sparseMultiproof(positions, values);

        vm.startBroadcast(operatorKey);
        RewardDistributor distributor = new RewardDistributor(IERC20(address(token)), operator, 0);
        token.approve(address(distributor), total);
        distributor.fund(total);
        for (uint256 i; i < count; ++i) {
            token.transfer(values[i].account, 1e18);
        }
        distributor.proposeRoot(root, total, keccak256("proofs"), "ipfs://reward-gas");
        distributor.acceptRoot(root);
        distributor.claimMultiproof(leaves, proof, flags);
        vm.stopBroadcast();
        require(token.balanceOf(address(distributor)) == 0, "multiproof claim not paid");
    }

    /// @dev OpenZeppelin's multiproof in a perfect tree of 2^DEPTH leaves in its array layout (leaf
    /// `k` is node `2^DEPTH - 1 + k`), where the nodes off the given leaves' paths are random.
    function _sparseMultiproof(uint256[] memory positions, IRewardDistributor.Leaf[] memory values)
        internal
        pure
        returns (
            IRewardDistributor.Leaf[] memory leaves,
            bytes32[] memory proof,
            bool[] memory flags,
            bytes32 root
        )
    {
        uint256 n = positions.length;
        uint256[] memory nodes = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            nodes[i] = (1 << DEPTH) - 1 + positions[i];
        }
        uint256[] memory order;
        uint256[] memory siblings;
        (order, siblings, flags) = MerkleBuilder.multiProofIndices(nodes);
        leaves = new IRewardDistributor.Leaf[](n);
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 k; k < n; ++k) {
            uint256 i;
            while (nodes[i] != order[k]) ++i;
            leaves[k] = values[i];
            hashes[k] = MerkleBuilder.leaf(values[i].account, values[i].cumulativeAmount);
        }
        proof = new bytes32[](siblings.length);
        for (uint256 k; k < siblings.length; ++k) {
            proof[k] = keccak256(abi.encode("random node", siblings[k]));
        }
        root = MerkleProof.processMultiProof(proof, flags, hashes);
    }

    function _paid(uint256[] memory amounts) internal pure returns (uint256 paid) {
        for (uint256 i; i < CLAIMED; ++i) {
            paid += amounts[i];
        }
    }

    function _batch(
        uint256 first,
        uint256 count,
        address[] memory accounts,
        uint256[] memory amounts,
        bytes32[] memory leaves,
        bytes32[] memory upper
    ) internal pure returns (IRewardDistributor.Claim[] memory claims) {
        claims = new IRewardDistributor.Claim[](count);
        for (uint256 i; i < count; ++i) {
            claims[i] = IRewardDistributor.Claim({
                account: accounts[first + i],
                cumulativeAmount: amounts[first + i],
                proof: MerkleBuilder.subtreeProof(leaves, first + i, upper)
            });
        }
    }
}
