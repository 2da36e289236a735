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
/// the rules. Ids start at 1 and come from one counter shared by orders and quick-buy deals; a deal opened
/// from a bid takes the bid's id. An order's fields live in its placement event and only their hash is
/// stored, in the first word of the id's record, which the deal later overwrites.
/// @dev Fee-on-transfer and rebasing tokens are not supported.
contract Market is IMarket, Escrow {
    using SafeERC20 for IERC20;

    /// @inheritdoc IMarket
    uint256 public constant override MAX_ENDPOINT_LENGTH = 256;

    IPriceOracle internal immutable _oracle;
    /// @inheritdoc IMarket
    uint256 public immutable override minRunway;

    /// @dev One record per id: an open order stores its hash in the record's first word; a deal is written
    /// over its bid's record (its first word, master and deposit, replaces the bid's hash).
    mapping(uint256 id => Deal) internal _deals;
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
        _config = Config({nextOrderId: 1, paused: false, feeBps: 0});
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
            ask.pricePerSecond == 0 || ask.pricePerSecond > type(uint80).max
                || (ask.maxDuration != 0 && ask.minDuration > ask.maxDuration)
                || (ask.expiry != 0 && ask.expiry <= block.timestamp)
        ) revert InvalidOrder();
        askId = _nextOrderId();
        _storeOrderHash(askId, keccak256(abi.encode(ask)));
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
        _storeOrderHash(bidId, keccak256(abi.encode(bid)));
        emit BidPlaced(bidId, bid.customer, bid);
    }

    /// @inheritdoc IMarket
    function cancelAsk(uint256 askId, Ask calldata ask) external override {
        if (_loadOrderHash(askId) != keccak256(abi.encode(ask))) revert OrderMismatch(askId);
        if (msg.sender != ask.master && msg.sender != ask.worker) revert NotOrderOwner(askId, msg.sender);
        _storeOrderHash(askId, 0);
        emit OrderCancelled(askId, msg.sender);
    }

    /// @inheritdoc IMarket
    function cancelBid(uint256 bidId, Bid calldata bid) external override {
        if (_loadOrderHash(bidId) != keccak256(abi.encode(bid))) revert OrderMismatch(bidId);
        if (msg.sender != bid.customer) revert NotOrderOwner(bidId, msg.sender);
        _storeOrderHash(bidId, 0);
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
        _checkOrder(bidId, keccak256(abi.encode(bid)), bid.expiry);
        _checkTerms(ask, bid);
        _debitBalance(bid.customer, bid.deposit);
        // The deal takes the bid's id and is written over the bid's hash.
        dealId = bidId;
        _open(dealId, ask, bid.customer, bid.duration, bid.deposit);
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
        uint256 rate = _oracle.freshRate();
        (uint256 amount, uint256 feeAmount, uint256 until, bool closed) = _settle(d, rate);
        // `until` is 0 only when no second has passed since the last settlement: nothing to record.
        // slither-disable-next-line incorrect-equality
        if (until == 0) return;
        emit DealSettled(dealId, d.master, amount, feeAmount, rate, until, d.deposit);
        if (closed) emit DealClosed(dealId, d.reason, msg.sender, 0, 0, rate, until, 0, false);
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
        bool isCustomer = msg.sender == d.customer;
        bool isSupplier = !isCustomer && _isSupplier(d, msg.sender);
        if (blacklist && !isCustomer && !isSupplier) revert NotDealParty(dealId, msg.sender);

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
            _blacklist[owner_][target] = true;
            emit BlacklistSet(owner_, target, true);
        }
    }

    /// @inheritdoc IMarket
    function endDealUnserved(uint256 dealId, uint256 servedUntil) external override {
        Deal storage d = _activeDeal(dealId);
        if (!_isSupplier(d, msg.sender)) revert NotDealSupplier(dealId, msg.sender);
        if (servedUntil > block.timestamp) revert ServedUntilInFuture(servedUntil, block.timestamp);
        uint256 settled = d.settledUntil;
        uint256 until = _settleBound(d.endTime);
        if (servedUntil < until) until = servedUntil;
        uint256 available = d.deposit;
        uint256 paid = 0;
        uint256 feeAmount = 0;
        uint256 rate = 0;
        // Nothing served since the last settlement: no rate is read, so a stale oracle cannot keep the
        // customer's deposit locked in a deal nobody serves.
        if (until > settled) {
            rate = _oracle.freshRate();
            paid = MoneyMath.snmOwedDown(d.pricePerSecond, until - settled, rate);
            if (paid > available) paid = available;
            settled = until;
            d.settledUntil = uint40(until);
        }
        uint256 refund = available - paid;
        d.deposit = 0;
        d.active = false;
        d.reason = CloseReason.Unserved;
        if (paid != 0) feeAmount = _pay(d.master, paid, d.feeBps);
        if (refund != 0) _creditBalance(d.customer, refund);
        emit DealClosed(
            dealId, CloseReason.Unserved, msg.sender, paid, feeAmount, rate, settled, refund, false
        );
    }

    /// @inheritdoc IMarket
    function announceEndpoint(uint256 dealId, string calldata endpoint) external override {
        Deal storage d = _activeDeal(dealId);
        if (!_isSupplier(d, msg.sender)) revert NotDealParty(dealId, msg.sender);
        uint256 length = bytes(endpoint).length;
        if (length == 0 || length > MAX_ENDPOINT_LENGTH) revert InvalidEndpoint(length);
        emit EndpointAnnounced(dealId, d.worker, endpoint);
    }

    /// @inheritdoc IMarket
    function proposeChange(uint256 dealId, uint256 pricePerSecond, uint256 endTime) external override {
        Deal storage d = _activeDeal(dealId);
        if (msg.sender != d.customer && !_isSupplier(d, msg.sender)) revert NotDealParty(dealId, msg.sender);
        _checkChange(d, pricePerSecond, endTime);
        _changes[dealId] = Change(msg.sender, uint80(pricePerSecond), uint40(endTime));
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
        // A supplier's proposal stands only while its proposer still acts for the deal: a worker removed from
        // the master since it proposed no longer speaks for it.
        if (!proposedByCustomer && !_isSupplier(d, c.proposer)) revert NoPendingChange(dealId);
        bool allowed = proposedByCustomer ? _isSupplier(d, msg.sender) : msg.sender == d.customer;
        if (!allowed) revert NotDealParty(dealId, msg.sender);
        _checkChange(d, pricePerSecond, endTime);
        // Seconds before now are paid at the old price.
        uint256 rate = _oracle.freshRate();
        (uint256 amount, uint256 feeAmount, uint256 until, bool closed) = _settle(d, rate);
        if (closed) revert DealNotActive(dealId);
        if (until != 0) emit DealSettled(dealId, d.master, amount, feeAmount, rate, until, d.deposit);
        delete _changes[dealId];
        d.pricePerSecond = uint80(pricePerSecond);
        d.endTime = uint40(endTime);
        // The new terms run from now: after an ended fixed term, the seconds since its end are not paid.
        d.settledUntil = uint40(block.timestamp);
        emit ChangeAccepted(dealId, msg.sender, pricePerSecond, endTime);
    }

    /// @inheritdoc IMarket
    function cancelChange(uint256 dealId) external override {
        if (_changes[dealId].proposer != msg.sender || msg.sender == address(0)) {
            revert NoPendingChange(dealId);
        }
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
        _config.paused = paused_;
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
        // A record whose customer word is set is a deal, not an order.
        if (_deals[orderId].customer != address(0)) return 0;
        return _loadOrderHash(orderId);
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
        return _config.paused;
    }

    /// @inheritdoc IMarket
    function nextOrderId() external view override returns (uint256) {
        return _config.nextOrderId;
    }

    /// @inheritdoc IMarket
    function oracle() external view override returns (address) {
        return address(_oracle);
    }

    /// @inheritdoc IMarket
    function owed(uint256 dealId, uint256 snmPerUsd)
        external
        view
        override
        returns (uint256 amount, uint256 until)
    {
        Deal memory d = _deals[dealId];
        if (!d.active) return (0, d.settledUntil);
        until = _settleBound(d.endTime);
        if (until <= d.settledUntil) return (0, d.settledUntil);
        amount = MoneyMath.snmOwedDown(d.pricePerSecond, until - d.settledUntil, snmPerUsd);
        if (amount > d.deposit) amount = d.deposit;
    }

    // ---------------------------------------------------------------- internals

    function _nextOrderId() internal returns (uint256 id) {
        id = _config.nextOrderId;
        _config.nextOrderId = uint64(id + 1);
    }

    /// @dev The first word of the id's record: an open order's hash (or, for a deal, its master and deposit,
    /// which never equal a keccak256 output in practice).
    function _loadOrderHash(uint256 id) internal view returns (bytes32 hash) {
        Deal storage record = _deals[id];
        assembly ("memory-safe") {
            hash := sload(record.slot)
        }
    }

    function _storeOrderHash(uint256 id, bytes32 hash) internal {
        Deal storage record = _deals[id];
        assembly ("memory-safe") {
            sstore(record.slot, hash)
        }
    }

    /// @dev Checks an order against its stored hash and its expiry.
    function _checkOrder(uint256 orderId, bytes32 hash, uint256 expiry) internal view {
        if (_loadOrderHash(orderId) != hash) revert OrderMismatch(orderId);
        if (expiry != 0 && block.timestamp > expiry) revert OrderExpired(orderId, expiry);
    }

    /// @dev {_checkOrder}, then deletes the order.
    function _consumeOrder(uint256 orderId, bytes32 hash, uint256 expiry) internal {
        _checkOrder(orderId, hash, expiry);
        _storeOrderHash(orderId, 0);
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
        if (ask.counterparty != address(0) && ask.counterparty != bid.customer) {
            revert CounterpartyMismatch();
        }
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
        if (deposit_ == 0) revert ZeroAmount();
        dealId = _nextOrderId();
        _open(dealId, ask, msg.sender, duration, deposit_);
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
        DealInfo memory info = DealInfo({
            worker: ask.worker,
            askId: askId,
            bidId: bidId,
            pricePerSecond: ask.pricePerSecond,
            deposit: deposit_,
            startTime: block.timestamp,
            endTime: _deals[dealId].endTime,
            image: image,
            configHash: configHash
        });
        emit DealOpened(dealId, customer, ask.master, info);
    }

    /// @dev Shared part of opening: pause, blacklists, worker link, duration, runway at a fresh rate; stores
    /// the deal. The caller emits {DealOpened} and moves the deposit.
    function _open(uint256 dealId, Ask calldata ask, address customer, uint256 duration, uint256 deposit_)
        internal
    {
        Config memory c = _config;
        if (c.paused) revert MarketPaused();

        address master = ask.master;
        if (_blacklist[customer][master]) revert BlacklistedBy(customer, master);
        if (_blacklist[master][customer]) revert BlacklistedBy(master, customer);
        if (_masterOf[ask.worker] != master) revert WorkerNotConfirmed(ask.worker, master);

        uint256 runway = minRunway;
        uint256 endTime = 0; // spot
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
            pricePerSecond: uint80(ask.pricePerSecond),
            feeBps: c.feeBps
        });
    }

    function _activeDeal(uint256 dealId) internal view returns (Deal storage d) {
        d = _deals[dealId];
        if (!d.active) revert DealNotActive(dealId);
    }

    /// @dev The master, or the deal's worker while it is still a confirmed worker of that master: a removed
    /// worker keeps no power over its former master's deals.
    function _isSupplier(Deal storage d, address account) internal view returns (bool) {
        address master = d.master;
        return account == master || (account == d.worker && _masterOf[account] == master);
    }

    function _settleBound(uint256 endTime) internal view returns (uint256) {
        return endTime != 0 && endTime < block.timestamp ? endTime : block.timestamp;
    }

    function _checkChange(Deal storage d, uint256 pricePerSecond, uint256 endTime) internal view {
        if (pricePerSecond == 0 || pricePerSecond > type(uint80).max) revert InvalidChange();
        if (d.endTime == 0) {
            if (endTime != 0) revert InvalidChange();
        } else if (endTime <= block.timestamp || endTime > type(uint40).max) {
            revert InvalidChange();
        }
    }

    /// @dev Settles at `rate`, checks that the caller may close (on the deposit left after that settlement; a
    /// revert undoes it), returns the rest of the deposit to the customer's free balance and closes.
    function _close(
        uint256 dealId,
        Deal storage d,
        bool isCustomer,
        bool isSupplier,
        uint256 rate,
        bool blacklist
    ) internal {
        (uint256 paid, uint256 feeAmount,,) = _settle(d, rate);
        // When the settlement used the deposit up, {_settle} closed the deal already and set the reason.
        CloseReason reason = d.active ? _closeReason(d, dealId, isCustomer, isSupplier, rate) : d.reason;
        uint256 refund = d.deposit;
        d.deposit = 0;
        d.active = false;
        d.reason = reason;
        if (refund != 0) _creditBalance(d.customer, refund);
        emit DealClosed(dealId, reason, msg.sender, paid, feeAmount, rate, d.settledUntil, refund, blacklist);
    }

    /// @dev Why `msg.sender` may close the deal now, or a revert: past the end time anyone (Expired); the
    /// customer (ByCustomer); the supplier on a spot deal (BySupplier); anyone when the deposit, once the
    /// unsettled seconds are paid, cannot pay one more second at `rate` (OutOfFunds).
    function _closeReason(Deal storage d, uint256 dealId, bool isCustomer, bool isSupplier, uint256 rate)
        internal
        view
        returns (CloseReason)
    {
        uint256 end = d.endTime;
        if (end != 0 && block.timestamp >= end) return CloseReason.Expired;
        if (isCustomer) return CloseReason.ByCustomer;
        if (isSupplier && end == 0) return CloseReason.BySupplier;
        if (MoneyMath.snmNeededUp(d.pricePerSecond, 1, rate) > d.deposit) return CloseReason.OutOfFunds;
        revert CloseNotAllowed(dealId, msg.sender);
    }

    /// @dev Pays the seconds since the last settlement (up to the end time) at `rate`, capped by the deposit;
    /// marks the deal closed when the deposit runs out: {CloseReason.Expired} when it paid a fixed term in
    /// full up to its end, {CloseReason.OutOfFunds} otherwise. Returns the amount taken from the deposit, the
    /// fee part of it, the new settled-until time (0 when there was nothing to settle)
    /// and whether the deposit ran out. Emits nothing; callers do.
    function _settle(Deal storage d, uint256 rate)
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
            d.reason = termPaid ? CloseReason.Expired : CloseReason.OutOfFunds;
        }
        d.deposit = uint96(available - amount);
        d.settledUntil = uint40(until);
        feeAmount = _pay(d.master, amount, d.feeBps);
    }
}
