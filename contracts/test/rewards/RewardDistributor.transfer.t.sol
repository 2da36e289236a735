// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";
import {RewardDistributorBase} from "./RewardDistributorBase.sol";
import {QuirkyToken} from "./mocks/QuirkyToken.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @notice The claim's hand-rolled transfer checks the token's answer as OpenZeppelin's
/// `SafeERC20.safeTransfer` does: `true` or nothing (from a contract) is success, `false` or no code
/// is refused with `SafeERC20FailedOperation`, a revert is bubbled up (see the adversarial tests).
contract RewardDistributorTransferTest is RewardDistributorBase {
    QuirkyToken internal quirky;
    Tree internal t;

    function setUp() public override {
        super.setUp();
        quirky = new QuirkyToken(1000e18);
        distributor = new RewardDistributor(IERC20(address(quirky)), operator, 0);
        quirky.approve(address(distributor), type(uint256).max);
        t = _linearTree(2, "quirk", 10e18);
        _fundAndPublish(t.root, t.total);
    }

    function _failed(address token_) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(SafeERC20.SafeERC20FailedOperation.selector, token_);
    }

    function test_Claim_TokenReturnsNothing() public {
        quirky.setMode(QuirkyToken.Mode.ReturnsNothing);
        assertEq(_claim(t, 0), t.amounts[0]);
        assertEq(quirky.balanceOf(t.accounts[0]), t.amounts[0]);
    }

    function test_RevertWhen_TokenReturnsFalse() public {
        quirky.setMode(QuirkyToken.Mode.ReturnsFalse);
        vm.expectRevert(_failed(address(quirky)));
        _claim(t, 0);
        vm.expectRevert(_failed(address(quirky)));
        distributor.claimMany(_entries(t, new uint256[](1)));
    }

    function test_RevertWhen_TokenHasNoCode() public {
        address eoa = makeAddr("not a token");
        distributor = new RewardDistributor(IERC20(eoa), operator, 0);
        _publish(t.root, 0); // nothing can be funded without code
        vm.expectRevert(_failed(eoa));
        _claim(t, 1);
    }

    /// @dev The transfer writes its arguments over scratch space and the free memory pointer's
    /// upper bytes; the return value is still encoded right (the pointer was restored).
    function test_Claim_ReturnsAmountAfterTransfer() public {
        (bool ok, bytes memory data) = address(distributor)
            .call(abi.encodeCall(IRewardDistributor.claim, (t.accounts[1], t.amounts[1], _proof(t, 1))));
        assertTrue(ok);
        assertEq(data, abi.encode(t.amounts[1]));
    }
}
