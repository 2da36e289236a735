// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title Money math with the rounding direction in every name
/// @notice Every amount paid to someone is rounded down (against the receiver), every amount someone
/// must provide is rounded up, so the market never owes more than it holds.
library MoneyMath {
    /// @notice 1e18, the scale of prices and of the SNM/USD rate.
    uint256 internal constant WAD = 1e18;
    /// @notice Basis points in one whole.
    uint256 internal constant BPS = 10_000;

    /// @notice floor(x * y / d), exact in 512 bits.
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d);
    }

    /// @notice ceil(x * y / d), exact in 512 bits.
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }

    /// @notice SNM owed for `seconds_` at `usdPerSecond` (1e18 scale) and `snmPerUsd` (1e18 scale), rounded
    /// down: the amount a supplier receives.
    function snmOwedDown(uint256 usdPerSecond, uint256 seconds_, uint256 snmPerUsd)
        internal
        pure
        returns (uint256)
    {
        return Math.mulDiv(usdPerSecond * seconds_, snmPerUsd, WAD);
    }

    /// @notice SNM needed to pay `seconds_` at `usdPerSecond` and `snmPerUsd`, rounded up: the amount a
    /// customer must provide.
    function snmNeededUp(uint256 usdPerSecond, uint256 seconds_, uint256 snmPerUsd)
        internal
        pure
        returns (uint256)
    {
        return Math.mulDiv(usdPerSecond * seconds_, snmPerUsd, WAD, Math.Rounding.Ceil);
    }

    /// @notice The fee part of `amount` at `feeBps`, rounded down (the treasury receives it).
    function feeDown(uint256 amount, uint256 feeBps) internal pure returns (uint256) {
        return amount * feeBps / BPS;
    }
}
