// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

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
    // Written in assembly by `_pay` (`sstore` to the mapping's slot), which slither does not see.
    // slither-disable-next-line uninitialized-state
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
        bytes32 root = _current.root;
        bytes32 computed = _processProof(account, cumulativeAmount, proof);
        if (computed != root) _refuse(account, cumulativeAmount, computed, root);
        amount = _pay(account, cumulativeAmount, true);
    }

    /// @inheritdoc IRewardDistributor
    function claimMany(Claim[] calldata claims) external returns (uint256 paid) {
        uint256 n = claims.length;
        if (n == 0) revert EmptyBatch();
        bytes32 root = _current.root;
        for (uint256 i; i < n; ++i) {
            (address account, uint256 cumulativeAmount, bytes32[] calldata proof) = _entry(claims, i);
            bytes32 computed = _processProof(account, cumulativeAmount, proof);
            if (computed != root) _refuse(account, cumulativeAmount, computed, root);
            paid += _pay(account, cumulativeAmount, false);
        }
    }

    /// @inheritdoc IRewardDistributor
    function claimMultiproof(Leaf[] calldata leaves, bytes32[] calldata proof, bool[] calldata proofFlags)
        external
        returns (uint256 paid)
    {
        uint256 n = leaves.length;
        // Also rules out OpenZeppelin's empty multiproof, which "proves" `proof[0]` with no leaves.
        if (n == 0) revert EmptyBatch();
        // The leaves, then room for one hash per flag: the multiproof's queue.
        bytes32[] memory queue = new bytes32[](n + proofFlags.length);
        for (uint256 i; i < n; ++i) {
            (address account, uint256 cumulativeAmount) = _leafAt(leaves, i);
            queue[i] = _leaf(account, cumulativeAmount);
        }
        bytes32 computed = _processMultiproof(queue, n, proof, proofFlags);
        bytes32 root = _current.root;
        if (computed != root) _refuse(leaves[0].account, leaves[0].cumulativeAmount, computed, root);
        for (uint256 i; i < n; ++i) {
            (address account, uint256 cumulativeAmount) = _leafAt(leaves, i);
            paid += _pay(account, cumulativeAmount, false);
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

    /// @dev Pays `account` its `cumulativeAmount` minus what it has claimed: records the claim,
    /// emits `Claimed`, then transfers (checks-effects-interactions). When there is nothing to pay,
    /// reverts with `NothingToClaim` if `strict`, else returns 0. In assembly: the mapping slot is
    /// hashed once for the read and the write, the event is logged from scratch space, and the
    /// transfer is a bare call checked like OpenZeppelin's `SafeERC20.safeTransfer` (a revert is
    /// bubbled up; a `false` return, or no return from an address without code, is refused with
    /// `SafeERC20FailedOperation`).
    function _pay(address account, uint256 cumulativeAmount, bool strict) private returns (uint256 amount) {
        address token_ = address(_token);
        bytes32 claimedEvent = Claimed.selector;
        bytes4 nothingToClaim = NothingToClaim.selector;
        bytes4 transferFailed = SafeERC20.SafeERC20FailedOperation.selector;
        assembly ("memory-safe") {
            mstore(0x00, account)
            mstore(0x20, claimed.slot)
            let slot := keccak256(0x00, 0x40)
            let already := sload(slot)
            switch lt(already, cumulativeAmount)
            case 0 {
                if strict {
                    // NothingToClaim(account, cumulativeAmount, already); memory is not needed after.
                    mstore(0x00, nothingToClaim)
                    mstore(0x04, account)
                    mstore(0x24, cumulativeAmount)
                    mstore(0x44, already)
                    revert(0x00, 0x64)
                }
            }
            default {
                sstore(slot, cumulativeAmount)
                amount := sub(cumulativeAmount, already)
                mstore(0x00, amount)
                mstore(0x20, cumulativeAmount)
                log2(0x00, 0x40, claimedEvent, account)
                // transfer(account, amount): selector at 0x2c, arguments at 0x30 and 0x50. The word at
                // 0x34 overlaps the free memory pointer's upper (always zero) bytes; restored below.
                mstore(0x14, account)
                mstore(0x34, amount)
                mstore(0x00, 0xa9059cbb000000000000000000000000)
                let success := call(gas(), token_, 0, 0x10, 0x44, 0x00, 0x20)
                if iszero(and(eq(mload(0x00), 1), success)) {
                    if iszero(success) {
                        returndatacopy(0x00, 0x00, returndatasize())
                        revert(0x00, returndatasize())
                    }
                    if or(returndatasize(), iszero(extcodesize(token_))) {
                        mstore(0x00, transferFailed)
                        mstore(0x04, token_)
                        revert(0x00, 0x24)
                    }
                }
                mstore(0x34, 0)
            }
        }
    }

    /// @dev Reverts, saying why a proof leading to `computed` (not the accepted `root`) is refused:
    /// it leads to a replaced root, to the proposed one, or nowhere known.
    function _refuse(address account, uint256 cumulativeAmount, bytes32 computed, bytes32 root) private view {
        uint64 staleRound = roundOf[computed];
        if (staleRound != 0) revert StaleProof(account, cumulativeAmount, computed, staleRound, root);
        // Hash equality: does the proof lead to the proposed root (`computed` is never zero)?
        // slither-disable-next-line incorrect-equality
        if (computed == _pending.root) {
            revert RootNotAccepted(account, cumulativeAmount, computed, _pending.acceptableAt);
        }
        revert InvalidProof(account, cumulativeAmount);
    }

    /// @dev Entry `i` (< `claims.length`) of a batch, decoded by hand: Solidity's decoder of a
    /// struct array costs several hundred gas per entry. Checks as strict as the decoder's: the
    /// entry and its proof lie within the calldata, the account has no dirty upper bits, the proof
    /// length is below 2^32 (so its byte size cannot overflow); any failure reverts without data,
    /// as the decoder does.
    function _entry(Claim[] calldata claims, uint256 i)
        private
        pure
        returns (address account, uint256 cumulativeAmount, bytes32[] calldata proof)
    {
        assembly ("memory-safe") {
            let entry := add(claims.offset, calldataload(add(claims.offset, shl(5, i))))
            account := calldataload(entry)
            cumulativeAmount := calldataload(add(entry, 0x20))
            let at := add(entry, calldataload(add(entry, 0x40)))
            proof.length := calldataload(at)
            proof.offset := add(at, 0x20)
            if or(
                or(shr(160, account), shr(32, proof.length)),
                or(
                    gt(add(entry, 0x60), calldatasize()),
                    gt(add(proof.offset, shl(5, proof.length)), calldatasize())
                )
            ) { revert(0x00, 0x00) }
        }
    }

    /// @dev Entry `i` (< `leaves.length`, whose bounds the decoder checked) of a multiproof claim;
    /// an account with dirty upper bits reverts without data, as the decoder would.
    function _leafAt(Leaf[] calldata leaves, uint256 i)
        private
        pure
        returns (address account, uint256 cumulativeAmount)
    {
        assembly ("memory-safe") {
            let entry := add(leaves.offset, shl(6, i))
            account := calldataload(entry)
            cumulativeAmount := calldataload(add(entry, 0x20))
            if shr(160, account) { revert(0x00, 0x00) }
        }
    }

    /// @dev The root of an OpenZeppelin multiproof, as `MerkleProof.processMultiProofCalldata`
    /// computes it, in assembly (about a fifth of its gas). `queue` holds the `n` leaves followed by
    /// one zeroed word per flag; each step takes the next queued node and, by its flag, either the
    /// next queued node (1) or the next sibling of `proof` (0), and queues their sorted-pair hash; the
    /// last hash is the root. Checks: the lengths fit (`n + proof.length == flags + 1`) and every
    /// sibling is used exactly once (else `MerkleProofInvalidMultiproof`, as OpenZeppelin); a flag
    /// other than 0 or 1 reverts without data, as the decoder would. Then every leaf is hashed into
    /// the root. Like OpenZeppelin's, a step of a malformed multiproof may take a queued word not
    /// computed yet (zero): such a root matches no real tree.
    function _processMultiproof(
        bytes32[] memory queue,
        uint256 n,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) private pure returns (bytes32 root) {
        bool wellFormed;
        assembly ("memory-safe") {
            let p := proof.offset
            let proofEnd := add(p, shl(5, proof.length))
            let read := add(queue, 0x20)
            let write := add(read, shl(5, n))
            let f := proofFlags.offset
            for { let flagsEnd := add(f, shl(5, proofFlags.length)) } lt(f, flagsEnd) { f := add(f, 0x20) } {
                let flag := calldataload(f)
                if gt(flag, 1) { revert(0x00, 0x00) }
                let a := mload(read)
                // b: the next queued node if flagged, else the next sibling (branchless).
                let sibling := calldataload(p)
                let b := xor(sibling, mul(flag, xor(sibling, mload(add(read, 0x20)))))
                read := add(read, shl(5, add(flag, 1)))
                p := add(p, shl(5, iszero(flag)))
                let slot := shl(5, gt(a, b))
                mstore(slot, a)
                mstore(xor(slot, 0x20), b)
                mstore(write, keccak256(0x00, 0x40))
                write := add(write, 0x20)
            }
            wellFormed := and(eq(add(n, proof.length), add(proofFlags.length, 1)), eq(p, proofEnd))
            root := mload(sub(write, 0x20))
        }
        if (!wellFormed) revert MerkleProof.MerkleProofInvalidMultiproof();
    }

    /// @dev OpenZeppelin's standard leaf: `keccak256(bytes.concat(keccak256(abi.encode(account,
    /// cumulativeAmount))))`, hashed in scratch space.
    function _leaf(address account, uint256 cumulativeAmount) private pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            mstore(0x00, and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(0x20, cumulativeAmount)
            mstore(0x00, keccak256(0x00, 0x40))
            leaf := keccak256(0x00, 0x20)
        }
    }

    /// @dev The root reached from the leaf `keccak256(bytes.concat(keccak256(abi.encode(account,
    /// cumulativeAmount))))` through `proof`, hashing sorted pairs: what OpenZeppelin's
    /// `MerkleProof.processProofCalldata` returns, computed in scratch space (slots 0x00-0x3f).
    function _processProof(address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        private
        pure
        returns (bytes32 node)
    {
        node = _leaf(account, cumulativeAmount);
        assembly ("memory-safe") {
            let p := proof.offset
            let end := add(p, shl(5, proof.length))
            // The smaller of a pair goes first: the node is written at 0x20 when it is the greater.
            // The first `length % 4` levels one by one, then four per iteration (less loop overhead).
            for { let first := add(p, shl(5, and(proof.length, 3))) } lt(p, first) { p := add(p, 0x20) } {
                let sibling := calldataload(p)
                let slot := shl(5, gt(node, sibling))
                mstore(slot, node)
                mstore(xor(slot, 0x20), sibling)
                node := keccak256(0x00, 0x40)
            }
            for {} lt(p, end) { p := add(p, 0x80) } {
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
                sibling := calldataload(add(p, 0x40))
                slot := shl(5, gt(node, sibling))
                mstore(slot, node)
                mstore(xor(slot, 0x20), sibling)
                node := keccak256(0x00, 0x40)
                sibling := calldataload(add(p, 0x60))
                slot := shl(5, gt(node, sibling))
                mstore(slot, node)
                mstore(xor(slot, 0x20), sibling)
                node := keccak256(0x00, 0x40)
            }
        }
    }
}
