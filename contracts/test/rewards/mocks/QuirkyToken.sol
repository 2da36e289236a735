// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 whose `transfer` can misbehave the ways real tokens do: return `false`
/// without moving anything, or move the tokens and return nothing (USDT-style).
contract QuirkyToken is ERC20 {
    enum Mode {
        Standard,
        ReturnsFalse,
        ReturnsNothing
    }

    Mode public mode;

    constructor(uint256 supply) ERC20("Quirky", "QRK") {
        _mint(msg.sender, supply);
    }

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (mode == Mode.ReturnsFalse) return false;
        super.transfer(to, value);
        if (mode == Mode.ReturnsNothing) {
            assembly ("memory-safe") {
                return(0, 0)
            }
        }
        return true;
    }
}
