// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Receives the callback of {ReentrantToken}.
interface ITokenHook {
    function onTokenCall() external;
}

/// @notice A malicious ERC-20: before it moves any balance (transfer, transferFrom) and inside {permit}, it calls
/// the armed hook once, so the hook can re-enter whoever called the token in the middle of its operation.
contract ReentrantToken is ERC20 {
    address public hook;

    constructor() ERC20("Reentrant", "RNT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice The next transfer or permit calls `hook_` back (once).
    function arm(address hook_) external {
        hook = hook_;
    }

    /// @notice An EIP-2612-shaped permit without a signature check: re-enters, then approves.
    function permit(address owner, address spender, uint256 value, uint256, uint8, bytes32, bytes32)
        external
    {
        _callHook();
        _approve(owner, spender, value);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0)) _callHook();
        super._update(from, to, value);
    }

    function _callHook() internal {
        address target = hook;
        if (target == address(0)) return;
        hook = address(0);
        ITokenHook(target).onTokenCall();
    }
}

/// @notice An account (contract) that calls the market and, when the token calls it back, re-enters the market
/// with a prepared call. The re-entry's outcome is recorded rather than bubbled up, so a test sees both the
/// outer call's result and the inner one's.
contract Reenterer is ITokenHook {
    ReentrantToken public immutable token;
    address public immutable market;

    bytes internal _reentry;
    bool public reentered;
    bool public reentrySucceeded;
    bytes public reentryResult;

    constructor(ReentrantToken token_, address market_) {
        token = token_;
        market = market_;
        token_.approve(market_, type(uint256).max);
    }

    /// @notice Calls the market as this account; bubbles a revert up.
    function exec(bytes calldata data) external returns (bytes memory result) {
        bool ok;
        (ok, result) = market.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// @notice Arms the token: its next transfer or permit re-enters the market with `data`.
    function arm(bytes calldata data) external {
        _reentry = data;
        token.arm(address(this));
    }

    /// @inheritdoc ITokenHook
    function onTokenCall() external {
        require(msg.sender == address(token), "only the token");
        reentered = true;
        (reentrySucceeded, reentryResult) = market.call(_reentry);
    }
}
