// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RewardDistributorBase} from "./RewardDistributorBase.sol";
import {RewardDistributorHandler} from "./handlers/RewardDistributorHandler.sol";

/// @notice Invariants of the distributor under random sequences of the handler's actions.
contract RewardDistributorInvariantTest is RewardDistributorBase {
    RewardDistributorHandler internal handler;

    /// @dev The base's token and distributor (delay of a day); the handler holds the whole supply.
    function setUp() public override {
        super.setUp();
        handler = new RewardDistributorHandler(distributor, token, operator);
        token.transfer(address(handler), token.totalSupply());

        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = handler.fund.selector;
        selectors[1] = handler.warp.selector;
        selectors[2] = handler.propose.selector;
        selectors[3] = handler.cancel.selector;
        selectors[4] = handler.accept.selector;
        selectors[5] = handler.claim.selector;
        selectors[6] = handler.claimMany.selector;
        selectors[7] = handler.claimStale.selector;
        selectors[8] = handler.claimPending.selector;
        selectors[9] = handler.claimMultiproof.selector;
        selectors[10] = handler.accept.selector; // twice as likely: rounds need accepting
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    function _claimedSum() internal view returns (uint256 sum) {
        for (uint256 i; i < handler.ACTORS(); ++i) {
            sum += distributor.claimed(handler.actors(i));
        }
    }

    function invariant_ClaimedNeverExceedsFunded() public view {
        assertLe(_claimedSum(), distributor.totalFunded());
        assertLe(distributor.currentRoot().total, distributor.totalFunded(), "accepted total funded");
    }

    function invariant_BalanceIsFundedMinusClaimed() public view {
        uint256 claimed = _claimedSum();
        assertEq(handler.ghostPaid(), claimed, "every payment is a recorded claim");
        assertEq(token.balanceOf(address(distributor)), distributor.totalFunded() - claimed);
    }

    function invariant_NoAccountReceivesMoreThanLatestAmount() public view {
        for (uint256 i; i < handler.ACTORS(); ++i) {
            address actor = handler.actors(i);
            uint256 received = handler.received(actor);
            assertEq(received, distributor.claimed(actor), "received = claimed");
            assertEq(token.balanceOf(actor), received, "actors hold only what they claimed");
            assertLe(received, handler.acceptedAmount(actor), "within the latest accepted amount");
        }
    }

    function invariant_ClaimedNeverDecreases() public view {
        assertFalse(handler.claimedDecreased());
    }

    function invariant_OutcomesAsSpecified() public view {
        assertEq(handler.mismatch(), "");
    }
}
