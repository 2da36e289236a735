// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "../../src/interfaces/IMarket.sol";
import {IPriceOracle} from "../../src/interfaces/IPriceOracle.sol";
import {MarketBase} from "./MarketBase.sol";

/// @notice A supplier ending a deal it cannot serve ({IMarket.endDealUnserved}): paid only for the time it
/// served, the rest of the deposit back to the customer, whatever the term, the oracle or the pause.
contract MarketUnservedTest is MarketBase {
    function _end(address by, uint256 dealId, uint256 servedUntil) internal {
        vm.prank(by);
        market.endDealUnserved(dealId, servedUntil);
    }

    /// @dev Expects the {IMarket.DealClosed} of an unserved end: `rate` is 0 when nothing was paid.
    function _expectUnserved(
        uint256 dealId,
        address by,
        uint256 paid,
        uint256 rate,
        uint256 until,
        uint256 refund
    ) internal {
        vm.expectEmit(address(market));
        emit IMarket.DealClosed(dealId, IMarket.CloseReason.Unserved, by, paid, 0, rate, until, refund, false);
    }

    // ------------------------------------------------------------ what is paid and refunded

    /// @dev Issue 11, item 3: a fixed-term deal whose workload never started costs the customer nothing.
    function test_EndUnserved_NeverServedFixedTermRefundsEverything() public {
        uint256 dealId = _openFixed();
        uint256 start = block.timestamp;
        _skipFresh(1000);
        _expectUnserved(dealId, master, 0, 0, start, DEPOSIT);
        _end(master, dealId, 0);

        _assertClosed(dealId, IMarket.CloseReason.Unserved);
        assertEq(_deal(dealId).settledUntil, start);
        assertEq(market.balanceOf(customer), DEPOSIT);
        assertEq(market.earningsOf(master), 0);
        assertEq(token.balanceOf(address(market)), DEPOSIT);
    }

    function test_EndUnserved_PaysOnlyTheServedPart() public {
        uint256 dealId = _openFixed();
        uint256 start = block.timestamp;
        _skipFresh(1000);
        uint256 paid = 400 * _perSecond();
        _expectUnserved(dealId, master, paid, RATE, start + 400, DEPOSIT - paid);
        _end(master, dealId, start + 400);

        _assertClosed(dealId, IMarket.CloseReason.Unserved);
        assertEq(_deal(dealId).settledUntil, start + 400);
        assertEq(market.balanceOf(customer), DEPOSIT - paid);
        assertEq(market.earningsOf(master), paid);
    }

    function test_EndUnserved_ServedUpToNowIsAnEarlyEndPaidInFull() public {
        uint256 dealId = _openFixed();
        _skipFresh(1000);
        uint256 paid = 1000 * _perSecond();
        _expectUnserved(dealId, worker, paid, RATE, block.timestamp, DEPOSIT - paid);
        _end(worker, dealId, block.timestamp);
        assertEq(market.earningsOf(master), paid);
        assertEq(market.earningsOf(worker), 0);
    }

    /// @dev Seconds already settled stay paid: only the unsettled ones can be forfeited.
    function test_EndUnserved_BeforeTheLastSettlementForfeitsOnlyTheUnsettledSeconds() public {
        uint256 dealId = _openFixed();
        uint256 start = block.timestamp;
        _skipFresh(600);
        market.settle(dealId);
        _skipFresh(600);
        uint256 settled = 600 * _perSecond();
        _expectUnserved(dealId, master, 0, 0, start + 600, DEPOSIT - settled);
        _end(master, dealId, start + 300);

        assertEq(_deal(dealId).settledUntil, start + 600);
        assertEq(market.balanceOf(customer), DEPOSIT - settled);
        assertEq(market.earningsOf(master), settled);
    }

    function test_EndUnserved_PastTheEndIsBoundedByTheTerm() public {
        uint256 dealId = _openFixed();
        uint256 end = block.timestamp + TERM;
        _skipFresh(2 * TERM);
        uint256 paid = TERM * _perSecond();
        _expectUnserved(dealId, master, paid, RATE, end, DEPOSIT - paid);
        _end(master, dealId, block.timestamp);
        assertEq(_deal(dealId).settledUntil, end);
        assertEq(market.balanceOf(customer), DEPOSIT - paid);
    }

    function test_EndUnserved_SpotDeal() public {
        uint256 dealId = _openSpot();
        uint256 start = block.timestamp;
        _skipFresh(7 days);
        uint256 paid = 50 * _perSecond();
        _expectUnserved(dealId, master, paid, RATE, start + 50, DEPOSIT - paid);
        _end(master, dealId, start + 50);
        _assertClosed(dealId, IMarket.CloseReason.Unserved);
    }

    /// @dev The served seconds cost more than the deposit: it is paid out, nothing more, nothing refunded.
    function test_EndUnserved_PaymentCappedByTheDeposit() public {
        uint256 dealId = _openSpot();
        _skipFresh(2 * RUNWAY);
        _expectUnserved(dealId, master, DEPOSIT, RATE, block.timestamp, 0);
        _end(master, dealId, block.timestamp);
        _assertClosed(dealId, IMarket.CloseReason.Unserved);
        assertEq(market.earningsOf(master), DEPOSIT);
        assertEq(market.balanceOf(customer), 0);
    }

    function test_EndUnserved_WithFee() public {
        _setFee(1000);
        uint256 dealId = _openFixed();
        uint256 start = block.timestamp;
        _skipFresh(500);
        uint256 paid = 200 * _perSecond();
        vm.expectEmit(address(market));
        emit IMarket.DealClosed(
            dealId,
            IMarket.CloseReason.Unserved,
            master,
            paid,
            paid / 10,
            RATE,
            start + 200,
            DEPOSIT - paid,
            false
        );
        _end(master, dealId, start + 200);
        assertEq(market.accruedFees(), paid / 10);
        assertEq(market.earningsOf(master), paid - paid / 10);
    }

    function test_EndUnserved_TopUpsAreRefundedToo() public {
        uint256 dealId = _openFixed();
        _deposit(stranger, 7e18);
        vm.prank(stranger);
        market.topUp(dealId, 7e18);
        _skipFresh(10);
        _end(master, dealId, 0);
        assertEq(market.balanceOf(customer), DEPOSIT + 7e18);
    }

    function test_EndUnserved_SameSecondAsOpening() public {
        uint256 dealId = _openFixed();
        _expectUnserved(dealId, master, 0, 0, block.timestamp, DEPOSIT);
        _end(master, dealId, block.timestamp);
    }

    function test_EndUnserved_NeverBlacklists() public {
        uint256 dealId = _openSpot();
        _end(worker, dealId, 0);
        assertFalse(market.isBlacklisted(master, customer));
        assertFalse(market.isBlacklisted(customer, master));
    }

    // ------------------------------------------------------------ oracle and pause

    /// @dev Nothing to pay, so no rate is read: a stale oracle does not keep the deposit locked.
    function test_EndUnserved_NothingServedWorksWithAStaleRate() public {
        uint256 dealId = _openFixed();
        skip(MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.StaleRate.selector, START, MAX_AGE));
        oracle.freshRate();
        _expectUnserved(dealId, master, 0, 0, START, DEPOSIT);
        _end(master, dealId, START);
        assertEq(market.balanceOf(customer), DEPOSIT);
    }

    function test_RevertWhen_EndUnservedPaysWithAStaleRate() public {
        uint256 dealId = _openFixed();
        skip(MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.StaleRate.selector, START, MAX_AGE));
        _end(master, dealId, START + 1);
    }

    function test_EndUnserved_WorksWhilePaused() public {
        uint256 dealId = _openFixed();
        _pause();
        _skipFresh(10);
        _end(master, dealId, 0);
        _assertClosed(dealId, IMarket.CloseReason.Unserved);
    }

    // ------------------------------------------------------------ refusals

    function test_RevertWhen_ServedUntilInTheFuture() public {
        uint256 dealId = _openFixed();
        _skipFresh(10);
        vm.expectRevert(
            abi.encodeWithSelector(IMarket.ServedUntilInFuture.selector, block.timestamp + 1, block.timestamp)
        );
        _end(master, dealId, block.timestamp + 1);
    }

    function test_RevertWhen_EndUnservedByTheCustomerOrAStranger() public {
        uint256 dealId = _openFixed();
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealSupplier.selector, dealId, customer));
        _end(customer, dealId, 0);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealSupplier.selector, dealId, stranger));
        _end(stranger, dealId, 0);
    }

    function test_RevertWhen_EndUnservedByARemovedWorker() public {
        uint256 dealId = _openFixed();
        vm.prank(master);
        market.removeWorker(worker, master);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealSupplier.selector, dealId, worker));
        _end(worker, dealId, 0);
        // The master keeps the power.
        _end(master, dealId, 0);
        _assertClosed(dealId, IMarket.CloseReason.Unserved);
    }

    function test_RevertWhen_EndUnservedOnAClosedOrUnknownDeal() public {
        uint256 dealId = _openFixed();
        _end(master, dealId, 0);
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, dealId));
        _end(master, dealId, 0);
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, dealId));
        market.settle(dealId);
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, 999));
        _end(master, 999, 0);
    }

    // ------------------------------------------------------------ fuzz

    /// @dev Whenever the supplier ends a deal and whatever it says it served: it is paid exactly the
    /// served, unsettled seconds up to the end of the term (rounded down, capped by the deposit), the
    /// customer gets back every other wei it put in, and the escrow still holds exactly what it owes.
    function testFuzz_EndUnservedPaysTheServedSecondsAndRefundsTheRest(
        uint256 settleAfter,
        uint256 elapsed,
        uint256 served,
        uint256 rateSeed,
        uint256 topUp,
        bool spot
    ) public {
        uint256 dealId = spot ? _openSpot() : _openFixed();
        uint256 start = block.timestamp;
        uint256 bound_ = spot ? type(uint256).max : start + TERM;
        topUp = bound(topUp, 0, 100e18);
        if (topUp != 0) {
            _deposit(customer, topUp);
            vm.prank(customer);
            market.topUp(dealId, topUp);
        }
        uint256 funded = DEPOSIT + topUp;

        // An optional settlement first, at the opening rate, within what the deposit pays (5000 s).
        settleAfter = bound(settleAfter, 0, TERM);
        uint256 settledAmount;
        uint256 settled = start;
        if (settleAfter != 0) {
            _skipFresh(settleAfter);
            settled = block.timestamp;
            settledAmount = _owed(PRICE, settleAfter, RATE);
            market.settle(dealId);
        }

        elapsed = bound(elapsed, 0, 30 days);
        skip(elapsed);
        uint256 rate = bound(rateSeed, RATE * 8 / 10, RATE * 12 / 10);
        _report(rate);
        served = bound(served, 0, block.timestamp);

        uint256 until = block.timestamp < bound_ ? block.timestamp : bound_;
        if (served < until) until = served;
        uint256 paid;
        if (until > settled) {
            paid = _owed(PRICE, until - settled, rate);
            if (paid > funded - settledAmount) paid = funded - settledAmount;
        }

        _end(master, dealId, served);
        IMarket.Deal memory d = _deal(dealId);
        assertEq(uint8(d.reason), uint8(IMarket.CloseReason.Unserved));
        assertEq(d.settledUntil, until > settled ? until : settled);
        assertEq(market.earningsOf(master), settledAmount + paid);
        assertEq(market.balanceOf(customer), funded - settledAmount - paid);
        assertLe(settledAmount + paid, funded);
        assertEq(token.balanceOf(address(market)), funded);
    }
}
