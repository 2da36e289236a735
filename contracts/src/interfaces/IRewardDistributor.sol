// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Reward distributor: cumulative Merkle claims of SNM
/// @notice Campaign rounds are published as one Merkle root each, cumulative over all rounds: a
/// leaf holds an account's total earned since the first round, and a claim pays the difference
/// between that total and what the account has already claimed. A leaf is OpenZeppelin's standard
/// leaf `keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))))` and inner nodes
/// hash sorted pairs, so any `StandardMerkleTree` (`standard-v1`) over `(address, uint256)` works.
/// @dev Life of a root: the owner proposes it with the round's cumulative total and where to fetch
/// the proofs (a URI and a content hash); it is visible for `delay()` seconds, during which the owner
/// may cancel it; then the owner accepts it, which succeeds only if the cumulative total does not
/// exceed what has been funded. Anyone may fund. Claims are valid only under the accepted root.
/// Fee-on-transfer and rebasing tokens are not supported.
interface IRewardDistributor {
    /// @notice An accepted root and its metadata.
    /// @param root The Merkle root claims are checked against (zero before the first round).
    /// @param total Sum of every leaf's cumulative amount: everything ever claimable under this root.
    /// @param contentHash Hash of the proofs file published at `uri`.
    /// @param round Number of the round, counted from 1 (0 before the first round).
    /// @param acceptedAt When the root was accepted (unix seconds).
    /// @param uri Where the proofs file can be fetched.
    struct Root {
        bytes32 root;
        uint256 total;
        bytes32 contentHash;
        uint64 round;
        uint64 acceptedAt;
        string uri;
    }

    /// @notice A proposed root waiting for its delay to pass.
    /// @param root The proposed Merkle root (zero when nothing is proposed).
    /// @param total Sum of every leaf's cumulative amount.
    /// @param contentHash Hash of the proofs file published at `uri`.
    /// @param round The round it will become when accepted.
    /// @param acceptableAt Earliest time it can be accepted (unix seconds).
    /// @param uri Where the proofs file can be fetched.
    struct Proposal {
        bytes32 root;
        uint256 total;
        bytes32 contentHash;
        uint64 round;
        uint64 acceptableAt;
        string uri;
    }

    /// @notice One entry of a batch claim.
    /// @param account Account paid.
    /// @param cumulativeAmount The account's cumulative amount in the accepted root's leaf.
    /// @param proof Sibling hashes from the leaf up to the root.
    struct Claim {
        address account;
        uint256 cumulativeAmount;
        bytes32[] proof;
    }

    /// @notice A leaf's values, as an entry of a multiproof claim.
    /// @param account Account paid.
    /// @param cumulativeAmount The account's cumulative amount in the accepted root's leaf.
    struct Leaf {
        address account;
        uint256 cumulativeAmount;
    }

    /// @notice The token address given at construction is zero.
    error ZeroToken();
    /// @notice A zero amount was given where a positive one is needed.
    error ZeroAmount();
    /// @notice A zero Merkle root was proposed.
    error ZeroRoot();
    /// @notice A claim batch is empty.
    error EmptyBatch();
    /// @notice A root is already proposed; cancel or accept it first.
    /// @param pendingRoot The root waiting for acceptance.
    error ProposalPending(bytes32 pendingRoot);
    /// @notice The root named does not match the pending proposal.
    /// @param root The root named by the caller.
    /// @param pendingRoot The root actually pending (zero when nothing is proposed).
    error NotProposed(bytes32 root, bytes32 pendingRoot);
    /// @notice The proposal's delay has not passed yet.
    /// @param root The pending root.
    /// @param acceptableAt Earliest time it can be accepted.
    error ProposalNotReady(bytes32 root, uint64 acceptableAt);
    /// @notice The proposal's cumulative total exceeds what has been funded.
    /// @param root The pending root.
    /// @param total Its cumulative total.
    /// @param funded Everything funded so far.
    error RootUnderfunded(bytes32 root, uint256 total, uint256 funded);
    /// @notice A cumulative total below the accepted root's was proposed (totals never decrease).
    /// @param total The proposed total.
    /// @param currentTotal The accepted root's total.
    error TotalDecreased(uint256 total, uint256 currentTotal);
    /// @notice The proof does not lead from `(account, cumulativeAmount)` to any root this contract
    /// has seen: wrong account, amount or proof.
    /// @param account The account claimed for.
    /// @param cumulativeAmount The cumulative amount claimed.
    error InvalidProof(address account, uint256 cumulativeAmount);
    /// @notice The proof is valid for an earlier root that has since been replaced: fetch the
    /// proofs of the current round and claim with those.
    /// @param account The account claimed for.
    /// @param cumulativeAmount The cumulative amount claimed.
    /// @param staleRoot The replaced root the proof leads to.
    /// @param staleRound The round of that root.
    /// @param currentRoot The root now accepted.
    error StaleProof(
        address account, uint256 cumulativeAmount, bytes32 staleRoot, uint64 staleRound, bytes32 currentRoot
    );
    /// @notice The proof leads to the proposed root, which has not been accepted yet.
    /// @param account The account claimed for.
    /// @param cumulativeAmount The cumulative amount claimed.
    /// @param pendingRoot The proposed root.
    /// @param acceptableAt Earliest time it can be accepted.
    error RootNotAccepted(
        address account, uint256 cumulativeAmount, bytes32 pendingRoot, uint64 acceptableAt
    );
    /// @notice The account has already claimed its cumulative amount (or more, under an older root).
    /// @param account The account claimed for.
    /// @param cumulativeAmount The cumulative amount claimed.
    /// @param alreadyClaimed What the account has claimed so far.
    error NothingToClaim(address account, uint256 cumulativeAmount, uint256 alreadyClaimed);

