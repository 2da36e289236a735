// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @title SNM/USD price oracle
/// @notice See {IPriceOracle}. Rate, timestamp and both bounds share one storage slot, so a consumer
/// pays a single cold SLOAD to read a checked rate.
contract PriceOracle is IPriceOracle, Ownable2Step {
    struct State {
        uint128 snmPerUsd;
        uint48 updatedAt;
        uint32 maxAge;
        uint16 maxChangeBps;
    }

    State internal _state;
    mapping(address account => bool) public override isReporter;

    /// @param owner_ Administrator (two-step ownership).
    /// @param initialRate First rate (SNM wei per USD, 1e18 scale), stored at deployment time.
    /// @param maxAge_ Seconds a rate stays usable.
    /// @param maxChangeBps_ Largest change per update, in basis points.
    constructor(address owner_, uint256 initialRate, uint256 maxAge_, uint256 maxChangeBps_) Ownable(owner_) {
        if (initialRate == 0 || initialRate > type(uint128).max) revert ZeroRate();
        _checkMaxAge(maxAge_);
        _checkMaxChange(maxChangeBps_);
        _state = State(uint128(initialRate), uint48(block.timestamp), uint32(maxAge_), uint16(maxChangeBps_));
        emit RateUpdated(owner_, 0, initialRate, block.timestamp);
        emit MaxAgeSet(maxAge_);
        emit MaxChangeSet(maxChangeBps_);
    }

    /// @inheritdoc IPriceOracle
    function report(uint256 snmPerUsd) external override {
        if (!isReporter[msg.sender]) revert NotReporter(msg.sender);
        State memory s = _state;
        if (snmPerUsd == 0 || snmPerUsd > type(uint128).max) revert ZeroRate();
        uint256 previous = s.snmPerUsd;
        uint256 delta = snmPerUsd > previous ? snmPerUsd - previous : previous - snmPerUsd;
        if (delta * 10_000 > previous * s.maxChangeBps) {
            revert RateChangeTooLarge(previous, snmPerUsd, s.maxChangeBps);
        }
        _state = State(uint128(snmPerUsd), uint48(block.timestamp), s.maxAge, s.maxChangeBps);
        emit RateUpdated(msg.sender, previous, snmPerUsd, block.timestamp);
    }

    /// @inheritdoc IPriceOracle
    function setReporter(address reporter, bool allowed) external override onlyOwner {
        if (reporter == address(0)) revert ZeroReporter();
        isReporter[reporter] = allowed;
        emit ReporterSet(reporter, allowed);
    }

    /// @inheritdoc IPriceOracle
    function setMaxAge(uint256 maxAge_) external override onlyOwner {
        _checkMaxAge(maxAge_);
        _state.maxAge = uint32(maxAge_);
        emit MaxAgeSet(maxAge_);
    }

    /// @inheritdoc IPriceOracle
    function setMaxChangeBps(uint256 maxChangeBps_) external override onlyOwner {
        _checkMaxChange(maxChangeBps_);
        _state.maxChangeBps = uint16(maxChangeBps_);
        emit MaxChangeSet(maxChangeBps_);
    }

    /// @inheritdoc IPriceOracle
    function latestRate() external view override returns (uint256 snmPerUsd, uint256 updatedAt) {
        State memory s = _state;
        return (s.snmPerUsd, s.updatedAt);
    }

    /// @inheritdoc IPriceOracle
    function freshRate() external view override returns (uint256 snmPerUsd) {
        State memory s = _state;
        if (block.timestamp - s.updatedAt > s.maxAge) revert StaleRate(s.updatedAt, s.maxAge);
        return s.snmPerUsd;
    }

    /// @inheritdoc IPriceOracle
    function maxAge() external view override returns (uint256) {
        return _state.maxAge;
    }

    /// @inheritdoc IPriceOracle
    function maxChangeBps() external view override returns (uint256) {
        return _state.maxChangeBps;
    }

    function _checkMaxAge(uint256 maxAge_) private pure {
        if (maxAge_ == 0 || maxAge_ > type(uint32).max) revert InvalidMaxAge();
    }

    function _checkMaxChange(uint256 maxChangeBps_) private pure {
        if (maxChangeBps_ == 0 || maxChangeBps_ > type(uint16).max) revert InvalidMaxChange();
    }
}
