// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "../../src/interfaces/IMarket.sol";
import {ISignedAsks} from "../../src/interfaces/ISignedAsks.sol";
import {MarketBase} from "./MarketBase.sol";

/// @notice Set-up of the signed-ask tests: the market seen through {ISignedAsks}, the master's key, and an
/// EIP-712 digest computed here from the typed-data definition (not through the market's own hashing).
abstract contract SignedAskBase is MarketBase {
    /// @dev makeAddr("master") derives its key the same way.
    uint256 internal masterKey = uint256(keccak256(abi.encodePacked("master")));
    ISignedAsks internal signed;

    function setUp() public virtual override {
        super.setUp();
        signed = ISignedAsks(address(market));
    }

    /// @dev The EIP-712 digest of `ask` with `nonce` for `market_`, written out field by field.
    function _digest(address market_, IMarket.Ask memory ask, uint256 nonce) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("SNM Market"),
                keccak256("1"),
                block.chainid,
                market_
            )
        );
        string memory resourcesType = "Resources(uint64 cpuMilliCores,uint64 ramBytes,uint64 storageBytes,"
            "uint64 gpuCount,uint64 gpuMemBytes,uint64 netUpBps,uint64 netDownBps)";
        IMarket.Resources memory r = ask.resources;
        bytes32 resourcesHash = keccak256(
            abi.encode(
                keccak256(bytes(resourcesType)),
                r.cpuMilliCores,
                r.ramBytes,
                r.storageBytes,
                r.gpuCount,
                r.gpuMemBytes,
                r.netUpBps,
                r.netDownBps
            )
        );
        bytes32 typeHash = keccak256(
            bytes.concat(
                "Ask(address master,address worker,Resources resources,uint64 netFlags,uint32 region,",
                "uint256 pricePerSecond,uint64 minDuration,uint64 maxDuration,uint64 expiry,",
                "address counterparty,uint256 nonce)",
                bytes(resourcesType)
            )
        );
        bytes memory head =
            abi.encode(typeHash, ask.master, ask.worker, resourcesHash, ask.netFlags, ask.region);
        bytes memory tail = abi.encode(
            ask.pricePerSecond, ask.minDuration, ask.maxDuration, ask.expiry, ask.counterparty, nonce
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, keccak256(bytes.concat(head, tail))));
    }

    /// @dev `key`'s 65-byte signature (r, s, v) of the ask's digest.
    function _sign(uint256 key, IMarket.Ask memory ask, uint256 nonce) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _digest(address(market), ask, nonce));
        return abi.encodePacked(r, s, v);
    }

    /// @dev The master's signature of `ask` at the worker's current nonce.
    function _signCurrent(IMarket.Ask memory ask) internal view returns (uint256 nonce, bytes memory sig) {
        nonce = signed.askNonce(ask.worker);
        sig = _sign(masterKey, ask, nonce);
    }

    /// @dev `customer` takes `ask` (signed by the master at the current nonce) for {TERM} seconds paying
    /// {DEPOSIT} from its free balance, deposited first.
    function _buySigned(IMarket.Ask memory ask) internal returns (uint256 dealId) {
        _deposit(customer, DEPOSIT);
        (uint256 nonce, bytes memory sig) = _signCurrent(ask);
        vm.prank(customer);
        dealId = signed.quickBuySigned(ask, nonce, sig, TERM, DEPOSIT, IMAGE, CONFIG);
    }
}