    /// @notice SNM was added to the distributor.
    /// @param funder Who paid.
    /// @param amount Amount added.
    /// @param totalFunded Everything funded so far, this amount included.
    event Funded(address indexed funder, uint256 amount, uint256 totalFunded);
    /// @notice A root was proposed.
    /// @param round The round it will become when accepted.
    /// @param root The proposed Merkle root.
    /// @param total Its cumulative total.
    /// @param contentHash Hash of the proofs file.
    /// @param acceptableAt Earliest time it can be accepted.
    /// @param uri Where the proofs file can be fetched.
    event RootProposed(
        uint64 indexed round,
        bytes32 indexed root,
        uint256 total,
        bytes32 contentHash,
        uint64 acceptableAt,
        string uri
    );
    /// @notice A proposed root was cancelled before acceptance.
    /// @param round The round it would have become.
    /// @param root The cancelled root.
    event RootCancelled(uint64 indexed round, bytes32 indexed root);
    /// @notice A proposed root was accepted: claims are now checked against it.
    /// @param round Its round.
    /// @param root The accepted root.
    /// @param previousRoot The root it replaces (zero for the first round).
    /// @param total Its cumulative total.
    /// @param contentHash Hash of the proofs file.
    /// @param uri Where the proofs file can be fetched.
    event RootAccepted(
        uint64 indexed round,
        bytes32 indexed root,
        bytes32 previousRoot,
        uint256 total,
        bytes32 contentHash,
        string uri
    );
    /// @notice An account was paid. The round is the one of the last `RootAccepted` before it.
    /// @param account The account paid (whoever sent the transaction).
    /// @param amount Amount paid now.
    /// @param cumulativeAmount The account's cumulative amount claimed so far, this payment included.
    event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount);

    /// @notice Adds `amount` SNM, pulled from the caller (who must have approved it). Anyone may fund.
    /// @param amount Amount to pull, in wei.
    function fund(uint256 amount) external;

    /// @notice Proposes the root of a new round. Only the owner.
    /// @param root The Merkle root, cumulative over all rounds.
    /// @param total Sum of every leaf's cumulative amount; not below the accepted root's total.
    /// @param contentHash Hash of the proofs file (for example keccak256 of its bytes).
    /// @param uri Where anyone can fetch the proofs file.
    function proposeRoot(bytes32 root, uint256 total, bytes32 contentHash, string calldata uri) external;

    /// @notice Cancels the pending proposal. Only the owner.
    /// @param root The pending root (guards against cancelling another proposal than intended).
    function cancelRoot(bytes32 root) external;

    /// @notice Accepts the pending proposal once its delay has passed and it is fully funded. Only
    /// the owner.
    /// @param root The pending root (guards against accepting another proposal than intended).
    function acceptRoot(bytes32 root) external;

    /// @notice Pays `account` its cumulative amount minus what it has already claimed. Anyone may
    /// send it; the tokens always go to `account`.
    /// @param account Account paid.
    /// @param cumulativeAmount The account's cumulative amount in the accepted root's leaf.
    /// @param proof Sibling hashes from the leaf up to the accepted root.
    /// @return amount Amount paid.
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        returns (uint256 amount);

    /// @notice Claims for many accounts in one transaction. An entry whose account has nothing left
    /// to claim (for example claimed by someone else meanwhile) is skipped, so a batch cannot be
    /// blocked by front-running one of its claims; any invalid proof reverts the whole batch.
    /// @param claims The entries.
    /// @return paid Total paid.
    function claimMany(Claim[] calldata claims) external returns (uint256 paid);

    /// @notice Claims for many accounts with one OpenZeppelin multiproof (the `proof`, `proofFlags`
    /// and leaf order of `StandardMerkleTree.getMultiProof` and `MerkleProof.multiProofVerify`):
    /// siblings shared by several leaves are sent and hashed once. It pays off when the leaves are
    /// close in the tree (for example a sweep of all leaves in tree order); for leaves scattered
    /// over a large tree, `claimMany` is cheaper (the flags cost more calldata than the few shared
    /// siblings save). Entries with nothing left to claim are skipped, as in `claimMany`. The
    /// multiproof is checked as a whole, so when it fails, the error (`InvalidProof`, `StaleProof`
    /// or `RootNotAccepted`) names the first entry; a multiproof whose lengths do not fit together
    /// reverts with OpenZeppelin's `MerkleProofInvalidMultiproof`.
    /// @param leaves The entries, in the multiproof's leaf order (reverse tree order).
    /// @param proof The multiproof's sibling hashes.
    /// @param proofFlags The multiproof's flags: true to hash two computed nodes, false to take the
    /// next sibling from `proof`.
    /// @return paid Total paid.
    function claimMultiproof(Leaf[] calldata leaves, bytes32[] calldata proof, bool[] calldata proofFlags)
        external
        returns (uint256 paid);

    /// @notice The SNM token distributed.
    function token() external view returns (address);

    /// @notice Seconds a proposed root stays visible before it can be accepted.
    function delay() external view returns (uint64);

    /// @notice Everything funded so far.
    function totalFunded() external view returns (uint256);

    /// @notice What `account` has claimed so far (cumulative).
    /// @param account The account.
    function claimed(address account) external view returns (uint256);

    /// @notice The accepted root claims are checked against (zero before the first round).
    function merkleRoot() external view returns (bytes32);

    /// @notice The accepted root and its metadata.
    function currentRoot() external view returns (Root memory);

    /// @notice The pending proposal (all zero when nothing is proposed).
    function pendingRoot() external view returns (Proposal memory);

    /// @notice The round in which `root` was accepted, or 0 if it never was.
    /// @param root A Merkle root.
    function roundOf(bytes32 root) external view returns (uint64);
}
