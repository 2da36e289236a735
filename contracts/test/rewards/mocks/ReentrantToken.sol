// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRewardDistributor} from "../../../src/interfaces/IRewardDistributor.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A hostile ERC-20: when the distributor pays, it calls `claim` again with the same
/// arguments from inside the transfer, and records how that nested claim ended.
contract ReentrantToken is ERC20 {
    IRewardDistributor public distributor;
    address internal _account;
    uint256 internal _amount;
    bytes32[] internal _proof;
    bool internal _entered;

    bool public reentered;
    bytes public reentryError;

    constructor(uint256 supply) ERC20("Reentrant", "RE") {
        _mint(msg.sender, supply);
    }

    /// @notice Arms the attack: the next payment by `distributor_` re-enters with these arguments.
    function arm(IRewardDistributor distributor_, address account, uint256 amount, bytes32[] calldata proof)
        external
    {
        distributor = distributor_;
        (_account, _amount, _proof) = (account, amount, proof);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && from == address(distributor) && !_entered) {
            _entered = true;
            reentered = true;
            try distributor.claim(_account, _amount, _proof) {}
            catch (bytes memory reason) {
                reentryError = reason;
            }
        }
    }
}
