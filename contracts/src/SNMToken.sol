// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title SNM token
/// @notice The marketplace's unit of payment: an ERC-20 with 18 decimals and EIP-2612 permit.
/// @dev The whole supply is minted once, at deployment, to `holder`; nobody can mint afterwards.
contract SNMToken is ERC20, ERC20Permit {
    /// @param holder Receives the whole supply.
    /// @param supply The fixed supply, in wei (1 SNM = 1e18).
    constructor(address holder, uint256 supply) ERC20("SONM Token", "SNM") ERC20Permit("SONM Token") {
        _mint(holder, supply);
    }
}
