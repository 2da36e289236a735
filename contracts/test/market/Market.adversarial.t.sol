// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Market} from "../../src/Market.sol";
import {PriceOracle} from "../../src/PriceOracle.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IMarket} from "../../src/interfaces/IMarket.sol";
import {IPriceOracle} from "../../src/interfaces/IPriceOracle.sol";
import {MarketBase} from "./MarketBase.sol";
import {Reenterer, ReentrantToken} from "./mocks/ReentrantToken.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Attacks and edge cases: a token that re-enters the market, parties acting out of turn, stale
/// rates, extreme and zero values, blacklists, expiry, pause, forged orders.
contract MarketAdversarialTest is MarketBase {
    // ------------------------------------------------------------ a re-entering token

    ReentrantToken internal evilToken;
    Market internal evilMarket;
    Reenterer internal attacker;
    uint256 internal constant VICTIM_FUNDS = 100e18;

    /// @dev A second market on {ReentrantToken}, holding a victim's 100 tokens, with `master`'s worker
    /// confirmed and an attacker contract holding 1000 tokens.
    function _deployEvilMarket() internal {
        evilToken = new ReentrantToken();
        evilMarket = _newMarket(IERC20(address(evilToken)), oracle);
        attacker = new Reenterer(evilToken, address(evilMarket));
        evilToken.mint(address(attacker), 1000e18);
        evilToken.mint(customer, 1000e18);
        vm.startPrank(customer);
        evilToken.approve(address(evilMarket), type(uint256).max);
        evilMarket.deposit(customer, VICTIM_FUNDS);
        vm.stopPrank();
    }

    /// @dev The escrow invariant on the evil market, over the accounts these tests use.
    function _assertEvilMarketSolvent(uint256[] memory dealIds) internal view {
        address[4] memory accounts = [customer, master, address(attacker), treasury];
        uint256 owedTotal = evilMarket.accruedFees();
        for (uint256 i; i < accounts.length; ++i) {
            owedTotal += evilMarket.balanceOf(accounts[i]) + evilMarket.earningsOf(accounts[i]);
        }
        for (uint256 i; i < dealIds.length; ++i) {
            owedTotal += evilMarket.getDeal(dealIds[i]).deposit;
        }
        assertEq(evilToken.balanceOf(address(evilMarket)), owedTotal, "escrow solvent");
    }

    function _noDeals() internal pure returns (uint256[] memory) {
        return new uint256[](0);
    }

    function _oneDeal(uint256 dealId) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = dealId;
    }

    function _assertReentryReverted(bytes memory err) internal view {
        assertTrue(attacker.reentered(), "re-entered");
        assertFalse(attacker.reentrySucceeded(), "re-entry failed");
        assertEq(attacker.reentryResult(), err);
    }

    function test_Reentrancy_WithdrawCannotWithdrawTwice() public {
        _deployEvilMarket();
        attacker.exec(abi.encodeCall(IEscrow.deposit, (address(attacker), 10e18)));
        attacker.arm(abi.encodeCall(IEscrow.withdraw, (10e18, address(attacker))));
        attacker.exec(abi.encodeCall(IEscrow.withdraw, (10e18, address(attacker))));

        _assertReentryReverted(
            abi.encodeWithSelector(IEscrow.InsufficientBalance.selector, address(attacker), 0, 10e18)
        );
        assertEq(evilToken.balanceOf(address(attacker)), 1000e18);
        assertEq(evilToken.balanceOf(address(evilMarket)), VICTIM_FUNDS);
        _assertEvilMarketSolvent(_noDeals());
    }

    function test_Reentrancy_WithdrawInsideDepositGainsNothing() public {
        _deployEvilMarket();
        // The deposit is credited before the tokens arrive; withdrawing it from inside the transfer only
        // borrows the victim's tokens for the length of the call.
        attacker.arm(abi.encodeCall(IEscrow.withdraw, (10e18, address(attacker))));
        attacker.exec(abi.encodeCall(IEscrow.deposit, (address(attacker), 10e18)));

        assertTrue(attacker.reentrySucceeded());
        assertEq(evilMarket.balanceOf(address(attacker)), 0);
        assertEq(evilToken.balanceOf(address(attacker)), 1000e18);
        assertEq(evilMarket.balanceOf(customer), VICTIM_FUNDS);
        _assertEvilMarketSolvent(_noDeals());
    }

    function test_Reentrancy_WithdrawEarningsCannotWithdrawTwice() public {
        _deployEvilMarket();
        address machine = makeAddr("machine");
        vm.prank(machine);
        evilMarket.requestWorker(address(attacker));
        attacker.exec(abi.encodeCall(evilMarket.confirmWorker, (machine)));
        IMarket.Ask memory ask = _spotAsk();
        ask.master = address(attacker);
        ask.worker = machine;
        uint256 askId = abi.decode(attacker.exec(abi.encodeCall(evilMarket.placeAsk, (ask))), (uint256));
        vm.prank(customer);
        uint256 dealId = evilMarket.quickBuy(askId, ask, 0, DEPOSIT, IMAGE, CONFIG);
        _skipFresh(1000);
        evilMarket.settle(dealId);
        uint256 earned = evilMarket.earningsOf(address(attacker));
        assertEq(earned, 1000 * _perSecond());

        attacker.arm(abi.encodeCall(IEscrow.withdrawEarnings, (earned, address(attacker))));
        attacker.exec(abi.encodeCall(IEscrow.withdrawEarnings, (earned, address(attacker))));

        _assertReentryReverted(
            abi.encodeWithSelector(IEscrow.InsufficientEarnings.selector, address(attacker), 0, earned)
        );
        assertEq(evilToken.balanceOf(address(attacker)), 1000e18 + earned);
        _assertEvilMarketSolvent(_oneDeal(dealId));
    }

    function test_Reentrancy_CloseInsideQuickBuyRefundsOnlyWhatWasPaidIn() public {
        _deployEvilMarket();
        IMarket.Ask memory ask = _spotAsk();
        uint256 askId = _placeAskOn(evilMarket, ask);
        uint256 dealId = evilMarket.nextOrderId();
        attacker.arm(abi.encodeCall(IMarket.closeDeal, (dealId, false)));
        attacker.exec(abi.encodeCall(IMarket.quickBuy, (askId, ask, 0, DEPOSIT, IMAGE, CONFIG)));

        // The deal was stored before the transfer, so the re-entering close found it open and refunded it.
        assertTrue(attacker.reentrySucceeded());
        assertFalse(evilMarket.getDeal(dealId).active);
        assertEq(evilMarket.balanceOf(address(attacker)), DEPOSIT);
        _assertEvilMarketSolvent(_oneDeal(dealId));

        attacker.exec(abi.encodeCall(IEscrow.withdraw, (DEPOSIT, address(attacker))));
        assertEq(evilToken.balanceOf(address(attacker)), 1000e18);
        assertEq(evilToken.balanceOf(address(evilMarket)), VICTIM_FUNDS);
    }

    function test_Reentrancy_WithdrawFeesCannotWithdrawTwice() public {
        _deployEvilMarket();
        vm.prank(owner);
        evilMarket.setFee(1000, address(attacker));
        uint256 askId = _placeAskOn(evilMarket, _spotAsk());
        vm.prank(customer);
        uint256 dealId = evilMarket.quickBuy(askId, _spotAsk(), 0, DEPOSIT, IMAGE, CONFIG);
        _skipFresh(1000);
        evilMarket.settle(dealId);
        uint256 fees = evilMarket.accruedFees();
        assertGt(fees, 0);

        attacker.arm(abi.encodeCall(IEscrow.withdrawFees, ()));
        vm.prank(stranger);
        evilMarket.withdrawFees();

        _assertReentryReverted(abi.encodeWithSelector(IEscrow.NoFees.selector));
        assertEq(evilToken.balanceOf(address(attacker)), 1000e18 + fees);
        _assertEvilMarketSolvent(_oneDeal(dealId));
    }

    function test_Reentrancy_PermitThatTakesTheAskFirstRevertsTheQuickBuy() public {
        _deployEvilMarket();
        IMarket.Ask memory ask = _spotAsk();
        uint256 askId = _placeAskOn(evilMarket, ask);
        // The permit re-enters with a quick buy of the same ask: that one succeeds, so the outer one finds the
        // ask consumed and the whole call reverts.
        attacker.arm(abi.encodeCall(IMarket.quickBuy, (askId, ask, 0, DEPOSIT, IMAGE, CONFIG)));
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, askId));
        attacker.exec(
            abi.encodeCall(
                IMarket.quickBuyWithPermit,
                (askId, ask, 0, DEPOSIT, IMAGE, CONFIG, block.timestamp, 0, bytes32(0), bytes32(0))
            )
        );
        assertEq(evilMarket.orderHash(askId), evilMarket.hashAsk(ask));
        _assertEvilMarketSolvent(_noDeals());
    }

    function test_Reentrancy_WithdrawInsidePermitDepositStaysSolvent() public {
        _deployEvilMarket();
        attacker.exec(abi.encodeCall(IEscrow.deposit, (address(attacker), 10e18)));
        attacker.arm(abi.encodeCall(IEscrow.withdraw, (10e18, address(attacker))));
        attacker.exec(
            abi.encodeCall(
                IEscrow.depositWithPermit,
                (address(attacker), 5e18, block.timestamp, 0, bytes32(0), bytes32(0))
            )
        );
        assertTrue(attacker.reentrySucceeded());
        assertEq(evilMarket.balanceOf(address(attacker)), 5e18);
        assertEq(evilToken.balanceOf(address(attacker)), 1000e18 - 5e18);
        _assertEvilMarketSolvent(_noDeals());
    }

    /// @dev A market on {token} with its own oracle at `rate` (reported by `reporter`) and `master`'s worker
    /// confirmed.
    function _marketAtRate(uint256 rate) internal returns (Market m, PriceOracle o) {
        o = new PriceOracle(owner, rate, MAX_AGE, MAX_CHANGE_BPS);
        vm.prank(owner);
        o.setReporter(reporter, true);
        m = _newMarket(token, o);
    }

    /// @dev A market on `token_` and `oracle_` with `master`'s worker confirmed.
    function _newMarket(IERC20 token_, PriceOracle oracle_) internal returns (Market m) {
        m = new Market(owner, token_, IPriceOracle(address(oracle_)), RUNWAY);
        vm.prank(worker);
        m.requestWorker(master);
        vm.prank(master);
        m.confirmWorker(worker);
    }

    function _placeAskOn(Market m, IMarket.Ask memory ask) internal returns (uint256) {
        vm.prank(ask.master);
        return m.placeAsk(ask);
    }

    // ------------------------------------------------------------ parties out of turn

    function test_SupplierCannotEndAFixedTermEarly() public {
        uint256 dealId = _openFixed();
        _skipFresh(600);
        vm.startPrank(master);
        vm.expectRevert(abi.encodeWithSelector(IMarket.CloseNotAllowed.selector, dealId, master));
        market.closeDeal(dealId, false);
        vm.expectRevert(abi.encodeWithSelector(IMarket.CloseNotAllowed.selector, dealId, master));
        market.closeDeal(dealId, true);
        // Nor shorten it alone: a change needs the customer.
        market.proposeChange(dealId, PRICE, block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, dealId, master));
        market.acceptChange(dealId, PRICE, block.timestamp + 1);
        vm.stopPrank();
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, dealId, worker));
        market.acceptChange(dealId, PRICE, block.timestamp + 1);
        assertTrue(_deal(dealId).active);
    }

    function test_ClosedDealNeverChangesAgain() public {
        uint256 dealId = _openSpot();
        _skipFresh(100);
        vm.prank(master);
        market.proposeChange(dealId, PRICE / 2, 0);
        _close(customer, dealId, false);
        bytes32 closed = keccak256(abi.encode(_deal(dealId)));
        uint256 refund = market.balanceOf(customer);
        uint256 earned = market.earningsOf(master);

        _skipFresh(1000);
        bytes memory inactive = abi.encodeWithSelector(IMarket.DealNotActive.selector, dealId);
        vm.expectRevert(inactive);
        market.settle(dealId);
        vm.expectRevert(inactive);
        _close(customer, dealId, false);
        vm.expectRevert(inactive);
        _close(master, dealId, true);
        vm.expectRevert(inactive);
        vm.prank(customer);
        market.topUp(dealId, 1);
        vm.expectRevert(inactive);
        vm.prank(customer);
        market.acceptChange(dealId, PRICE / 2, 0);
        vm.expectRevert(inactive);
        vm.prank(customer);
        market.proposeChange(dealId, PRICE, 0);

        assertEq(keccak256(abi.encode(_deal(dealId))), closed);
        assertEq(market.balanceOf(customer), refund);
        assertEq(market.earningsOf(master), earned);
        (uint256 owedAmount,) = market.owed(dealId, RATE);
        assertEq(owedAmount, 0);
    }

    function test_StaleRate_OnlyTheCustomerCloses() public {
        uint256 dealId = _openSpot();
        skip(MAX_AGE + 1000); // no report: stale
        bytes memory stale = abi.encodeWithSelector(IPriceOracle.StaleRate.selector, START, MAX_AGE);
        vm.expectRevert(stale);
        market.settle(dealId);
        vm.expectRevert(stale);
        _close(master, dealId, false);
        vm.expectRevert(stale);
        _close(worker, dealId, true);
        vm.expectRevert(stale);
        _close(stranger, dealId, false);

        _close(customer, dealId, false);
        uint256 paid = _owed(PRICE, MAX_AGE + 1000, RATE);
        assertEq(market.balanceOf(customer), DEPOSIT - paid);
        assertEq(market.earningsOf(master), paid);
    }

    function test_StaleRate_CustomerClosingPastTheDepositGetsNothingBack() public {
        uint256 dealId = _openSpot();
        skip(10_000); // stale, and the deposit pays only 5000 s
        _close(customer, dealId, false);
        assertEq(market.balanceOf(customer), 0);
        assertEq(market.earningsOf(master), DEPOSIT);
        assertEq(uint8(_deal(dealId).reason), uint8(IMarket.CloseReason.OutOfFunds));
    }

    // ------------------------------------------------------------ extremes and zeros

    /// @dev The largest price, deposit and end time the storage holds, on a rate of 1 SNM per USD: nothing
    /// overflows, the deposit caps every payment, and the escrow still balances.
    function test_Extremes_MaxPriceDepositAndEndTime() public {
        (Market m, PriceOracle oneToOne) = _marketAtRate(1e18);
        IMarket.Ask memory ask = _spotAsk();
        ask.pricePerSecond = type(uint80).max;
        ask.minDuration = 0;
        uint256 askId = _placeAskOn(m, ask);
        uint256 deposit = type(uint96).max;
        deal(address(token), customer, deposit);
        vm.prank(customer);
        token.approve(address(m), deposit);
        uint256 duration = type(uint40).max - block.timestamp;
        vm.prank(customer);
        uint256 dealId = m.quickBuy(askId, ask, duration, deposit, IMAGE, CONFIG);
        assertEq(m.getDeal(dealId).endTime, type(uint40).max);

        // 2^80 - 1 USD-wei a second is 1.2 million SNM a second: the deposit lasts about 65,500 s.
        skip(60_000);
        vm.prank(reporter);
        oneToOne.report(1e18);
        m.settle(dealId);
        uint256 paid = uint256(type(uint80).max) * 60_000;
        assertEq(m.earningsOf(master), paid);

        vm.warp(type(uint40).max);
        vm.prank(customer);
        m.closeDeal(dealId, false);
        assertEq(m.earningsOf(master), deposit);
        assertEq(m.balanceOf(customer), 0);
        assertEq(token.balanceOf(address(m)), deposit);
        assertEq(uint8(m.getDeal(dealId).reason), uint8(IMarket.CloseReason.OutOfFunds));
    }

    function test_Extremes_LongestTermEndsAtUint40Max() public {
        IMarket.Ask memory ask = _spotAsk();
        uint256 askId = _placeAsk(ask);
        uint256 duration = type(uint40).max - block.timestamp;
        vm.prank(customer);
        uint256 dealId = market.quickBuy(askId, ask, duration, DEPOSIT, IMAGE, CONFIG);
        assertEq(_deal(dealId).endTime, type(uint40).max);

        askId = _placeAsk(ask);
        vm.expectRevert(abi.encodeWithSelector(IMarket.DurationOutOfRange.selector, duration + 1));
        vm.prank(customer);
        market.quickBuy(askId, ask, duration + 1, DEPOSIT, IMAGE, CONFIG);
    }

    /// @dev Below one SNM-wei a second (1 USD-wei a second at 0.5 SNM per USD), a one-second settlement pays
    /// nothing and still moves the deal forward: rounding goes against the supplier, never the escrow.
    function test_Zero_SettlementRoundingToNothingStillAdvances() public {
        (Market m,) = _marketAtRate(0.5e18);
        IMarket.Ask memory ask = _spotAsk();
        ask.pricePerSecond = 1;
        uint256 askId = _placeAskOn(m, ask);
        vm.prank(customer);
        token.approve(address(m), 1800);
        vm.prank(customer);
        uint256 dealId = m.quickBuy(askId, ask, 0, 1800, IMAGE, CONFIG);

        skip(1);
        m.settle(dealId);
        assertEq(m.earningsOf(master), 0);
        assertEq(m.getDeal(dealId).settledUntil, block.timestamp);
        skip(3);
        m.settle(dealId);
        assertEq(m.earningsOf(master), 1); // 3 s: 1.5 wei, rounded down
        assertEq(m.getDeal(dealId).deposit, 1799);
    }

    function test_Zero_AmountsAreRefused() public {
        uint256 dealId = _openSpot();
        vm.startPrank(customer);
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        market.deposit(customer, 0);
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        market.withdraw(0, customer);
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        market.topUp(dealId, 0);
        vm.stopPrank();
        uint256 askId = _placeAsk(_spotAsk());
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        vm.prank(customer);
        market.quickBuy(askId, _spotAsk(), 0, 0, IMAGE, CONFIG);
    }

    // ------------------------------------------------------------ blacklists, expiry, pause

    function test_Blacklist_CustomerWhoBlacklistedCannotQuickBuy() public {
        uint256 dealId = _openFixed();
        _close(customer, dealId, true);
        uint256 askId = _placeAsk(_ask());
        vm.expectRevert(abi.encodeWithSelector(IMarket.BlacklistedBy.selector, customer, master));
        vm.prank(customer);
        market.quickBuy(askId, _ask(), TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_Blacklist_BlacklistedCustomerCannotQuickBuy() public {
        uint256 dealId = _openSpot();
        _close(worker, dealId, true);
        uint256 askId = _placeAsk(_ask());
        vm.expectRevert(abi.encodeWithSelector(IMarket.BlacklistedBy.selector, master, customer));
        vm.prank(customer);
        market.quickBuy(askId, _ask(), TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_Blacklist_LiftedLetsThemTradeAgain() public {
        vm.prank(master);
        market.setBlacklist(customer, true);
        uint256 askId = _placeAsk(_ask());
        vm.prank(master);
        market.setBlacklist(customer, false);
        vm.prank(customer);
        uint256 dealId = market.quickBuy(askId, _ask(), TERM, DEPOSIT, IMAGE, CONFIG);
        assertTrue(_deal(dealId).active);
    }

    function test_RevertWhen_QuickBuyExpiredAsk() public {
        IMarket.Ask memory ask = _ask();
        ask.expiry = uint64(block.timestamp + 1);
        uint256 askId = _placeAsk(ask);
        _skipFresh(2);
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderExpired.selector, askId, ask.expiry));
        vm.prank(customer);
        market.quickBuy(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_ExpiredOrdersCanStillBeCancelled() public {
        IMarket.Bid memory bid = _bid();
        bid.expiry = uint64(block.timestamp + 1);
        uint256 bidId = _placeBid(bid);
        skip(10);
        vm.prank(customer);
        market.cancelBid(bidId, bid);
        assertEq(market.orderHash(bidId), bytes32(0));
    }

    function test_Paused_NoNewDealsButMoneyStillMoves() public {
        uint256 dealId = _openSpot();
        IMarket.Ask memory ask = _ask();
        uint256 askId = _placeAsk(ask); // placing orders still works
        _pause();

        vm.expectRevert(IMarket.MarketPaused.selector);
        vm.prank(customer);
        market.quickBuy(askId, ask, TERM, DEPOSIT, IMAGE, CONFIG);

        _skipFresh(100);
        market.settle(dealId);
        vm.prank(master);
        market.withdrawEarnings(100 * _perSecond(), master);
        _close(customer, dealId, false);
        vm.prank(customer);
        market.withdraw(DEPOSIT - 100 * _perSecond(), customer);
        assertEq(token.balanceOf(address(market)), 0);
    }

    // ------------------------------------------------------------ forged orders

    /// @dev Any field of a stored ask changed in the calldata (here: low bits of one word of its encoding
    /// flipped, which keeps every field in its type's range) fails the hash check.
    function testFuzz_RevertWhen_AskFieldForged(uint256 word, uint8 flip) public {
        IMarket.Ask memory ask = _ask();
        uint256 askId = _placeAsk(ask);
        bytes memory encoded = abi.encode(ask);
        word = bound(word, 0, encoded.length / 32 - 1);
        flip = uint8(bound(flip, 1, 255));
        assembly ("memory-safe") {
            let p := add(add(encoded, 32), mul(word, 32))
            mstore(p, xor(mload(p), flip))
        }
        IMarket.Ask memory forged = abi.decode(encoded, (IMarket.Ask));
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, askId));
        vm.prank(customer);
        market.quickBuy(askId, forged, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_RevertWhen_StrangerMatchesABidWithAnotherDeposit() public {
        IMarket.Bid memory bid = _bid();
        _deposit(customer, 10 * DEPOSIT);
        uint256 bidId = _placeBid(bid);
        uint256 askId = _placeAsk(_ask());
        // Trying to lock more of the customer's balance than the bid says.
        bid.deposit = 10 * DEPOSIT;
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, bidId));
        vm.prank(stranger);
        market.openDeal(askId, _ask(), bidId, bid);
    }

    function test_RevertWhen_DealIdUsedAsOrder() public {
        uint256 dealId = _openFixed();
        _close(customer, dealId, false);
        // A deal's record (open or closed) never passes as an order.
        IMarket.Bid memory bid = _bid();
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, dealId));
        vm.prank(customer);
        market.cancelBid(dealId, bid);
        IMarket.Ask memory ask = _ask();
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, dealId));
        vm.prank(customer);
        market.quickBuy(dealId, ask, TERM, DEPOSIT, IMAGE, CONFIG);
    }
}
