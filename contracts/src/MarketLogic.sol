// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Escrow} from "./Escrow.sol";
import {IMarket} from "./interfaces/IMarket.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {MoneyMath} from "./libraries/MoneyMath.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Storage and shared rules of the market
/// @notice The state of {Market} and the internal rules its entry points share, kept apart from them so that
/// {MarketSignedAsks}, the part of the market that runs by delegatecall from {Market}'s fallback, applies the
/// very same checks to the very same storage: both inherit this contract, so their storage layouts are one.
/// @dev Types, errors and events are {IMarket}'s, named with their interface because this contract does not
/// implement {IMarket} (the signed-ask part implements only its own interface).
abstract contract MarketLogic is Escrow {
    using SafeERC20 for IERC20;

    /// @dev A worker's confirmed master and the nonce of the asks signed for it, in one slot: a signed ask is
    /// checked against both with one read, and taking it moves the nonce on with a write to a slot that is
    /// already nonzero.
    struct WorkerLink {
        address master;
        uint96 askNonce;
    }

    IPriceOracle internal immutable _oracle;
    uint256 internal immutable _minRunway;

    /// @dev One record per id: an open order stores its hash in the record's first word; a deal is written
    /// over its bid's record (its first word, master and deposit, replaces the bid's hash).
    mapping(uint256 id => IMarket.Deal) internal _deals;
    /// @dev Written by {MarketSignedAsks} (the change of terms), which runs by delegatecall on this storage.
    // slither-disable-next-line uninitialized-state
    mapping(uint256 dealId => IMarket.Change) internal _changes;
    mapping(address worker => WorkerLink) internal _workers;
    mapping(address worker => address) internal _pendingMaster;
    /// @dev Blacklisting of a pair of accounts, both directions in one slot ({_blacklistBit}): opening a deal
    /// checks both with one cold read instead of two.
    mapping(bytes32 pair => uint256 bits) internal _blacklists;

    /// @param token_ The SNM token.
    /// @param oracle_ The SNM/USD oracle.
    /// @param minRunway_ Seconds a deposit must cover at opening (fixed terms shorter than that: the term).
    constructor(IERC20 token_, IPriceOracle oracle_, uint256 minRunway_) Escrow(token_) {
        if (address(oracle_) == address(0)) revert ZeroAddress();
        if (minRunway_ == 0) revert IMarket.InvalidRunway();
        _oracle = oracle_;
        _minRunway = minRunway_;
    }

    /// @dev {IMarket.closeDeal}: the rate by who closes, the close, then the blacklisting asked for.
    function _closeDeal(uint256 dealId, bool blacklist) internal {
        IMarket.Deal storage d = _activeDeal(dealId);
        bool isCustomer = msg.sender == d.customer;
        bool isSupplier = !isCustomer && _isSupplier(d, msg.sender);
        if (blacklist && !isCustomer && !isSupplier) revert IMarket.NotDealParty(dealId, msg.sender);

        uint256 rate;
        if (isCustomer) {
            // A customer can always close: the last stored rate, whatever its age (so its time is unused).
            // slither-disable-next-line unused-return
            (rate,) = _oracle.latestRate();
        } else {
            rate = _oracle.freshRate();
        }
        _close(dealId, d, isCustomer, isSupplier, rate, blacklist);
        if (blacklist) {
            address customer = d.customer;
            (address owner_, address target) = isCustomer ? (customer, d.master) : (d.master, customer);
            _setBlacklisted(owner_, target, true);
            emit IMarket.BlacklistSet(owner_, target, true);
        }
    }

    /// @dev The slot key of the pair and the bit of `owner_` blacklisting `target` in it: bit 1 when the owner
    /// is the lower address, 2 when it is the higher (or the same).
    function _blacklistBit(address owner_, address target) internal pure returns (bytes32 pair, uint256 bit) {
        (address low, address high, uint256 b) = owner_ < target ? (owner_, target, 1) : (target, owner_, 2);
        pair = keccak256(abi.encode(low, high));
        bit = b;
    }

    function _isBlacklisted(address owner_, address target) internal view returns (bool) {
        (bytes32 pair, uint256 bit) = _blacklistBit(owner_, target);
        return _blacklists[pair] & bit != 0;
    }

    function _setBlacklisted(address owner_, address target, bool blacklisted) internal {
        (bytes32 pair, uint256 bit) = _blacklistBit(owner_, target);
        uint256 bits = _blacklists[pair];
        _blacklists[pair] = blacklisted ? bits | bit : bits & ~bit;
    }

    function _nextOrderId() internal returns (uint256 id) {
        id = _config.nextOrderId;
        _config.nextOrderId = uint64(id + 1);
    }

    /// @dev The first word of the id's record: an open order's hash (or, for a deal, its master and deposit,
    /// which never equal a keccak256 output in practice).
    function _loadOrderHash(uint256 id) internal view returns (bytes32 hash) {
        IMarket.Deal storage record = _deals[id];
        assembly ("memory-safe") {
            hash := sload(record.slot)
        }
    }

    function _storeOrderHash(uint256 id, bytes32 hash) internal {
        IMarket.Deal storage record = _deals[id];
        assembly ("memory-safe") {
            sstore(record.slot, hash)
        }
    }

    /// @dev Checks an order against its stored hash and its expiry.
    function _checkOrder(uint256 orderId, bytes32 hash, uint256 expiry) internal view {
        if (_loadOrderHash(orderId) != hash) revert IMarket.OrderMismatch(orderId);
        if (expiry != 0 && block.timestamp > expiry) revert IMarket.OrderExpired(orderId, expiry);
    }

    /// @dev {_checkOrder}, then deletes the order.
    function _consumeOrder(uint256 orderId, bytes32 hash, uint256 expiry) internal {
        _checkOrder(orderId, hash, expiry);
        _storeOrderHash(orderId, 0);
    }

    /// @dev Every ask-versus-bid constraint of {openDeal} except those shared with {quickBuy}.
    function _checkTerms(IMarket.Ask calldata ask, IMarket.Bid calldata bid) internal pure {
        _checkResources(ask.resources, bid.minResources);
        if (ask.netFlags & bid.requiredFlags != bid.requiredFlags) {
            revert IMarket.FlagsMissing(bid.requiredFlags, ask.netFlags);
        }
        if (bid.region != 0 && bid.region != ask.region) {
            revert IMarket.RegionMismatch(bid.region, ask.region);
        }
        if (ask.pricePerSecond > bid.maxPricePerSecond) {
            revert IMarket.PriceTooHigh(ask.pricePerSecond, bid.maxPricePerSecond);
        }
        if (ask.counterparty != address(0) && ask.counterparty != bid.customer) {
            revert IMarket.CounterpartyMismatch();
        }
        if (bid.counterparty != address(0) && bid.counterparty != ask.master) {
            revert IMarket.CounterpartyMismatch();
        }
    }

    function _checkResources(IMarket.Resources calldata offered, IMarket.Resources calldata needed)
        internal
        pure
    {
        if (
            offered.cpuMilliCores < needed.cpuMilliCores || offered.ramBytes < needed.ramBytes
                || offered.storageBytes < needed.storageBytes || offered.gpuCount < needed.gpuCount
                || offered.gpuMemBytes < needed.gpuMemBytes || offered.netUpBps < needed.netUpBps
                || offered.netDownBps < needed.netDownBps
        ) revert IMarket.ResourcesTooLow();
    }

    function _quickBuy(
        uint256 askId,
        IMarket.Ask calldata ask,
        uint256 duration,
        uint256 deposit_,
        string calldata image,
        bytes32 configHash
    ) internal returns (uint256 dealId) {
        _consumeOrder(askId, keccak256(abi.encode(ask)), ask.expiry);
        if (ask.counterparty != address(0) && ask.counterparty != msg.sender) {
            revert IMarket.CounterpartyMismatch();
        }
        if (deposit_ == 0) revert ZeroAmount();
        dealId = _nextOrderId();
        uint256 endTime = _open(dealId, ask, msg.sender, duration, deposit_);
        _emitOpened(dealId, endTime, askId, ask, 0, msg.sender, deposit_, image, configHash);
        _token.safeTransferFrom(msg.sender, address(this), deposit_);
    }

    function _emitOpened(
        uint256 dealId,
        uint256 endTime,
        uint256 askId,
        IMarket.Ask calldata ask,
        uint256 bidId,
        address customer,
        uint256 deposit_,
        string calldata image,
        bytes32 configHash
    ) internal {
        IMarket.DealInfo memory info = IMarket.DealInfo({
            worker: ask.worker,
            askId: askId,
            bidId: bidId,
            pricePerSecond: ask.pricePerSecond,
            deposit: deposit_,
            startTime: block.timestamp,
            endTime: endTime,
            image: image,
            configHash: configHash
        });
        emit IMarket.DealOpened(dealId, customer, ask.master, info);
    }

    /// @dev Shared part of opening: pause, blacklists, worker link, duration, runway at a fresh rate; returns the
    /// end time (0 for spot) and stores the deal. The caller emits {DealOpened} and moves the deposit.
    function _open(
        uint256 dealId,
        IMarket.Ask calldata ask,
        address customer,
        uint256 duration,
        uint256 deposit_
    ) internal returns (uint256 endTime) {
        Config memory c = _config;
        if (c.paused) revert IMarket.MarketPaused();

        address master = ask.master;
        (bytes32 pair, uint256 customerBit) = _blacklistBit(customer, master);
        uint256 blacklisted = _blacklists[pair];
        if (blacklisted & customerBit != 0) revert IMarket.BlacklistedBy(customer, master);
        if (blacklisted != 0) revert IMarket.BlacklistedBy(master, customer);
        if (_workers[ask.worker].master != master) revert IMarket.WorkerNotConfirmed(ask.worker, master);

        uint256 runway = _minRunway;
        // endTime 0: spot
        if (duration == 0) {
            if (ask.maxDuration != 0) revert IMarket.DurationOutOfRange(0);
        } else {
            if (
                duration < ask.minDuration || (ask.maxDuration != 0 && duration > ask.maxDuration)
                    || block.timestamp + duration > type(uint40).max
            ) revert IMarket.DurationOutOfRange(duration);
            endTime = block.timestamp + duration;
            if (duration < runway) runway = duration;
        }
        {
            uint256 required = MoneyMath.snmNeededUp(ask.pricePerSecond, runway, _oracle.freshRate());
            if (deposit_ < required) revert IMarket.DepositBelowRunway(deposit_, required);
        }
        _storeDeal(dealId, ask, customer, deposit_, endTime, c.feeBps);
    }

    /// @dev Writes a newly opened deal's record whole, one SSTORE per word in {IMarket.Deal}'s layout (as the
    /// compiler packs it), instead of a read-modify-write per field: settled until now, active, no reason.
    function _storeDeal(
        uint256 dealId,
        IMarket.Ask calldata ask,
        address customer,
        uint256 deposit_,
        uint256 endTime,
        uint256 feeBps
    ) internal {
        uint256 word0 = uint256(uint160(ask.master)) | (uint256(_toUint96(deposit_)) << 160);
        uint256 word1 = uint256(uint160(customer)) | (uint256(uint40(block.timestamp)) << 160)
            | (uint256(uint40(endTime)) << 200) | (uint256(1) << 240);
        uint256 word2 = uint256(uint160(ask.worker)) | (uint256(uint80(ask.pricePerSecond)) << 160)
            | (uint256(uint16(feeBps)) << 240);
        IMarket.Deal storage d = _deals[dealId];
        assembly ("memory-safe") {
            let slot := d.slot
            sstore(slot, word0)
            sstore(add(slot, 1), word1)
            sstore(add(slot, 2), word2)
        }
    }

    function _activeDeal(uint256 dealId) internal view returns (IMarket.Deal storage d) {
        d = _deals[dealId];
        if (!d.active) revert IMarket.DealNotActive(dealId);
    }

    /// @dev The master, or the deal's worker while it is still a confirmed worker of that master: a removed
    /// worker keeps no power over its former master's deals.
    function _isSupplier(IMarket.Deal storage d, address account) internal view returns (bool) {
        address master = d.master;
        return account == master || (account == d.worker && _workers[account].master == master);
    }

    function _settleBound(uint256 endTime) internal view returns (uint256) {
        return endTime != 0 && endTime < block.timestamp ? endTime : block.timestamp;
    }

    function _checkChange(IMarket.Deal storage d, uint256 pricePerSecond, uint256 endTime) internal view {
        if (pricePerSecond == 0 || pricePerSecond > type(uint80).max) revert IMarket.InvalidChange();
        if (d.endTime == 0) {
            if (endTime != 0) revert IMarket.InvalidChange();
        } else if (endTime <= block.timestamp || endTime > type(uint40).max) {
            revert IMarket.InvalidChange();
        }
    }

    /// @dev Settles at `rate`, checks that the caller may close (on the deposit left after that settlement; a
    /// revert undoes it), returns the rest of the deposit to the customer's free balance and closes.
    function _close(
        uint256 dealId,
        IMarket.Deal storage d,
        bool isCustomer,
        bool isSupplier,
        uint256 rate,
        bool blacklist
    ) internal {
        (uint256 paid, uint256 feeAmount,,) = _settle(d, rate);
        // When the settlement used the deposit up, {_settle} closed the deal already and set the reason.
        IMarket.CloseReason reason =
            d.active ? _closeReason(d, dealId, isCustomer, isSupplier, rate) : d.reason;
        uint256 refund = d.deposit;
        d.deposit = 0;
        d.active = false;
        d.reason = reason;
        if (refund != 0) _creditBalance(d.customer, refund);
        emit IMarket.DealClosed(
            dealId, reason, msg.sender, paid, feeAmount, rate, d.settledUntil, refund, blacklist
        );
    }

    /// @dev Why `msg.sender` may close the deal now, or a revert: past the end time anyone (Expired); the
    /// customer (ByCustomer); the supplier on a spot deal (BySupplier); anyone when the deposit, once the
    /// unsettled seconds are paid, cannot pay one more second at `rate` (OutOfFunds).
    function _closeReason(
        IMarket.Deal storage d,
        uint256 dealId,
        bool isCustomer,
        bool isSupplier,
        uint256 rate
    ) internal view returns (IMarket.CloseReason) {
        uint256 end = d.endTime;
        if (end != 0 && block.timestamp >= end) return IMarket.CloseReason.Expired;
        if (isCustomer) return IMarket.CloseReason.ByCustomer;
        if (isSupplier && end == 0) return IMarket.CloseReason.BySupplier;
        if (MoneyMath.snmNeededUp(d.pricePerSecond, 1, rate) > d.deposit) {
            return IMarket.CloseReason.OutOfFunds;
        }
        revert IMarket.CloseNotAllowed(dealId, msg.sender);
    }

    /// @dev Pays the seconds since the last settlement (up to the end time) at `rate`, capped by the deposit;
    /// marks the deal closed when the deposit runs out: {CloseReason.Expired} when it paid a fixed term in
    /// full up to its end, {CloseReason.OutOfFunds} otherwise. Returns the amount taken from the deposit, the
    /// fee part of it, the new settled-until time (0 when there was nothing to settle)
    /// and whether the deposit ran out. Emits nothing; callers do.
    function _settle(IMarket.Deal storage d, uint256 rate)
        internal
        returns (uint256 amount, uint256 feeAmount, uint256 until, bool closed)
    {
        uint256 from = d.settledUntil;
        until = _settleBound(d.endTime);
        if (until <= from) return (0, 0, 0, false);
        amount = MoneyMath.snmOwedDown(d.pricePerSecond, until - from, rate);
        uint256 available = d.deposit;
        if (amount >= available) {
            closed = true;
            // Paid in full (`amount` is at least `available` here) up to the end of a fixed term.
            uint256 end = d.endTime;
            bool termPaid = amount <= available && end != 0 && end <= until;
            amount = available;
            d.active = false;
            d.reason = termPaid ? IMarket.CloseReason.Expired : IMarket.CloseReason.OutOfFunds;
        }
        d.deposit = uint96(available - amount);
        d.settledUntil = uint40(until);
        feeAmount = _pay(d.master, amount, d.feeBps);
    }
}
