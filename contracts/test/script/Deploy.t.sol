// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Deploy} from "../../script/Deploy.s.sol";
import {Market} from "../../src/Market.sol";
import {PriceOracle} from "../../src/PriceOracle.sol";
import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {SNMToken} from "../../src/SNMToken.sol";
import {Test} from "forge-std/Test.sol";

/// @notice The deployment script on the test EVM: what it deploys, who owns what, and the JSON it writes.
contract DeployTest is Test {
    Deploy internal script;

    function setUp() public {
        script = new Deploy();
    }

    function test_Run() public {
        address owner = makeAddr("owner");
        address reporter = makeAddr("reporter");
        string memory path = string.concat(vm.projectRoot(), "/deployments/deploy-test.local.json");
        vm.setEnv("DEPLOYMENTS_FILE", path);
        vm.setEnv("OWNER", vm.toString(owner));
        vm.setEnv("ORACLE_REPORTER", vm.toString(reporter));
        vm.setEnv("REWARD_DELAY", "7200");
        vm.setEnv("MIN_RUNWAY", "600");

        Deploy.Deployment memory d = script.run();
        assertEq(script.defaultPath(), path);

        SNMToken token = SNMToken(d.token);
        PriceOracle oracle = PriceOracle(d.oracle);
        Market market = Market(d.market);
        RewardDistributor rewards = RewardDistributor(d.rewards);
        assertEq(token.balanceOf(owner), 444_000_000e18);
        assertEq(token.totalSupply(), 444_000_000e18);
        assertTrue(oracle.isReporter(reporter));
        assertFalse(oracle.isReporter(owner));
        assertEq(oracle.pendingOwner(), owner, "oracle handed over in two steps");
        (uint256 rate,) = oracle.latestRate();
        assertEq(rate, 100e18);
        assertEq(oracle.maxAge(), 3600);
        assertEq(oracle.maxChangeBps(), 2000);
        assertEq(market.owner(), owner);
        assertEq(market.token(), d.token);
        assertEq(market.oracle(), d.oracle);
        assertEq(market.minRunway(), 600);
        assertEq(rewards.owner(), owner);
        assertEq(rewards.token(), d.token);
        assertEq(rewards.delay(), 7200);

        string memory json = vm.readFile(path);
        assertEq(vm.parseJsonUint(json, ".chainId"), block.chainid);
        assertEq(vm.parseJsonAddress(json, ".owner"), owner);
        assertEq(vm.parseJsonAddress(json, ".token"), d.token);
        assertEq(vm.parseJsonAddress(json, ".oracle"), d.oracle);
        assertEq(vm.parseJsonAddress(json, ".market"), d.market);
        assertEq(vm.parseJsonAddress(json, ".rewards"), d.rewards);
        assertEq(vm.parseJsonUint(json, ".minRunway"), 600);
        assertEq(vm.parseJsonUint(json, ".rewardDelay"), 7200);
        vm.removeFile(path);
    }

    /// @dev Without the environment: an existing token is reused, and an owner that is the deployer keeps the
    /// oracle (no transfer pending).
    function test_Deploy_ReusesTokenAndKeepsOwnership() public {
        SNMToken existing = new SNMToken(address(this), 1e18);
        address reporter = makeAddr("reporter");
        Deploy.Config memory cfg = Deploy.Config({
            deployer: address(script),
            owner: address(script),
            token: address(existing),
            tokenSupply: 0,
            snmPerUsd: 50e18,
            maxAge: 60,
            maxChangeBps: 100,
            reporter: reporter,
            minRunway: 1,
            rewardDelay: 0
        });
        Deploy.Deployment memory d = script.deploy(cfg);

        assertEq(d.token, address(existing));
        PriceOracle oracle = PriceOracle(d.oracle);
        assertEq(oracle.owner(), address(script));
        assertEq(oracle.pendingOwner(), address(0));
        assertTrue(oracle.isReporter(reporter));
        assertEq(oracle.freshRate(), 50e18);
        assertEq(Market(d.market).owner(), address(script));
        assertEq(Market(d.market).minRunway(), 1);
        assertEq(RewardDistributor(d.rewards).owner(), address(script));
        assertEq(RewardDistributor(d.rewards).delay(), 0);
        assertEq(RewardDistributor(d.rewards).token(), address(existing));
    }
}
