// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "../../src/interfaces/IMarket.sol";
import {MarketBase} from "./MarketBase.sol";

/// @notice Gas of every market operation, with SONM's measured inputs (price 1e14 USD-wei per second, an ask
/// with every resource set and 3 network flags, a bid for a fixed term of 3600 s, no counterparty); the
/// customer keeps a free balance in the escrow, the master has a confirmed worker, the fee is zero.
/// Figures land in snapshots/Market.json. Each top-level call runs as a transaction of its own (isolate mode,
/// set below), so storage and accounts start cold and written slots clean, as on chain, and each figure is
/// the transaction's gas, 21,000 base and calldata included: the receipts of `make gas` (docs/GAS.md) up to a
/// few dozen gas of calldata (other addresses, other zero bytes). The receipt-gas targets are checked here too.
/// forge-config: default.isolate = true
contract MarketGasTest is MarketBase {
    IMarket.Ask internal ask;
    IMarket.Bid internal bid;

    function setUp() public override {
        super.setUp();
        ask = _ask();
        bid = _bid();
    }

    function _snap(string memory name) internal returns (uint256) {
        return vm.snapshotGasLastCall("Market", name);
    }

    /// @dev The customer's free balance in the escrow, as in `make gas`.
    function _fundEscrow() internal {
        _deposit(customer, 1000e18);
    }

    /// @dev The deal of `make gas`: the customer's free balance funds it, the customer matches the orders.
    function _openDeal() internal returns (uint256) {
        _fundEscrow();
        uint256 askId = _placeAsk(ask);
        uint256 bidId = _placeBid(bid);
        vm.prank(customer);
        return market.openDeal(askId, ask, bidId, bid);
    }

    function test_Gas_PlaceAsk() public {
        vm.prank(master);
        market.placeAsk(ask);
        assertLe(_snap("placeAsk"), 70_000);
    }

    function test_Gas_PlaceBid() public {
        vm.prank(customer);
        market.placeBid(bid);
        assertLe(_snap("placeBid_fixedTerm"), 80_000);
    }

    function test_Gas_CancelOrder() public {
        uint256 askId = _placeAsk(ask);
        vm.prank(master);
        market.cancelAsk(askId, ask);
        _snap("cancelAsk");
    }

    function test_Gas_OpenDeal() public {
        _openDeal();
        assertLe(_snap("openDeal"), 140_000);
    }

    function test_Gas_QuickBuy() public {
        _fundEscrow();
        uint256 askId = _placeAsk(ask);
        vm.prank(customer);
        market.quickBuy(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG);
        assertLe(_snap("quickBuy"), 160_000);
    }

    /// @dev The deal of `make gas` settled once 1800 s in, then 600 s later: the moment of its close.
    function _settledDeal() internal returns (uint256 dealId) {
        dealId = _openDeal();
        _skipFresh(1800);
        market.settle(dealId);
        _skipFresh(600);
    }

    function test_Gas_SettleFirstAndRepeat() public {
        uint256 dealId = _openDeal();
        _skipFresh(1800);
        market.settle(dealId);
        assertLe(_snap("settle_first"), 50_000);
        _skipFresh(600);
        market.settle(dealId);
        assertLe(_snap("settle_repeat"), 50_000);
    }

    function test_Gas_CloseByCustomer() public {
        uint256 dealId = _settledDeal();
        vm.prank(customer);
        market.closeDeal(dealId, false);
        assertLe(_snap("closeDeal_customerRefund"), 60_000);
    }

    function test_Gas_CloseWithBlacklist() public {
        uint256 dealId = _settledDeal();
        vm.prank(customer);
        market.closeDeal(dealId, true);
        _snap("closeDeal_blacklist");
        assertTrue(market.isBlacklisted(customer, master));
    }

    /// @dev The worker ends the deal it could not serve since its last settlement: the unsettled seconds up to
    /// the time it served are paid, the rest refunded.
    function test_Gas_EndDealUnserved() public {
        uint256 dealId = _settledDeal();
        vm.prank(worker);
        market.endDealUnserved(dealId, block.timestamp - 300);
        assertLe(_snap("endDealUnserved_partlyServed"), 60_000);
        assertEq(uint8(market.getDeal(dealId).reason), uint8(IMarket.CloseReason.Unserved));
    }

    /// @dev Nothing served since the last settlement: no rate is read, nothing paid, everything left refunded.
    function test_Gas_EndDealUnservedNothingServed() public {
        uint256 dealId = _settledDeal();
        vm.prank(worker);
        market.endDealUnserved(dealId, 0);
        assertLe(_snap("endDealUnserved_nothingServed"), 60_000);
    }

    function test_Gas_AnnounceEndpoint() public {
        uint256 dealId = _openDeal();
        vm.prank(worker);
        market.announceEndpoint(dealId, "203.0.113.7:3128");
        _snap("announceEndpoint");
    }

    function test_Gas_ProposeChange() public {
        uint256 dealId = _openDeal();
        vm.prank(customer);
        market.proposeChange(dealId, PRICE / 2, block.timestamp + 2 * TERM);
        _snap("proposeChange");
        assertEq(market.pendingChange(dealId).proposer, customer);
    }

    /// @dev A new master's first worker, as in `make gas`.
    function test_Gas_RequestAndConfirmWorker() public {
        address newMaster = makeAddr("newMaster");
        address machine = makeAddr("machine");
        vm.prank(machine);
        market.requestWorker(newMaster);
        _snap("requestWorker");
        vm.prank(newMaster);
        market.confirmWorker(machine);
        _snap("confirmWorker_first");
        assertEq(market.workerCount(newMaster), 1);
    }

    /// @dev The first deposit into the escrow, as in `make gas`.
    function test_Gas_Deposit() public {
        _fundEscrow();
        _snap("deposit_first");
        assertEq(market.balanceOf(customer), 1000e18);
    }

    function test_Gas_WithdrawEarnings() public {
        _settledDeal();
        uint256 earnings = market.earningsOf(master);
        vm.prank(master);
        market.withdrawEarnings(earnings, master);
        _snap("withdrawEarnings");
        assertEq(market.earningsOf(master), 0);
    }

    /// @dev A customer adding to a running deal's deposit from its free balance.
    function test_Gas_TopUp() public {
        uint256 dealId = _openDeal();
        _deposit(customer, 100e18);
        vm.prank(customer);
        market.topUp(dealId, 100e18);
        _snap("topUp");
        assertEq(market.balanceOf(customer), 1000e18 - bid.deposit);
    }

    /// @dev A customer taking free balance back out of the escrow.
    function test_Gas_Withdraw() public {
        _fundEscrow();
        vm.prank(customer);
        market.withdraw(500e18, customer);
        _snap("withdraw");
        assertEq(market.balanceOf(customer), 500e18);
    }
}
