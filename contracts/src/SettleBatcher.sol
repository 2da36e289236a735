// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "./interfaces/IMarket.sol";

/// @title Settles many deals of one market in one transaction
/// @notice {IMarket.settle} is permissionless (anyone may pay a deal's master what it is owed), so settling
/// through this contract changes nothing about who is paid or how much: each deal is settled by the market
/// exactly as a direct call would, and the market's {IMarket.DealSettled} events are the record. A batch
/// pays the transaction's base cost once and reads the oracle, the master's earnings and the treasury's fees
/// warm after the first deal (see docs/GAS.md for the figures per deal).
/// @dev A deal that is no longer active when the batch is mined (its customer closed it, its deposit ran out
/// in an earlier settlement) is skipped: the rest of the batch still settles. Any other failure (a stale
/// oracle rate, out of gas) reverts the whole batch with the market's own error. When a settlement uses
/// the deposit up and closes the deal, the market's {IMarket.DealClosed} names this contract as `by`, the
/// caller of {IMarket.settle}.
contract SettleBatcher {
    /// @notice The market whose deals are settled.
    IMarket public immutable market;

    /// @notice The market address has no code.
    /// @param market The address given.
    error NotAMarket(address market);

    /// @notice The batch names no deal.
    error EmptyBatch();

    /// @param market_ The market whose deals this contract settles.
    constructor(IMarket market_) {
        if (address(market_).code.length == 0) revert NotAMarket(address(market_));
        market = market_;
    }

    /// @notice Settles each of `dealIds` in turn, as {IMarket.settle} does, skipping those no longer active.
    /// @param dealIds The deals to settle; a repeated id is settled once and then has nothing to pay.
    /// @return skipped How many of `dealIds` were not active (nothing done for them).
    function settleMany(uint256[] calldata dealIds) external returns (uint256 skipped) {
        uint256 count = dealIds.length;
        if (count == 0) revert EmptyBatch();
        IMarket target = market;
        for (uint256 i = 0; i < count; ++i) {
            try target.settle(dealIds[i]) {}
            catch (bytes memory reason) {
                if (!_isDealNotActive(reason)) _bubble(reason);
                ++skipped;
            }
        }
    }

    /// @dev Whether `reason` is the market's `DealNotActive(uint256)`.
    function _isDealNotActive(bytes memory reason) private pure returns (bool) {
        return reason.length == 36 && bytes4(reason) == IMarket.DealNotActive.selector;
    }

    /// @dev Reverts with `reason` as it came from the market, so callers decode the market's own error.
    function _bubble(bytes memory reason) private pure {
        assembly ("memory-safe") {
            revert(add(reason, 0x20), mload(reason))
        }
    }
}
