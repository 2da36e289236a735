// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IMarket} from "../../src/interfaces/IMarket.sol";
import {IPriceOracle} from "../../src/interfaces/IPriceOracle.sol";
import {MarketBase} from "./MarketBase.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @notice Opening deals: {IMarket.openDeal} from an ask and a bid, {IMarket.quickBuy}, its permit variant.
contract MarketDealsTest is MarketBase {
    IMarket.Ask internal ask;
    IMarket.Bid internal bid;
    uint256 internal askId;
    uint256 internal bidId;

    /// @dev An ask and a bid placed, the bid's deposit in the customer's free balance; nothing matched yet.
    function setUp() public override {
        super.setUp();
        ask = _ask();
        bid = _bid();
        _deposit(customer, DEPOSIT);
    }

    function _place() internal {
        askId = _placeAsk(ask);
        bidId = _placeBid(bid);
    }

    function _match() internal returns (uint256) {
        vm.prank(stranger);
        return market.openDeal(askId, ask, bidId, bid);
    }

    function _expectMatchRevert(bytes memory err) internal {
        _place();
        vm.expectRevert(err);
        _match();
    }

    function _info(uint256 askId_, uint256 bidId_, uint256 deposit, uint256 duration)
        internal
        view
        returns (IMarket.DealInfo memory)
    {
        return IMarket.DealInfo({
            worker: worker,
            askId: askId_,
            bidId: bidId_,
            pricePerSecond: PRICE,
            deposit: deposit,
            startTime: block.timestamp,
            endTime: duration == 0 ? 0 : block.timestamp + duration,
            image: IMAGE,
            configHash: CONFIG
        });
    }

    function _assertDeal(uint256 dealId, uint256 deposit, uint256 endTime) internal view {
        IMarket.Deal memory d = _deal(dealId);
        assertEq(d.master, master);
        assertEq(d.customer, customer);
        assertEq(d.worker, worker);
        assertEq(d.deposit, deposit);
        assertEq(d.settledUntil, block.timestamp);
        assertEq(d.endTime, endTime);
        assertTrue(d.active);
        assertEq(uint8(d.reason), uint8(IMarket.CloseReason.None));
        assertEq(d.pricePerSecond, PRICE);
        assertEq(d.feeBps, 0);
    }

    // ------------------------------------------------------------ openDeal

    function test_OpenDeal() public {
        _place();
        vm.expectEmit(address(market));
        emit IMarket.DealOpened(bidId, customer, master, _info(askId, bidId, DEPOSIT, TERM));
        uint256 dealId = _match();

        assertEq(dealId, bidId);
        _assertDeal(dealId, DEPOSIT, block.timestamp + TERM);
        assertEq(market.balanceOf(customer), 0);
        assertEq(market.orderHash(askId), bytes32(0));
        assertEq(market.orderHash(bidId), bytes32(0));
        assertEq(token.balanceOf(address(market)), DEPOSIT);
    }

    function test_OpenDeal_Spot() public {
        ask.maxDuration = 0;
        bid.duration = 0;
        _place();
        vm.expectEmit(address(market));
        emit IMarket.DealOpened(bidId, customer, master, _info(askId, bidId, DEPOSIT, 0));
        uint256 dealId = _match();
        _assertDeal(dealId, DEPOSIT, 0);
    }

    function test_OpenDeal_ExactRunway() public {
        ask.maxDuration = 0;
        bid.duration = 0;
        bid.deposit = RUNWAY * _perSecond();
        _place();
        uint256 dealId = _match();
        _assertDeal(dealId, RUNWAY * _perSecond(), 0);
    }

    function test_OpenDeal_ShortTermNeedsOnlyTheTerm() public {
        bid.duration = 60;
        bid.deposit = 60 * _perSecond();
        _place();
        uint256 dealId = _match();
        _assertDeal(dealId, 60 * _perSecond(), block.timestamp + 60);
    }

    function test_OpenDeal_MatchingCounterpartiesRegionAndExactBounds() public {
        ask.counterparty = customer;
        bid.counterparty = master;
        bid.region = ask.region;
        bid.minResources = ask.resources;
        bid.requiredFlags = ask.netFlags;
        bid.maxPricePerSecond = ask.pricePerSecond;
        ask.minDuration = uint64(TERM);
        ask.maxDuration = uint64(TERM);
        ask.expiry = uint64(block.timestamp + 10);
        bid.expiry = uint64(block.timestamp + 10);
        _place();
        vm.warp(block.timestamp + 10); // both expire at this second, still usable
        uint256 dealId = _match();
        assertTrue(_deal(dealId).active);
    }

    function test_OpenDeal_ByAnyCaller() public {
        _place();
        vm.prank(customer);
        uint256 dealId = market.openDeal(askId, ask, bidId, bid);
        assertTrue(_deal(dealId).active);
    }

    function test_RevertWhen_OpenDealForgedAsk() public {
        _place();
        ask.pricePerSecond = PRICE / 2;
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, askId));
        _match();
    }

    function test_RevertWhen_OpenDealForgedBid() public {
        _place();
        bid.deposit = DEPOSIT - 1;
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, bidId));
        _match();
    }

    function test_RevertWhen_OpenDealAskAsBid() public {
        _place();
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, askId));
        vm.prank(stranger);
        market.openDeal(askId, ask, askId, bid);
    }

    function test_RevertWhen_OpenDealAskConsumed() public {
        _place();
        _match();
        bidId = _placeBid(bid);
        _deposit(customer, DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, askId));
        _match();
    }

    function test_RevertWhen_OpenDealBidConsumed() public {
        _place();
        uint256 dealId = _match();
        askId = _placeAsk(ask);
        _deposit(customer, DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, dealId));
        _match();
    }

    function test_RevertWhen_OpenDealAskExpired() public {
        ask.expiry = uint64(block.timestamp + 100);
        _place();
        skip(101);
        _report(RATE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderExpired.selector, askId, ask.expiry));
        _match();
    }

    function test_RevertWhen_OpenDealBidExpired() public {
        bid.expiry = uint64(block.timestamp + 100);
        _place();
        skip(101);
        _report(RATE);
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderExpired.selector, bidId, bid.expiry));
        _match();
    }

    function test_RevertWhen_OpenDealPaused() public {
        _pause();
        _expectMatchRevert(abi.encodeWithSelector(IMarket.MarketPaused.selector));
    }

    function testFuzz_RevertWhen_OpenDealResourcesTooLow(uint256 which) public {
        bid.minResources = ask.resources;
        which = bound(which, 0, 6);
        if (which == 0) bid.minResources.cpuMilliCores += 1;
        if (which == 1) bid.minResources.ramBytes += 1;
        if (which == 2) bid.minResources.storageBytes += 1;
        if (which == 3) bid.minResources.gpuCount += 1;
        if (which == 4) bid.minResources.gpuMemBytes += 1;
        if (which == 5) bid.minResources.netUpBps += 1;
        if (which == 6) bid.minResources.netDownBps += 1;
        _expectMatchRevert(abi.encodeWithSelector(IMarket.ResourcesTooLow.selector));
    }

    function test_RevertWhen_OpenDealFlagsMissing() public {
        ask.netFlags = 5;
        bid.requiredFlags = 3;
        _expectMatchRevert(abi.encodeWithSelector(IMarket.FlagsMissing.selector, 3, 5));
    }

    function test_OpenDeal_AnyRegionWhenBidSaysZero() public {
        bid.region = 0;
        ask.region = 840;
        _place();
        assertTrue(_deal(_match()).active);
    }

    function test_RevertWhen_OpenDealRegionMismatch() public {
        bid.region = 840;
        _expectMatchRevert(abi.encodeWithSelector(IMarket.RegionMismatch.selector, 840, 276));
    }

    function test_RevertWhen_OpenDealPriceTooHigh() public {
        bid.maxPricePerSecond = PRICE - 1;
        _expectMatchRevert(abi.encodeWithSelector(IMarket.PriceTooHigh.selector, PRICE, PRICE - 1));
    }

    function test_RevertWhen_OpenDealAskCounterpartyIsSomeoneElse() public {
        ask.counterparty = stranger;
        _expectMatchRevert(abi.encodeWithSelector(IMarket.CounterpartyMismatch.selector));
    }

    function test_RevertWhen_OpenDealBidCounterpartyIsSomeoneElse() public {
        bid.counterparty = stranger;
        _expectMatchRevert(abi.encodeWithSelector(IMarket.CounterpartyMismatch.selector));
    }

    function test_RevertWhen_OpenDealCustomerBlacklistedMaster() public {
        vm.prank(customer);
        market.setBlacklist(master, true);
        _expectMatchRevert(abi.encodeWithSelector(IMarket.BlacklistedBy.selector, customer, master));
    }

    function test_RevertWhen_OpenDealMasterBlacklistedCustomer() public {
        vm.prank(master);
        market.setBlacklist(customer, true);
        _expectMatchRevert(abi.encodeWithSelector(IMarket.BlacklistedBy.selector, master, customer));
    }

    function test_RevertWhen_OpenDealWorkerRemoved() public {
        _place();
        vm.prank(worker);
        market.removeWorker(worker, master);
        vm.expectRevert(abi.encodeWithSelector(IMarket.WorkerNotConfirmed.selector, worker, master));
        _match();
    }

    function test_RevertWhen_OpenDealDurationBelowMinimum() public {
        ask.minDuration = uint64(TERM + 1);
        _expectMatchRevert(abi.encodeWithSelector(IMarket.DurationOutOfRange.selector, TERM));
    }

    function test_RevertWhen_OpenDealDurationAboveMaximum() public {
        ask.maxDuration = uint64(TERM - 1);
        _expectMatchRevert(abi.encodeWithSelector(IMarket.DurationOutOfRange.selector, TERM));
    }

    function test_RevertWhen_OpenDealSpotFromAskWithMaximum() public {
        bid.duration = 0;
        _expectMatchRevert(abi.encodeWithSelector(IMarket.DurationOutOfRange.selector, 0));
    }

    function test_RevertWhen_OpenDealEndTimePastUint40() public {
        ask.maxDuration = 0;
        bid.duration = uint64(type(uint40).max - block.timestamp + 1);
        _expectMatchRevert(abi.encodeWithSelector(IMarket.DurationOutOfRange.selector, bid.duration));
    }

    function test_RevertWhen_OpenDealDepositBelowRunway() public {
        ask.maxDuration = 0;
        bid.duration = 0;
        bid.deposit = RUNWAY * _perSecond() - 1;
        _expectMatchRevert(
            abi.encodeWithSelector(IMarket.DepositBelowRunway.selector, bid.deposit, RUNWAY * _perSecond())
        );
    }

    function test_RevertWhen_OpenDealDepositBelowShortTerm() public {
        bid.duration = 60;
        bid.deposit = 60 * _perSecond() - 1;
        _expectMatchRevert(
            abi.encodeWithSelector(IMarket.DepositBelowRunway.selector, bid.deposit, 60 * _perSecond())
        );
    }

    function test_RevertWhen_OpenDealRunwayRoundsUp() public {
        // 3 USD-wei for 1 s at 100e18 + 1 SNM wei per USD: 300.000000000000000003 wei, so 301 needed.
        _report(RATE + 1);
        ask.pricePerSecond = 3;
        bid.maxPricePerSecond = 3;
        bid.duration = 1;
        bid.deposit = 300;
        _expectMatchRevert(abi.encodeWithSelector(IMarket.DepositBelowRunway.selector, 300, 301));
    }

    function test_OpenDeal_RunwayRoundedUpIsEnough() public {
        _report(RATE + 1);
        ask.pricePerSecond = 3;
        bid.maxPricePerSecond = 3;
        bid.duration = 1;
        bid.deposit = 301;
        _place();
        assertEq(_deal(_match()).deposit, 301);
    }

    function test_RevertWhen_OpenDealStaleRate() public {
        _place();
        skip(MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.StaleRate.selector, START, MAX_AGE));
        _match();
    }

    function test_RevertWhen_OpenDealCustomerBalanceShort() public {
        bid.deposit = DEPOSIT + 1;
        _expectMatchRevert(
            abi.encodeWithSelector(IEscrow.InsufficientBalance.selector, customer, DEPOSIT, DEPOSIT + 1)
        );
    }

    // ------------------------------------------------------------ quickBuy

    function test_QuickBuy() public {
        askId = _placeAsk(ask);
        uint256 expectedId = market.nextOrderId();
        vm.expectEmit(address(market));
        emit IMarket.DealOpened(expectedId, customer, master, _info(askId, 0, DEPOSIT, TERM));
        vm.prank(customer);
        uint256 dealId = market.quickBuy(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG);

        assertEq(dealId, expectedId);
        _assertDeal(dealId, DEPOSIT, block.timestamp + TERM);
        assertEq(market.orderHash(askId), bytes32(0));
        // Paid straight from the wallet: the free balance is untouched.
        assertEq(market.balanceOf(customer), DEPOSIT);
        assertEq(token.balanceOf(customer), FUNDS - 2 * DEPOSIT);
        assertEq(token.balanceOf(address(market)), 2 * DEPOSIT);
    }

    function test_QuickBuy_Spot() public {
        ask.maxDuration = 0;
        askId = _placeAsk(ask);
        vm.prank(customer);
        uint256 dealId = market.quickBuy(askId, ask, 0, DEPOSIT, IMAGE, CONFIG);
        _assertDeal(dealId, DEPOSIT, 0);
    }

    function test_QuickBuy_ByCounterparty() public {
        ask.counterparty = customer;
        askId = _placeAsk(ask);
        vm.prank(customer);
        uint256 dealId = market.quickBuy(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG);
        assertTrue(_deal(dealId).active);
    }

    function test_RevertWhen_QuickBuyCounterpartyIsSomeoneElse() public {
        ask.counterparty = stranger;
        askId = _placeAsk(ask);
        vm.expectRevert(IMarket.CounterpartyMismatch.selector);
        vm.prank(customer);
        market.quickBuy(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_RevertWhen_QuickBuyZeroDeposit() public {
        askId = _placeAsk(ask);
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        vm.prank(customer);
        market.quickBuy(askId, ask, TERM, 0, IMAGE, CONFIG);
    }

    function test_RevertWhen_QuickBuyDepositAboveUint96() public {
        askId = _placeAsk(ask);
        uint256 amount = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IEscrow.AmountTooLarge.selector, amount));
        vm.prank(customer);
        market.quickBuy(askId, ask, TERM, amount, IMAGE, CONFIG);
    }

    function test_RevertWhen_QuickBuyForgedAsk() public {
        askId = _placeAsk(ask);
        ask.worker = stranger;
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, askId));
        vm.prank(customer);
        market.quickBuy(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_RevertWhen_QuickBuyWithoutAllowance() public {
        askId = _placeAsk(ask);
        vm.startPrank(customer);
        token.approve(address(market), 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, DEPOSIT
            )
        );
        market.quickBuy(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG);
        vm.stopPrank();
    }

    function test_QuickBuyWithPermit() public {
        askId = _placeAsk(ask);
        _revokeAllowance();
        (uint256 deadline, uint8 v, bytes32 r, bytes32 s) = _signPermit(DEPOSIT);
        uint256 expectedId = market.nextOrderId();

        vm.expectEmit(address(market));
        emit IMarket.DealOpened(expectedId, customer, master, _info(askId, 0, DEPOSIT, TERM));
        vm.prank(customer);
        uint256 dealId =
            market.quickBuyWithPermit(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG, deadline, v, r, s);

        _assertDeal(dealId, DEPOSIT, block.timestamp + TERM);
        assertEq(token.nonces(customer), 1);
        assertEq(token.allowance(customer, address(market)), 0);
    }

    function test_QuickBuyWithPermit_FrontRunPermitIgnored() public {
        askId = _placeAsk(ask);
        _revokeAllowance();
        (uint256 deadline, uint8 v, bytes32 r, bytes32 s) = _signPermit(DEPOSIT);
        token.permit(customer, address(market), DEPOSIT, deadline, v, r, s);

        vm.prank(customer);
        uint256 dealId =
            market.quickBuyWithPermit(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG, deadline, v, r, s);
        assertTrue(_deal(dealId).active);
    }

    function test_RevertWhen_QuickBuyWithPermitSignedForLess() public {
        askId = _placeAsk(ask);
        _revokeAllowance();
        (uint256 deadline, uint8 v, bytes32 r, bytes32 s) = _signPermit(DEPOSIT - 1);

        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, DEPOSIT
            )
        );
        vm.prank(customer);
        market.quickBuyWithPermit(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG, deadline, v, r, s);
    }
}
