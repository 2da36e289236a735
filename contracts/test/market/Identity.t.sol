// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IIdentity} from "../../src/interfaces/IIdentity.sol";
import {IMarket} from "../../src/interfaces/IMarket.sol";
import {MarketBase} from "./MarketBase.sol";

/// @notice Supplier identity: a worker asks to join a master, the master confirms, either ends the link.
contract IdentityTest is MarketBase {
    address internal newWorker = makeAddr("newWorker");
    address internal otherMaster = makeAddr("otherMaster");

    function test_RequestWorker() public {
        vm.expectEmit(address(market));
        emit IIdentity.WorkerRequested(newWorker, master);
        vm.prank(newWorker);
        market.requestWorker(master);

        assertEq(market.pendingMasterOf(newWorker), master);
        assertEq(market.masterOf(newWorker), address(0));
        assertEq(market.workerCount(master), 1);
    }

    function test_RequestWorker_ReplacesPendingRequest() public {
        vm.startPrank(newWorker);
        market.requestWorker(master);
        market.requestWorker(otherMaster);
        vm.stopPrank();

        assertEq(market.pendingMasterOf(newWorker), otherMaster);
        vm.expectRevert(abi.encodeWithSelector(IIdentity.NoWorkerRequest.selector, newWorker, master));
        vm.prank(master);
        market.confirmWorker(newWorker);
    }

    function test_RevertWhen_RequestWorkerZeroMaster() public {
        vm.expectRevert(IIdentity.ZeroMaster.selector);
        vm.prank(newWorker);
        market.requestWorker(address(0));
    }

    function test_RevertWhen_RequestWorkerAlreadyConfirmed() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentity.AlreadyWorker.selector, worker, master));
        vm.prank(worker);
        market.requestWorker(otherMaster);
    }

    function test_ConfirmWorker() public {
        vm.prank(newWorker);
        market.requestWorker(master);

        vm.expectEmit(address(market));
        emit IIdentity.WorkerConfirmed(newWorker, master);
        vm.prank(master);
        market.confirmWorker(newWorker);

        assertEq(market.masterOf(newWorker), master);
        assertEq(market.pendingMasterOf(newWorker), address(0));
        assertEq(market.workerCount(master), 2);
    }

    function test_RevertWhen_ConfirmWorkerWithoutRequest() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentity.NoWorkerRequest.selector, newWorker, master));
        vm.prank(master);
        market.confirmWorker(newWorker);
    }

    function test_RevertWhen_ConfirmWorkerRequestedByAnotherMaster() public {
        vm.prank(newWorker);
        market.requestWorker(otherMaster);

        vm.expectRevert(abi.encodeWithSelector(IIdentity.NoWorkerRequest.selector, newWorker, master));
        vm.prank(master);
        market.confirmWorker(newWorker);
    }

    function test_RevertWhen_ConfirmWorkerTwice() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentity.NoWorkerRequest.selector, worker, master));
        vm.prank(master);
        market.confirmWorker(worker);
    }

    function test_RemoveWorker_ConfirmedByMaster() public {
        _expectRemoved(worker, master, master, true);
        vm.prank(master);
        market.removeWorker(worker, master);

        assertEq(market.masterOf(worker), address(0));
        assertEq(market.workerCount(master), 0);
    }

    function test_RemoveWorker_ConfirmedByWorker() public {
        _expectRemoved(worker, master, worker, true);
        vm.prank(worker);
        market.removeWorker(worker, master);

        assertEq(market.masterOf(worker), address(0));
        assertEq(market.workerCount(master), 0);
    }

    function test_RemoveWorker_PendingByMaster() public {
        vm.prank(newWorker);
        market.requestWorker(master);

        _expectRemoved(newWorker, master, master, false);
        vm.prank(master);
        market.removeWorker(newWorker, master);

        assertEq(market.pendingMasterOf(newWorker), address(0));
        assertEq(market.workerCount(master), 1);
    }

    function test_RemoveWorker_ThenJoinAnotherMaster() public {
        vm.prank(worker);
        market.removeWorker(worker, master);
        _link(worker, otherMaster);

        assertEq(market.masterOf(worker), otherMaster);
        assertEq(market.workerCount(otherMaster), 1);
        assertEq(market.workerCount(master), 0);
    }

    function test_RevertWhen_RemoveWorkerCallerNotWorkerNorMaster() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentity.NotWorkerOf.selector, worker, master));
        vm.prank(stranger);
        market.removeWorker(worker, master);
    }

    function test_RevertWhen_RemoveWorkerOfAnotherMaster() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentity.NotWorkerOf.selector, worker, otherMaster));
        vm.prank(otherMaster);
        market.removeWorker(worker, otherMaster);
    }

    function test_RevertWhen_RemoveWorkerZeroMaster() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentity.NotWorkerOf.selector, newWorker, address(0)));
        vm.prank(newWorker);
        market.removeWorker(newWorker, address(0));
    }

    function test_RemovedWorkerKeepsOpenDealButBlocksNewOnes() public {
        uint256 dealId = _openFixed();
        IMarket.Ask memory ask = _ask();
        uint256 askId = _placeAsk(ask);
        vm.prank(master);
        market.removeWorker(worker, master);

        // The open deal still pays the master.
        _skipFresh(100);
        market.settle(dealId);
        assertEq(market.earningsOf(master), 100 * _perSecond());

        // The ask placed before the removal cannot be taken any more.
        vm.expectRevert(abi.encodeWithSelector(IMarket.WorkerNotConfirmed.selector, worker, master));
        vm.prank(customer);
        market.quickBuy(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function _expectRemoved(address worker_, address master_, address by, bool wasConfirmed) internal {
        vm.expectEmit(address(market));
        emit IIdentity.WorkerRemoved(worker_, master_, by, wasConfirmed);
    }
}
