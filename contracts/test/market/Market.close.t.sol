// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "../../src/interfaces/IMarket.sol";
import {IPriceOracle} from "../../src/interfaces/IPriceOracle.sol";
import {MarketBase} from "./MarketBase.sol";

/// @notice Closing deals: who may close when, the final settlement, the refund and blacklisting.
contract MarketCloseTest is MarketBase {
    function _expectClosed(
        uint256 dealId,
        IMarket.CloseReason reason,
        address by,
        uint256 paid,
        uint256 until,
        uint256 refund,
        bool blacklisted
    ) internal {
        (uint256 rate,) = oracle.latestRate();
        vm.expectEmit(address(market));
        emit IMarket.DealClosed(dealId, reason, by, paid, 0, rate, until, refund, blacklisted);
    }

    /// @dev A spot deal whose deposit pays `seconds_` seconds and `fraction` wei more.
    function _openSpotFor(uint256 seconds_, uint256 fraction) internal returns (uint256) {
        IMarket.Bid memory bid = _spotBid();
        bid.deposit = seconds_ * _perSecond() + fraction;
        return _open(_spotAsk(), bid);
    }

    // ------------------------------------------------------------ by the customer

    function test_CloseByCustomer() public {
        uint256 dealId = _openFixed();
        _skipFresh(1000);
        uint256 paid = 1000 * _perSecond();
        _expectClosed(
            dealId, IMarket.CloseReason.ByCustomer, customer, paid, block.timestamp, DEPOSIT - paid, false
        );
        _close(customer, dealId, false);

        _assertClosed(dealId, IMarket.CloseReason.ByCustomer);
        assertEq(_deal(dealId).settledUntil, block.timestamp);
        assertEq(market.balanceOf(customer), DEPOSIT - paid);
        assertEq(market.earningsOf(master), paid);
        assertFalse(market.isBlacklisted(customer, master));
    }

    function test_CloseByCustomer_WithBlacklist() public {
        uint256 dealId = _openFixed();
        _skipFresh(10);
        uint256 paid = 10 * _perSecond();
        _expectClosed(
            dealId, IMarket.CloseReason.ByCustomer, customer, paid, block.timestamp, DEPOSIT - paid, true
        );
        vm.expectEmit(address(market));
        emit IMarket.BlacklistSet(customer, master, true);
        _close(customer, dealId, true);

        assertTrue(market.isBlacklisted(customer, master));
        assertFalse(market.isBlacklisted(master, customer));
    }

    function test_CloseByCustomer_SameSecondRefundsEverything() public {
        uint256 dealId = _openFixed();
        _expectClosed(dealId, IMarket.CloseReason.ByCustomer, customer, 0, block.timestamp, DEPOSIT, false);
        _close(customer, dealId, false);
        assertEq(market.balanceOf(customer), DEPOSIT);
        assertEq(market.earningsOf(master), 0);
    }

    function test_CloseByCustomer_WithFee() public {
        _setFee(1000);
        uint256 dealId = _openFixed();
        _skipFresh(100);
        uint256 paid = 100 * _perSecond();
        vm.expectEmit(address(market));
        emit IMarket.DealClosed(
            dealId,
            IMarket.CloseReason.ByCustomer,
            customer,
            paid,
            paid / 10,
            RATE,
            block.timestamp,
            DEPOSIT - paid,
            false
        );
        _close(customer, dealId, false);
        assertEq(market.accruedFees(), paid / 10);
        assertEq(market.earningsOf(master), paid - paid / 10);
    }

    function test_CloseByCustomer_StaleRatePaysAtLastRate() public {
        uint256 dealId = _openSpot();
        _report(RATE * 11 / 10);
        skip(MAX_AGE + 1); // stale now
        uint256 paid = _owed(PRICE, MAX_AGE + 1, RATE * 11 / 10);
        _expectClosed(
            dealId, IMarket.CloseReason.ByCustomer, customer, paid, block.timestamp, DEPOSIT - paid, false
        );
        _close(customer, dealId, false);
        assertEq(market.balanceOf(customer), DEPOSIT - paid);
    }

    function test_CloseByCustomer_WorksWhilePaused() public {
        uint256 dealId = _openFixed();
        _pause();
        _skipFresh(10);
        _close(customer, dealId, false);
        _assertClosed(dealId, IMarket.CloseReason.ByCustomer);
    }

    function test_CloseByCustomerPastEndTimeIsExpired() public {
        uint256 dealId = _openFixed();
        uint256 end = block.timestamp + TERM;
        _skipFresh(TERM + 1);
        uint256 paid = TERM * _perSecond();
        _expectClosed(dealId, IMarket.CloseReason.Expired, customer, paid, end, DEPOSIT - paid, false);
        _close(customer, dealId, false);
        _assertClosed(dealId, IMarket.CloseReason.Expired);
    }

    // ------------------------------------------------------------ by the supplier

    function test_CloseBySupplier_SpotByMaster() public {
        uint256 dealId = _openSpot();
        _skipFresh(50);
        uint256 paid = 50 * _perSecond();
        _expectClosed(
            dealId, IMarket.CloseReason.BySupplier, master, paid, block.timestamp, DEPOSIT - paid, false
        );
        _close(master, dealId, false);
        _assertClosed(dealId, IMarket.CloseReason.BySupplier);
        assertEq(market.balanceOf(customer), DEPOSIT - paid);
    }

    function test_CloseBySupplier_SpotByWorkerWithBlacklist() public {
        uint256 dealId = _openSpot();
        _skipFresh(50);
        uint256 paid = 50 * _perSecond();
        _expectClosed(
            dealId, IMarket.CloseReason.BySupplier, worker, paid, block.timestamp, DEPOSIT - paid, true
        );
        // The worker acts for its master: the master blacklists the customer.
        vm.expectEmit(address(market));
        emit IMarket.BlacklistSet(master, customer, true);
        _close(worker, dealId, true);
        assertTrue(market.isBlacklisted(master, customer));
        assertFalse(market.isBlacklisted(worker, customer));
    }

    function test_RevertWhen_MasterClosesFixedTermEarly() public {
        uint256 dealId = _openFixed();
        _skipFresh(TERM - 1);
        vm.expectRevert(abi.encodeWithSelector(IMarket.CloseNotAllowed.selector, dealId, master));
        _close(master, dealId, false);
    }

    function test_RevertWhen_WorkerClosesFixedTermEarly() public {
        uint256 dealId = _openFixed();
        vm.expectRevert(abi.encodeWithSelector(IMarket.CloseNotAllowed.selector, dealId, worker));
        _close(worker, dealId, true);
    }

    function test_CloseBySupplier_FixedTermAtEndTime() public {
        uint256 dealId = _openFixed();
        _skipFresh(TERM);
        uint256 paid = TERM * _perSecond();
        _expectClosed(
            dealId, IMarket.CloseReason.Expired, master, paid, block.timestamp, DEPOSIT - paid, false
        );
        _close(master, dealId, false);
        _assertClosed(dealId, IMarket.CloseReason.Expired);
    }

    function test_RevertWhen_SupplierClosesWithStaleRate() public {
        uint256 dealId = _openSpot();
        skip(MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.StaleRate.selector, START, MAX_AGE));
        _close(master, dealId, false);
    }

    // ------------------------------------------------------------ by anyone

    function test_CloseByStranger_PastEndTime() public {
        uint256 dealId = _openFixed();
        uint256 end = block.timestamp + TERM;
        _skipFresh(2 * TERM);
        uint256 paid = TERM * _perSecond();
        _expectClosed(dealId, IMarket.CloseReason.Expired, stranger, paid, end, DEPOSIT - paid, false);
        _close(stranger, dealId, false);
        _assertClosed(dealId, IMarket.CloseReason.Expired);
        assertEq(market.balanceOf(customer), DEPOSIT - paid);
    }

    function test_RevertWhen_StrangerClosesFundedDeal() public {
        uint256 dealId = _openSpot();
        _skipFresh(100);
        vm.expectRevert(abi.encodeWithSelector(IMarket.CloseNotAllowed.selector, dealId, stranger));
        _close(stranger, dealId, false);
    }

    function test_RevertWhen_StrangerClosesWithBlacklist() public {
        uint256 dealId = _openFixed();
        _skipFresh(2 * TERM);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, dealId, stranger));
        _close(stranger, dealId, true);
    }

    function test_RevertWhen_StrangerClosesWithStaleRate() public {
        uint256 dealId = _openFixed();
        skip(2 * TERM);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.StaleRate.selector, START, MAX_AGE));
        _close(stranger, dealId, false);
    }

    function test_CloseByStranger_OutOfFundsAfterSettle() public {
        uint256 dealId = _openSpotFor(RUNWAY, _perSecond() / 2);
        _skipFresh(RUNWAY);
        market.settle(dealId);
        uint256 left = _perSecond() / 2;
        _expectClosed(dealId, IMarket.CloseReason.OutOfFunds, stranger, 0, block.timestamp, left, false);
        _close(stranger, dealId, false);
        _assertClosed(dealId, IMarket.CloseReason.OutOfFunds);
        assertEq(market.balanceOf(customer), left);
    }

    /// @dev Issue 3, point 1: whether a third party may close for lack of funds is decided on the deposit
    /// left after the unsettled seconds are paid, not on the deposit before.
    function test_CloseByStranger_OutOfFundsOnceTheUnsettledSecondsArePaid() public {
        uint256 dealId = _openSpotFor(RUNWAY, _perSecond() / 2);
        _skipFresh(RUNWAY);
        uint256 paid = RUNWAY * _perSecond();
        uint256 left = _perSecond() / 2;
        _expectClosed(dealId, IMarket.CloseReason.OutOfFunds, stranger, paid, block.timestamp, left, false);
        _close(stranger, dealId, false);
        _assertClosed(dealId, IMarket.CloseReason.OutOfFunds);
        assertEq(market.balanceOf(customer), left);
        assertEq(market.earningsOf(master), paid);
    }

    function test_CloseByStranger_DepositRunOutByTheUnsettledSeconds() public {
        uint256 dealId = _openSpotFor(RUNWAY, 0);
        _skipFresh(RUNWAY + 100);
        _expectClosed(
            dealId, IMarket.CloseReason.OutOfFunds, stranger, RUNWAY * _perSecond(), block.timestamp, 0, false
        );
        _close(stranger, dealId, false);
        _assertClosed(dealId, IMarket.CloseReason.OutOfFunds);
        assertEq(market.balanceOf(customer), 0);
    }

    /// @dev "Anyone may close a deal whose deposit cannot pay one more second": the supplier of a fixed-term
    /// deal too, whose customer stopped paying before the end.
    function test_CloseBySupplier_FixedTermOutOfFunds() public {
        IMarket.Bid memory bid = _bid();
        bid.duration = uint64(10 * TERM);
        uint256 dealId = _open(_ask(), bid); // the deposit pays 5000 s of 36,000
        _skipFresh(5000);
        _expectClosed(dealId, IMarket.CloseReason.OutOfFunds, master, DEPOSIT, block.timestamp, 0, false);
        _close(master, dealId, false);
        _assertClosed(dealId, IMarket.CloseReason.OutOfFunds);
    }

    function test_RevertWhen_SupplierClosesFixedTermWithFundsLeft() public {
        IMarket.Bid memory bid = _bid();
        bid.duration = uint64(10 * TERM);
        uint256 dealId = _open(_ask(), bid);
        _skipFresh(4999);
        vm.expectRevert(abi.encodeWithSelector(IMarket.CloseNotAllowed.selector, dealId, master));
        _close(master, dealId, false);
    }

    // ------------------------------------------------------------ a term paid exactly

    /// @dev Issue 3, point 2: a fixed-term deal whose deposit pays exactly its term has run its course when
    /// settled at the end: it closes as expired, not out of funds, and nothing is left to refund.
    function test_SettleAtEndOfExactlyPaidTermClosesAsExpired() public {
        IMarket.Bid memory bid = _bid();
        bid.deposit = TERM * _perSecond();
        uint256 dealId = _open(_ask(), bid);
        _skipFresh(TERM + 10);
        uint256 end = block.timestamp - 10;
        vm.expectEmit(address(market));
        emit IMarket.DealSettled(dealId, master, bid.deposit, 0, RATE, end, 0);
        vm.expectEmit(address(market));
        emit IMarket.DealClosed(dealId, IMarket.CloseReason.Expired, stranger, 0, 0, RATE, end, 0, false);
        vm.prank(stranger);
        market.settle(dealId);
        _assertClosed(dealId, IMarket.CloseReason.Expired);
        assertEq(market.earningsOf(master), bid.deposit);
    }

    function test_CloseAtEndOfExactlyPaidTermIsExpired() public {
        IMarket.Bid memory bid = _bid();
        bid.deposit = TERM * _perSecond();
        uint256 dealId = _open(_ask(), bid);
        _skipFresh(TERM);
        _expectClosed(dealId, IMarket.CloseReason.Expired, customer, bid.deposit, block.timestamp, 0, false);
        _close(customer, dealId, false);
        _assertClosed(dealId, IMarket.CloseReason.Expired);
        assertEq(market.balanceOf(customer), 0);
    }

    function test_SettleBeforeEndOfUnderpaidTermIsOutOfFunds() public {
        IMarket.Bid memory bid = _bid();
        bid.deposit = TERM * _perSecond();
        uint256 dealId = _open(_ask(), bid);
        _report(RATE * 12 / 10); // the term now costs more than the deposit
        _skipFresh(TERM);
        market.settle(dealId);
        _assertClosed(dealId, IMarket.CloseReason.OutOfFunds);
        assertEq(market.earningsOf(master), bid.deposit);
    }

    // ------------------------------------------------------------ closed is final

    function test_RevertWhen_CloseTwice() public {
        uint256 dealId = _openFixed();
        _close(customer, dealId, false);
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, dealId));
        _close(customer, dealId, false);
    }

    function test_RevertWhen_SettleAfterClose() public {
        uint256 dealId = _openFixed();
        _skipFresh(100);
        _close(customer, dealId, false);
        _skipFresh(100);
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, dealId));
        market.settle(dealId);
    }

    function test_RevertWhen_CloseUnknownDeal() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, 99));
        _close(customer, 99, false);
    }

    function test_RevertWhen_CloseAfterOutOfFunds() public {
        uint256 dealId = _openSpot();
        _skipFresh(10_000);
        market.settle(dealId);
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, dealId));
        _close(customer, dealId, false);
    }

    // ------------------------------------------------------------ fuzz

    /// @dev Whoever closes and whenever: the customer gets back exactly the deposit (with top-ups) minus what
    /// the deal paid, and the supplier got exactly the price of the seconds used, rounded down.
    function testFuzz_CloseRefundsDepositMinusPaid(
        uint256 elapsed,
        uint256 rateSeed,
        uint256 topUp,
        bool spot
    ) public {
        uint256 dealId = spot ? _openSpot() : _openFixed();
        uint256 start = block.timestamp;
        topUp = bound(topUp, 0, 100e18);
        if (topUp != 0) {
            _deposit(customer, topUp);
            vm.prank(customer);
            market.topUp(dealId, topUp);
        }
        elapsed = bound(elapsed, 0, 30 days);
        skip(elapsed);
        uint256 rate = bound(rateSeed, RATE * 8 / 10, RATE * 12 / 10);
        _report(rate);
        uint256 used = spot || elapsed < TERM ? elapsed : TERM;
        uint256 owedAmount = _owed(PRICE, used, rate);
        uint256 funded = DEPOSIT + topUp;
        uint256 paid = owedAmount < funded ? owedAmount : funded;

        _close(customer, dealId, false);
        assertEq(market.balanceOf(customer), funded - paid);
        assertEq(market.earningsOf(master), paid);
        assertEq(_deal(dealId).settledUntil, start + used);
        assertEq(token.balanceOf(address(market)), funded);
    }
}
