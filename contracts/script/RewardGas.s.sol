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
/// script, against a fresh anvil): a first claim by an account that already holds SNM, a first
/// claim by a new holder, two batch claims of 10 accounts (holders, new holders), and two multiproof
/// claims of 10 holders: at adjacent leaves (a sweep in tree order) and at random leaves.
/// @dev Tree shape: a 1,000,000-leaf tree has proofs of depth 20. The 32 leaves claimed here are a
/// real subtree (depth 5) whose root is hashed with 15 random siblings up to the published root, so
/// every proof has 20 siblings and the contract does the work it does in a real 1M-leaf tree; the
/// random siblings stand for the other 999,968 leaves. The delay is 0 so the root can be accepted
/// at once on anvil (the delay check costs the same either way and is not in a claim's path).
/// Multiproofs are measured on two more distributors whose roots are of a sparse 2^20-leaf tree: 10
/// real leaves at chosen positions, every node off their paths a random hash.
contract RewardGas is Script {
    string internal constant MNEMONIC = "test test test test test test test test test test test junk";
    uint256 internal constant DEPTH = 20;
    uint256 internal constant SUBTREE = 32; // 2^5 real leaves
    uint256 internal constant BATCH = 10;
    uint256 internal constant AMOUNT = 1234e18;

    function run() external {
        uint256 operatorKey = vm.deriveKey(MNEMONIC, 0);
        uint256 holderKey = vm.deriveKey(MNEMONIC, 1);
        uint256 newcomerKey = vm.deriveKey(MNEMONIC, 2);
        address operator = vm.addr(operatorKey);
        address holder = vm.addr(holderKey);
        address newcomer = vm.addr(newcomerKey);

        // Leaves: 0 = holder, 1 = newcomer, 2..11 = batch of holders, 12..21 = batch of new holders.
        address[] memory accounts = new address[](SUBTREE);
        uint256[] memory amounts = new uint256[](SUBTREE);
        accounts[0] = holder;
        accounts[1] = newcomer;
        for (uint256 i; i < BATCH; ++i) {
            accounts[2 + i] = address(uint160(uint256(keccak256(abi.encode("batch-holder", i)))));
            accounts[2 + BATCH + i] = address(uint160(uint256(keccak256(abi.encode("batch-new", i)))));
        }
        for (uint256 i = 2 + 2 * BATCH; i < SUBTREE; ++i) {
            accounts[i] = address(uint160(uint256(keccak256(abi.encode("other", i)))));
        }
        uint256 total;
        for (uint256 i; i < SUBTREE; ++i) {
            amounts[i] = AMOUNT + i * 1e15;
            total += amounts[i];
        }
        bytes32[] memory leaves = MerkleBuilder.leaves(accounts, amounts);
        bytes32[] memory upper = new bytes32[](DEPTH - 5);
        for (uint256 i; i < upper.length; ++i) {
            upper[i] = keccak256(abi.encode("random sibling", i));
        }
        bytes32 root = MerkleBuilder.rootOfPath(MerkleBuilder.root(leaves), upper);

        vm.startBroadcast(operatorKey);
        SNMToken token = new SNMToken(operator, 1_000_000_000e18);
        RewardDistributor distributor = new RewardDistributor(IERC20(address(token)), operator, 0);
        token.approve(address(distributor), total);
        distributor.fund(total);
        token.transfer(holder, 1e18);
        for (uint256 i; i < BATCH; ++i) {
            token.transfer(accounts[2 + i], 1e18);
        }
        distributor.proposeRoot(root, total, keccak256("proofs"), "ipfs://reward-gas");
        distributor.acceptRoot(root);
        vm.stopBroadcast();

        vm.broadcast(holderKey);
        distributor.claim(holder, amounts[0], _proof(leaves, 0, upper));

        vm.broadcast(newcomerKey);
        distributor.claim(newcomer, amounts[1], _proof(leaves, 1, upper));

        vm.broadcast(operatorKey);
        distributor.claimMany(_batch(2, accounts, amounts, leaves, upper));

        vm.broadcast(operatorKey);
        distributor.claimMany(_batch(2 + BATCH, accounts, amounts, leaves, upper));

        _multiproofClaim(operatorKey, token, "adjacent", false);
        _multiproofClaim(operatorKey, token, "random", true);

        require(token.balanceOf(holder) == 1e18 + amounts[0], "holder not paid");
        require(token.balanceOf(newcomer) == amounts[1], "newcomer not paid");
        require(token.balanceOf(address(distributor)) == total - _paid(amounts), "distributor balance");
    }

    /// @dev A distributor whose root is of a sparse 2^20-leaf tree holding `BATCH` holders' leaves
    /// at adjacent or random positions, then one `claimMultiproof` of those leaves.
    function _multiproofClaim(uint256 operatorKey, SNMToken token, string memory name, bool scattered)
        internal
    {
        address operator = vm.addr(operatorKey);
        uint256[] memory positions = new uint256[](BATCH);
        IRewardDistributor.Leaf[] memory values = new IRewardDistributor.Leaf[](BATCH);
        uint256 total;
        for (uint256 i; i < BATCH; ++i) {
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
        for (uint256 i; i < BATCH; ++i) {
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
        for (uint256 i; i < 2 + 2 * BATCH; ++i) {
            paid += amounts[i];
        }
    }

    function _batch(
        uint256 first,
        address[] memory accounts,
        uint256[] memory amounts,
        bytes32[] memory leaves,
        bytes32[] memory upper
    ) internal pure returns (IRewardDistributor.Claim[] memory claims) {
        claims = new IRewardDistributor.Claim[](BATCH);
        for (uint256 i; i < BATCH; ++i) {
            claims[i] = IRewardDistributor.Claim({
                account: accounts[first + i],
                cumulativeAmount: amounts[first + i],
                proof: _proof(leaves, first + i, upper)
            });
        }
    }

    /// @dev Leaf `index`'s path in the real subtree, then the random siblings above it.
    function _proof(bytes32[] memory leaves, uint256 index, bytes32[] memory upper)
        internal
        pure
        returns (bytes32[] memory proof)
    {
        bytes32[] memory lower = MerkleBuilder.proof(leaves, index);
        proof = new bytes32[](lower.length + upper.length);
        for (uint256 i; i < lower.length; ++i) {
            proof[i] = lower[i];
        }
        for (uint256 i; i < upper.length; ++i) {
            proof[lower.length + i] = upper[i];
        }
    }
}
