// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "./IMarket.sol";

/// @title Signed asks: offers taken without ever being placed on chain
/// @notice A master signs an ask off chain (the fields of {IMarket.Ask} plus a nonce) with EIP-712, or, when the
/// master is a contract wallet (a Safe, say), lets the wallet validate it through EIP-1271. Anyone holding the
/// ask and its signature can take it with {quickBuySigned}, or match it with a placed bid through
/// {openDealSigned}: the same checks and events as {IMarket.quickBuy} and {IMarket.openDeal}, plus the
/// signature and the nonce. Placing, re-pricing and withdrawing a signed ask cost no gas.
///
/// Replay protection: each worker has one ask nonce, stored beside its master link. An ask is valid only
/// while its nonce is the worker's current one; opening a deal from a signed ask moves the nonce on (a worker
/// serves one deal at a time, so every other ask signed for it dies with that deal's opening), and so do
/// {cancelSignedAsks} and the worker's removal from its master.
///
/// EIP-712 domain: name "SNM Market", version "1", the chain id and the market's address. Typed data:
/// `Ask(address master,address worker,Resources resources,uint64 netFlags,uint32 region,uint256 pricePerSecond,
/// uint64 minDuration,uint64 maxDuration,uint64 expiry,address counterparty,uint256 nonce)` with
/// `Resources(uint64 cpuMilliCores,uint64 ramBytes,uint64 storageBytes,uint64 gpuCount,uint64 gpuMemBytes,
/// uint64 netUpBps,uint64 netDownBps)`.
/// These functions are called on the market's address (its fallback runs them, on its storage).
interface ISignedAsks {
    /// @notice The signature is not the ask master's (wrong signer, malformed, malleable `s`, or refused by
    /// the master's EIP-1271 wallet).
    error InvalidAskSignature(address master);
    /// @notice The ask's nonce is not the worker's current one (the ask was taken, cancelled, or its worker
    /// left its master since it was signed).
    error StaleAskNonce(address worker, uint256 nonce, uint256 current);
    /// @notice The caller may not cancel the signed asks of this worker (only its master or the worker while
    /// confirmed).
    error NotAskSigner(address worker, address caller);

    /// @notice Every ask signed for `worker` with a nonce below `nonce` is void; `by` is the master or the
    /// worker who cancelled them.
    event SignedAsksCancelled(address indexed worker, address indexed by, uint256 nonce);

    /// @notice {IMarket.quickBuy} of a signed ask: checks the ask as {IMarket.placeAsk} would and as
    /// {IMarket.quickBuy} does, its signature by `ask.master` and its nonce, then opens a deal for `duration`
    /// seconds (0 = spot) paid by `deposit` SNM taken from the caller's free balance in the escrow (where a
    /// closed deal's refund already is), and moves the worker's nonce on. {IMarket.DealOpened} has askId 0.
    /// @param ask The ask as signed.
    /// @param nonce The worker's nonce the ask was signed with.
    /// @param signature 65-byte ECDSA signature of the EIP-712 digest ({hashSignedAsk}) by `ask.master`, or
    /// what the master's EIP-1271 wallet accepts.
    /// @return dealId A fresh id from the order counter.
    function quickBuySigned(
        IMarket.Ask calldata ask,
        uint256 nonce,
        bytes calldata signature,
        uint256 duration,
        uint256 deposit,
        string calldata image,
        bytes32 configHash
    ) external returns (uint256 dealId);

    /// @notice {IMarket.openDeal} of a signed ask and a placed bid; anyone may call it. Checks the ask as
    /// {quickBuySigned} does, the bid and the terms as {IMarket.openDeal} does; consumes the bid and moves the
    /// worker's nonce on. The deal takes the bid's id; {IMarket.DealOpened} has askId 0.
    function openDealSigned(
        IMarket.Ask calldata ask,
        uint256 nonce,
        bytes calldata signature,
        uint256 bidId,
        IMarket.Bid calldata bid
    ) external returns (uint256 dealId);

    /// @notice Voids every ask signed for `worker` so far by moving its nonce on. By the worker's master, or
    /// by the worker while it is a confirmed worker of that master.
    function cancelSignedAsks(address worker) external;

    /// @notice {IMarket.closeDeal} without blacklisting, then every earning of the caller (a master's,
    /// this deal's payment included) sent to `to`: one transaction where a supplier would otherwise need two.
    /// Who may close is unchanged; the caller withdraws only its own earnings (none: nothing is sent). The
    /// closed deal's storage is cleared ({IMarket.getDeal} returns zeros afterwards; its {IMarket.DealClosed}
    /// event is the record), which refunds gas.
    function closeDealAndWithdraw(uint256 dealId, address to) external;

    /// @notice The nonce the next signed ask of `worker` must carry.
    function askNonce(address worker) external view returns (uint256);

    /// @notice The EIP-712 digest a master signs for `ask` with `nonce`.
    function hashSignedAsk(IMarket.Ask calldata ask, uint256 nonce) external view returns (bytes32);

    /// @notice The EIP-712 domain separator of the market on this chain.
    function domainSeparator() external view returns (bytes32);
}
