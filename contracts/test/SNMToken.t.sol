// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SNMToken} from "../src/SNMToken.sol";
import {Permits} from "./utils/Permits.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Test} from "forge-std/Test.sol";

contract SNMTokenTest is Test {
    uint256 internal constant SUPPLY = 444_000_000e18;

    SNMToken internal token;
    address internal holder = makeAddr("holder");

    function setUp() public {
        token = new SNMToken(holder, SUPPLY);
    }

    function test_Metadata() public view {
        assertEq(token.name(), "SONM Token");
        assertEq(token.symbol(), "SNM");
        assertEq(token.decimals(), 18);
    }

    function test_WholeSupplyMintedToHolder() public view {
        assertEq(token.totalSupply(), SUPPLY);
        assertEq(token.balanceOf(holder), SUPPLY);
    }

    function testFuzz_Transfer(address to, uint256 amount) public {
        vm.assume(to != address(0) && to != holder);
        amount = bound(amount, 0, SUPPLY);
        vm.prank(holder);
        assertTrue(token.transfer(to, amount));
        assertEq(token.balanceOf(to), amount);
        assertEq(token.balanceOf(holder), SUPPLY - amount);
    }

    function test_RevertWhen_TransferExceedsBalance() public {
        address poor = makeAddr("poor");
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, poor, 0, 1));
        vm.prank(poor);
        token.transfer(holder, 1);
    }

    function test_Permit() public {
        (address owner, uint256 key) = makeAddrAndKey("owner");
        address spender = makeAddr("spender");
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 digest = Permits.digest(token, owner, spender, 5e18, 0, deadline);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);

        token.permit(owner, spender, 5e18, deadline, v, r, s);

        assertEq(token.allowance(owner, spender), 5e18);
        assertEq(token.nonces(owner), 1);
    }

    function test_RevertWhen_PermitExpired() public {
        (address owner, uint256 key) = makeAddrAndKey("owner");
        uint256 deadline = block.timestamp;
        bytes32 digest = Permits.digest(token, owner, holder, 1, 0, deadline);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        vm.warp(deadline + 1);

        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(owner, holder, 1, deadline, v, r, s);
    }

    function test_RevertWhen_PermitSignedByAnotherKey() public {
        (address owner,) = makeAddrAndKey("owner");
        (address mallory, uint256 malloryKey) = makeAddrAndKey("mallory");
        uint256 deadline = block.timestamp + 1;
        bytes32 digest = Permits.digest(token, owner, mallory, 1, 0, deadline);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(malloryKey, digest);

        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, mallory, owner));
        token.permit(owner, mallory, 1, deadline, v, r, s);
    }
}
