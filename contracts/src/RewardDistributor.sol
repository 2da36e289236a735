// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Reward distributor: cumulative Merkle claims of SNM
/// @notice See {IRewardDistributor}. The owner (two-step transfer) proposes, cancels and accepts
/// roots; it cannot move funds: tokens leave only through claims, to the accounts in the leaves.
/// @dev Gas: a claim reads one slot for the root and reads and writes one slot per account; the
/// leaf and the proof are hashed in scratch space (same result as OpenZeppelin's `MerkleProof`
/// with sorted pairs, without memory allocation). Failing proofs are diagnosed (stale root,
/// proposed root) only on the revert path, so a successful claim pays nothing for it.
contract RewardDistributor is IRewardDistributor, Ownable2Step {
    using SafeERC20 for IERC20;

    IERC20 private immutable _token;
    uint64 private immutable _delay;

    /// @inheritdoc IRewardDistributor
    mapping(address account => uint256) public claimed;
    /// @inheritdoc IRewardDistributor
    mapping(bytes32 root => uint64) public roundOf;
    /// @inheritdoc IRewardDistributor
    uint256 public totalFunded;

    Root private _current;
    Proposal private _pending;

    /// @param token_ The SNM token (fixed for the contract's life).
    /// @param owner_ The campaign operator.
    /// @param delay_ Seconds a proposed root stays visible before it can be accepted (0 only for
    /// tests and devnets).
    constructor(IERC20 token_, address owner_, uint64 delay_) Ownable(owner_) {
        if (address(token_) == address(0)) revert ZeroToken();
        _token = token_;
        _delay = delay_;
    }

    /// @inheritdoc IRewardDistributor
    function fund(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 funded = totalFunded + amount;
        totalFunded = funded;
        emit Funded(msg.sender, amount, funded);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IRewardDistributor
    function proposeRoot(bytes32 root, uint256 total, bytes32 contentHash, string calldata uri)
        external
        onlyOwner
    {
        if (root == bytes32(0)) revert ZeroRoot();
        bytes32 pending = _pending.root;
        if (pending != bytes32(0)) revert ProposalPending(pending);
        uint256 currentTotal = _current.total;
        if (total < currentTotal) revert TotalDecreased(total, currentTotal);
        uint64 round = _current.round + 1;
        uint64 acceptableAt = uint64(block.timestamp) + _delay;
        _pending = Proposal({
            root: root,
            total: total,
            contentHash: contentHash,
            round: round,
            acceptableAt: acceptableAt,
            uri: uri
        });
        emit RootProposed(round, root, total, contentHash, acceptableAt, uri);
    }

    /// @inheritdoc IRewardDistributor
    function cancelRoot(bytes32 root) external onlyOwner {
        bytes32 pending = _pending.root;
        if (pending == bytes32(0) || pending != root) revert NotProposed(root, pending);
        uint64 round = _pending.round;
        delete _pending;
        emit RootCancelled(round, root);
    }

    /// @inheritdoc IRewardDistributor
    function acceptRoot(bytes32 root) external onlyOwner {
        Proposal memory p = _pending;
        if (p.root == bytes32(0) || p.root != root) revert NotProposed(root, p.root);
        if (block.timestamp < p.acceptableAt) revert ProposalNotReady(root, p.acceptableAt);
        uint256 funded = totalFunded;
        if (p.total > funded) revert RootUnderfunded(root, p.total, funded);
        bytes32 previousRoot = _current.root;
        _current = Root({
            root: root,
            total: p.total,
            contentHash: p.contentHash,
            round: p.round,
            acceptedAt: uint64(block.timestamp),
            uri: p.uri
        });
        roundOf[root] = p.round;
        delete _pending;
        emit RootAccepted(p.round, root, previousRoot, p.total, p.contentHash, p.uri);
    }

    /// @inheritdoc IRewardDistributor
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        returns (uint256 amount)
    {
        _checkProof(account, cumulativeAmount, proof, _current.root);
        uint256 already = claimed[account];
        if (cumulativeAmount <= already) revert NothingToClaim(account, cumulativeAmount, already);
        amount = _pay(account, cumulativeAmount, already);
    }

    /// @inheritdoc IRewardDistributor
    function claimMany(Claim[] calldata claims) external returns (uint256 paid) {
        uint256 n = claims.length;
        if (n == 0) revert EmptyBatch();
        bytes32 root = _current.root;
        for (uint256 i; i < n; ++i) {
            Claim calldata c = claims[i];
            address account = c.account;
            uint256 cumulativeAmount = c.cumulativeAmount;
            _checkProof(account, cumulativeAmount, c.proof, root);
            uint256 already = claimed[account];
            if (cumulativeAmount > already) paid += _pay(account, cumulativeAmount, already);
        }
    }

    /// @inheritdoc IRewardDistributor
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IRewardDistributor
    function delay() external view returns (uint64) {
        return _delay;
    }

    /// @inheritdoc IRewardDistributor
    function merkleRoot() external view returns (bytes32) {
        return _current.root;
    }

    /// @inheritdoc IRewardDistributor
    function currentRoot() external view returns (Root memory) {
        return _current;
    }

    /// @inheritdoc IRewardDistributor
    function pendingRoot() external view returns (Proposal memory) {
        return _pending;
    }

    /// @dev Records the claim, then pays (checks-effects-interactions). `already < cumulativeAmount`.
    function _pay(address account, uint256 cumulativeAmount, uint256 already)
        private
        returns (uint256 amount)
    {
        unchecked {
            amount = cumulativeAmount - already;
        }
        claimed[account] = cumulativeAmount;
        emit Claimed(account, amount, cumulativeAmount);
        _token.safeTransfer(account, amount);
    }

    /// @dev Reverts unless the proof leads from the standard leaf of `(account, cumulativeAmount)`
    /// to `root`; on failure, says whether it leads to a replaced root or to the proposed one.
    function _checkProof(address account, uint256 cumulativeAmount, bytes32[] calldata proof, bytes32 root)
        private
        view
    {
        bytes32 computed = _processProof(account, cumulativeAmount, proof);
        // Hash equality is the proof check itself; `computed` is never zero (a keccak256 output).
        // slither-disable-next-line incorrect-equality
        if (computed == root) return;
        uint64 staleRound = roundOf[computed];
        if (staleRound != 0) revert StaleProof(account, cumulativeAmount, computed, staleRound, root);
        if (computed == _pending.root) {
            revert RootNotAccepted(account, cumulativeAmount, computed, _pending.acceptableAt);
        }
        revert InvalidProof(account, cumulativeAmount);
    }

    /// @dev The root reached from the leaf `keccak256(bytes.concat(keccak256(abi.encode(account,
    /// cumulativeAmount))))` through `proof`, hashing sorted pairs: what OpenZeppelin's
    /// `MerkleProof.processProofCalldata` returns, computed in scratch space (slots 0x00-0x3f).
    function _processProof(address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        private
        pure
        returns (bytes32 node)
    {
        assembly ("memory-safe") {
            mstore(0x00, and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(0x20, cumulativeAmount)
            mstore(0x00, keccak256(0x00, 0x40))
            node := keccak256(0x00, 0x20)
            let p := proof.offset
            let end := add(p, shl(5, proof.length))
            // The smaller of a pair goes first: the node is written at 0x20 when it is the greater.
            if and(proof.length, 1) {
                let sibling := calldataload(p)
                let slot := shl(5, gt(node, sibling))
                mstore(slot, node)
                mstore(xor(slot, 0x20), sibling)
                node := keccak256(0x00, 0x40)
                p := add(p, 0x20)
            }
            // Two levels per iteration (half the loop overhead).
            for {} lt(p, end) { p := add(p, 0x40) } {
                let sibling := calldataload(p)
                let slot := shl(5, gt(node, sibling))
                mstore(slot, node)
                mstore(xor(slot, 0x20), sibling)
                node := keccak256(0x00, 0x40)
                sibling := calldataload(add(p, 0x20))
                slot := shl(5, gt(node, sibling))
                mstore(slot, node)
                mstore(xor(slot, 0x20), sibling)
                node := keccak256(0x00, 0x40)
            }
        }
    }
}
