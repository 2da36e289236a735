// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice A contract wallet (as a Safe with one owner would be) that accepts a digest when its owner's key
/// signed it, and can be told to refuse everything.
contract Wallet1271 is IERC1271 {
    address public immutable walletOwner;
    bool public refuseAll;

    constructor(address walletOwner_) {
        walletOwner = walletOwner_;
    }

    function setRefuseAll(bool refuse) external {
        refuseAll = refuse;
    }

    /// @notice Lets the wallet act as a master: any call, from the wallet.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        require(msg.sender == walletOwner, "not owner");
        (bool ok, bytes memory result) = target.call(data);
        require(ok, "call failed");
        return result;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (refuseAll) return 0xffffffff;
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        if (err == ECDSA.RecoverError.NoError && signer == walletOwner) {
            return IERC1271.isValidSignature.selector;
        }
        return 0xffffffff;
    }
}
