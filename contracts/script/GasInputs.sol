// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMarket} from "../src/interfaces/IMarket.sol";

/// @notice The orders of SONM's measured gas rows, shared by `make gas` (GasReport.s.sol) and the Foundry tests
/// (gas snapshot and the tests' default orders): price 1e14 USD-wei per second, an ask with every resource set
/// and 3 network flags, a bid for a fixed term of 3600 s depositing 50 SNM, no counterparty.
library GasInputs {
    uint256 internal constant PRICE = 1e14;
    uint256 internal constant TERM = 3600;
    uint256 internal constant DEPOSIT = 50e18;
    string internal constant IMAGE = "ghcr.io/sonm/proxy:1.0";
    bytes32 internal constant CONFIG_HASH = keccak256("proxy-config");

    /// @notice An ask of `master` for `worker`: fixed terms up to 30 days, spot refused, region 276.
    function ask(address master, address worker) internal pure returns (IMarket.Ask memory) {
        return IMarket.Ask({
            master: master,
            worker: worker,
            resources: IMarket.Resources({
                cpuMilliCores: 8000,
                ramBytes: 32 << 30,
                storageBytes: 500 << 30,
                gpuCount: 1,
                gpuMemBytes: 24 << 30,
                netUpBps: 1_000_000_000,
                netDownBps: 1_000_000_000
            }),
            netFlags: 7,
            region: 276,
            pricePerSecond: PRICE,
            minDuration: 0,
            maxDuration: 30 days,
            expiry: 0,
            counterparty: address(0)
        });
    }

    /// @notice A bid of `customer` for {TERM} seconds at up to {PRICE}, depositing {DEPOSIT}, any region.
    function bid(address customer) internal pure returns (IMarket.Bid memory) {
        return IMarket.Bid({
            customer: customer,
            minResources: IMarket.Resources({
                cpuMilliCores: 4000,
                ramBytes: 16 << 30,
                storageBytes: 100 << 30,
                gpuCount: 1,
                gpuMemBytes: 16 << 30,
                netUpBps: 100_000_000,
                netDownBps: 100_000_000
            }),
            requiredFlags: 7,
            region: 0,
            maxPricePerSecond: PRICE,
            duration: uint64(TERM),
            deposit: DEPOSIT,
            expiry: 0,
            counterparty: address(0),
            image: IMAGE,
            configHash: CONFIG_HASH
        });
    }
}
