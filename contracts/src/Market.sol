// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MarketLogic} from "./MarketLogic.sol";
import {MarketSignedAsks} from "./MarketSignedAsks.sol";
import {SignedAskLogic} from "./SignedAskLogic.sol";
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
/// Signed asks ({ISignedAsks}: taken without ever being placed on chain): this contract runs the hot path of
/// a signed deal itself ({quickBuySigned}, {closeDealAndWithdraw}); the rest of {ISignedAsks} and the cold
/// functions of {IMarket} (changes of terms, {quickBuyWithPermit}, {setBlacklist}) are served by
/// {MarketSignedAsks}, which this contract deploys in its constructor and runs by delegatecall, on this
/// contract's storage and balance: call them on the market's address ({ISignedAsks}'s ABI for the signed-ask
/// ones). The split keeps this contract under the 24,576-byte code limit, and the delegatecall (a cold
/// account, about 2,700 gas) off the path of every signed deal.
/// @dev Fee-on-transfer and rebasing tokens are not supported. Storage and the shared internal rules are in
/// {MarketLogic}.
contract Market is IMarket, SignedAskLogic {
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
        SignedAskLogic(address(this))
    {
        _config = Config({nextOrderId: 1, paused: false, feeBps: 0});
        _signedAsks = address(new MarketSignedAsks(token_, oracle_, minRunway_));
    }

    /// @notice Runs every function this contract does not have ({ISignedAsks}'s but the two of the hot path) in
    /// {MarketSignedAsks} by delegatecall, on this contract's storage; a selector that part does not know
    /// either reverts there.
    // slither-disable-next-line locked-ether
    fallback() external {
        _delegateToExtension();
    }

    /// @dev Runs the call's calldata in {MarketSignedAsks} by delegatecall and returns or reverts with what it
    /// returned. The target is an immutable this constructor deployed: nobody can point it elsewhere.
    function _delegateToExtension() private {
        address target = _signedAsks;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    // ---------------------------------------------------------------- signed asks (hot path)

    /// @notice {ISignedAsks.quickBuySigned}.
    // The extension's return data is this call's: halting with it is the forwarding, not a lost return.
    // slither-disable-next-line incorrect-return
    function quickBuySigned(
        Ask calldata ask,
        uint256 nonce,
        bytes calldata signature,
        uint256 duration,
        uint256 deposit_,
        string calldata image,
        bytes32 configHash
    ) external returns (uint256 dealId) {
        dealId = _quickBuySigned(ask, nonce, signature, duration, deposit_, image, configHash);
    }

    /// @dev ECDSA here; any other signature (an EIP-1271 wallet's) runs the whole call again in
    /// {MarketSignedAsks}, which checks it: nothing was written before the signature check.
    // The extension's return data is this call's: halting with it is the forwarding, not a lost return.
    // slither-disable-next-line incorrect-return
    function _isMasterSignature(address master, bytes32 digest, bytes calldata signature)
        internal
        override
        returns (bool ok)
    {
        ok = _isEcdsaSignature(master, digest, signature);
        if (!ok) _delegateToExtension();
    }

    /// @notice {ISignedAsks.closeDealAndWithdraw}.
    function closeDealAndWithdraw(uint256 dealId, address to) external {
        _closeDealAndWithdraw(dealId, to);
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
        uint256 endTime = _open(dealId, ask, bid.customer, bid.duration, bid.deposit);
        _emitOpened(dealId, endTime, askId, ask, bidId, bid.customer, bid.deposit, bid.image, bid.configHash);
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
    /// @dev Run by {MarketSignedAsks} (see {_delegateToExtension}).
    // The extension's return data is this call's: halting with it is the forwarding, not a lost return.
    // slither-disable-next-line incorrect-return
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
        // Named for the ABI (the SDK's bindings); read only by the extension.
        (askId, ask, duration, deposit_, image, configHash, permitDeadline, v, r, s, dealId);
        _delegateToExtension();
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
        IMarket.Deal storage d = _activeDeal(dealId);
        if (!_isSupplier(d, msg.sender)) revert IMarket.NotDealSupplier(dealId, msg.sender);
        if (servedUntil > block.timestamp) revert IMarket.ServedUntilInFuture(servedUntil, block.timestamp);
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
        d.reason = IMarket.CloseReason.Unserved;
        if (paid != 0) feeAmount = _pay(d.master, paid, d.feeBps);
        if (refund != 0) _creditBalance(d.customer, refund);
        emit IMarket.DealClosed(
            dealId, IMarket.CloseReason.Unserved, msg.sender, paid, feeAmount, rate, settled, refund, false
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
    /// @dev Run by {MarketSignedAsks} (see {_delegateToExtension}).
    function proposeChange(uint256 dealId, uint256 pricePerSecond, uint256 endTime) external override {
        (dealId, pricePerSecond, endTime);
        _delegateToExtension();
    }

    /// @inheritdoc IMarket
    /// @dev Run by {MarketSignedAsks} (see {_delegateToExtension}).
    function acceptChange(uint256 dealId, uint256 pricePerSecond, uint256 endTime) external override {
        (dealId, pricePerSecond, endTime);
        _delegateToExtension();
    }

    /// @inheritdoc IMarket
    /// @dev Run by {MarketSignedAsks} (see {_delegateToExtension}).
    function cancelChange(uint256 dealId) external override {
        dealId;
        _delegateToExtension();
    }

    /// @inheritdoc IMarket
    /// @dev Run by {MarketSignedAsks} (see {_delegateToExtension}).
    function setBlacklist(address target, bool blacklisted) external override {
        (target, blacklisted);
        _delegateToExtension();
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
        return _isBlacklisted(owner_, target);
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
