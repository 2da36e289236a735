// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "../../src/interfaces/IMarket.sol";
import {MarketBase} from "./MarketBase.sol";
import {MarketHandler} from "./handlers/MarketHandler.sol";

/// @notice Invariants of the market over random sequences of every user action, time jumps and rate updates
/// (see {MarketHandler}).
contract MarketInvariantTest is MarketBase {
    MarketHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new MarketHandler(market, token, oracle, owner, reporter, treasury);
        vm.prank(owner);
        oracle.setReporter(address(handler), true);

        bytes4[] memory selectors = new bytes4[](34);
        selectors[0] = MarketHandler.deposit.selector;
        selectors[1] = MarketHandler.withdraw.selector;
        selectors[2] = MarketHandler.withdrawEarnings.selector;
        selectors[3] = MarketHandler.setFee.selector;
        selectors[4] = MarketHandler.withdrawFees.selector;
        selectors[5] = MarketHandler.setPaused.selector;
        selectors[6] = MarketHandler.setBlacklist.selector;
        selectors[7] = MarketHandler.placeAsk.selector;
        selectors[8] = MarketHandler.placeBid.selector;
        selectors[9] = MarketHandler.cancelAsk.selector;
        selectors[10] = MarketHandler.cancelBid.selector;
        selectors[11] = MarketHandler.openDeal.selector;
        selectors[12] = MarketHandler.quickBuy.selector;
        selectors[13] = MarketHandler.settle.selector;
        selectors[14] = MarketHandler.topUp.selector;
        selectors[15] = MarketHandler.closeDeal.selector;
        selectors[16] = MarketHandler.proposeChange.selector;
        selectors[17] = MarketHandler.acceptChange.selector;
        selectors[18] = MarketHandler.cancelChange.selector;
        selectors[19] = MarketHandler.warp.selector;
        selectors[20] = MarketHandler.updateRate.selector;
        // What the money invariants are about weighs more: opening, settling, closing, changing, time.
        selectors[21] = MarketHandler.openDeal.selector;
        selectors[22] = MarketHandler.quickBuy.selector;
        selectors[23] = MarketHandler.settle.selector;
        selectors[24] = MarketHandler.settle.selector;
        selectors[25] = MarketHandler.closeDeal.selector;
        selectors[26] = MarketHandler.closeDeal.selector;
        selectors[27] = MarketHandler.acceptChange.selector;
        selectors[28] = MarketHandler.warp.selector;
        selectors[29] = MarketHandler.warp.selector;
        // A supplier ending a deal it cannot serve; workers removed and confirmed again.
        selectors[30] = MarketHandler.endDealUnserved.selector;
        selectors[31] = MarketHandler.endDealUnserved.selector;
        selectors[32] = MarketHandler.relinkWorker.selector;
        selectors[33] = MarketHandler.relinkWorker.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @dev The handler's new paths do go through (one that always reverted would leave the invariants below
    /// vacuous): a removed worker's end is refused and counts nothing; the master's end closes the deal unserved
    /// and is checked against the model.
    function test_HandlerEndsDealsUnservedAndRemovesWorkers() public {
        handler.quickBuy(2, 0, 2, 100e18); // a spot deal on master 2's worker
        uint256[] memory ids = handler.dealIds();
        assertEq(ids.length, 1);
        IMarket.Deal memory d = market.getDeal(ids[0]);
        handler.warp(3); // 3 s, the rate reported again
        handler.relinkWorker(2); // master 2 removes its worker
        assertEq(market.masterOf(d.worker), address(0));

        handler.endDealUnserved(0, 1, 2); // by the removed worker: refused
        assertTrue(market.getDeal(ids[0]).active);
        handler.endDealUnserved(0, 0, 2); // by the master
        assertEq(uint8(market.getDeal(ids[0]).reason), uint8(IMarket.CloseReason.Unserved));
        assertEq(handler.ghostUnservedEnds(), 1);
        assertEq(handler.ghostUnlinkedWorkerActions(), 0);
        assertEq(handler.ghostRefundErrors(), 0);
        assertEq(handler.ghostModelErrors(), 0);
    }

    /// @dev The escrow's token balance equals what it owes: free balances, open deposits, earnings, fees.
    function invariant_EscrowSolvent() public view {
        address[] memory accounts = handler.accounts();
        uint256 owedTotal = market.accruedFees();
        for (uint256 i; i < accounts.length; ++i) {
            owedTotal += market.balanceOf(accounts[i]) + market.earningsOf(accounts[i]);
        }
        uint256[] memory ids = handler.dealIds();
        for (uint256 i; i < ids.length; ++i) {
            owedTotal += market.getDeal(ids[i]).deposit;
        }
        assertEq(token.balanceOf(address(market)), owedTotal);
    }

    /// @dev ... and what came in through deposits and quick buys, less what left through withdrawals.
    function invariant_EscrowBalanceEqualsTokenFlows() public view {
        assertEq(token.balanceOf(address(market)), handler.ghostTokensIn() - handler.ghostTokensOut());
    }

    /// @dev No deal pays more than its price times the seconds it ran, at the rates in force when settled.
    function invariant_NoDealPaysMoreThanPriceTimesTime() public view {
        uint256[] memory ids = handler.dealIds();
        for (uint256 i; i < ids.length; ++i) {
            assertLe(handler.paidByMarket(ids[i]), handler.model(ids[i]).maxPayable);
        }
    }

    /// @dev Each deal paid exactly what the model of per-second settlement says (rounded down, capped by the
    /// deposit), and ran out of funds exactly when the model did.
    function invariant_PaymentsFollowTheModel() public view {
        uint256[] memory ids = handler.dealIds();
        for (uint256 i; i < ids.length; ++i) {
            assertEq(handler.paidByMarket(ids[i]), handler.model(ids[i]).paid);
        }
        assertEq(handler.ghostModelErrors(), 0);
    }

    /// @dev Everything deals paid went to suppliers' earnings or to fees.
    function invariant_PaymentsReachSuppliersAndTreasury() public view {
        uint256[] memory ids = handler.dealIds();
        uint256 paid;
        for (uint256 i; i < ids.length; ++i) {
            paid += handler.paidByMarket(ids[i]);
        }
        address[] memory accounts = handler.accounts();
        uint256 received =
            handler.ghostEarningsWithdrawn() + handler.ghostFeesWithdrawn() + market.accruedFees();
        for (uint256 i; i < accounts.length; ++i) {
            received += market.earningsOf(accounts[i]);
        }
        assertEq(paid, received);
    }

    /// @dev A closing customer (or one whose supplier ended the deal unserved) got back exactly what was put
    /// into the deal minus what it paid.
    function invariant_ClosingCustomerGetsDepositMinusPaid() public view {
        assertEq(handler.ghostRefundErrors(), 0);
    }

    /// @dev A worker acts for a deal only while it is a confirmed worker of the deal's master: once removed (or
    /// linked to another master) it closes as anyone may, and accepts, ends or blacklists nothing for it.
    function invariant_RemovedWorkerActsForNoDeal() public view {
        assertEq(handler.ghostUnlinkedWorkerActions(), 0);
    }

    /// @dev A closed deal never changes again; an open one has money left and is settled up to now at most.
    function invariant_ClosedDealNeverChanges() public view {
        uint256[] memory ids = handler.dealIds();
        for (uint256 i; i < ids.length; ++i) {
            IMarket.Deal memory d = market.getDeal(ids[i]);
            MarketHandler.Model memory m = handler.model(ids[i]);
            if (m.closed) {
                assertEq(keccak256(abi.encode(d)), m.closedRecord);
                assertFalse(d.active);
                assertEq(d.deposit, 0);
                assertTrue(d.reason != IMarket.CloseReason.None);
            } else {
                assertTrue(d.active);
                assertGt(d.deposit, 0);
                assertLe(d.settledUntil, block.timestamp);
                assertEq(d.settledUntil, m.settledUntil);
            }
        }
    }
}
