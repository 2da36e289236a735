// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "../../src/interfaces/IMarket.sol";
import {MarketBase} from "./MarketBase.sol";

/// @notice Placing and cancelling asks and bids; stored hashes and the shared id counter.
contract MarketOrdersTest is MarketBase {
    // ------------------------------------------------------------ placeAsk

    function test_PlaceAsk_ByMaster() public {
        IMarket.Ask memory ask = _ask();
        vm.expectEmit(address(market));
        emit IMarket.AskPlaced(1, master, worker, ask);
        uint256 askId = _placeAsk(ask);

        assertEq(askId, 1);
        assertEq(market.nextOrderId(), 2);
        assertEq(market.orderHash(askId), keccak256(abi.encode(ask)));
        assertEq(market.hashAsk(ask), keccak256(abi.encode(ask)));
    }

    function test_PlaceAsk_ByWorker() public {
        IMarket.Ask memory ask = _ask();
        vm.expectEmit(address(market));
        emit IMarket.AskPlaced(1, master, worker, ask);
        vm.prank(worker);
        uint256 askId = market.placeAsk(ask);
        assertEq(market.orderHash(askId), market.hashAsk(ask));
    }

    function test_PlaceAsk_Extremes() public {
        IMarket.Ask memory ask = _ask();
        ask.pricePerSecond = type(uint80).max;
        ask.expiry = uint64(block.timestamp + 1);
        ask.minDuration = 10 days;
        ask.maxDuration = 10 days;
        uint256 askId = _placeAsk(ask);
        assertEq(market.orderHash(askId), market.hashAsk(ask));

        // No maximum: any minimum is fine.
        ask.maxDuration = 0;
        ask.minDuration = type(uint64).max;
        askId = _placeAsk(ask);
        assertEq(market.orderHash(askId), market.hashAsk(ask));
    }

    function test_RevertWhen_PlaceAskCallerNotMasterNorWorker() public {
        IMarket.Ask memory ask = _ask();
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotOrderOwner.selector, 0, stranger));
        vm.prank(stranger);
        market.placeAsk(ask);
    }

    function test_RevertWhen_PlaceAskWorkerNotConfirmed() public {
        IMarket.Ask memory ask = _ask();
        ask.worker = stranger;
        vm.expectRevert(abi.encodeWithSelector(IMarket.WorkerNotConfirmed.selector, stranger, master));
        _placeAsk(ask);
    }

    function test_RevertWhen_PlaceAskWorkerOfAnotherMaster() public {
        IMarket.Ask memory ask = _ask();
        ask.master = stranger;
        vm.expectRevert(abi.encodeWithSelector(IMarket.WorkerNotConfirmed.selector, worker, stranger));
        _placeAsk(ask);
    }

    function test_RevertWhen_PlaceAskZeroMaster() public {
        // An unlinked worker has master zero: still refused.
        IMarket.Ask memory ask = _ask();
        ask.master = address(0);
        ask.worker = stranger;
        vm.expectRevert(abi.encodeWithSelector(IMarket.WorkerNotConfirmed.selector, stranger, address(0)));
        vm.prank(stranger);
        market.placeAsk(ask);
    }

    function test_RevertWhen_PlaceAskZeroPrice() public {
        IMarket.Ask memory ask = _ask();
        ask.pricePerSecond = 0;
        _expectInvalidAsk(ask);
    }

    function test_RevertWhen_PlaceAskPriceAboveUint80() public {
        IMarket.Ask memory ask = _ask();
        ask.pricePerSecond = uint256(type(uint80).max) + 1;
        _expectInvalidAsk(ask);
    }

    function test_RevertWhen_PlaceAskMinDurationAboveMax() public {
        IMarket.Ask memory ask = _ask();
        ask.minDuration = ask.maxDuration + 1;
        _expectInvalidAsk(ask);
    }

    function test_RevertWhen_PlaceAskExpiryNotInFuture() public {
        IMarket.Ask memory ask = _ask();
        ask.expiry = uint64(block.timestamp);
        _expectInvalidAsk(ask);
    }

    // ------------------------------------------------------------ placeBid

    function test_PlaceBid() public {
        IMarket.Bid memory bid = _bid();
        vm.expectEmit(address(market));
        emit IMarket.BidPlaced(1, customer, bid);
        uint256 bidId = _placeBid(bid);

        assertEq(bidId, 1);
        assertEq(market.nextOrderId(), 2);
        assertEq(market.orderHash(bidId), keccak256(abi.encode(bid)));
        assertEq(market.hashBid(bid), keccak256(abi.encode(bid)));
        // Placing locks nothing: the deposit moves at opening.
        assertEq(market.balanceOf(customer), 0);
    }

    function test_PlaceBid_Extremes() public {
        IMarket.Bid memory bid = _bid();
        bid.deposit = type(uint96).max;
        bid.maxPricePerSecond = type(uint256).max;
        bid.expiry = uint64(block.timestamp + 1);
        uint256 bidId = _placeBid(bid);
        assertEq(market.orderHash(bidId), market.hashBid(bid));
    }

    function test_RevertWhen_PlaceBidCallerNotCustomer() public {
        IMarket.Bid memory bid = _bid();
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotOrderOwner.selector, 0, stranger));
        vm.prank(stranger);
        market.placeBid(bid);
    }

    function test_RevertWhen_PlaceBidZeroMaxPrice() public {
        IMarket.Bid memory bid = _bid();
        bid.maxPricePerSecond = 0;
        _expectInvalidBid(bid);
    }

    function test_RevertWhen_PlaceBidZeroDeposit() public {
        IMarket.Bid memory bid = _bid();
        bid.deposit = 0;
        _expectInvalidBid(bid);
    }

    function test_RevertWhen_PlaceBidDepositAboveUint96() public {
        IMarket.Bid memory bid = _bid();
        bid.deposit = uint256(type(uint96).max) + 1;
        _expectInvalidBid(bid);
    }

    function test_RevertWhen_PlaceBidExpiryNotInFuture() public {
        IMarket.Bid memory bid = _bid();
        bid.expiry = uint64(block.timestamp);
        _expectInvalidBid(bid);
    }

    // ------------------------------------------------------------ ids

    function test_IdsAreSharedByOrdersAndQuickBuyDeals() public {
        assertEq(_placeAsk(_ask()), 1);
        assertEq(_placeBid(_bid()), 2);
        assertEq(_quickBuy(_ask(), TERM, DEPOSIT), 4);
        assertEq(market.nextOrderId(), 5);
    }

    function test_OrderHashIsZeroForDealsAndUnknownIds() public {
        uint256 dealId = _openFixed();
        assertEq(market.orderHash(dealId), bytes32(0));
        assertEq(market.orderHash(1), bytes32(0)); // the consumed ask
        assertEq(market.orderHash(999), bytes32(0));
    }

    // ------------------------------------------------------------ cancel

    function test_CancelAsk_ByMaster() public {
        IMarket.Ask memory ask = _ask();
        uint256 askId = _placeAsk(ask);
        vm.expectEmit(address(market));
        emit IMarket.OrderCancelled(askId, master);
        vm.prank(master);
        market.cancelAsk(askId, ask);
        assertEq(market.orderHash(askId), bytes32(0));
    }

    function test_CancelAsk_ByWorker() public {
        IMarket.Ask memory ask = _ask();
        uint256 askId = _placeAsk(ask);
        vm.expectEmit(address(market));
        emit IMarket.OrderCancelled(askId, worker);
        vm.prank(worker);
        market.cancelAsk(askId, ask);
        assertEq(market.orderHash(askId), bytes32(0));
    }

    function test_RevertWhen_CancelAskCallerNotOwner() public {
        IMarket.Ask memory ask = _ask();
        uint256 askId = _placeAsk(ask);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotOrderOwner.selector, askId, stranger));
        vm.prank(stranger);
        market.cancelAsk(askId, ask);
    }

    function test_RevertWhen_CancelAskForgedFields() public {
        IMarket.Ask memory ask = _ask();
        uint256 askId = _placeAsk(ask);
        ask.pricePerSecond += 1;
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, askId));
        vm.prank(master);
        market.cancelAsk(askId, ask);
    }

    function test_RevertWhen_CancelAskTwice() public {
        IMarket.Ask memory ask = _ask();
        uint256 askId = _placeAsk(ask);
        vm.startPrank(master);
        market.cancelAsk(askId, ask);
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, askId));
        market.cancelAsk(askId, ask);
        vm.stopPrank();
    }

    function test_RevertWhen_CancelAskUnknownId() public {
        IMarket.Ask memory ask = _ask();
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, 42));
        vm.prank(master);
        market.cancelAsk(42, ask);
    }

    function test_CancelBid() public {
        IMarket.Bid memory bid = _bid();
        uint256 bidId = _placeBid(bid);
        vm.expectEmit(address(market));
        emit IMarket.OrderCancelled(bidId, customer);
        vm.prank(customer);
        market.cancelBid(bidId, bid);
        assertEq(market.orderHash(bidId), bytes32(0));
    }

    function test_RevertWhen_CancelBidCallerNotCustomer() public {
        IMarket.Bid memory bid = _bid();
        uint256 bidId = _placeBid(bid);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotOrderOwner.selector, bidId, master));
        vm.prank(master);
        market.cancelBid(bidId, bid);
    }

    function test_RevertWhen_CancelBidForgedFields() public {
        IMarket.Bid memory bid = _bid();
        uint256 bidId = _placeBid(bid);
        bid.image = "ghcr.io/evil/miner:latest";
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, bidId));
        vm.prank(customer);
        market.cancelBid(bidId, bid);
    }

    function test_RevertWhen_CancelBidOfOpenDeal() public {
        IMarket.Bid memory bid = _bid();
        uint256 dealId = _open(_ask(), bid);
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, dealId));
        vm.prank(customer);
        market.cancelBid(dealId, bid);
    }

    // ------------------------------------------------------------ fuzz

    function testFuzz_PlaceAskStoresHashOfEveryField(
        uint64 netFlags,
        uint32 region,
        uint256 price,
        uint64 minDuration,
        uint64 maxDuration,
        uint64 expiry,
        address counterparty
    ) public {
        IMarket.Ask memory ask = _ask();
        ask.netFlags = netFlags;
        ask.region = region;
        ask.pricePerSecond = bound(price, 1, type(uint80).max);
        ask.maxDuration = maxDuration;
        ask.minDuration = maxDuration == 0 ? minDuration : uint64(bound(minDuration, 0, maxDuration));
        ask.expiry = expiry == 0 ? 0 : uint64(bound(expiry, block.timestamp + 1, type(uint64).max));
        ask.counterparty = counterparty;

        uint256 askId = _placeAsk(ask);
        assertEq(market.orderHash(askId), keccak256(abi.encode(ask)));
    }

    function testFuzz_PlaceBidStoresHashOfEveryField(
        uint256 maxPrice,
        uint64 duration,
        uint256 deposit,
        string memory image,
        bytes32 configHash
    ) public {
        IMarket.Bid memory bid = _bid();
        bid.maxPricePerSecond = bound(maxPrice, 1, type(uint256).max);
        bid.duration = duration;
        bid.deposit = bound(deposit, 1, type(uint96).max);
        bid.image = image;
        bid.configHash = configHash;

        uint256 bidId = _placeBid(bid);
        assertEq(market.orderHash(bidId), keccak256(abi.encode(bid)));
    }

    function _expectInvalidAsk(IMarket.Ask memory ask) internal {
        vm.expectRevert(IMarket.InvalidOrder.selector);
        _placeAsk(ask);
    }

    function _expectInvalidBid(IMarket.Bid memory bid) internal {
        vm.expectRevert(IMarket.InvalidOrder.selector);
        _placeBid(bid);
    }
}
