// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Escrow} from "./Escrow.sol";
import {IIdentity} from "./interfaces/IIdentity.sol";
import {IMarket} from "./interfaces/IMarket.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {MoneyMath} from "./libraries/MoneyMath.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Compute market
/// @notice Orders, deals, settlement, supplier identity and the escrow in one contract. See {IMarket} for
/// the rules. Order ids and deal ids start at 1 and come from two counters; an order's fields live in its
/// placement event and only their hash is stored.
/// @dev Fee-on-transfer and rebasing tokens are not supported.
contract Market is IMarket, Escrow {
    using SafeERC20 for IERC20;

    struct Counters {
        uint64 nextOrderId;
        uint64 nextDealId;
        bool paused;
    }

    IPriceOracle internal immutable _oracle;
    /// @inheritdoc IMarket
    uint256 public immutable override minRunway;

    Counters internal _counters;
    mapping(uint256 orderId => bytes32) internal _orders;
    mapping(uint256 dealId => Deal) internal _deals;
    mapping(uint256 dealId => Change) internal _changes;
    mapping(address worker => address) internal _masterOf;
    mapping(address worker => address) internal _pendingMaster;
    mapping(address owner => mapping(address target => bool)) internal _blacklist;

    /// @param owner_ Administrator (two-step ownership): pause, fee.
    /// @param token_ The SNM token.
    /// @param oracle_ The SNM/USD oracle.
    /// @param minRunway_ Seconds a deposit must cover at opening (fixed terms shorter than that: the term).
    constructor(address owner_, IERC20 token_, IPriceOracle oracle_, uint256 minRunway_)
        Ownable(owner_)
        Escrow(token_)
    {
        if (address(oracle_) == address(0)) revert ZeroAddress();
        if (minRunway_ == 0) revert InvalidRunway();
        _oracle = oracle_;
        minRunway = minRunway_;
        _counters = Counters({nextOrderId: 1, nextDealId: 1, paused: false});
    }

    // ---------------------------------------------------------------- identity

    /// @inheritdoc IIdentity
    function requestWorker(address master) external override {
        if (master == address(0)) revert ZeroMaster();
        address current = _masterOf[msg.sender];
        if (current != address(0)) revert AlreadyWorker(msg.sender, current);
        _pendingMaster[msg.sender] = master;
        emit WorkerRequested(msg.sender, master);
    }

    /// @inheritdoc IIdentity
    function confirmWorker(address worker) external override {
        if (_pendingMaster[worker] != msg.sender) revert NoWorkerRequest(worker, msg.sender);
        delete _pendingMaster[worker];
        _masterOf[worker] = msg.sender;
        _accounts[msg.sender].workers += 1;
        emit WorkerConfirmed(worker, msg.sender);
    }

    /// @inheritdoc IIdentity
    function removeWorker(address worker, address master) external override {
        if (msg.sender != worker && msg.sender != master) revert NotWorkerOf(worker, master);
        if (master != address(0) && _masterOf[worker] == master) {
            delete _masterOf[worker];
            _accounts[master].workers -= 1;
            emit WorkerRemoved(worker, master, msg.sender, true);
        } else if (master != address(0) && _pendingMaster[worker] == master) {
            delete _pendingMaster[worker];
            emit WorkerRemoved(worker, master, msg.sender, false);
        } else {
            revert NotWorkerOf(worker, master);
        }
    }

    /// @inheritdoc IIdentity
    function masterOf(address worker) external view override returns (address) {
        return _masterOf[worker];
    }

    /// @inheritdoc IIdentity
    function pendingMasterOf(address worker) external view override returns (address) {
        return _pendingMaster[worker];
    }

    /// @inheritdoc IIdentity
    function workerCount(address master) external view override returns (uint256) {
        return _accounts[master].workers;
    }

    // ---------------------------------------------------------------- orders

    /// @inheritdoc IMarket
    function placeAsk(Ask calldata ask) external override returns (uint256 askId) {
        if (msg.sender != ask.master && msg.sender != ask.worker) revert NotOrderOwner(0, msg.sender);
        if (_masterOf[ask.worker] != ask.master || ask.master == address(0)) {
            revert WorkerNotConfirmed(ask.worker, ask.master);
        }
        if (
            ask.pricePerSecond == 0 || ask.pricePerSecond > type(uint88).max
                || (ask.maxDuration != 0 && ask.minDuration > ask.maxDuration)
                || (ask.expiry != 0 && ask.expiry <= block.timestamp)
        ) revert InvalidOrder();
        askId = _nextOrderId();
        _orders[askId] = keccak256(abi.encode(ask));
        emit AskPlaced(askId, ask.master, ask.worker, ask);
    }

    /// @inheritdoc IMarket
    function placeBid(Bid calldata bid) external override returns (uint256 bidId) {
        if (msg.sender != bid.customer) revert NotOrderOwner(0, msg.sender);
        if (
            bid.maxPricePerSecond == 0 || bid.deposit == 0 || bid.deposit > type(uint96).max
                || (bid.expiry != 0 && bid.expiry <= block.timestamp)
        ) revert InvalidOrder();
        bidId = _nextOrderId();
        _orders[bidId] = keccak256(abi.encode(bid));
        emit BidPlaced(bidId, bid.customer, bid);
    }

    /// @inheritdoc IMarket
    function cancelAsk(uint256 askId, Ask calldata ask) external override {
        if (_orders[askId] != keccak256(abi.encode(ask))) revert OrderMismatch(askId);
        if (msg.sender != ask.master && msg.sender != ask.worker) revert NotOrderOwner(askId, msg.sender);
        delete _orders[askId];
        emit OrderCancelled(askId, msg.sender);
    }

    /// @inheritdoc IMarket
    function cancelBid(uint256 bidId, Bid calldata bid) external override {
        if (_orders[bidId] != keccak256(abi.encode(bid))) revert OrderMismatch(bidId);
        if (msg.sender != bid.customer) revert NotOrderOwner(bidId, msg.sender);
        delete _orders[bidId];
        emit OrderCancelled(bidId, msg.sender);
    }

    // ---------------------------------------------------------------- opening deals

    /// @inheritdoc IMarket
    function openDeal(uint256 askId, Ask calldata ask, uint256 bidId, Bid calldata bid)
        external
        override
        returns (uint256 dealId)
    {
        _consumeOrder(askId, keccak256(abi.encode(ask)), ask.expiry);
        _consumeOrder(bidId, keccak256(abi.encode(bid)), bid.expiry);
        _checkTerms(ask, bid);
        _debitBalance(bid.customer, bid.deposit);
        dealId = _open(ask, bid.customer, bid.duration, bid.deposit);
        _emitOpened(dealId, askId, ask, bidId, bid.customer, bid.deposit, bid.image, bid.configHash);
    }

    /// @inheritdoc IMarket
    function quickBuy(
        uint256 askId,
        Ask calldata ask,
        uint256 duration,
        uint256 deposit_,
        string calldata image,
        bytes32 configHash
    ) external override returns (uint256 dealId) {
        dealId = _quickBuy(askId, ask, duration, deposit_, image, configHash);
    }

    /// @inheritdoc IMarket
    function quickBuyWithPermit(
        uint256 askId,
        Ask calldata ask,
        uint256 duration,
        uint256 deposit_,
        string calldata image,
        bytes32 configHash,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external override returns (uint256 dealId) {
        _permit(deposit_, permitDeadline, v, r, s);
        dealId = _quickBuy(askId, ask, duration, deposit_, image, configHash);
    }

    // ---------------------------------------------------------------- running deals

    /// @inheritdoc IMarket
    function settle(uint256 dealId) external override {
        Deal storage d = _activeDeal(dealId);
        _settle(dealId, d, _oracle.freshRate());
    }

    /// @inheritdoc IMarket
    function topUp(uint256 dealId, uint256 amount) external override {
        if (amount == 0) revert ZeroAmount();
        Deal storage d = _activeDeal(dealId);
        _debitBalance(msg.sender, amount);
        uint256 newDeposit = d.deposit + amount;
        d.deposit = _toUint96(newDeposit);
        emit DealToppedUp(dealId, msg.sender, amount, newDeposit);
    }

    /// @inheritdoc IMarket
    function closeDeal(uint256 dealId, bool blacklist) external override {
        Deal storage d = _activeDeal(dealId);
        address customer = d.customer;
        bool isCustomer = msg.sender == customer;
        bool isSupplier = !isCustomer && (msg.sender == d.master || msg.sender == d.worker);
        if (blacklist && !isCustomer && !isSupplier) revert NotDealParty(dealId, msg.sender);

        uint256 rate;
        if (isCustomer) {
            // A customer can always close: the last stored rate, whatever its age.
            (rate,) = _oracle.latestRate();
        } else {
            rate = _oracle.freshRate();
        }
        uint256 end = d.endTime;
        bool ended = end != 0 && block.timestamp >= end;

        if (!_settle(dealId, d, rate)) {
            CloseReason reason;
            if (ended) {
                reason = CloseReason.Expired;
            } else if (isCustomer) {
                reason = CloseReason.ByCustomer;
            } else if (isSupplier && end == 0) {
                reason = CloseReason.BySupplier;
            } else if (!isSupplier && MoneyMath.snmNeededUp(d.pricePerSecond, 1, rate) > d.deposit) {
                reason = CloseReason.OutOfFunds;
            } else {
                revert CloseNotAllowed(dealId, msg.sender);
            }
            uint256 refund = d.deposit;
            d.deposit = 0;
            d.active = false;
            d.reason = reason;
            if (refund != 0) _creditBalance(customer, refund);
            emit DealClosed(dealId, reason, msg.sender, refund, blacklist);
        }
        delete _changes[dealId];
        if (blacklist) {
            (address owner_, address target) = isCustomer ? (customer, d.master) : (d.master, customer);
            _blacklist[owner_][target] = true;
            emit BlacklistSet(owner_, target, true);
        }
    }

    /// @inheritdoc IMarket
    function proposeChange(uint256 dealId, uint256 pricePerSecond, uint256 endTime) external override {
        Deal storage d = _activeDeal(dealId);
        if (msg.sender != d.customer && !_isSupplier(d, msg.sender)) revert NotDealParty(dealId, msg.sender);
        _checkChange(d, pricePerSecond, endTime);
        _changes[dealId] = Change(msg.sender, uint88(pricePerSecond), uint40(endTime));
        emit ChangeProposed(dealId, msg.sender, pricePerSecond, endTime);
    }

    /// @inheritdoc IMarket
    function acceptChange(uint256 dealId, uint256 pricePerSecond, uint256 endTime) external override {
        Deal storage d = _activeDeal(dealId);
        Change memory c = _changes[dealId];
        if (c.proposer == address(0) || c.pricePerSecond != pricePerSecond || c.endTime != endTime) {
            revert NoPendingChange(dealId);
        }
        bool proposedByCustomer = c.proposer == d.customer;
        bool allowed = proposedByCustomer ? _isSupplier(d, msg.sender) : msg.sender == d.customer;
        if (!allowed) revert NotDealParty(dealId, msg.sender);
        _checkChange(d, pricePerSecond, endTime);
        // Seconds before now are paid at the old price.
        if (_settle(dealId, d, _oracle.freshRate())) revert DealNotActive(dealId);
        delete _changes[dealId];
        d.pricePerSecond = uint88(pricePerSecond);
        d.endTime = uint40(endTime);
        emit ChangeAccepted(dealId, msg.sender, pricePerSecond, endTime);
    }

    /// @inheritdoc IMarket
    function cancelChange(uint256 dealId) external override {
        if (_changes[dealId].proposer != msg.sender || msg.sender == address(0)) revert NoPendingChange(dealId);
        delete _changes[dealId];
        emit ChangeCancelled(dealId, msg.sender);
    }

    /// @inheritdoc IMarket
    function setBlacklist(address target, bool blacklisted) external override {
        if (target == address(0)) revert ZeroAddress();
        _blacklist[msg.sender][target] = blacklisted;
        emit BlacklistSet(msg.sender, target, blacklisted);
    }

    /// @inheritdoc IMarket
    function setPaused(bool paused_) external override onlyOwner {
        _counters.paused = paused_;
        emit PausedSet(paused_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IMarket
    function getDeal(uint256 dealId) external view override returns (Deal memory) {
        return _deals[dealId];
    }

    /// @inheritdoc IMarket
    function pendingChange(uint256 dealId) external view override returns (Change memory) {
        return _changes[dealId];
    }

    /// @inheritdoc IMarket
    function orderHash(uint256 orderId) external view override returns (bytes32) {
        return _orders[orderId];
    }

    /// @inheritdoc IMarket
    function hashAsk(Ask calldata ask) external pure override returns (bytes32) {
        return keccak256(abi.encode(ask));
    }

    /// @inheritdoc IMarket
    function hashBid(Bid calldata bid) external pure override returns (bytes32) {
        return keccak256(abi.encode(bid));
    }

    /// @inheritdoc IMarket
    function isBlacklisted(address owner_, address target) external view override returns (bool) {
        return _blacklist[owner_][target];
    }

    /// @inheritdoc IMarket
    function paused() external view override returns (bool) {
        return _counters.paused;
    }

    /// @inheritdoc IMarket
    function nextIds() external view override returns (uint256 nextOrderId, uint256 nextDealId) {
        Counters memory c = _counters;
        return (c.nextOrderId, c.nextDealId);
    }

    /// @inheritdoc IMarket
    function oracle() external view override returns (address) {
        return address(_oracle);
    }

    /// @inheritdoc IMarket
    function owed(uint256 dealId, uint256 snmPerUsd) external view override returns (uint256 amount, uint256 until) {
        Deal memory d = _deals[dealId];
        if (!d.active) return (0, d.settledUntil);
        until = _settleBound(d.endTime);
        if (until <= d.settledUntil) return (0, d.settledUntil);
        amount = MoneyMath.snmOwedDown(d.pricePerSecond, until - d.settledUntil, snmPerUsd);
        if (amount > d.deposit) amount = d.deposit;
    }

    // ---------------------------------------------------------------- internals

    function _nextOrderId() internal returns (uint256 id) {
        id = _counters.nextOrderId;
        _counters.nextOrderId = uint64(id + 1);
    }

    /// @dev Checks an order against its stored hash and expiry, then deletes it.
    function _consumeOrder(uint256 orderId, bytes32 hash, uint256 expiry) internal {
        if (_orders[orderId] != hash) revert OrderMismatch(orderId);
        if (expiry != 0 && block.timestamp > expiry) revert OrderExpired(orderId, expiry);
        delete _orders[orderId];
    }

    /// @dev Every ask-versus-bid constraint of {openDeal} except those shared with {quickBuy}.
    function _checkTerms(Ask calldata ask, Bid calldata bid) internal pure {
        _checkResources(ask.resources, bid.minResources);
        if (ask.netFlags & bid.requiredFlags != bid.requiredFlags) {
            revert FlagsMissing(bid.requiredFlags, ask.netFlags);
        }
        if (bid.region != 0 && bid.region != ask.region) revert RegionMismatch(bid.region, ask.region);
        if (ask.pricePerSecond > bid.maxPricePerSecond) {
            revert PriceTooHigh(ask.pricePerSecond, bid.maxPricePerSecond);
        }
        if (ask.counterparty != address(0) && ask.counterparty != bid.customer) revert CounterpartyMismatch();
        if (bid.counterparty != address(0) && bid.counterparty != ask.master) revert CounterpartyMismatch();
    }

    function _checkResources(Resources calldata offered, Resources calldata needed) internal pure {
        if (
            offered.cpuMilliCores < needed.cpuMilliCores || offered.ramBytes < needed.ramBytes
                || offered.storageBytes < needed.storageBytes || offered.gpuCount < needed.gpuCount
                || offered.gpuMemBytes < needed.gpuMemBytes || offered.netUpBps < needed.netUpBps
                || offered.netDownBps < needed.netDownBps
        ) revert ResourcesTooLow();
    }

    function _quickBuy(
        uint256 askId,
        Ask calldata ask,
        uint256 duration,
        uint256 deposit_,
        string calldata image,
        bytes32 configHash
    ) internal returns (uint256 dealId) {
        _consumeOrder(askId, keccak256(abi.encode(ask)), ask.expiry);
        if (ask.counterparty != address(0) && ask.counterparty != msg.sender) revert CounterpartyMismatch();
        dealId = _open(ask, msg.sender, duration, deposit_);
        _emitOpened(dealId, askId, ask, 0, msg.sender, deposit_, image, configHash);
        _token.safeTransferFrom(msg.sender, address(this), deposit_);
    }

    function _emitOpened(
        uint256 dealId,
        uint256 askId,
        Ask calldata ask,
        uint256 bidId,
        address customer,
        uint256 deposit_,
        string calldata image,
        bytes32 configHash
    ) internal {
        DealInfo memory info;
        info.worker = ask.worker;
        info.askId = askId;
        info.bidId = bidId;
        info.pricePerSecond = ask.pricePerSecond;
        info.deposit = deposit_;
        info.startTime = block.timestamp;
        info.endTime = _deals[dealId].endTime;
        info.image = image;
        info.configHash = configHash;
        emit DealOpened(dealId, customer, ask.master, info);
    }

    /// @dev Shared part of opening: pause, blacklists, worker link, duration, runway at a fresh rate; stores
    /// the deal. The caller emits {DealOpened} and moves the deposit.
    function _open(Ask calldata ask, address customer, uint256 duration, uint256 deposit_)
        internal
        returns (uint256 dealId)
    {
        Counters memory c = _counters;
        if (c.paused) revert MarketPaused();
        dealId = c.nextDealId;
        _counters.nextDealId = uint64(dealId + 1);

        address master = ask.master;
        if (_blacklist[customer][master]) revert BlacklistedBy(customer, master);
        if (_blacklist[master][customer]) revert BlacklistedBy(master, customer);
        if (_masterOf[ask.worker] != master) revert WorkerNotConfirmed(ask.worker, master);

        uint256 runway = minRunway;
        uint256 endTime;
        if (duration == 0) {
            if (ask.maxDuration != 0) revert DurationOutOfRange(0);
        } else {
            if (
                duration < ask.minDuration || (ask.maxDuration != 0 && duration > ask.maxDuration)
                    || block.timestamp + duration > type(uint40).max
            ) revert DurationOutOfRange(duration);
            endTime = block.timestamp + duration;
            if (duration < runway) runway = duration;
        }
        uint256 required = MoneyMath.snmNeededUp(ask.pricePerSecond, runway, _oracle.freshRate());
        if (deposit_ < required) revert DepositBelowRunway(deposit_, required);

        _deals[dealId] = Deal({
            master: master,
            deposit: _toUint96(deposit_),
            customer: customer,
            settledUntil: uint40(block.timestamp),
            endTime: uint40(endTime),
            active: true,
            reason: CloseReason.None,
            worker: ask.worker,
            pricePerSecond: uint88(ask.pricePerSecond)
        });
    }

    function _activeDeal(uint256 dealId) internal view returns (Deal storage d) {
        d = _deals[dealId];
        if (!d.active) revert DealNotActive(dealId);
    }

    function _isSupplier(Deal storage d, address account) internal view returns (bool) {
        return account == d.master || account == d.worker;
    }

    function _settleBound(uint256 endTime) internal view returns (uint256) {
        return endTime != 0 && endTime < block.timestamp ? endTime : block.timestamp;
    }

    function _checkChange(Deal storage d, uint256 pricePerSecond, uint256 endTime) internal view {
        if (pricePerSecond == 0 || pricePerSecond > type(uint88).max) revert InvalidChange();
        if (d.endTime == 0) {
            if (endTime != 0) revert InvalidChange();
        } else if (endTime <= block.timestamp || endTime > type(uint40).max) {
            revert InvalidChange();
        }
    }

    /// @dev Pays the seconds since the last settlement (up to the end time) at `rate`, capped by the
    /// deposit; closes the deal with {CloseReason.OutOfFunds} when the deposit runs out. Returns whether it
    /// closed the deal.
    function _settle(uint256 dealId, Deal storage d, uint256 rate) internal returns (bool closed) {
        uint256 from = d.settledUntil;
        uint256 until = _settleBound(d.endTime);
        if (until <= from) return false;
        uint256 amount = MoneyMath.snmOwedDown(d.pricePerSecond, until - from, rate);
        uint256 available = d.deposit;
        if (amount >= available) {
            amount = available;
            closed = true;
        }
        address master = d.master;
        d.deposit = uint96(available - amount);
        d.settledUntil = uint40(until);
        if (closed) {
            d.active = false;
            d.reason = CloseReason.OutOfFunds;
        }
        uint256 feeAmount = _pay(master, amount);
        emit DealSettled(dealId, master, amount, feeAmount, rate, until, available - amount);
        if (closed) emit DealClosed(dealId, CloseReason.OutOfFunds, msg.sender, 0, false);
    }
}
