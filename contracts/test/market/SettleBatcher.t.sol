// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SettleBatcher} from "../../src/SettleBatcher.sol";
import {IMarket} from "../../src/interfaces/IMarket.sol";
import {IPriceOracle} from "../../src/interfaces/IPriceOracle.sol";
import {MarketBase} from "./MarketBase.sol";

/// @notice {SettleBatcher.settleMany}: the same settlements as one {IMarket.settle} per deal, inactive deals
/// skipped, every other failure reverting the batch with the market's error.
contract SettleBatcherTest is MarketBase {
    SettleBatcher internal batcher;

    function setUp() public override {
        super.setUp();
        batcher = new SettleBatcher(market);
    }

    /// @dev `count` fixed-term deals of `master` ({TERM} seconds, {DEPOSIT} each), opened by a matcher.
    function _openDeals(uint256 count) internal returns (uint256[] memory ids) {
        ids = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            _deposit(customer, DEPOSIT);
            uint256 askId = _placeAsk(_ask());
            uint256 bidId = _placeBid(_bid());
            vm.prank(stranger);
            ids[i] = market.openDeal(askId, _ask(), bidId, _bid());
        }
    }

    function test_Constructor_RefusesAnAddressWithoutCode() public {
        vm.expectRevert(abi.encodeWithSelector(SettleBatcher.NotAMarket.selector, stranger));
        new SettleBatcher(IMarket(stranger));
    }

    function test_Market_IsTheOneGiven() public view {
        assertEq(address(batcher.market()), address(market));
    }

    function test_SettleMany_RefusesAnEmptyBatch() public {
        vm.expectRevert(SettleBatcher.EmptyBatch.selector);
        batcher.settleMany(new uint256[](0));
    }

    function test_SettleMany_PaysEachDealAsSettleDoes() public {
        uint256[] memory ids = _openDeals(3);
        _skipFresh(600);
        uint256 owed = _owed(PRICE, 600, RATE);
        (uint256 rate,) = oracle.latestRate();
        for (uint256 i = 0; i < ids.length; ++i) {
            vm.expectEmit(address(market));
            emit IMarket.DealSettled(ids[i], master, owed, 0, rate, block.timestamp, DEPOSIT - owed);
        }
        vm.prank(stranger);
        assertEq(batcher.settleMany(ids), 0);
        assertEq(market.earningsOf(master), 3 * owed);
        for (uint256 i = 0; i < ids.length; ++i) {
            assertEq(market.getDeal(ids[i]).settledUntil, block.timestamp);
        }
    }

    function test_SettleMany_SkipsDealsNoLongerActive() public {
        uint256[] memory ids = _openDeals(3);
        _skipFresh(600);
        _close(customer, ids[1], false);
        uint256 earned = market.earningsOf(master);
        uint256[] memory batch = new uint256[](4);
        (batch[0], batch[1], batch[2], batch[3]) = (ids[0], ids[1], ids[2], 999);
        assertEq(batcher.settleMany(batch), 2, "the closed deal and an id never opened");
        assertEq(market.earningsOf(master), earned + 2 * (_owed(PRICE, 600, RATE)));
    }

    function test_SettleMany_RepeatedIdPaysOnce() public {
        uint256[] memory ids = _openDeals(1);
        _skipFresh(600);
        uint256[] memory batch = new uint256[](2);
        (batch[0], batch[1]) = (ids[0], ids[0]);
        assertEq(batcher.settleMany(batch), 0);
        assertEq(market.earningsOf(master), _owed(PRICE, 600, RATE));
    }

    function test_SettleMany_RevertsWithTheMarketsErrorOnAStaleRate() public {
        uint256[] memory ids = _openDeals(2);
        (, uint256 updatedAt) = oracle.latestRate();
        skip(MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.StaleRate.selector, updatedAt, MAX_AGE));
        batcher.settleMany(ids);
    }

    function test_SettleMany_RevertsWhenASettlementRunsOutOfGas() public {
        uint256[] memory ids = _openDeals(2);
        _skipFresh(600);
        uint256 snapshot = vm.snapshotState();
        uint256 before = gasleft();
        batcher.settleMany(ids);
        uint256 used = before - gasleft();
        vm.revertToState(snapshot);
        // A settlement runs out of gas inside the market: the batch reverts, it does not skip the deal.
        vm.expectRevert();
        batcher.settleMany{gas: used / 3}(ids);
        assertEq(market.earningsOf(master), 0, "nothing settled");
    }

    /// @dev A settlement that uses a deposit up closes the deal; the market names the batcher as its closer.
    function test_SettleMany_ClosesDealsOutOfFunds() public {
        uint256[] memory ids = new uint256[](2);
        for (uint256 i = 0; i < ids.length; ++i) {
            ids[i] = _open(_spotAsk(), _spotBid());
        }
        _skipFresh(DEPOSIT / _owed(PRICE, 1, RATE) + 60);
        (uint256 rate,) = oracle.latestRate();
        vm.expectEmit(address(market));
        emit IMarket.DealSettled(ids[0], master, DEPOSIT, 0, rate, block.timestamp, 0);
        // The deal and its closer are the event's topics.
        vm.expectEmit(true, true, false, false, address(market));
        emit IMarket.DealClosed(
            ids[0], IMarket.CloseReason.OutOfFunds, address(batcher), 0, 0, 0, 0, 0, false
        );
        assertEq(batcher.settleMany(ids), 0);
        _assertClosed(ids[0], IMarket.CloseReason.OutOfFunds);
        _assertClosed(ids[1], IMarket.CloseReason.OutOfFunds);
        assertEq(batcher.settleMany(ids), 2, "both closed now");
    }

    /// @dev Whatever the deals, the time and the closed ones: the batch pays what one settle per active deal
    /// pays, and skips exactly the closed ones.
    function testFuzz_SettleMany_EqualsOneSettlePerDeal(uint8 count, uint16 elapsed, uint256 closedMask)
        public
    {
        count = uint8(bound(count, 1, 8));
        uint256[] memory ids = _openDeals(count);
        _skipFresh(bound(elapsed, 1, TERM * 2));
        uint256 closed = 0;
        for (uint256 i = 0; i < count; ++i) {
            if ((closedMask >> i) & 1 == 1) {
                _close(customer, ids[i], false);
                ++closed;
            }
        }
        uint256 snapshot = vm.snapshotState();
        for (uint256 i = 0; i < count; ++i) {
            if (market.getDeal(ids[i]).active) market.settle(ids[i]);
        }
        uint256 direct = market.earningsOf(master);
        vm.revertToState(snapshot);

        assertEq(batcher.settleMany(ids), closed);
        assertEq(market.earningsOf(master), direct);
        for (uint256 i = 0; i < count; ++i) {
            assertEq(
                market.getDeal(ids[i]).settledUntil,
                block.timestamp > market.getDeal(ids[i]).endTime
                    ? market.getDeal(ids[i]).endTime
                    : block.timestamp
            );
        }
    }
}
