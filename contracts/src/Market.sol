// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MarketLogic} from "./MarketLogic.sol";
import {MarketSignedAsks} from "./MarketSignedAsks.sol";
import {IIdentity} from "./interfaces/IIdentity.sol";
import {IMarket} from "./interfaces/IMarket.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {MoneyMath} from "./libraries/MoneyMath.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Compute market
/// @notice Orders, deals, settlement, supplier identity and the escrow in one contract. See {IMarket} for
/// the rules. Ids start at 1 and come from one counter shared by orders and quick-buy deals; a deal opened
/// from a bid takes the bid's id. An order's fields live in its placement event and only their hash is
/// stored, in the first word of the id's record, which the deal later overwrites.
/// Signed asks ({ISignedAsks}: taken without ever being placed on chain) are served by {MarketSignedAsks},
/// which this contract deploys in its constructor and runs by delegatecall from its fallback, on this
/// contract's storage and balance: call those functions on the market's address with {ISignedAsks}'s ABI.
/// They live apart because this contract is close to the 24,576-byte code limit.
/// @dev Fee-on-transfer and rebasing tokens are not supported. Storage and the shared internal rules are in
/// {MarketLogic}.
contract Market is IMarket, MarketLogic {
    /// @inheritdoc IMarket
    uint256 public constant override MAX_ENDPOINT_LENGTH = 256;

    /// @dev The signed-ask part of the market, run by delegatecall from {fallback}.
    address internal immutable _signedAsks;

    /// @param owner_ Administrator (two-step ownership): pause, fee.
    /// @param token_ The SNM token.
    /// @param oracle_ The SNM/USD oracle.
    /// @param minRunway_ Seconds a deposit must cover at opening (fixed terms shorter than that: the term).
    constructor(address owner_, IERC20 token_, IPriceOracle oracle_, uint256 minRunway_)
        Ownable(owner_)
        MarketLogic(token_, oracle_, minRunway_)
    {
        _config = Config({nextOrderId: 1, paused: false, feeBps: 0});
        _signedAsks = address(new MarketSignedAsks(token_, oracle_, minRunway_));
    }

    /// @notice Runs every function this contract does not have ({ISignedAsks}'s) in {MarketSignedAsks} by
    /// delegatecall, on this contract's storage; a selector that part does not know either reverts there.
    /// @dev The target is an immutable this constructor deployed: nobody can point the delegatecall elsewhere.
    // slither-disable-next-line locked-ether
    fallback() external {
        address target = _signedAsks;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    // ---------------------------------------------------------------- identity

    /// @inheritdoc IIdentity
    function requestWorker(address master) external override {
        if (master == address(0)) revert ZeroMaster();
        address current = _workers[msg.sender].master;
        if (current != address(0)) revert AlreadyWorker(msg.sender, current);
        _pendingMaster[msg.sender] = master;
        emit WorkerRequested(msg.sender, master);
    }

    /// @inheritdoc IIdentity
    function confirmWorker(address worker) external override {
        if (_pendingMaster[worker] != msg.sender) revert NoWorkerRequest(worker, msg.sender);
        delete _pendingMaster[worker];
        _workers[worker].master = msg.sender;
        _accounts[msg.sender].workers += 1;
        emit WorkerConfirmed(worker, msg.sender);
    }

    /// @inheritdoc IIdentity
    function removeWorker(address worker, address master) external override {
        if (msg.sender != worker && msg.sender != master) revert NotWorkerOf(worker, master);
        WorkerLink storage link = _workers[worker];
        if (master != address(0) && link.master == master) {
            // The ask nonce moves on too: asks signed while the worker served this master stay dead even if
            // it comes back to it.
            link.master = address(0);
            link.askNonce += 1;
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
        return _workers[worker].master;
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
        if (_workers[ask.worker].master != ask.master || ask.master == address(0)) {
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
        _closeDeal(dealId, blacklist);
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
    function minRunway() external view override returns (uint256) {
        return _minRunway;
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
}
