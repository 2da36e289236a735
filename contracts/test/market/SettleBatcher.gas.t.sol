// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {GasInputs} from "../../script/GasInputs.sol";
import {SettleBatcher} from "../../src/SettleBatcher.sol";
import {IMarket} from "../../src/interfaces/IMarket.sol";
import {MarketBase} from "./MarketBase.sol";

/// @notice Gas of {SettleBatcher.settleMany} beside one {IMarket.settle} per deal, with `make gas`'s deal
/// (fixed term of 3600 s, SONM's measured inputs), 1800 s after the deals opened. Each top-level call is a
/// transaction of its own (isolate mode), so the figures are receipts' gas, 21,000 base included; they land
/// in snapshots/SettleBatcher.json and docs/GAS.md.
/// forge-config: default.isolate = true
contract SettleBatcherGasTest is MarketBase {
    SettleBatcher internal batcher;

    function setUp() public override {
        super.setUp();
        batcher = new SettleBatcher(market);
    }

    /// @dev `count` deals, each with a master of its own when `ownMasters`, else all of `master`.
    function _openDeals(uint256 count, bool ownMasters) internal returns (uint256[] memory ids) {
        ids = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            address master_ = master;
            address worker_ = worker;
            if (ownMasters) {
                master_ = makeAddr(string.concat("master", vm.toString(i)));
                worker_ = makeAddr(string.concat("worker", vm.toString(i)));
                _link(worker_, master_);
            }
            IMarket.Ask memory ask = GasInputs.ask(master_, worker_);
            _deposit(customer, DEPOSIT);
            uint256 askId = _placeAsk(ask);
            uint256 bidId = _placeBid(_bid());
            vm.prank(stranger);
            ids[i] = market.openDeal(askId, ask, bidId, _bid());
        }
        _skipFresh(1800);
    }

    /// @dev Settles `ids` in one batch and returns the receipt's gas per deal.
    function _batch(uint256[] memory ids, string memory name) internal returns (uint256 perDeal) {
        vm.prank(master);
        batcher.settleMany(ids);
        perDeal = vm.snapshotGasLastCall("SettleBatcher", name) / ids.length;
        vm.snapshotValue("SettleBatcher", string.concat(name, "_perDeal"), perDeal);
    }

    function test_Gas_SettleOne() public {
        uint256[] memory ids = _openDeals(1, false);
        vm.prank(master);
        market.settle(ids[0]);
        uint256 single = vm.snapshotGasLastCall("SettleBatcher", "settle_single");
        uint256 perDeal = _batch(_openDeals(1, false), "settleMany_1");
        assertLe(perDeal, single + 5_000, "a batch of one costs about a settle");
    }

    function test_Gas_SettleManyOneMaster() public {
        uint256[] memory ten = _openDeals(10, false);
        assertLe(_batch(ten, "settleMany_10_oneMaster"), 25_000);
        uint256[] memory fifty = _openDeals(50, false);
        assertLe(_batch(fifty, "settleMany_50_oneMaster"), 22_000);
    }

    function test_Gas_SettleManyTenMasters() public {
        assertLe(_batch(_openDeals(10, true), "settleMany_10_tenMasters"), 35_000);
    }
}
