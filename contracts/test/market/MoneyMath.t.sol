// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MoneyMath} from "../../src/libraries/MoneyMath.sol";
import {Test} from "forge-std/Test.sol";

/// @dev Exposes the library's internal functions as external calls, so that reverts can be expected.
contract MoneyMathHarness {
    function mulDivDown(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return MoneyMath.mulDivDown(x, y, d);
    }

    function mulDivUp(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return MoneyMath.mulDivUp(x, y, d);
    }

    function snmOwedDown(uint256 price, uint256 seconds_, uint256 rate) external pure returns (uint256) {
        return MoneyMath.snmOwedDown(price, seconds_, rate);
    }

    function snmNeededUp(uint256 price, uint256 seconds_, uint256 rate) external pure returns (uint256) {
        return MoneyMath.snmNeededUp(price, seconds_, rate);
    }

    function feeDown(uint256 amount, uint256 feeBps) external pure returns (uint256) {
        return MoneyMath.feeDown(amount, feeBps);
    }
}

/// @notice Rounding direction of every money formula: paid amounts down, required amounts up. Checked against
/// plain arithmetic where it cannot overflow, and against the defining inequalities over the market's whole
/// range (prices up to 2^80 - 1, durations up to 2^40 - 1, rates up to 2^128 - 1).
contract MoneyMathTest is Test {
    MoneyMathHarness internal m = new MoneyMathHarness();

    function test_KnownValues() public view {
        assertEq(m.snmOwedDown(1e14, 3600, 100e18), 36e18);
        assertEq(m.snmNeededUp(1e14, 3600, 100e18), 36e18);
        assertEq(m.snmOwedDown(3, 1, 100e18 + 1), 300);
        assertEq(m.snmNeededUp(3, 1, 100e18 + 1), 301);
        assertEq(m.mulDivDown(7, 3, 2), 10);
        assertEq(m.mulDivUp(7, 3, 2), 11);
        assertEq(m.mulDivUp(8, 3, 2), 12);
        assertEq(m.feeDown(9999, 1), 0);
        assertEq(m.feeDown(10_000, 1), 1);
        assertEq(m.feeDown(123e18, 1000), 12.3e18);
    }

    function test_ZeroValues() public view {
        assertEq(m.snmOwedDown(0, 100, 1e18), 0);
        assertEq(m.snmOwedDown(1e18, 0, 1e18), 0);
        assertEq(m.snmNeededUp(1e18, 100, 0), 0);
        assertEq(m.mulDivUp(0, 5, 3), 0);
        assertEq(m.feeDown(0, 1000), 0);
        assertEq(m.feeDown(1e18, 0), 0);
    }

    function test_RevertWhen_DivisionByZero() public {
        vm.expectRevert();
        m.mulDivDown(1, 1, 0);
        vm.expectRevert();
        m.mulDivUp(1, 1, 0);
    }

    function test_RevertWhen_ResultOverflows() public {
        vm.expectRevert();
        m.mulDivDown(type(uint256).max, 2, 1);
        vm.expectRevert();
        m.mulDivUp(type(uint256).max, type(uint256).max, 1);
    }

    function test_MarketExtremesDoNotOverflow() public view {
        uint256 price = type(uint80).max;
        uint256 seconds_ = type(uint40).max;
        uint256 rate = type(uint128).max;
        uint256 down = m.snmOwedDown(price, seconds_, rate);
        uint256 up = m.snmNeededUp(price, seconds_, rate);
        assertEq(up - down, 1);
        assertEq(down, m.mulDivDown(price * seconds_, rate, 1e18));
    }

    function testFuzz_MulDivMatchesPlainArithmetic(uint128 x, uint128 y, uint256 d) public view {
        d = bound(d, 1, type(uint256).max);
        uint256 product = uint256(x) * y;
        assertEq(m.mulDivDown(x, y, d), product / d);
        assertEq(m.mulDivUp(x, y, d), product / d + (product % d == 0 ? 0 : 1));
    }

    /// @dev Over the full range: down * d <= x * y < (down + 1) * d, and up is down or down + 1, exactly when
    /// the division is inexact (checked with mulmod, exact in 512 bits).
    function testFuzz_MulDivBracketsTheExactQuotient(uint256 x, uint256 y, uint256 d) public view {
        d = bound(d, 1, type(uint256).max);
        (bool fits, uint256 down) = _tryMulDivDown(x, y, d);
        vm.assume(fits);
        bool inexact = mulmod(x, y, d) != 0;
        if (down == type(uint256).max && inexact) return; // up would overflow
        assertEq(m.mulDivUp(x, y, d), down + (inexact ? 1 : 0));
        // down is the largest q with q * d <= x * y: q * d's low word and the remainder rebuild x * y.
        unchecked {
            assertEq(down * d + mulmod(x, y, d), x * y);
        }
    }

    function testFuzz_OwedRoundsDownNeededRoundsUp(uint80 price, uint40 seconds_, uint128 rate) public view {
        uint256 down = m.snmOwedDown(price, seconds_, rate);
        uint256 up = m.snmNeededUp(price, seconds_, rate);
        uint256 scaled = uint256(price) * seconds_; // < 2^120
        // Exact value * 1e18 = scaled * rate, which fits 256 bits (< 2^248).
        uint256 exact = scaled * rate;
        assertLe(down * 1e18, exact, "owed pays no more than the exact value");
        assertGt((down + 1) * 1e18, exact, "owed loses less than one wei");
        assertGe(up * 1e18, exact, "needed covers the exact value");
        assertEq(up - down, exact % 1e18 == 0 ? 0 : 1);
    }

    /// @dev Paying a run of seconds in parts never pays more than paying it at once (the parts round down
    /// each), and loses less than one wei a part.
    function testFuzz_OwedIsSubadditive(uint80 price, uint40 a, uint40 b, uint128 rate) public view {
        uint256 whole = m.snmOwedDown(price, uint256(a) + b, rate);
        uint256 parts = m.snmOwedDown(price, a, rate) + m.snmOwedDown(price, b, rate);
        assertLe(parts, whole);
        assertLe(whole - parts, 1);
    }

    /// @dev What a customer must provide for a runway always pays that runway to the supplier.
    function testFuzz_NeededCoversOwed(uint80 price, uint40 seconds_, uint128 rate) public view {
        assertGe(m.snmNeededUp(price, seconds_, rate), m.snmOwedDown(price, seconds_, rate));
    }

    function testFuzz_FeeRoundsDown(uint96 amount, uint256 feeBps) public view {
        feeBps = bound(feeBps, 0, 10_000);
        uint256 feeAmount = m.feeDown(amount, feeBps);
        assertLe(feeAmount * 10_000, uint256(amount) * feeBps);
        assertGt((feeAmount + 1) * 10_000, uint256(amount) * feeBps);
        assertLe(feeAmount, amount);
    }

    function _tryMulDivDown(uint256 x, uint256 y, uint256 d) internal view returns (bool, uint256) {
        try m.mulDivDown(x, y, d) returns (uint256 q) {
            return (true, q);
        } catch {
            return (false, 0);
        }
    }
}
