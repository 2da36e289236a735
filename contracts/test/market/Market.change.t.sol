// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IMarket} from "../../src/interfaces/IMarket.sol";
import {IPriceOracle} from "../../src/interfaces/IPriceOracle.sol";
import {MarketBase} from "./MarketBase.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Changing a running deal's price and end time; blacklists and pausing.
contract MarketChangeTest is MarketBase {
    uint256 internal fixedDeal;
    uint256 internal spotDeal;
    uint256 internal end;

    function setUp() public override {
        super.setUp();
        fixedDeal = _openFixed();
        end = block.timestamp + TERM;
        spotDeal = _openSpot();
    }

    function _propose(address by, uint256 dealId, uint256 price, uint256 endTime) internal {
        vm.prank(by);
        market.proposeChange(dealId, price, endTime);
    }

    function _accept(address by, uint256 dealId, uint256 price, uint256 endTime) internal {
        vm.prank(by);
        market.acceptChange(dealId, price, endTime);
    }

    function _assertNoPendingChange(uint256 dealId) internal view {
        IMarket.Change memory c = market.pendingChange(dealId);
        assertEq(c.proposer, address(0));
        assertEq(c.pricePerSecond, 0);
        assertEq(c.endTime, 0);
    }

    // ------------------------------------------------------------ proposeChange

    function test_ProposeChange_ByCustomer() public {
        vm.expectEmit(address(market));
        emit IMarket.ChangeProposed(fixedDeal, customer, PRICE / 2, end + TERM);
        _propose(customer, fixedDeal, PRICE / 2, end + TERM);

        IMarket.Change memory c = market.pendingChange(fixedDeal);
        assertEq(c.proposer, customer);
        assertEq(c.pricePerSecond, PRICE / 2);
        assertEq(c.endTime, end + TERM);
    }

    function test_ProposeChange_ByMasterAndByWorker() public {
        vm.expectEmit(address(market));
        emit IMarket.ChangeProposed(spotDeal, master, 2 * PRICE, 0);
        _propose(master, spotDeal, 2 * PRICE, 0);

        // A second proposal replaces the first.
        vm.expectEmit(address(market));
        emit IMarket.ChangeProposed(spotDeal, worker, 3 * PRICE, 0);
        _propose(worker, spotDeal, 3 * PRICE, 0);
        assertEq(market.pendingChange(spotDeal).proposer, worker);
        assertEq(market.pendingChange(spotDeal).pricePerSecond, 3 * PRICE);
    }

    function test_ProposeChange_Extremes() public {
        _propose(customer, fixedDeal, type(uint80).max, type(uint40).max);
        assertEq(market.pendingChange(fixedDeal).pricePerSecond, type(uint80).max);
        assertEq(market.pendingChange(fixedDeal).endTime, type(uint40).max);
        _propose(customer, fixedDeal, 1, block.timestamp + 1);
        assertEq(market.pendingChange(fixedDeal).endTime, block.timestamp + 1);
    }

    function test_RevertWhen_ProposeChangeCallerNotParty() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, fixedDeal, stranger));
        _propose(stranger, fixedDeal, PRICE, end);
    }

    function test_RevertWhen_ProposeChangeInactiveDeal() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, 1));
        _propose(customer, 1, PRICE, end); // the consumed ask's id
    }

    function test_RevertWhen_ProposeChangeZeroPrice() public {
        vm.expectRevert(IMarket.InvalidChange.selector);
        _propose(customer, fixedDeal, 0, end);
    }

    function test_RevertWhen_ProposeChangePriceAboveUint80() public {
        vm.expectRevert(IMarket.InvalidChange.selector);
        _propose(customer, fixedDeal, uint256(type(uint80).max) + 1, end);
    }

    function test_RevertWhen_ProposeChangeEndTimeNotInFuture() public {
        vm.expectRevert(IMarket.InvalidChange.selector);
        _propose(customer, fixedDeal, PRICE, block.timestamp);
    }

    function test_RevertWhen_ProposeChangeEndTimeAboveUint40() public {
        vm.expectRevert(IMarket.InvalidChange.selector);
        _propose(customer, fixedDeal, PRICE, uint256(type(uint40).max) + 1);
    }

    function test_RevertWhen_ProposeChangeFixedToSpot() public {
        vm.expectRevert(IMarket.InvalidChange.selector);
        _propose(customer, fixedDeal, PRICE, 0);
    }

    function test_RevertWhen_ProposeChangeSpotToFixed() public {
        vm.expectRevert(IMarket.InvalidChange.selector);
        _propose(customer, spotDeal, PRICE, end);
    }

    // ------------------------------------------------------------ acceptChange

    function test_AcceptChange_SettlesAtTheOldPriceFirst() public {
        _propose(customer, fixedDeal, PRICE / 2, end + TERM);
        _skipFresh(1000);
        uint256 paid = 1000 * _perSecond();

        vm.expectEmit(address(market));
        emit IMarket.DealSettled(fixedDeal, master, paid, 0, RATE, block.timestamp, DEPOSIT - paid);
        vm.expectEmit(address(market));
        emit IMarket.ChangeAccepted(fixedDeal, worker, PRICE / 2, end + TERM);
        _accept(worker, fixedDeal, PRICE / 2, end + TERM);

        IMarket.Deal memory d = _deal(fixedDeal);
        assertEq(d.pricePerSecond, PRICE / 2);
        assertEq(d.endTime, end + TERM);
        assertEq(d.settledUntil, block.timestamp);
        _assertNoPendingChange(fixedDeal);

        // From now on the new price.
        _skipFresh(1000);
        market.settle(fixedDeal);
        assertEq(market.earningsOf(master), paid + 1000 * _perSecond() / 2);
    }

    function test_AcceptChange_ByCustomerInTheSameSecond() public {
        _propose(master, spotDeal, 2 * PRICE, 0);
        vm.recordLogs();
        _accept(customer, spotDeal, 2 * PRICE, 0);
        // Nothing to settle: only ChangeAccepted.
        assertEq(vm.getRecordedLogs().length, 1);
        assertEq(_deal(spotDeal).pricePerSecond, 2 * PRICE);
    }

    function test_AcceptChange_ShortensTheTerm() public {
        _propose(master, fixedDeal, PRICE, end - 600);
        _skipFresh(100);
        _accept(customer, fixedDeal, PRICE, end - 600);
        _skipFresh(TERM);
        _close(stranger, fixedDeal, false);
        assertEq(market.earningsOf(master), (TERM - 600) * _perSecond());
        assertEq(market.balanceOf(customer), DEPOSIT - (TERM - 600) * _perSecond());
    }

    /// @dev Extending a fixed-term deal after its end time: the seconds between the old end and the acceptance
    /// belong to no term, so they are not paid, neither at the old price nor at the new one.
    function test_AcceptChange_ExtendingAnEndedTermStartsFromNow() public {
        _skipFresh(TERM + 1000);
        _propose(customer, fixedDeal, PRICE, block.timestamp + TERM);
        _accept(master, fixedDeal, PRICE, block.timestamp + TERM);
        assertEq(market.earningsOf(master), TERM * _perSecond());
        assertEq(_deal(fixedDeal).settledUntil, block.timestamp);

        _skipFresh(100);
        market.settle(fixedDeal);
        assertEq(market.earningsOf(master), (TERM + 100) * _perSecond());
    }

    function test_RevertWhen_AcceptChangeNonePending() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.NoPendingChange.selector, fixedDeal));
        _accept(master, fixedDeal, PRICE, end);
    }

    function test_RevertWhen_AcceptChangeOtherPrice() public {
        _propose(customer, fixedDeal, PRICE / 2, end);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NoPendingChange.selector, fixedDeal));
        _accept(master, fixedDeal, PRICE, end);
    }

    function test_RevertWhen_AcceptChangeOtherEndTime() public {
        _propose(customer, fixedDeal, PRICE / 2, end + 1);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NoPendingChange.selector, fixedDeal));
        _accept(master, fixedDeal, PRICE / 2, end);
    }

    function test_RevertWhen_AcceptChangeByProposer() public {
        _propose(customer, fixedDeal, PRICE / 2, end);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, fixedDeal, customer));
        _accept(customer, fixedDeal, PRICE / 2, end);
    }

    function test_RevertWhen_AcceptChangeBySameSide() public {
        // The worker proposed: the master is on the same side and cannot accept for the customer.
        _propose(worker, fixedDeal, 2 * PRICE, end);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, fixedDeal, master));
        _accept(master, fixedDeal, 2 * PRICE, end);
    }

    function test_RevertWhen_AcceptChangeByStranger() public {
        _propose(customer, fixedDeal, PRICE / 2, end);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, fixedDeal, stranger));
        _accept(stranger, fixedDeal, PRICE / 2, end);
    }

    function test_RevertWhen_AcceptChangeEndTimePassedMeanwhile() public {
        _propose(customer, fixedDeal, PRICE, block.timestamp + 100);
        _skipFresh(100);
        vm.expectRevert(IMarket.InvalidChange.selector);
        _accept(master, fixedDeal, PRICE, block.timestamp);
    }

    function test_RevertWhen_AcceptChangeStaleRate() public {
        _propose(customer, spotDeal, PRICE / 2, 0);
        skip(MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.StaleRate.selector, START, MAX_AGE));
        _accept(master, spotDeal, PRICE / 2, 0);
    }

    function test_RevertWhen_AcceptChangeDealClosed() public {
        _propose(customer, fixedDeal, PRICE / 2, end);
        _close(customer, fixedDeal, false);
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, fixedDeal));
        _accept(master, fixedDeal, PRICE / 2, end);
    }

    function test_RevertWhen_AcceptChangeDepositRunsOut() public {
        _propose(customer, spotDeal, PRICE / 2, 0);
        _skipFresh(10_000); // the deposit pays 5000 s
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, spotDeal));
        _accept(master, spotDeal, PRICE / 2, 0);
    }

    // ------------------------------------------------------------ cancelChange

    function test_CancelChange() public {
        _propose(master, fixedDeal, 2 * PRICE, end);
        vm.expectEmit(address(market));
        emit IMarket.ChangeCancelled(fixedDeal, master);
        vm.prank(master);
        market.cancelChange(fixedDeal);
        _assertNoPendingChange(fixedDeal);

        vm.expectRevert(abi.encodeWithSelector(IMarket.NoPendingChange.selector, fixedDeal));
        _accept(customer, fixedDeal, 2 * PRICE, end);
    }

    function test_RevertWhen_CancelChangeByOtherSide() public {
        _propose(master, fixedDeal, 2 * PRICE, end);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NoPendingChange.selector, fixedDeal));
        vm.prank(customer);
        market.cancelChange(fixedDeal);
    }

    function test_RevertWhen_CancelChangeNonePending() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.NoPendingChange.selector, fixedDeal));
        vm.prank(customer);
        market.cancelChange(fixedDeal);
    }

    function test_RevertWhen_CancelChangeFromZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.NoPendingChange.selector, fixedDeal));
        vm.prank(address(0));
        market.cancelChange(fixedDeal);
    }

    // ------------------------------------------------------------ blacklist

    function test_SetBlacklist() public {
        vm.expectEmit(address(market));
        emit IMarket.BlacklistSet(customer, stranger, true);
        vm.prank(customer);
        market.setBlacklist(stranger, true);
        assertTrue(market.isBlacklisted(customer, stranger));
        assertFalse(market.isBlacklisted(stranger, customer));

        vm.expectEmit(address(market));
        emit IMarket.BlacklistSet(customer, stranger, false);
        vm.prank(customer);
        market.setBlacklist(stranger, false);
        assertFalse(market.isBlacklisted(customer, stranger));
    }

    function test_RevertWhen_SetBlacklistZeroAddress() public {
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        vm.prank(customer);
        market.setBlacklist(address(0), true);
    }

    function test_BlacklistLeavesOpenDealsAlone() public {
        vm.prank(master);
        market.setBlacklist(customer, true);
        _skipFresh(100);
        market.settle(fixedDeal);
        assertTrue(_deal(fixedDeal).active);
    }

    // ------------------------------------------------------------ pause

    function test_SetPaused() public {
        vm.expectEmit(address(market));
        emit IMarket.PausedSet(true);
        vm.prank(owner);
        market.setPaused(true);
        assertTrue(market.paused());

        vm.expectEmit(address(market));
        emit IMarket.PausedSet(false);
        vm.prank(owner);
        market.setPaused(false);
        assertFalse(market.paused());
    }

    function test_RevertWhen_SetPausedCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        market.setPaused(true);
    }

    function test_PauseLeavesRunningDealsAndChangesAlone() public {
        _pause();
        _propose(customer, spotDeal, PRICE / 2, 0);
        _skipFresh(10);
        _accept(master, spotDeal, PRICE / 2, 0);
        assertEq(_deal(spotDeal).pricePerSecond, PRICE / 2);
    }

    // ------------------------------------------------------------ fuzz

    /// @dev Whatever the prices and the moment of the change, the seconds before it are paid at the old price
    /// and the seconds after at the new one, each part rounded down.
    function testFuzz_ChangePaysEachPartAtItsPrice(uint256 newPrice, uint256 before, uint256 later) public {
        newPrice = bound(newPrice, 1, 10 * PRICE);
        before = bound(before, 0, 2000);
        later = bound(later, 1, 2000);
        _propose(master, spotDeal, newPrice, 0);
        _skipFresh(before);
        _accept(customer, spotDeal, newPrice, 0);
        _skipFresh(later);
        _close(customer, spotDeal, false);

        uint256 expected = _owed(PRICE, before, RATE) + _owed(newPrice, later, RATE);
        if (expected > DEPOSIT) expected = DEPOSIT;
        assertEq(market.earningsOf(master), expected);
        assertEq(market.balanceOf(customer), DEPOSIT - expected);
    }
}
