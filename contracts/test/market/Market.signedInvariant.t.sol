// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "../../src/interfaces/IMarket.sol";
import {ISignedAsks} from "../../src/interfaces/ISignedAsks.sol";
import {SignedAskBase} from "./SignedAskBase.sol";
import {SignedAskHandler} from "./handlers/SignedAskHandler.sol";

/// @notice Invariants of signed asks over random takes (valid, replayed, future nonce, wrong key),
/// cancellations, workers leaving and rejoining, closes and time (see {SignedAskHandler}).
contract MarketSignedInvariantTest is SignedAskBase {
    SignedAskHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new SignedAskHandler(market, token, oracle, masterKey, customer);
        vm.prank(owner);
        oracle.setReporter(address(handler), true);
        targetContract(address(handler));
    }

    /// @dev Every move of a worker's nonce is a take, a cancellation or a removal, and nothing else moves it.
    function invariant_NonceCountsEveryMove() public view {
        for (uint256 i = 0; i < 2; i++) {
            address w = handler.workers(i);
            assertEq(ISignedAsks(address(market)).askNonce(w), handler.ghostMoves(w));
        }
    }

    /// @dev No replayed, cancelled, future-nonce, wrongly signed or unlinked ask was ever taken, and no
    /// (worker, nonce) twice.
    function invariant_NoInvalidAskTaken() public view {
        assertEq(handler.violations(), 0);
    }

    /// @dev The market holds exactly the customer's free balance, the master's earnings and the open deposits
    /// (the tokens of the base set-up's actors never enter here: only the handler's customer and master act).
    function invariant_TokensAccountedFor() public view {
        uint256 deposits = 0;
        for (uint256 i = 0; i < handler.dealCount(); i++) {
            IMarket.Deal memory d = market.getDeal(handler.dealAt(i));
            if (d.active) deposits += d.deposit;
        }
        assertEq(
            token.balanceOf(address(market)),
            market.balanceOf(customer) + market.earningsOf(master) + deposits + market.accruedFees()
        );
    }

    /// @dev The handler's valid take goes through and its replay does not (a handler whose takes always
    /// reverted would prove nothing above).
    function test_HandlerTakesGoThrough() public {
        handler.take(0, 0, PRICE);
        assertEq(handler.takes(), 1);
        handler.take(0, 1, PRICE);
        assertEq(handler.takes(), 1);
        assertEq(handler.violations(), 0);
    }
}
