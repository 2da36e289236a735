// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "../../src/interfaces/IMarket.sol";
import {MarketBase} from "./MarketBase.sol";

/// @notice A supplier announcing where a deal's workload serves.
contract MarketEndpointTest is MarketBase {
    uint256 internal dealId;

    function setUp() public override {
        super.setUp();
        dealId = _openSpot();
    }

    function test_AnnounceEndpoint_ByWorkerAndByMaster() public {
        vm.expectEmit(address(market));
        emit IMarket.EndpointAnnounced(dealId, worker, "203.0.113.7:3128");
        vm.prank(worker);
        market.announceEndpoint(dealId, "203.0.113.7:3128");

        // A later announcement (a restarted workload) replaces it; the event names the deal's worker.
        vm.expectEmit(address(market));
        emit IMarket.EndpointAnnounced(dealId, worker, "[2001:db8::7]:3128");
        vm.prank(master);
        market.announceEndpoint(dealId, "[2001:db8::7]:3128");
    }

    function test_AnnounceEndpoint_LongestAccepted() public {
        string memory longest = string(new bytes(market.MAX_ENDPOINT_LENGTH()));
        vm.prank(worker);
        market.announceEndpoint(dealId, longest);
    }

    function test_RevertWhen_AnnouncerNotSupplier() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, dealId, customer));
        vm.prank(customer);
        market.announceEndpoint(dealId, "203.0.113.7:3128");

        vm.expectRevert(abi.encodeWithSelector(IMarket.NotDealParty.selector, dealId, stranger));
        vm.prank(stranger);
        market.announceEndpoint(dealId, "203.0.113.7:3128");
    }

    function test_RevertWhen_EndpointEmptyOrTooLong() public {
        vm.expectRevert(abi.encodeWithSelector(IMarket.InvalidEndpoint.selector, 0));
        vm.prank(worker);
        market.announceEndpoint(dealId, "");

        uint256 tooLong = market.MAX_ENDPOINT_LENGTH() + 1;
        vm.expectRevert(abi.encodeWithSelector(IMarket.InvalidEndpoint.selector, tooLong));
        vm.prank(worker);
        market.announceEndpoint(dealId, string(new bytes(tooLong)));
    }

    function test_RevertWhen_AnnouncingOnClosedOrUnknownDeal() public {
        _close(customer, dealId, false);
        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, dealId));
        vm.prank(worker);
        market.announceEndpoint(dealId, "203.0.113.7:3128");

        vm.expectRevert(abi.encodeWithSelector(IMarket.DealNotActive.selector, 999));
        vm.prank(worker);
        market.announceEndpoint(999, "203.0.113.7:3128");
    }
}
