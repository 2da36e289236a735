// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MarketLogic} from "./MarketLogic.sol";
import {SignedAskLogic} from "./SignedAskLogic.sol";
import {IMarket} from "./interfaces/IMarket.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {ISignedAsks} from "./interfaces/ISignedAsks.sol";
import {MoneyMath} from "./libraries/MoneyMath.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Signed asks of the market
/// @notice See {ISignedAsks}. {Market} deploys this contract in its constructor and runs it by delegatecall
/// from its fallback: every function here works on the market's storage and token balance, through the rules
/// of {MarketLogic} that the market's own entry points use. Called at its own address it works on its own
/// storage, where no worker is ever confirmed and no deal opens: nothing of the market is reachable that way.
contract MarketSignedAsks is ISignedAsks, SignedAskLogic {
    /// @notice Deployed by {Market}'s constructor with the market's own token, oracle and runway (the
    /// immutables the shared rules read); the deployer is the market.
    constructor(IERC20 token_, IPriceOracle oracle_, uint256 minRunway_)
        Ownable(msg.sender)
        MarketLogic(token_, oracle_, minRunway_)
        SignedAskLogic(msg.sender)
    {}

    /// @inheritdoc ISignedAsks
    /// @dev {Market} runs it itself and comes here only for a signature that is not its master's ECDSA one
    /// (an EIP-1271 wallet's, or a bad one: refused here).
    function quickBuySigned(
        IMarket.Ask calldata ask,
        uint256 nonce,
        bytes calldata signature,
        uint256 duration,
        uint256 deposit_,
        string calldata image,
        bytes32 configHash
    ) external override returns (uint256 dealId) {
        dealId = _quickBuySigned(ask, nonce, signature, duration, deposit_, image, configHash);
    }

    /// @inheritdoc ISignedAsks
    function openDealSigned(
        IMarket.Ask calldata ask,
        uint256 nonce,
        bytes calldata signature,
        uint256 bidId,
        IMarket.Bid calldata bid
    ) external override returns (uint256 dealId) {
        _takeSignedAsk(ask, nonce, signature);
        _checkOrder(bidId, keccak256(abi.encode(bid)), bid.expiry);
        _checkTerms(ask, bid);
        _debitBalance(bid.customer, bid.deposit);
        // The deal takes the bid's id and is written over the bid's hash, as in {IMarket.openDeal}.
        dealId = bidId;
        uint256 endTime = _open(dealId, ask, bid.customer, bid.duration, bid.deposit);
        _emitOpened(dealId, endTime, 0, ask, bidId, bid.customer, bid.deposit, bid.image, bid.configHash);
    }

    /// @inheritdoc ISignedAsks
    function cancelSignedAsks(address worker) external override {
        WorkerLink storage link = _workers[worker];
        address master = link.master;
        if (master == address(0) || (msg.sender != master && msg.sender != worker)) {
            revert NotAskSigner(worker, msg.sender);
        }
        uint256 nonce = link.askNonce + 1;
        link.askNonce = uint96(nonce);
        emit SignedAsksCancelled(worker, msg.sender, nonce);
    }

    /// @inheritdoc ISignedAsks
    /// @dev {Market} runs it itself; this copy is only reached at this contract's own address.
    function closeDealAndWithdraw(uint256 dealId, address to) external override {
        _closeDealAndWithdraw(dealId, to);
    }

    /// @inheritdoc ISignedAsks
    function askNonce(address worker) external view override returns (uint256) {
        return _workers[worker].askNonce;
    }

    /// @inheritdoc ISignedAsks
    function hashSignedAsk(IMarket.Ask calldata ask, uint256 nonce) external view override returns (bytes32) {
        return _askDigest(ask, nonce);
    }

    /// @inheritdoc ISignedAsks
    function domainSeparator() external view override returns (bytes32) {
        return _domainSeparator();
    }

    // ---------------------------------------------------------------- cold functions of IMarket

    /// @notice {IMarket}'s function of this name, run here by {Market}'s stub of it.
    function proposeChange(uint256 dealId, uint256 pricePerSecond, uint256 endTime) external {
        IMarket.Deal storage d = _activeDeal(dealId);
        if (msg.sender != d.customer && !_isSupplier(d, msg.sender)) {
            revert IMarket.NotDealParty(dealId, msg.sender);
        }
        _checkChange(d, pricePerSecond, endTime);
        _changes[dealId] = IMarket.Change(msg.sender, uint80(pricePerSecond), uint40(endTime));
        emit IMarket.ChangeProposed(dealId, msg.sender, pricePerSecond, endTime);
    }

    /// @notice {IMarket}'s function of this name, run here by {Market}'s stub of it.
    function acceptChange(uint256 dealId, uint256 pricePerSecond, uint256 endTime) external {
        IMarket.Deal storage d = _activeDeal(dealId);
        IMarket.Change memory c = _changes[dealId];
        if (c.proposer == address(0) || c.pricePerSecond != pricePerSecond || c.endTime != endTime) {
            revert IMarket.NoPendingChange(dealId);
        }
        bool proposedByCustomer = c.proposer == d.customer;
        // A supplier's proposal stands only while its proposer still acts for the deal: a worker removed from
        // the master since it proposed no longer speaks for it.
        if (!proposedByCustomer && !_isSupplier(d, c.proposer)) revert IMarket.NoPendingChange(dealId);
        bool allowed = proposedByCustomer ? _isSupplier(d, msg.sender) : msg.sender == d.customer;
        if (!allowed) revert IMarket.NotDealParty(dealId, msg.sender);
        _checkChange(d, pricePerSecond, endTime);
        // Seconds before now are paid at the old price.
        uint256 rate = _oracle.freshRate();
        (uint256 amount, uint256 feeAmount, uint256 until, bool closed) = _settle(d, rate);
        if (closed) revert IMarket.DealNotActive(dealId);
        if (until != 0) {
            emit IMarket.DealSettled(dealId, d.master, amount, feeAmount, rate, until, d.deposit);
        }
        delete _changes[dealId];
        d.pricePerSecond = uint80(pricePerSecond);
        d.endTime = uint40(endTime);
        // The new terms run from now: after an ended fixed term, the seconds since its end are not paid.
        d.settledUntil = uint40(block.timestamp);
        emit IMarket.ChangeAccepted(dealId, msg.sender, pricePerSecond, endTime);
    }

    /// @notice {IMarket}'s function of this name, run here by {Market}'s stub of it.
    function cancelChange(uint256 dealId) external {
        if (_changes[dealId].proposer != msg.sender || msg.sender == address(0)) {
            revert IMarket.NoPendingChange(dealId);
        }
        delete _changes[dealId];
        emit IMarket.ChangeCancelled(dealId, msg.sender);
    }

    /// @notice {IMarket}'s function of this name, run here by {Market}'s stub of it.
    function quickBuyWithPermit(
        uint256 askId,
        IMarket.Ask calldata ask,
        uint256 duration,
        uint256 deposit_,
        string calldata image,
        bytes32 configHash,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 dealId) {
        _permit(deposit_, permitDeadline, v, r, s);
        dealId = _quickBuy(askId, ask, duration, deposit_, image, configHash);
    }

    /// @notice {IMarket}'s function of this name, run here by {Market}'s stub of it.
    function setBlacklist(address target, bool blacklisted) external {
        if (target == address(0)) revert ZeroAddress();
        _setBlacklisted(msg.sender, target, blacklisted);
        emit IMarket.BlacklistSet(msg.sender, target, blacklisted);
    }
}
