// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";
import {RewardDistributorBase} from "./RewardDistributorBase.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Unit tests of the distributor's life cycle: construction, funding, proposing, cancelling
/// and accepting roots, and the views that report them.
contract RewardDistributorRootsTest is RewardDistributorBase {
    bytes32 internal constant ROOT = keccak256("root 1");
    bytes32 internal constant ROOT2 = keccak256("root 2");
    bytes32 internal constant CONTENT = keccak256("proofs file");
    uint256 internal constant TOTAL = 1000e18;

    address internal stranger = makeAddr("stranger");

    function _proposeAs(address caller, bytes32 root, uint256 total) internal {
        vm.prank(caller);
        distributor.proposeRoot(root, total, CONTENT, URI);
    }

    function _assertNoProposal() internal view {
        IRewardDistributor.Proposal memory p = distributor.pendingRoot();
        assertEq(p.root, bytes32(0), "pending root");
        assertEq(p.total, 0, "pending total");
        assertEq(p.contentHash, bytes32(0), "pending content hash");
        assertEq(p.round, 0, "pending round");
        assertEq(p.acceptableAt, 0, "pending acceptableAt");
        assertEq(p.uri, "", "pending uri");
    }

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_Constructor() public view {
        assertEq(distributor.token(), address(token), "token");
        assertEq(distributor.delay(), DELAY, "delay");
        assertEq(distributor.owner(), operator, "owner");
        assertEq(distributor.pendingOwner(), address(0), "pendingOwner");
        assertEq(distributor.totalFunded(), 0, "totalFunded");
        assertEq(distributor.merkleRoot(), bytes32(0), "merkleRoot");
        IRewardDistributor.Root memory r = distributor.currentRoot();
        assertEq(r.root, bytes32(0), "root");
        assertEq(r.total, 0, "total");
        assertEq(r.contentHash, bytes32(0), "contentHash");
        assertEq(r.round, 0, "round");
        assertEq(r.acceptedAt, 0, "acceptedAt");
        assertEq(r.uri, "", "uri");
        _assertNoProposal();
    }

    function test_RevertWhen_TokenZero() public {
        vm.expectRevert(IRewardDistributor.ZeroToken.selector);
        new RewardDistributor(IERC20(address(0)), operator, DELAY);
    }

    function test_RevertWhen_OwnerZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new RewardDistributor(IERC20(address(token)), address(0), DELAY);
    }

    /*//////////////////////////////////////////////////////////////
                                 FUND
    //////////////////////////////////////////////////////////////*/

    function test_Fund() public {
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Funded(address(this), 300e18, 300e18);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(this), address(distributor), 300e18);
        distributor.fund(300e18);

        assertEq(distributor.totalFunded(), 300e18, "totalFunded");
        assertEq(token.balanceOf(address(distributor)), 300e18, "balance");
        assertEq(token.balanceOf(address(this)), SUPPLY - 300e18, "funder balance");
    }

    function test_Fund_Accumulates() public {
        distributor.fund(300e18);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Funded(address(this), 200e18, 500e18);
        distributor.fund(200e18);
        assertEq(distributor.totalFunded(), 500e18);
    }

    function test_Fund_ByAnyone() public {
        token.transfer(stranger, 50e18);
        vm.startPrank(stranger);
        token.approve(address(distributor), 50e18);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Funded(stranger, 50e18, 50e18);
        distributor.fund(50e18);
        vm.stopPrank();
        assertEq(token.balanceOf(stranger), 0);
    }

    function test_RevertWhen_FundZero() public {
        vm.expectRevert(IRewardDistributor.ZeroAmount.selector);
        distributor.fund(0);
    }

    function test_RevertWhen_FundNotApproved() public {
        token.transfer(stranger, 50e18);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(distributor), 0, 50e18
            )
        );
        distributor.fund(50e18);
    }

    function test_RevertWhen_FundBeyondBalance() public {
        token.transfer(stranger, 50e18);
        vm.startPrank(stranger);
        token.approve(address(distributor), 51e18);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, stranger, 50e18, 51e18)
        );
        distributor.fund(51e18);
        vm.stopPrank();
    }

    /*//////////////////////////////////////////////////////////////
                              PROPOSE ROOT
    //////////////////////////////////////////////////////////////*/

    function test_ProposeRoot() public {
        uint64 acceptableAt = uint64(block.timestamp) + DELAY;
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.RootProposed(1, ROOT, TOTAL, CONTENT, acceptableAt, URI);
        _proposeAs(operator, ROOT, TOTAL);

        IRewardDistributor.Proposal memory p = distributor.pendingRoot();
        assertEq(p.root, ROOT, "root");
        assertEq(p.total, TOTAL, "total");
        assertEq(p.contentHash, CONTENT, "contentHash");
        assertEq(p.round, 1, "round");
        assertEq(p.acceptableAt, acceptableAt, "acceptableAt");
        assertEq(p.uri, URI, "uri");
        // Proposing changes nothing claims depend on.
        assertEq(distributor.merkleRoot(), bytes32(0), "merkleRoot");
        assertEq(distributor.roundOf(ROOT), 0, "roundOf");
    }

    /// @dev Funding is checked on acceptance only, so a round can be announced before it is paid.
    function test_ProposeRoot_Unfunded() public {
        _proposeAs(operator, ROOT, TOTAL);
        assertEq(distributor.pendingRoot().total, TOTAL);
    }

    function test_ProposeRoot_NextRound() public {
        _fundAndPublish(ROOT, TOTAL);
        uint64 acceptableAt = uint64(block.timestamp) + DELAY;
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.RootProposed(2, ROOT2, TOTAL, CONTENT, acceptableAt, URI);
        // The same total as the accepted root's is allowed (a round in which nobody earned).
        _proposeAs(operator, ROOT2, TOTAL);
    }

    function test_ProposeRoot_AfterCancelKeepsRound() public {
        _proposeAs(operator, ROOT, TOTAL);
        _cancel(ROOT);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.RootProposed(1, ROOT2, 0, CONTENT, uint64(block.timestamp) + DELAY, URI);
        _proposeAs(operator, ROOT2, 0);
    }

    function test_RevertWhen_ProposeRootCallerNotOwner() public {
        vm.expectRevert(_unauthorized(stranger));
        _proposeAs(stranger, ROOT, TOTAL);
    }

    function test_RevertWhen_ProposeRootZero() public {
        vm.expectRevert(IRewardDistributor.ZeroRoot.selector);
        _proposeAs(operator, bytes32(0), TOTAL);
    }

    function test_RevertWhen_ProposeRootPendingExists() public {
        _proposeAs(operator, ROOT, TOTAL);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.ProposalPending.selector, ROOT));
        _proposeAs(operator, ROOT2, TOTAL);
    }

    function test_RevertWhen_ProposeRootTotalDecreased() public {
        _fundAndPublish(ROOT, TOTAL);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.TotalDecreased.selector, TOTAL - 1, TOTAL));
        _proposeAs(operator, ROOT2, TOTAL - 1);
    }

    /*//////////////////////////////////////////////////////////////
                              CANCEL ROOT
    //////////////////////////////////////////////////////////////*/

    function test_CancelRoot() public {
        _proposeAs(operator, ROOT, TOTAL);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.RootCancelled(1, ROOT);
        _cancel(ROOT);
        _assertNoProposal();
        assertEq(distributor.roundOf(ROOT), 0, "roundOf");
    }

    /// @dev The delay is a minimum: a proposal past it can still be cancelled.
    function test_CancelRoot_AfterDelay() public {
        _proposeAs(operator, ROOT, TOTAL);
        vm.warp(block.timestamp + 10 * DELAY);
        _cancel(ROOT);
        _assertNoProposal();
    }

    function test_RevertWhen_CancelRootCallerNotOwner() public {
        _proposeAs(operator, ROOT, TOTAL);
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        distributor.cancelRoot(ROOT);
    }

    function test_RevertWhen_CancelRootNothingProposed() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NotProposed.selector, ROOT, bytes32(0)));
        _cancel(ROOT);
    }

    function test_RevertWhen_CancelRootWrongRoot() public {
        _proposeAs(operator, ROOT, TOTAL);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NotProposed.selector, ROOT2, ROOT));
        _cancel(ROOT2);
    }

    /// @dev Naming the zero root never cancels anything, even when nothing is pending.
    function test_RevertWhen_CancelRootZero() public {
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.NotProposed.selector, bytes32(0), bytes32(0))
        );
        _cancel(bytes32(0));
    }

    /*//////////////////////////////////////////////////////////////
                              ACCEPT ROOT
    //////////////////////////////////////////////////////////////*/

    function test_AcceptRoot() public {
        _fund(TOTAL);
        _proposeAs(operator, ROOT, TOTAL);
        vm.warp(block.timestamp + DELAY);

        vm.expectEmit(address(distributor));
        emit IRewardDistributor.RootAccepted(1, ROOT, bytes32(0), TOTAL, CONTENT, URI);
        _accept(ROOT);

        IRewardDistributor.Root memory r = distributor.currentRoot();
        assertEq(r.root, ROOT, "root");
        assertEq(r.total, TOTAL, "total");
        assertEq(r.contentHash, CONTENT, "contentHash");
        assertEq(r.round, 1, "round");
        assertEq(r.acceptedAt, block.timestamp, "acceptedAt");
        assertEq(r.uri, URI, "uri");
        assertEq(distributor.merkleRoot(), ROOT, "merkleRoot");
        assertEq(distributor.roundOf(ROOT), 1, "roundOf");
        _assertNoProposal();
    }

    function test_AcceptRoot_NextRound() public {
        _fundAndPublish(ROOT, TOTAL);
        _fund(TOTAL);
        _proposeAs(operator, ROOT2, 2 * TOTAL);
        vm.warp(block.timestamp + DELAY);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.RootAccepted(2, ROOT2, ROOT, 2 * TOTAL, CONTENT, URI);
        _accept(ROOT2);
        assertEq(distributor.roundOf(ROOT), 1, "old root keeps its round");
        assertEq(distributor.roundOf(ROOT2), 2, "new root's round");
        assertEq(distributor.merkleRoot(), ROOT2, "merkleRoot");
    }

    /// @dev Accepting is possible from `acceptableAt` on, exactly funded.
    function test_AcceptRoot_AtDelayExactlyFunded() public {
        _fund(TOTAL);
        _proposeAs(operator, ROOT, TOTAL);
        uint64 acceptableAt = distributor.pendingRoot().acceptableAt;
        vm.warp(acceptableAt);
        _accept(ROOT);
        assertEq(distributor.merkleRoot(), ROOT);
    }

    function test_AcceptRoot_ZeroDelay() public {
        distributor = new RewardDistributor(IERC20(address(token)), operator, 0);
        _proposeAs(operator, ROOT, 0);
        assertEq(distributor.pendingRoot().acceptableAt, block.timestamp);
        _accept(ROOT);
        assertEq(distributor.merkleRoot(), ROOT);
    }

    function test_RevertWhen_AcceptRootCallerNotOwner() public {
        _fund(TOTAL);
        _proposeAs(operator, ROOT, TOTAL);
        vm.warp(block.timestamp + DELAY);
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        distributor.acceptRoot(ROOT);
    }

    function test_RevertWhen_AcceptRootNothingProposed() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NotProposed.selector, ROOT, bytes32(0)));
        _accept(ROOT);
    }

    function test_RevertWhen_AcceptRootWrongRoot() public {
        _fund(TOTAL);
        _proposeAs(operator, ROOT, TOTAL);
        vm.warp(block.timestamp + DELAY);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NotProposed.selector, ROOT2, ROOT));
        _accept(ROOT2);
    }

    function test_RevertWhen_AcceptRootCancelled() public {
        _fund(TOTAL);
        _proposeAs(operator, ROOT, TOTAL);
        _cancel(ROOT);
        vm.warp(block.timestamp + DELAY);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NotProposed.selector, ROOT, bytes32(0)));
        _accept(ROOT);
    }

    function test_RevertWhen_RootNotReady() public {
        _fund(TOTAL);
        _proposeAs(operator, ROOT, TOTAL);
        uint64 acceptableAt = uint64(block.timestamp) + DELAY;
        vm.warp(acceptableAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.ProposalNotReady.selector, ROOT, acceptableAt)
        );
        _accept(ROOT);
    }

    function test_RevertWhen_RootUnderfunded() public {
        _fund(TOTAL - 1);
        _proposeAs(operator, ROOT, TOTAL);
        vm.warp(block.timestamp + DELAY);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RootUnderfunded.selector, ROOT, TOTAL, TOTAL - 1)
        );
        _accept(ROOT);
    }

    /// @dev Funding after the proposal is enough: the check is made at acceptance.
    function test_AcceptRoot_FundedDuringDelay() public {
        _proposeAs(operator, ROOT, TOTAL);
        vm.warp(block.timestamp + DELAY);
        _fund(TOTAL);
        _accept(ROOT);
        assertEq(distributor.merkleRoot(), ROOT);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    function test_Views_TrackRounds() public {
        Tree memory t = _linearTree(3, "view", 10e18);
        _fundAndPublish(t.root, t.total);
        _claim(t, 1);
        assertEq(distributor.claimed(t.accounts[1]), t.amounts[1], "claimed");
        assertEq(distributor.claimed(t.accounts[0]), 0, "unclaimed");
        assertEq(distributor.totalFunded(), t.total, "totalFunded");
        assertEq(distributor.currentRoot().total, t.total, "current total");
        assertEq(distributor.roundOf(keccak256("never")), 0, "unknown root");
    }
}
