// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "../../src/interfaces/IMarket.sol";
import {MarketBase} from "./MarketBase.sol";

/// @notice Issue 11, item 7: a worker acts for its master's deals only while it is still the master's
/// confirmed worker. Each power is tried by the worker while linked (it works), then, from the same state,
/// after the worker was removed (refused) and by the master (it still works).
contract MarketWorkerPowersTest is MarketBase {
    uint256 internal spotDeal;
    uint256 internal fixedDeal;

    function setUp() public override {
        super.setUp();
        spotDeal = _openSpot();
        fixedDeal = _openFixed();
        _skipFresh(100);
    }

    function _removeWorker(address by) internal {
        vm.prank(by);
        market.removeWorker(worker, master);
        assertEq(market.masterOf(worker), address(0));
    }

    // ------------------------------------------------------------ accepting the customer's price cut

    function test_AcceptChange_OnlyWhileLinked() public {
        vm.prank(customer);
        market.proposeChange(spotDeal, 1, 0); // 1 wei a second

        uint256 linked = vm.snapshotState();
        vm.prank(worker);
        market.acceptChange(spotDeal, 1, 0);
        assertEq(_deal(spotDeal).pricePerSecond, 1);

        vm.revertToState(linked);
        _removeWorker(master);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, spotDeal, worker));
        vm.prank(worker);
        market.acceptChange(spotDeal, 1, 0);
        assertEq(_deal(spotDeal).pricePerSecond, PRICE);

        vm.prank(master);
        market.acceptChange(spotDeal, 1, 0);
        assertEq(_deal(spotDeal).pricePerSecond, 1);
    }

    // ------------------------------------------------------------ announcing an endpoint

    function test_AnnounceEndpoint_OnlyWhileLinked() public {
        uint256 linked = vm.snapshotState();
        vm.expectEmit(address(market));
        emit IMarket.EndpointAnnounced(spotDeal, worker, "203.0.113.7:3128");
        vm.prank(worker);
        market.announceEndpoint(spotDeal, "203.0.113.7:3128");

        vm.revertToState(linked);
        _removeWorker(worker);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, spotDeal, worker));
        vm.prank(worker);
        market.announceEndpoint(spotDeal, "198.51.100.9:3128");

        vm.expectEmit(address(market));
        emit IMarket.EndpointAnnounced(spotDeal, worker, "203.0.113.7:3128");
        vm.prank(master);
        market.announceEndpoint(spotDeal, "203.0.113.7:3128");
    }

    // ------------------------------------------------------------ closing a spot deal, blacklisting

    function test_CloseSpotDealWithBlacklist_OnlyWhileLinked() public {
        uint256 linked = vm.snapshotState();
        _close(worker, spotDeal, true);
        _assertClosed(spotDeal, IMarket.CloseReason.BySupplier);
        assertTrue(market.isBlacklisted(master, customer));

        vm.revertToState(linked);
        _removeWorker(master);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, spotDeal, worker));
        _close(worker, spotDeal, true);
        // Without blacklisting, it is anyone: a funded running deal is not theirs to close.
        vm.expectRevert(abi.encodeWithSelector(IMarket.CloseNotAllowed.selector, spotDeal, worker));
        _close(worker, spotDeal, false);
        assertFalse(market.isBlacklisted(master, customer));
        assertTrue(_deal(spotDeal).active);

        _close(master, spotDeal, true);
        _assertClosed(spotDeal, IMarket.CloseReason.BySupplier);
        assertTrue(market.isBlacklisted(master, customer));
    }

    /// @dev What anyone may do, a removed worker still may: close a deal past its end.
    function test_RemovedWorkerClosesAnExpiredDealAsAnyoneWould() public {
        _removeWorker(master);
        _skipFresh(TERM);
        _close(worker, fixedDeal, false);
        _assertClosed(fixedDeal, IMarket.CloseReason.Expired);
    }

    // ------------------------------------------------------------ proposing a change

    function test_ProposeChange_OnlyWhileLinked() public {
        uint256 linked = vm.snapshotState();
        vm.prank(worker);
        market.proposeChange(spotDeal, 2 * PRICE, 0);
        assertEq(market.pendingChange(spotDeal).proposer, worker);

        vm.revertToState(linked);
        _removeWorker(master);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, spotDeal, worker));
        vm.prank(worker);
        market.proposeChange(spotDeal, 2 * PRICE, 0);

        vm.prank(master);
        market.proposeChange(spotDeal, 2 * PRICE, 0);
        assertEq(market.pendingChange(spotDeal).proposer, master);
    }

    /// @dev A change the worker proposed while linked no longer speaks for the master once it is removed.
    function test_AcceptChange_OfARemovedWorkersProposalIsRefused() public {
        vm.prank(worker);
        market.proposeChange(fixedDeal, PRICE / 2, block.timestamp + 10 * TERM);
        uint256 end = block.timestamp + 10 * TERM;

        uint256 linked = vm.snapshotState();
        vm.prank(customer);
        market.acceptChange(fixedDeal, PRICE / 2, end);
        assertEq(_deal(fixedDeal).pricePerSecond, PRICE / 2);

        vm.revertToState(linked);
        _removeWorker(master);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NoPendingChange.selector, fixedDeal));
        vm.prank(customer);
        market.acceptChange(fixedDeal, PRICE / 2, end);
        assertEq(_deal(fixedDeal).pricePerSecond, PRICE);

        // The master speaks for itself: its own proposal replaces the void one and stands.
        vm.prank(master);
        market.proposeChange(fixedDeal, PRICE / 2, end);
        vm.prank(customer);
        market.acceptChange(fixedDeal, PRICE / 2, end);
        assertEq(_deal(fixedDeal).pricePerSecond, PRICE / 2);
    }

    // ------------------------------------------------------------ ending a deal unserved

    function test_EndDealUnserved_OnlyWhileLinked() public {
        uint256 linked = vm.snapshotState();
        vm.prank(worker);
        market.endDealUnserved(fixedDeal, 0);
        _assertClosed(fixedDeal, IMarket.CloseReason.Unserved);

        vm.revertToState(linked);
        _removeWorker(worker);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealSupplier.selector, fixedDeal, worker));
        vm.prank(worker);
        market.endDealUnserved(fixedDeal, 0);

        vm.prank(master);
        market.endDealUnserved(fixedDeal, 0);
        _assertClosed(fixedDeal, IMarket.CloseReason.Unserved);
    }

    // ------------------------------------------------------------ linked elsewhere, linked again

    /// @dev A worker that joined another master acts for that master's deals, not for its former master's.
    function test_WorkerOfAnotherMasterHasNoPowerOverItsFormerMastersDeals() public {
        address otherMaster = makeAddr("otherMaster");
        _removeWorker(worker);
        _link(worker, otherMaster);

        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, spotDeal, worker));
        vm.prank(worker);
        market.announceEndpoint(spotDeal, "198.51.100.9:3128");
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, spotDeal, worker));
        _close(worker, spotDeal, true);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealSupplier.selector, spotDeal, worker));
        vm.prank(worker);
        market.endDealUnserved(spotDeal, 0);
        vm.prank(customer);
        market.proposeChange(spotDeal, 1, 0);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, spotDeal, worker));
        vm.prank(worker);
        market.acceptChange(spotDeal, 1, 0);

        // The former master keeps every power over its deals.
        vm.prank(master);
        market.acceptChange(spotDeal, 1, 0);
        assertEq(_deal(spotDeal).pricePerSecond, 1);
        vm.prank(master);
        market.announceEndpoint(spotDeal, "203.0.113.7:3128");
        vm.prank(master);
        market.endDealUnserved(spotDeal, 0);
        _assertClosed(spotDeal, IMarket.CloseReason.Unserved);
    }

    /// @dev The rule is the link now, not the link once: confirmed again by the same master, the worker acts
    /// for its deals again.
    function test_WorkerConfirmedAgainActsAgain() public {
        _removeWorker(master);
        _link(worker, master);
        vm.prank(worker);
        market.announceEndpoint(spotDeal, "203.0.113.7:3128");
        _close(worker, spotDeal, true);
        _assertClosed(spotDeal, IMarket.CloseReason.BySupplier);
    }

    /// @dev The deals themselves go on: they settle and pay the master after the worker is removed.
    function test_DealsOfARemovedWorkerKeepPayingTheMaster() public {
        _removeWorker(worker);
        _skipFresh(100);
        market.settle(spotDeal);
        assertEq(market.earningsOf(master), 200 * _perSecond());
        assertEq(market.earningsOf(worker), 0);
    }
}
