// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Market} from "../../src/Market.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IMarket} from "../../src/interfaces/IMarket.sol";
import {IPriceOracle} from "../../src/interfaces/IPriceOracle.sol";
import {MarketBase} from "./MarketBase.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice The escrow part of the market: free balances, earnings, fees; and the market's constructor.
contract EscrowTest is MarketBase {
    // ------------------------------------------------------------ constructor

    function test_Constructor() public view {
        assertEq(market.owner(), owner);
        assertEq(market.token(), address(token));
        assertEq(market.oracle(), address(oracle));
        assertEq(market.minRunway(), RUNWAY);
        assertEq(market.nextOrderId(), 1);
        assertFalse(market.paused());
        assertEq(market.MAX_FEE_BPS(), 1000);
        (uint256 feeBps, address feeTreasury) = market.fee();
        assertEq(feeBps, 0);
        assertEq(feeTreasury, address(0));
    }

    function test_RevertWhen_ConstructorZeroToken() public {
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        new Market(owner, IERC20(address(0)), IPriceOracle(address(oracle)), RUNWAY);
    }

    function test_RevertWhen_ConstructorZeroOracle() public {
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        new Market(owner, IERC20(address(token)), IPriceOracle(address(0)), RUNWAY);
    }

    function test_RevertWhen_ConstructorZeroRunway() public {
        vm.expectRevert(IMarket.InvalidRunway.selector);
        new Market(owner, IERC20(address(token)), IPriceOracle(address(oracle)), 0);
    }

    function test_RevertWhen_ConstructorZeroOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new Market(address(0), IERC20(address(token)), IPriceOracle(address(oracle)), RUNWAY);
    }

    function test_TransferOwnershipTwoStep() public {
        vm.prank(owner);
        market.transferOwnership(stranger);
        assertEq(market.owner(), owner);
        vm.prank(stranger);
        market.acceptOwnership();
        assertEq(market.owner(), stranger);
    }

    // ------------------------------------------------------------ deposit

    function test_Deposit() public {
        vm.expectEmit(address(market));
        emit IEscrow.Deposited(customer, customer, 10e18, 10e18);
        _deposit(customer, 10e18);

        vm.expectEmit(address(market));
        emit IEscrow.Deposited(customer, customer, 5e18, 15e18);
        _deposit(customer, 5e18);

        assertEq(market.balanceOf(customer), 15e18);
        assertEq(token.balanceOf(address(market)), 15e18);
        assertEq(token.balanceOf(customer), FUNDS - 15e18);
    }

    function test_Deposit_ForAnotherAccount() public {
        vm.expectEmit(address(market));
        emit IEscrow.Deposited(customer, stranger, 3e18, 3e18);
        vm.prank(stranger);
        market.deposit(customer, 3e18);

        assertEq(market.balanceOf(customer), 3e18);
        assertEq(market.balanceOf(stranger), 0);
        assertEq(token.balanceOf(stranger), FUNDS - 3e18);
    }

    function test_RevertWhen_DepositZeroAmount() public {
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        _deposit(customer, 0);
    }

    function test_RevertWhen_DepositToZeroAddress() public {
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        vm.prank(customer);
        market.deposit(address(0), 1);
    }

    function test_RevertWhen_DepositAboveUint96() public {
        uint256 amount = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IEscrow.AmountTooLarge.selector, amount));
        _deposit(customer, amount);
    }

    function test_RevertWhen_DepositBalanceWouldPassUint96() public {
        _deposit(customer, 1);
        uint256 amount = type(uint96).max;
        vm.expectRevert(abi.encodeWithSelector(IEscrow.AmountTooLarge.selector, amount + 1));
        _deposit(customer, amount);
    }

    function test_RevertWhen_DepositWithoutAllowance() public {
        _revokeAllowance();
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, 1e18)
        );
        _deposit(customer, 1e18);
    }

    function test_DepositWithPermit() public {
        _revokeAllowance();
        (uint256 deadline, uint8 v, bytes32 r, bytes32 s) = _signPermit(7e18);

        vm.expectEmit(address(market));
        emit IEscrow.Deposited(customer, customer, 7e18, 7e18);
        vm.prank(customer);
        market.depositWithPermit(customer, 7e18, deadline, v, r, s);

        assertEq(market.balanceOf(customer), 7e18);
        assertEq(token.nonces(customer), 1);
        assertEq(token.allowance(customer, address(market)), 0);
    }

    function test_DepositWithPermit_FrontRunPermitIgnored() public {
        _revokeAllowance();
        (uint256 deadline, uint8 v, bytes32 r, bytes32 s) = _signPermit(7e18);
        // Someone submits the permit first: the market's own permit call then fails and is ignored.
        token.permit(customer, address(market), 7e18, deadline, v, r, s);

        vm.prank(customer);
        market.depositWithPermit(customer, 7e18, deadline, v, r, s);
        assertEq(market.balanceOf(customer), 7e18);
    }

    function test_RevertWhen_DepositWithPermitInvalidAndNoAllowance() public {
        _revokeAllowance();
        (uint256 deadline, uint8 v, bytes32 r, bytes32 s) = _signPermit(7e18);

        // Signed for 7 SNM, used for 8: the permit fails, and so does the transfer.
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, 8e18)
        );
        vm.prank(customer);
        market.depositWithPermit(customer, 8e18, deadline, v, r, s);
    }

    // ------------------------------------------------------------ withdraw

    function test_Withdraw() public {
        _deposit(customer, 10e18);

        vm.expectEmit(address(market));
        emit IEscrow.Withdrawn(customer, stranger, 4e18, 6e18);
        vm.prank(customer);
        market.withdraw(4e18, stranger);

        assertEq(market.balanceOf(customer), 6e18);
        assertEq(token.balanceOf(stranger), FUNDS + 4e18);
        assertEq(token.balanceOf(address(market)), 6e18);
    }

    function test_Withdraw_WholeBalance() public {
        _deposit(customer, 10e18);
        vm.prank(customer);
        market.withdraw(10e18, customer);
        assertEq(market.balanceOf(customer), 0);
        assertEq(token.balanceOf(customer), FUNDS);
    }

    function test_RevertWhen_WithdrawZeroAmount() public {
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        vm.prank(customer);
        market.withdraw(0, customer);
    }

    function test_RevertWhen_WithdrawToZeroAddress() public {
        _deposit(customer, 1e18);
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        vm.prank(customer);
        market.withdraw(1e18, address(0));
    }

    function test_RevertWhen_WithdrawMoreThanBalance() public {
        _deposit(customer, 1e18);
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.InsufficientBalance.selector, customer, 1e18, 1e18 + 1)
        );
        vm.prank(customer);
        market.withdraw(1e18 + 1, customer);
    }

    function test_RevertWhen_WithdrawDepositLockedInDeal() public {
        _openFixed();
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InsufficientBalance.selector, customer, 0, 1));
        vm.prank(customer);
        market.withdraw(1, customer);
    }

    // ------------------------------------------------------------ earnings

    function test_WithdrawEarnings() public {
        uint256 dealId = _openFixed();
        _skipFresh(1000);
        market.settle(dealId);
        uint256 earned = 1000 * _perSecond();
        assertEq(market.earningsOf(master), earned);

        vm.expectEmit(address(market));
        emit IEscrow.EarningsWithdrawn(master, treasury, earned - 1, 1);
        vm.prank(master);
        market.withdrawEarnings(earned - 1, treasury);

        assertEq(market.earningsOf(master), 1);
        assertEq(token.balanceOf(treasury), earned - 1);
    }

    function test_RevertWhen_WithdrawEarningsZeroAmount() public {
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        vm.prank(master);
        market.withdrawEarnings(0, master);
    }

    function test_RevertWhen_WithdrawEarningsToZeroAddress() public {
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        vm.prank(master);
        market.withdrawEarnings(1, address(0));
    }

    function test_RevertWhen_WithdrawEarningsMoreThanEarned() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InsufficientEarnings.selector, master, 0, 1));
        vm.prank(master);
        market.withdrawEarnings(1, master);
    }

    function test_RevertWhen_WorkerWithdrawsMastersEarnings() public {
        uint256 dealId = _openFixed();
        _skipFresh(10);
        market.settle(dealId);
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InsufficientEarnings.selector, worker, 0, 1));
        vm.prank(worker);
        market.withdrawEarnings(1, worker);
    }

    // ------------------------------------------------------------ fees

    function test_SetFee() public {
        vm.expectEmit(address(market));
        emit IEscrow.FeeSet(250, treasury);
        vm.prank(owner);
        market.setFee(250, treasury);

        (uint256 feeBps, address feeTreasury) = market.fee();
        assertEq(feeBps, 250);
        assertEq(feeTreasury, treasury);
    }

    function test_SetFee_MaximumAndZero() public {
        vm.startPrank(owner);
        market.setFee(1000, treasury);
        market.setFee(0, address(0));
        vm.stopPrank();
        (uint256 feeBps, address feeTreasury) = market.fee();
        assertEq(feeBps, 0);
        assertEq(feeTreasury, address(0));
    }

    function test_RevertWhen_SetFeeAboveMaximum() public {
        vm.expectRevert(abi.encodeWithSelector(IEscrow.FeeTooHigh.selector, 1001, 1000));
        vm.prank(owner);
        market.setFee(1001, treasury);
    }

    function test_RevertWhen_SetFeeWithoutTreasury() public {
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        vm.prank(owner);
        market.setFee(1, address(0));
    }

    function test_RevertWhen_SetFeeCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        market.setFee(100, treasury);
    }

    function test_SettlePaysFeeToTreasury() public {
        _setFee(1000);
        uint256 dealId = _openFixed();
        _skipFresh(1001);
        market.settle(dealId);

        uint256 paid = 1001 * _perSecond();
        uint256 feeAmount = paid / 10;
        assertEq(market.accruedFees(), feeAmount);
        assertEq(market.earningsOf(master), paid - feeAmount);

        vm.expectEmit(address(market));
        emit IEscrow.FeesWithdrawn(treasury, feeAmount);
        vm.prank(stranger);
        market.withdrawFees();

        assertEq(market.accruedFees(), 0);
        assertEq(token.balanceOf(treasury), feeAmount);
    }

    function test_FeeIsFixedWhenTheDealOpens() public {
        _setFee(100);
        uint256 dealId = _openFixed();
        assertEq(_deal(dealId).feeBps, 100);

        _setFee(1000);
        _skipFresh(100);
        market.settle(dealId);

        uint256 paid = 100 * _perSecond();
        assertEq(market.accruedFees(), paid / 100);
        assertEq(market.earningsOf(master), paid - paid / 100);
    }

    function test_RevertWhen_WithdrawFeesNoneAccrued() public {
        vm.expectRevert(IEscrow.NoFees.selector);
        market.withdrawFees();
    }

    function test_RevertWhen_WithdrawFeesWithoutTreasury() public {
        _setFee(500);
        uint256 dealId = _openFixed();
        _skipFresh(100);
        market.settle(dealId);
        vm.prank(owner);
        market.setFee(0, address(0));

        vm.expectRevert(IEscrow.ZeroAddress.selector);
        market.withdrawFees();
    }

    /// @dev Issue 11, item 7: fees accrued before and while no treasury is set (a deal keeps the fee of its
    /// opening, so it accrues after the owner set the fee to zero) are sent in full to the treasury set later.
    function test_FeesAccruedWithoutATreasuryAreWithdrawnOnceOneIsSet() public {
        _setFee(500);
        uint256 dealId = _openFixed();
        _skipFresh(100);
        market.settle(dealId);
        vm.prank(owner);
        market.setFee(0, address(0));
        _skipFresh(300);
        market.settle(dealId); // still at the deal's 5 %
        uint256 fees = 100 * _perSecond() / 20 + 300 * _perSecond() / 20;
        assertEq(market.accruedFees(), fees);
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        market.withdrawFees();

        // A new treasury, the fee for new deals still zero: it receives every fee accrued.
        address later = makeAddr("laterTreasury");
        vm.prank(owner);
        market.setFee(0, later);
        vm.expectEmit(address(market));
        emit IEscrow.FeesWithdrawn(later, fees);
        vm.prank(stranger);
        market.withdrawFees();
        assertEq(token.balanceOf(later), fees);
        assertEq(token.balanceOf(treasury), 0);
        assertEq(market.accruedFees(), 0);
        assertEq(
            token.balanceOf(address(market)),
            market.balanceOf(customer) + _deal(dealId).deposit + market.earningsOf(master)
        );
    }

    /// @dev The fee is the deal's, fixed at its opening, for every settlement and its close: a raise or a cut
    /// later applies to deals opened afterwards only.
    function test_SetFeeAppliesToDealsOpenedAfterwards() public {
        _setFee(1000);
        uint256 before = _openFixed();
        _setFee(100);
        uint256 afterwards = _openFixed();
        assertEq(_deal(before).feeBps, 1000);
        assertEq(_deal(afterwards).feeBps, 100);
        _skipFresh(100);
        _close(customer, before, false);
        _close(customer, afterwards, false);
        uint256 paid = 100 * _perSecond();
        assertEq(market.accruedFees(), paid / 10 + paid / 100);
    }
}
