// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEscrow} from "../../src/interfaces/IEscrow.sol";
import {IIdentity} from "../../src/interfaces/IIdentity.sol";
import {IMarket} from "../../src/interfaces/IMarket.sol";
import {ISignedAsks} from "../../src/interfaces/ISignedAsks.sol";
import {SignedAskBase} from "./SignedAskBase.sol";
import {Wallet1271} from "./mocks/Wallet1271.sol";

/// @notice Signed asks: taking one (quick buy and matched with a bid), every reason to refuse one, the
/// nonce's moves, EIP-1271 masters, and the close that pays the master out.
contract MarketSignedTest is SignedAskBase {
    /// @dev secp256k1's group order: s and n - s are both valid for ecrecover (the malleable twin).
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    // ------------------------------------------------------------ taking a signed ask

    function test_QuickBuySigned_OpensTheDealFromTheFreeBalanceAndMovesTheNonce() public {
        IMarket.Ask memory ask = _ask();
        _deposit(customer, DEPOSIT + 1);
        (uint256 nonce, bytes memory sig) = _signCurrent(ask);
        assertEq(nonce, 0);
        uint256 expectedId = market.nextOrderId();
        IMarket.DealInfo memory info = IMarket.DealInfo({
            worker: worker,
            askId: 0,
            bidId: 0,
            pricePerSecond: PRICE,
            deposit: DEPOSIT,
            startTime: block.timestamp,
            endTime: block.timestamp + TERM,
            image: IMAGE,
            configHash: CONFIG
        });
        vm.expectEmit(address(market));
        emit IMarket.DealOpened(expectedId, customer, master, info);
        vm.prank(customer);
        uint256 dealId = signed.quickBuySigned(ask, nonce, sig, TERM, DEPOSIT, IMAGE, CONFIG);

        assertEq(dealId, expectedId);
        IMarket.Deal memory d = _deal(dealId);
        assertTrue(d.active);
        assertEq(d.master, master);
        assertEq(d.customer, customer);
        assertEq(d.worker, worker);
        assertEq(d.deposit, DEPOSIT);
        assertEq(d.endTime, block.timestamp + TERM);
        assertEq(market.balanceOf(customer), 1);
        assertEq(signed.askNonce(worker), 1);
        assertEq(market.masterOf(worker), master, "the nonce shares the link's slot without touching it");
    }

    function test_QuickBuySigned_ReplayedAskIsRefused() public {
        IMarket.Ask memory ask = _ask();
        _deposit(customer, 2 * DEPOSIT);
        (uint256 nonce, bytes memory sig) = _signCurrent(ask);
        vm.prank(customer);
        signed.quickBuySigned(ask, nonce, sig, TERM, DEPOSIT, IMAGE, CONFIG);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.StaleAskNonce.selector, worker, 0, 1));
        signed.quickBuySigned(ask, nonce, sig, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_QuickBuySigned_SignatureBySomeoneElseIsRefused() public {
        IMarket.Ask memory ask = _ask();
        _deposit(customer, DEPOSIT);
        bytes memory sig = _sign(customerKey, ask, 0);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.InvalidAskSignature.selector, master));
        signed.quickBuySigned(ask, 0, sig, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_QuickBuySigned_ChangedFieldIsRefused() public {
        IMarket.Ask memory ask = _ask();
        _deposit(customer, DEPOSIT);
        bytes memory sig = _sign(masterKey, ask, 0);
        ask.pricePerSecond = PRICE / 2;
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.InvalidAskSignature.selector, master));
        signed.quickBuySigned(ask, 0, sig, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_QuickBuySigned_MalleableTwinIsRefused() public {
        IMarket.Ask memory ask = _ask();
        _deposit(customer, DEPOSIT);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(masterKey, _digest(address(market), ask, 0));
        // The same point with the other s: ecrecover accepts it, EIP-2 (and this market) does not.
        bytes memory twin = abi.encodePacked(r, bytes32(N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        assertEq(
            ecrecover(_digest(address(market), ask, 0), v == 27 ? 28 : 27, r, bytes32(N - uint256(s))), master
        );
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.InvalidAskSignature.selector, master));
        signed.quickBuySigned(ask, 0, twin, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_QuickBuySigned_MalformedSignatureIsRefused() public {
        IMarket.Ask memory ask = _ask();
        _deposit(customer, DEPOSIT);
        bytes memory sig = _sign(masterKey, ask, 0);
        bytes memory short = new bytes(64);
        for (uint256 i = 0; i < 64; i++) {
            short[i] = sig[i];
        }
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.InvalidAskSignature.selector, master));
        signed.quickBuySigned(ask, 0, short, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_QuickBuySigned_FutureNonceIsRefused() public {
        IMarket.Ask memory ask = _ask();
        _deposit(customer, DEPOSIT);
        bytes memory sig = _sign(masterKey, ask, 1);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.StaleAskNonce.selector, worker, 1, 0));
        signed.quickBuySigned(ask, 1, sig, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_QuickBuySigned_WorkerThatLeftItsMasterIsRefused() public {
        IMarket.Ask memory ask = _ask();
        _deposit(customer, DEPOSIT);
        (uint256 nonce, bytes memory sig) = _signCurrent(ask);
        vm.prank(worker);
        market.removeWorker(worker, master);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IMarket.WorkerNotConfirmed.selector, worker, master));
        signed.quickBuySigned(ask, nonce, sig, TERM, DEPOSIT, IMAGE, CONFIG);

        // Back with the same master: the ask signed before stays dead.
        _link(worker, master);
        assertEq(signed.askNonce(worker), 1);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.StaleAskNonce.selector, worker, 0, 1));
        signed.quickBuySigned(ask, nonce, sig, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_QuickBuySigned_UnlinkedWorkerOfZeroMasterIsRefused() public {
        IMarket.Ask memory ask = _ask();
        ask.master = address(0);
        ask.worker = makeAddr("loose");
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IMarket.WorkerNotConfirmed.selector, ask.worker, address(0)));
        signed.quickBuySigned(ask, 0, new bytes(65), TERM, DEPOSIT, IMAGE, CONFIG);
    }

    function test_QuickBuySigned_CancelledNonceIsRefused() public {
        IMarket.Ask memory ask = _ask();
        _deposit(customer, DEPOSIT);
        (uint256 nonce, bytes memory sig) = _signCurrent(ask);
        vm.expectEmit(address(market));
        emit ISignedAsks.SignedAsksCancelled(worker, master, 1);
        vm.prank(master);
        signed.cancelSignedAsks(worker);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.StaleAskNonce.selector, worker, 0, 1));
        signed.quickBuySigned(ask, nonce, sig, TERM, DEPOSIT, IMAGE, CONFIG);

        // An ask signed at the new nonce is good.
        _buySigned(ask);
        assertEq(signed.askNonce(worker), 2);
    }

    function test_QuickBuySigned_ChecksAsPlaceAskAndQuickBuy() public {
        IMarket.Ask memory ask = _ask();
        _deposit(customer, DEPOSIT);

        ask.pricePerSecond = 0;
        _expectBuyRevert(ask, abi.encodeWithSelector(IMarket.InvalidOrder.selector));
        ask.pricePerSecond = uint256(type(uint80).max) + 1;
        _expectBuyRevert(ask, abi.encodeWithSelector(IMarket.InvalidOrder.selector));
        ask = _ask();
        ask.minDuration = ask.maxDuration + 1;
        _expectBuyRevert(ask, abi.encodeWithSelector(IMarket.InvalidOrder.selector));
        ask = _ask();
        ask.expiry = uint64(block.timestamp - 1);
        _expectBuyRevert(ask, abi.encodeWithSelector(IMarket.OrderExpired.selector, 0, ask.expiry));
        ask = _ask();
        ask.counterparty = stranger;
        _expectBuyRevert(ask, abi.encodeWithSelector(IMarket.CounterpartyMismatch.selector));
        ask = _ask();
        ask.maxDuration = uint64(TERM - 1);
        ask.minDuration = 0;
        _expectBuyRevert(ask, abi.encodeWithSelector(IMarket.DurationOutOfRange.selector, TERM));

        ask = _ask();
        (uint256 nonce, bytes memory sig) = _signCurrent(ask);
        vm.prank(customer);
        vm.expectRevert(IEscrow.ZeroAmount.selector);
        signed.quickBuySigned(ask, nonce, sig, TERM, 0, IMAGE, CONFIG);
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IEscrow.InsufficientBalance.selector, customer, DEPOSIT, DEPOSIT + 1)
        );
        signed.quickBuySigned(ask, nonce, sig, TERM, DEPOSIT + 1, IMAGE, CONFIG);

        _pause();
        vm.prank(customer);
        vm.expectRevert(IMarket.MarketPaused.selector);
        signed.quickBuySigned(ask, nonce, sig, TERM, DEPOSIT, IMAGE, CONFIG);
        assertEq(signed.askNonce(worker), 0, "a refused take leaves the nonce");
    }

    function test_QuickBuySigned_BlacklistIsChecked() public {
        vm.prank(master);
        market.setBlacklist(customer, true);
        _deposit(customer, DEPOSIT);
        IMarket.Ask memory ask = _ask();
        _expectBuyRevert(ask, abi.encodeWithSelector(IMarket.BlacklistedBy.selector, master, customer));
    }

    function test_QuickBuySigned_ExpiryStillAhead() public {
        IMarket.Ask memory ask = _ask();
        ask.expiry = uint64(block.timestamp + 10);
        ask.counterparty = customer;
        uint256 dealId = _buySigned(ask);
        assertTrue(_deal(dealId).active);
    }

    function _expectBuyRevert(IMarket.Ask memory ask, bytes memory reason) internal {
        (uint256 nonce, bytes memory sig) = _signCurrent(ask);
        vm.prank(customer);
        vm.expectRevert(reason);
        signed.quickBuySigned(ask, nonce, sig, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    // ------------------------------------------------------------ matched with a bid

    function test_OpenDealSigned_MatchesAPlacedBid() public {
        IMarket.Ask memory ask = _ask();
        IMarket.Bid memory bid = _bid();
        _deposit(customer, bid.deposit);
        uint256 bidId = _placeBid(bid);
        (uint256 nonce, bytes memory sig) = _signCurrent(ask);
        vm.prank(stranger);
        uint256 dealId = signed.openDealSigned(ask, nonce, sig, bidId, bid);
        assertEq(dealId, bidId);
        assertEq(market.orderHash(bidId), 0);
        IMarket.Deal memory d = _deal(dealId);
        assertTrue(d.active);
        assertEq(d.customer, customer);
        assertEq(d.deposit, bid.deposit);
        assertEq(market.balanceOf(customer), 0);
        assertEq(signed.askNonce(worker), 1);

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.StaleAskNonce.selector, worker, 0, 1));
        signed.openDealSigned(ask, nonce, sig, bidId, bid);
    }

    function test_OpenDealSigned_ChecksTheTerms() public {
        IMarket.Ask memory ask = _ask();
        IMarket.Bid memory bid = _bid();
        bid.maxPricePerSecond = PRICE - 1;
        _deposit(customer, bid.deposit);
        uint256 bidId = _placeBid(bid);
        (uint256 nonce, bytes memory sig) = _signCurrent(ask);
        vm.expectRevert(abi.encodeWithSelector(IMarket.PriceTooHigh.selector, PRICE, PRICE - 1));
        signed.openDealSigned(ask, nonce, sig, bidId, bid);
        bid.maxPricePerSecond = PRICE;
        vm.expectRevert(abi.encodeWithSelector(IMarket.OrderMismatch.selector, bidId));
        signed.openDealSigned(ask, nonce, sig, bidId, bid);
        assertEq(signed.askNonce(worker), 0);
    }

    // ------------------------------------------------------------ cancelling

    function test_CancelSignedAsks_ByTheWorker() public {
        vm.prank(worker);
        signed.cancelSignedAsks(worker);
        assertEq(signed.askNonce(worker), 1);
    }

    function test_CancelSignedAsks_RefusesOthers() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.NotAskSigner.selector, worker, stranger));
        signed.cancelSignedAsks(worker);
        address loose = makeAddr("loose");
        vm.prank(loose);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.NotAskSigner.selector, loose, loose));
        signed.cancelSignedAsks(loose);
    }

    // ------------------------------------------------------------ EIP-1271 masters

    function _walletMaster() internal returns (Wallet1271 wallet, IMarket.Ask memory ask) {
        wallet = new Wallet1271(master);
        address machine = makeAddr("wallet's worker");
        vm.prank(machine);
        market.requestWorker(address(wallet));
        vm.prank(master);
        wallet.execute(address(market), abi.encodeCall(IIdentity.confirmWorker, (machine)));
        ask = _askOf(address(wallet), machine);
    }

    function _askOf(address master_, address worker_) internal view returns (IMarket.Ask memory ask) {
        ask = _ask();
        ask.master = master_;
        ask.worker = worker_;
    }

    function test_Eip1271_WalletAccepts() public {
        (Wallet1271 wallet, IMarket.Ask memory ask) = _walletMaster();
        _deposit(customer, DEPOSIT);
        bytes memory sig = _sign(masterKey, ask, 0);
        vm.prank(customer);
        uint256 dealId = signed.quickBuySigned(ask, 0, sig, TERM, DEPOSIT, IMAGE, CONFIG);
        assertEq(_deal(dealId).master, address(wallet));
    }

    function test_Eip1271_WalletRefuses() public {
        (Wallet1271 wallet, IMarket.Ask memory ask) = _walletMaster();
        _deposit(customer, DEPOSIT);
        bytes memory sig = _sign(masterKey, ask, 0);
        wallet.setRefuseAll(true);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.InvalidAskSignature.selector, address(wallet)));
        signed.quickBuySigned(ask, 0, sig, TERM, DEPOSIT, IMAGE, CONFIG);

        // Someone else's key is refused by the wallet too.
        wallet.setRefuseAll(false);
        sig = _sign(customerKey, ask, 0);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(ISignedAsks.InvalidAskSignature.selector, address(wallet)));
        signed.quickBuySigned(ask, 0, sig, TERM, DEPOSIT, IMAGE, CONFIG);
    }

    // ------------------------------------------------------------ close and pay out

    function test_CloseDealAndWithdraw_MasterIsPaidOutAtTheEnd() public {
        uint256 dealId = _buySigned(_ask());
        _skipFresh(TERM + 10);
        uint256 paid = _owed(PRICE, TERM, RATE);
        uint256 before = token.balanceOf(master);
        vm.expectEmit(address(market));
        emit IEscrow.EarningsWithdrawn(master, master, paid, 0);
        vm.prank(master);
        signed.closeDealAndWithdraw(dealId, master);
        assertEq(token.balanceOf(master) - before, paid);
        assertEq(_deal(dealId).master, address(0), "the record is cleared");
        assertEq(market.orderHash(dealId), 0);
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, dealId));
        market.settle(dealId);
        assertEq(market.earningsOf(master), 0);
        assertEq(market.balanceOf(customer), DEPOSIT - paid);
    }

    function test_CloseDealAndWithdraw_CustomerClosesAndHasNoEarnings() public {
        uint256 dealId = _buySigned(_ask());
        _skipFresh(100);
        uint256 before = token.balanceOf(customer);
        vm.prank(customer);
        signed.closeDealAndWithdraw(dealId, customer);
        assertFalse(_deal(dealId).active);
        assertEq(token.balanceOf(customer), before);
        assertEq(market.balanceOf(customer), DEPOSIT - _owed(PRICE, 100, RATE));
        assertEq(market.earningsOf(master), _owed(PRICE, 100, RATE));
    }

    function test_CloseDealAndWithdraw_SameRulesAsClose() public {
        uint256 dealId = _buySigned(_ask());
        _skipFresh(100);
        vm.prank(master);
        vm.expectRevert(abi.encodeWithSelector(IMarket.CloseNotAllowed.selector, dealId, master));
        signed.closeDealAndWithdraw(dealId, master);
        vm.prank(master);
        vm.expectRevert(IEscrow.ZeroAddress.selector);
        signed.closeDealAndWithdraw(dealId, address(0));
    }

    // ------------------------------------------------------------ hashing, domain, direct calls

    function test_HashSignedAsk_EqualsTheTypedDataDigest() public view {
        IMarket.Ask memory ask = _ask();
        assertEq(signed.hashSignedAsk(ask, 7), _digest(address(market), ask, 7));
    }

    function test_DomainSeparator_FollowsTheChain() public {
        bytes32 here = signed.domainSeparator();
        IMarket.Ask memory ask = _ask();
        vm.chainId(4242);
        assertTrue(signed.domainSeparator() != here);
        assertEq(signed.hashSignedAsk(ask, 0), _digest(address(market), ask, 0));
    }

    /// @dev At its own address the signed-ask code has its own, empty storage: no worker of any master.
    function test_DirectCallsToTheSignedAskCodeReachNothing() public {
        ISignedAsks code = ISignedAsks(vm.computeCreateAddress(address(market), 1));
        assertGt(address(code).code.length, 0);
        IMarket.Ask memory ask = _ask();
        bytes memory sig = _sign(masterKey, ask, 0);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IMarket.WorkerNotConfirmed.selector, worker, master));
        code.quickBuySigned(ask, 0, sig, TERM, DEPOSIT, IMAGE, CONFIG);
        assertTrue(code.domainSeparator() == signed.domainSeparator(), "the domain is the market's");
    }

    function test_UnknownSelectorReverts() public {
        (bool ok,) = address(market).call(abi.encodeWithSignature("noSuchFunction()"));
        assertFalse(ok);
    }

    // ------------------------------------------------------------ fuzz

    function testFuzz_OnlyTheMastersKeyAtTheCurrentNonceTakes(uint256 key, uint256 nonce) public {
        key = bound(key, 1, N - 1);
        IMarket.Ask memory ask = _ask();
        _deposit(customer, DEPOSIT);
        bytes memory sig = _sign(key, ask, nonce);
        vm.prank(customer);
        if (nonce != 0) {
            vm.expectRevert(abi.encodeWithSelector(ISignedAsks.StaleAskNonce.selector, worker, nonce, 0));
        } else if (key != masterKey) {
            vm.expectRevert(abi.encodeWithSelector(ISignedAsks.InvalidAskSignature.selector, master));
        }
        signed.quickBuySigned(ask, nonce, sig, TERM, DEPOSIT, IMAGE, CONFIG);
        assertEq(signed.askNonce(worker), nonce == 0 && key == masterKey ? 1 : 0);
    }

    function testFuzz_TakesSignedAsksOneAfterAnother(uint8 deals, uint8 cancels) public {
        deals = uint8(bound(deals, 1, 6));
        cancels = uint8(bound(cancels, 0, 3));
        IMarket.Ask memory ask = _spotAsk();
        for (uint256 i = 0; i < cancels; i++) {
            vm.prank(master);
            signed.cancelSignedAsks(worker);
        }
        for (uint256 i = 0; i < deals; i++) {
            ask.pricePerSecond = PRICE + i;
            _deposit(customer, DEPOSIT);
            (uint256 nonce, bytes memory sig) = _signCurrent(ask);
            vm.prank(customer);
            uint256 dealId = signed.quickBuySigned(ask, nonce, sig, 0, DEPOSIT, IMAGE, CONFIG);
            assertEq(_deal(dealId).pricePerSecond, PRICE + i);
        }
        assertEq(signed.askNonce(worker), uint256(deals) + cancels);
    }
}
