// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title SNM/USD price oracle
/// @notice Gives the number of SNM wei one USD buys, scaled by 1e18 (`snmPerUsd`), and when it was set.
/// Reporters named by the owner update it; an update may move the rate by at most `maxChangeBps` basis
/// points of the previous rate, so a rate outside that bound can never be stored. Consumers that move
/// money call {freshRate}, which refuses a rate older than `maxAge` seconds.
interface IPriceOracle {
    /// @notice The caller is not an authorised reporter.
    error NotReporter(address caller);
    /// @notice A rate of zero was reported or configured.
    error ZeroRate();
    /// @notice The reported rate moves more than `maxChangeBps` basis points away from the current one.
    error RateChangeTooLarge(uint256 previousRate, uint256 newRate, uint256 maxChangeBps);
    /// @notice The stored rate is older than `maxAge` seconds.
    error StaleRate(uint256 updatedAt, uint256 maxAge);
    /// @notice A maximum age of zero was configured.
    error InvalidMaxAge();
    /// @notice A maximum change of zero basis points was configured.
    error InvalidMaxChange();
    /// @notice The zero address was given as a reporter.
    error ZeroReporter();

    /// @notice A reporter stored a new rate.
    /// @param reporter Who reported it.
    /// @param previousRate The rate it replaces (SNM wei per USD, 1e18 scale).
    /// @param newRate The new rate.
    /// @param updatedAt The block timestamp it was stored at.
    event RateUpdated(address indexed reporter, uint256 previousRate, uint256 newRate, uint256 updatedAt);
    /// @notice The owner added or removed a reporter.
    event ReporterSet(address indexed reporter, bool allowed);
    /// @notice The owner changed the maximum age of a usable rate.
    event MaxAgeSet(uint256 maxAge);
    /// @notice The owner changed the maximum change per update.
    event MaxChangeSet(uint256 maxChangeBps);

    /// @notice Stores a new rate. Only reporters; reverts {ZeroRate} or {RateChangeTooLarge}.
    /// @param snmPerUsd SNM wei per USD, scaled by 1e18 (1 SNM = $0.01 gives 100e18).
    function report(uint256 snmPerUsd) external;

    /// @notice Adds (`allowed` true) or removes a reporter. Only the owner.
    function setReporter(address reporter, bool allowed) external;

    /// @notice Sets how many seconds a rate stays usable for moving money. Only the owner; nonzero.
    function setMaxAge(uint256 maxAge) external;

    /// @notice Sets the largest change one update may make, in basis points of the current rate.
    /// Only the owner; nonzero, at most 65,535.
    function setMaxChangeBps(uint256 maxChangeBps) external;

    /// @notice The stored rate and its timestamp, whatever its age (for refunds, which must always work).
    function latestRate() external view returns (uint256 snmPerUsd, uint256 updatedAt);

    /// @notice The stored rate; reverts {StaleRate} when it is older than `maxAge`.
    function freshRate() external view returns (uint256 snmPerUsd);

    /// @notice Whether `account` may report.
    function isReporter(address account) external view returns (bool);

    /// @notice Seconds a rate stays usable.
    function maxAge() external view returns (uint256);

    /// @notice Largest change per update, in basis points.
    function maxChangeBps() external view returns (uint256);
}
