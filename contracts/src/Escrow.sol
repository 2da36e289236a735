// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEscrow} from "./interfaces/IEscrow.sol";
import {MoneyMath} from "./libraries/MoneyMath.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Escrow part of the market
/// @notice See {IEscrow}. The market inherits it, so one contract holds every SNM and no cross-contract call
/// is paid on the hot path. Fee-on-transfer and rebasing tokens are not supported.
/// @dev One slot per account: free balance, earnings and the worker count of a master (kept here so a
/// master's slot is already nonzero when its first earnings arrive).
abstract contract Escrow is IEscrow, Ownable2Step {
    using SafeERC20 for IERC20;

    struct Account {
        uint96 balance;
        uint96 earnings;
        uint64 workers;
    }

    /// @dev Read on every opening, so packed in one slot: order counter, pause flag, current fee.
    struct Config {
        uint64 nextOrderId;
        bool paused;
        uint16 feeBps;
    }

    /// @inheritdoc IEscrow
    uint256 public constant override MAX_FEE_BPS = 1_000;

    IERC20 internal immutable _token;

    mapping(address account => Account) internal _accounts;
    Config internal _config;
    address internal _treasury;
    uint256 internal _accruedFees;
    /// @dev While a close that pays its master out runs (`closeDealAndWithdraw`): that master, and what
    /// {_pay} owes it so far.
    address internal transient _payoutMaster;
    uint256 internal transient _payout;

    constructor(IERC20 token_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        _token = token_;
    }

    /// @inheritdoc IEscrow
    function deposit(address account, uint256 amount) external override {
        _deposit(account, amount);
    }

    /// @inheritdoc IEscrow
    function depositWithPermit(
        address account,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external override {
        _permit(amount, deadline, v, r, s);
        _deposit(account, amount);
    }

    /// @inheritdoc IEscrow
    function withdraw(uint256 amount, address to) external override {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        Account storage a = _accounts[msg.sender];
        uint256 available = a.balance;
        if (amount > available) revert InsufficientBalance(msg.sender, available, amount);
        a.balance = uint96(available - amount);
        emit Withdrawn(msg.sender, to, amount, available - amount);
        _token.safeTransfer(to, amount);
    }

    /// @inheritdoc IEscrow
    function withdrawEarnings(uint256 amount, address to) external override {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        Account storage a = _accounts[msg.sender];
        uint256 available = a.earnings;
        if (amount > available) revert InsufficientEarnings(msg.sender, available, amount);
        a.earnings = uint96(available - amount);
        emit EarningsWithdrawn(msg.sender, to, amount, available - amount);
        _token.safeTransfer(to, amount);
    }

    /// @inheritdoc IEscrow
    function withdrawFees() external override {
        uint256 amount = _accruedFees;
        // A plain zero check on an accumulator; no balance or timestamp is compared.
        // slither-disable-next-line incorrect-equality
        if (amount == 0) revert NoFees();
        address treasury = _treasury;
        if (treasury == address(0)) revert ZeroAddress();
        _accruedFees = 0;
        emit FeesWithdrawn(treasury, amount);
        _token.safeTransfer(treasury, amount);
    }

    /// @inheritdoc IEscrow
    function setFee(uint256 feeBps, address treasury) external override onlyOwner {
        if (feeBps > MAX_FEE_BPS) revert FeeTooHigh(feeBps, MAX_FEE_BPS);
        if (feeBps != 0 && treasury == address(0)) revert ZeroAddress();
        _config.feeBps = uint16(feeBps);
        _treasury = treasury;
        emit FeeSet(feeBps, treasury);
    }

    /// @inheritdoc IEscrow
    function token() external view override returns (address) {
        return address(_token);
    }

    /// @inheritdoc IEscrow
    function balanceOf(address account) external view override returns (uint256) {
        return _accounts[account].balance;
    }

    /// @inheritdoc IEscrow
    function earningsOf(address master) external view override returns (uint256) {
        return _accounts[master].earnings;
    }

    /// @inheritdoc IEscrow
    function accruedFees() external view override returns (uint256) {
        return _accruedFees;
    }

    /// @inheritdoc IEscrow
    function fee() external view override returns (uint256 feeBps, address treasury) {
        return (_config.feeBps, _treasury);
    }

    function _deposit(address account, uint256 amount) internal {
        if (amount == 0) revert ZeroAmount();
        if (account == address(0)) revert ZeroAddress();
        Account storage a = _accounts[account];
        uint256 balance = a.balance + amount;
        a.balance = _toUint96(balance);
        emit Deposited(account, msg.sender, amount, balance);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Calls permit and ignores a failure (front-run permits), as OpenZeppelin recommends; the
    /// following transferFrom fails anyway when the allowance is short.
    function _permit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) internal {
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {}
            catch {}
    }

    /// @dev Moves `amount` from the free balance of `account`; reverts when short.
    function _debitBalance(address account, uint256 amount) internal {
        Account storage a = _accounts[account];
        uint256 available = a.balance;
        if (amount > available) revert InsufficientBalance(account, available, amount);
        a.balance = uint96(available - amount);
    }

    /// @dev Adds `amount` to the free balance of `account`.
    function _creditBalance(address account, uint256 amount) internal {
        Account storage a = _accounts[account];
        a.balance = _toUint96(a.balance + amount);
    }

    /// @dev Pays `amount` to `master`: the fee at `feeBps` (rounded down) to accrued fees, the rest to earnings.
    function _pay(address master, uint256 amount, uint256 feeBps) internal returns (uint256 feeAmount) {
        if (feeBps != 0) {
            feeAmount = MoneyMath.feeDown(amount, feeBps);
            _accruedFees += feeAmount;
        }
        // A close that pays its master out at once keeps the master's share in transient storage: the
        // earnings slot is neither written nor cleared again in that transaction.
        if (master == _payoutMaster) {
            _payout += amount - feeAmount;
            return feeAmount;
        }
        Account storage a = _accounts[master];
        a.earnings = _toUint96(a.earnings + amount - feeAmount);
    }

    function _toUint96(uint256 amount) internal pure returns (uint96) {
        if (amount > type(uint96).max) revert AmountTooLarge(amount);
        return uint96(amount);
    }
}
