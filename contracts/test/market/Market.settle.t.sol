// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IMarket} from "../../src/interfaces/IMarket.sol";
import {IPriceOracle} from "../../src/interfaces/IPriceOracle.sol";
import {MarketBase} from "./MarketBase.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice Running deals: {IMarket.settle}, {IMarket.topUp} and the {IMarket.owed} view.
contract MarketSettleTest is MarketBase {
    function _expectSettled(uint256 dealId, uint256 amount, uint256 feeAmount, uint256 until, uint256 left)
        internal
    {
        (uint256 rate,) = oracle.latestRate();
        vm.expectEmit(address(market));
        emit IMarket.DealSettled(dealId, master, amount, feeAmount, rate, until, left);
    }

    // ------------------------------------------------------------ settle

    function test_Settle() public {
        uint256 dealId = _openFixed();
        _skipFresh(600);
        uint256 amount = 600 * _perSecond();
        _expectSettled(dealId, amount, 0, block.timestamp, DEPOSIT - amount);
        vm.prank(stranger);
        market.settle(dealId);

        IMarket.Deal memory d = _deal(dealId);
        assertEq(d.deposit, DEPOSIT - amount);
        assertEq(d.settledUntil, block.timestamp);
        assertTrue(d.active);
        assertEq(market.earningsOf(master), amount);
        assertEq(market.earningsOf(worker), 0);
    }

    function test_Settle_Repeat() public {
        uint256 dealId = _openFixed();
        _skipFresh(600);
        market.settle(dealId);
        _skipFresh(300);
        _expectSettled(dealId, 300 * _perSecond(), 0, block.timestamp, DEPOSIT - 900 * _perSecond());
        market.settle(dealId);
        assertEq(market.earningsOf(master), 900 * _perSecond());
    }

    function test_Settle_WithFee() public {
        _setFee(250);
        uint256 dealId = _openFixed();
        _skipFresh(777);
        uint256 amount = 777 * _perSecond();
        uint256 feeAmount = amount * 250 / 10_000;
        _expectSettled(dealId, amount, feeAmount, block.timestamp, DEPOSIT - amount);
        market.settle(dealId);
        assertEq(market.earningsOf(master), amount - feeAmount);
        assertEq(market.accruedFees(), feeAmount);
    }

    function test_Settle_AtTheCurrentRate() public {
        uint256 dealId = _openFixed();
        _skipFresh(100);
        market.settle(dealId);
        _report(RATE * 12 / 10);
        skip(100);
        _expectSettled(
            dealId, _owed(PRICE, 100, RATE * 12 / 10), 0, block.timestamp, DEPOSIT - 220 * _perSecond()
        );
        market.settle(dealId);
    }

    function test_Settle_NothingInTheSameSecond() public {
        uint256 dealId = _openFixed();
        vm.recordLogs();
        market.settle(dealId);
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(_deal(dealId).deposit, DEPOSIT);
    }

    function test_SettleStopsAtEndTime() public {
        uint256 dealId = _openFixed();
        uint256 end = block.timestamp + TERM;
        _skipFresh(TERM + 500);
        uint256 amount = TERM * _perSecond();
        _expectSettled(dealId, amount, 0, end, DEPOSIT - amount);
        market.settle(dealId);

        // Past the end there is nothing more to pay; the deal waits to be closed.
        _skipFresh(500);
        vm.recordLogs();
        market.settle(dealId);
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(market.earningsOf(master), amount);
        assertTrue(_deal(dealId).active);
    }

    function test_SettleCapsAtDeposit() public {
        uint256 dealId = _openSpot(); // 50 SNM: 5000 s
        _skipFresh(6000);
        vm.expectEmit(address(market));
        emit IMarket.DealSettled(dealId, master, DEPOSIT, 0, RATE, block.timestamp, 0);
        vm.expectEmit(address(market));
        emit IMarket.DealClosed(
            dealId, IMarket.CloseReason.OutOfFunds, stranger, 0, 0, RATE, block.timestamp, 0, false
        );
        vm.prank(stranger);
        market.settle(dealId);

        _assertClosed(dealId, IMarket.CloseReason.OutOfFunds);
        assertEq(market.earningsOf(master), DEPOSIT);
    }

    function test_Settle_DepositUsedUpExactlyClosesSpotDeal() public {
        uint256 dealId = _openSpot();
        _skipFresh(5000); // exactly the deposit
        market.settle(dealId);
        IMarket.Deal memory d = _deal(dealId);
        assertFalse(d.active);
        assertEq(uint8(d.reason), uint8(IMarket.CloseReason.OutOfFunds));
        assertEq(market.earningsOf(master), DEPOSIT);
    }

    function test_RevertWhen_SettleUnknownDeal() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, 7));
        market.settle(7);
    }

    function test_RevertWhen_SettleOpenOrder() public {
        uint256 askId = _placeAsk(_ask());
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, askId));
        market.settle(askId);
    }

    function test_RevertWhen_SettleStaleRate() public {
        uint256 dealId = _openFixed();
        skip(MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.StaleRate.selector, START, MAX_AGE));
        market.settle(dealId);
    }

    function test_Settle_WorksWhilePaused() public {
        uint256 dealId = _openFixed();
        _pause();
        _skipFresh(10);
        market.settle(dealId);
        assertEq(market.earningsOf(master), 10 * _perSecond());
    }

    // ------------------------------------------------------------ owed

    function test_Owed() public {
        uint256 dealId = _openFixed();
        _skipFresh(100);
        (uint256 amount, uint256 until) = market.owed(dealId, RATE);
        assertEq(amount, 100 * _perSecond());
        assertEq(until, block.timestamp);
        (amount,) = market.owed(dealId, 2 * RATE);
        assertEq(amount, 200 * _perSecond());
    }

    function test_Owed_NothingInTheSameSecond() public {
        uint256 dealId = _openFixed();
        (uint256 amount, uint256 until) = market.owed(dealId, RATE);
        assertEq(amount, 0);
        assertEq(until, block.timestamp);
    }

    function test_Owed_CappedByDepositAndEndTime() public {
        uint256 dealId = _openFixed();
        uint256 end = block.timestamp + TERM;
        skip(TERM * 10);
        (uint256 amount, uint256 until) = market.owed(dealId, RATE);
        assertEq(amount, TERM * _perSecond());
        assertEq(until, end);
        (amount,) = market.owed(dealId, RATE * 100);
        assertEq(amount, DEPOSIT);
    }

    function test_Owed_InactiveDeal() public {
        uint256 dealId = _openFixed();
        _skipFresh(100);
        _close(customer, dealId, false);
        skip(100);
        (uint256 amount, uint256 until) = market.owed(dealId, RATE);
        assertEq(amount, 0);
        assertEq(until, block.timestamp - 100);
        (amount, until) = market.owed(12345, RATE);
        assertEq(amount, 0);
        assertEq(until, 0);
    }

    function testFuzz_OwedEqualsWhatSettlePays(uint256 elapsed, uint256 rateStep) public {
        uint256 dealId = _openSpot();
        elapsed = bound(elapsed, 1, 10_000);
        skip(elapsed);
        uint256 rate = bound(rateStep, RATE * 8 / 10, RATE * 12 / 10);
        _report(rate);
        (uint256 amount, uint256 until) = market.owed(dealId, rate);
        market.settle(dealId);
        assertEq(market.earningsOf(master), amount);
        assertEq(_deal(dealId).settledUntil, until);
    }

    // ------------------------------------------------------------ topUp

    function test_TopUp() public {
        uint256 dealId = _openFixed();
        _deposit(customer, 10e18);
        vm.expectEmit(address(market));
        emit IMarket.DealToppedUp(dealId, customer, 4e18, DEPOSIT + 4e18);
        vm.prank(customer);
        market.topUp(dealId, 4e18);

        assertEq(_deal(dealId).deposit, DEPOSIT + 4e18);
        assertEq(market.balanceOf(customer), 6e18);
    }

    function test_TopUp_ByAnyoneForTheCustomer() public {
        uint256 dealId = _openFixed();
        _deposit(stranger, 1e18);
        vm.expectEmit(address(market));
        emit IMarket.DealToppedUp(dealId, stranger, 1e18, DEPOSIT + 1e18);
        vm.prank(stranger);
        market.topUp(dealId, 1e18);

        // The rest goes back to the customer on close.
        _close(customer, dealId, false);
        assertEq(market.balanceOf(customer), DEPOSIT + 1e18);
        assertEq(market.balanceOf(stranger), 0);
    }

    function test_TopUp_KeepsASpotDealRunning() public {
        uint256 dealId = _openSpot();
        _deposit(customer, DEPOSIT);
        _skipFresh(4000);
        vm.prank(customer);
        market.topUp(dealId, DEPOSIT);
        _skipFresh(2000); // past the first deposit's 5000 s
        market.settle(dealId);
        assertTrue(_deal(dealId).active);
        assertEq(market.earningsOf(master), 6000 * _perSecond());
    }

    function test_TopUp_WorksWhilePausedAndWithStaleRate() public {
        uint256 dealId = _openFixed();
        _pause();
        skip(MAX_AGE * 2);
        _deposit(customer, 1e18);
        vm.prank(customer);
        market.topUp(dealId, 1e18);
        assertEq(_deal(dealId).deposit, DEPOSIT + 1e18);
    }

    function test_RevertWhen_TopUpZero() public {
        uint256 dealId = _openFixed();
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        vm.prank(customer);
        market.topUp(dealId, 0);
    }

    function test_RevertWhen_TopUpInactiveDeal() public {
        _deposit(customer, 1e18);
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, 3));
        vm.prank(customer);
        market.topUp(3, 1e18);
    }

    function test_RevertWhen_TopUpBalanceShort() public {
        uint256 dealId = _openFixed();
        vm.expectRevert(abi.encodeWithSelector(IEscrow.InsufficientBalance.selector, customer, 0, 1));
        vm.prank(customer);
        market.topUp(dealId, 1);
    }

    function test_RevertWhen_TopUpPastUint96() public {
        IMarket.Bid memory bid = _bid();
        uint256 dealId = _open(_ask(), bid);
        // Free balances are 96-bit as well, so fill two accounts and top up from both.
        deal(address(token), stranger, type(uint96).max);
        vm.prank(stranger);
        market.deposit(stranger, type(uint96).max - DEPOSIT);
        vm.prank(stranger);
        market.topUp(dealId, type(uint96).max - DEPOSIT);
        assertEq(_deal(dealId).deposit, type(uint96).max);

        _deposit(customer, 1);
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.AmountTooLarge.selector, uint256(type(uint96).max) + 1)
        );
        vm.prank(customer);
        market.topUp(dealId, 1);
    }

    // ------------------------------------------------------------ fuzz

    /// @dev One settlement after `elapsed` seconds pays floor(price * seconds * rate / 1e18), capped by the
    /// deposit, and splits it into a fee rounded down and the master's rest.
    function testFuzz_SettleRoundsDown(uint256 price, uint256 elapsed, uint256 rateSeed, uint256 feeBps)
        public
    {
        price = bound(price, 1, 1e20);
        elapsed = bound(elapsed, 1, 365 days);
        feeBps = bound(feeBps, 0, 1000);
        uint256 rate = bound(rateSeed, RATE * 8 / 10, RATE * 12 / 10);
        _report(rate);
        if (feeBps != 0) _setFee(feeBps);
        IMarket.Ask memory ask = _spotAsk();
        ask.pricePerSecond = price;
        uint256 needed = (price * RUNWAY * rate + 1e18 - 1) / 1e18;
        deal(address(token), customer, needed);
        uint256 dealId = _quickBuy(ask, 0, needed);

        skip(elapsed);
        _report(rate);
        market.settle(dealId);

        uint256 exact = price * elapsed * rate; // scaled by 1e18
        uint256 amount = exact / 1e18;
        if (amount > needed) amount = needed;
        uint256 feeAmount = amount * feeBps / 10_000;
        assertEq(market.earningsOf(master) + market.accruedFees(), amount, "paid");
        assertEq(market.accruedFees(), feeAmount, "fee");
        assertLe(amount * 1e18, exact, "rounded against the supplier");
        assertEq(_deal(dealId).deposit, needed - amount, "deposit left");
    }

    /// @dev Settling in many steps never pays more than settling once, and loses less than a wei a step.
    function testFuzz_SettleInStepsNeverPaysMore(uint256 price, uint256[6] memory steps) public {
        price = bound(price, 1, 1e15);
        IMarket.Ask memory ask = _spotAsk();
        ask.pricePerSecond = price;
        uint256 deposit = type(uint96).max / 2;
        deal(address(token), customer, deposit);
        uint256 dealId = _quickBuy(ask, 0, deposit);

        uint256 total;
        for (uint256 i; i < steps.length; ++i) {
            uint256 step = bound(steps[i], 1, 7 days);
            total += step;
            _skipFresh(step);
            market.settle(dealId);
        }
        uint256 once = price * total * RATE / 1e18;
        uint256 paid = market.earningsOf(master);
        assertLe(paid, once);
        assertGe(paid + steps.length, once);
    }

    /// @dev A top-up in the middle of a deal moves the deposit but not the price: the sequence
    /// settle, top up, settle, close pays exactly the seconds used and refunds the rest.
    function testFuzz_TopUpSettleCloseSequence(
        uint256 price,
        uint256 rateSeed,
        uint256 first,
        uint256 second,
        uint256 extra
    ) public {
        price = bound(price, 1e10, 1e16);
        uint256 rate = bound(rateSeed, RATE * 8 / 10, RATE * 12 / 10);
        _report(rate);
        IMarket.Ask memory ask = _spotAsk();
        ask.pricePerSecond = price;
        uint256 deposit = (price * RUNWAY * rate + 1e18 - 1) / 1e18;
        uint256 dealId = _quickBuy(ask, 0, deposit);

        first = bound(first, 1, 30 days);
        skip(first);
        _report(rate);
        market.settle(dealId);
        uint256 paidFirst = market.earningsOf(master);
        assertEq(paidFirst, Math.min(price * first * rate / 1e18, deposit), "first payment");

        if (_deal(dealId).active) {
            extra = bound(extra, 1, 1e24);
            deal(address(token), customer, extra);
            _deposit(customer, extra);
            vm.prank(customer);
            market.topUp(dealId, extra);
            skip(bound(second, 1, 30 days));
            _report(rate);
            uint256 owedSecond = price * (block.timestamp - _deal(dealId).settledUntil) * rate / 1e18;
            uint256 left = deposit + extra - paidFirst;
            (uint256 paid, uint256 refund) = _closeByCustomer(dealId);
            assertEq(paid, Math.min(owedSecond, left), "second payment");
            assertEq(refund, left - paid, "refund");
            assertEq(market.balanceOf(customer), refund);
        }
        assertEq(token.balanceOf(address(market)), market.balanceOf(customer) + market.earningsOf(master));
    }

    /// @dev Closes as the customer; returns what the final settlement paid and the refund.
    function _closeByCustomer(uint256 dealId) internal returns (uint256 paid, uint256 refund) {
        vm.recordLogs();
        _close(customer, dealId, false);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        (, paid,,,, refund,) = abi.decode(
            logs[logs.length - 1].data,
            (IMarket.CloseReason, uint256, uint256, uint256, uint256, uint256, bool)
        );
    }
}
