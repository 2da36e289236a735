// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RewardDistributorBase} from "./RewardDistributorBase.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @notice Unit tests of the two-step ownership (OpenZeppelin `Ownable2Step`) as the distributor
/// uses it: only the owner manages roots, and a new owner must accept before it can.
contract RewardDistributorOwnershipTest is RewardDistributorBase {
    bytes32 internal constant ROOT = keccak256("root");

    address internal successor = makeAddr("successor");
    address internal stranger = makeAddr("stranger");

    function test_TransferOwnership() public {
        vm.expectEmit(address(distributor));
        emit Ownable2Step.OwnershipTransferStarted(operator, successor);
        vm.prank(operator);
        distributor.transferOwnership(successor);
        assertEq(distributor.owner(), operator, "owner unchanged until accepted");
        assertEq(distributor.pendingOwner(), successor, "pendingOwner");

        // Until it accepts, the successor has no rights and the operator keeps them.
        vm.prank(successor);
        vm.expectRevert(_unauthorized(successor));
        distributor.proposeRoot(ROOT, 0, bytes32(0), URI);
        _propose(ROOT, 0);
    }

    function test_AcceptOwnership() public {
        vm.prank(operator);
        distributor.transferOwnership(successor);
        vm.expectEmit(address(distributor));
        emit Ownable.OwnershipTransferred(operator, successor);
        vm.prank(successor);
        distributor.acceptOwnership();
        assertEq(distributor.owner(), successor, "owner");
        assertEq(distributor.pendingOwner(), address(0), "pendingOwner cleared");

        vm.prank(operator);
        vm.expectRevert(_unauthorized(operator));
        distributor.proposeRoot(ROOT, 0, bytes32(0), URI);
        vm.prank(successor);
        distributor.proposeRoot(ROOT, 0, bytes32(0), URI);
        assertEq(distributor.pendingRoot().root, ROOT);
    }

    /// @dev A second transfer replaces the first candidate; transferring to zero withdraws the offer.
    function test_TransferOwnership_ReplacesCandidate() public {
        vm.startPrank(operator);
        distributor.transferOwnership(stranger);
        distributor.transferOwnership(successor);
        vm.stopPrank();
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        distributor.acceptOwnership();

        vm.prank(operator);
        distributor.transferOwnership(address(0));
        vm.prank(successor);
        vm.expectRevert(_unauthorized(successor));
        distributor.acceptOwnership();
        assertEq(distributor.owner(), operator);
    }

    function test_RevertWhen_TransferOwnershipCallerNotOwner() public {
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        distributor.transferOwnership(stranger);
    }

    function test_RevertWhen_AcceptOwnershipCallerNotPendingOwner() public {
        vm.prank(operator);
        distributor.transferOwnership(successor);
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        distributor.acceptOwnership();
    }

    /// @dev Renouncing freezes the roots: claims under the accepted root keep working.
    function test_RenounceOwnership() public {
        Tree memory t = _linearTree(2, "frozen", 1e18);
        _fundAndPublish(t.root, t.total);
        vm.prank(operator);
        distributor.transferOwnership(successor);
        vm.expectEmit(address(distributor));
        emit Ownable.OwnershipTransferred(operator, address(0));
        vm.prank(operator);
        distributor.renounceOwnership();
        assertEq(distributor.owner(), address(0), "owner");
        assertEq(distributor.pendingOwner(), address(0), "pendingOwner cleared");

        vm.prank(operator);
        vm.expectRevert(_unauthorized(operator));
        distributor.proposeRoot(ROOT, t.total, bytes32(0), URI);
        assertEq(_claim(t, 1), t.amounts[1]);
    }

    function test_RevertWhen_RenounceOwnershipCallerNotOwner() public {
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        distributor.renounceOwnership();
    }
}
