// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Market} from "../src/Market.sol";
import {PriceOracle} from "../src/PriceOracle.sol";
import {RewardDistributor} from "../src/RewardDistributor.sol";
import {SNMToken} from "../src/SNMToken.sol";
import {IPriceOracle} from "../src/interfaces/IPriceOracle.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Script} from "forge-std/Script.sol";

/// @notice Deploys the whole set: SNMToken (only when `SNM_TOKEN` is not given), PriceOracle, Market and
/// RewardDistributor, and writes their addresses to `deployments/<chainid>.json` (`<chainid>.local.json` on
/// chain 31337), or to `DEPLOYMENTS_FILE` when set.
/// Usage: forge script contracts/script/Deploy.s.sol --rpc-url <url> --private-key <key> --broadcast
/// Environment (all optional): SNM_TOKEN, OWNER (default: the sender), TOKEN_SUPPLY (default 444e6 SNM, minted
/// to OWNER), SNM_PER_USD (default 100e18, that is $0.01 per SNM), ORACLE_MAX_AGE (default 3600 s),
/// ORACLE_MAX_CHANGE_BPS (default 2000), ORACLE_REPORTER (default OWNER), MIN_RUNWAY (default 3600 s),
/// REWARD_DELAY (seconds a proposed reward root waits before it can be accepted, default 86400).
contract Deploy is Script {
    struct Config {
        address deployer;
        address owner;
        address token;
        uint256 tokenSupply;
        uint256 snmPerUsd;
        uint256 maxAge;
        uint256 maxChangeBps;
        address reporter;
        uint256 minRunway;
        uint64 rewardDelay;
    }

    struct Deployment {
        address token;
        address oracle;
        address market;
        address rewards;
    }

    function run() external returns (Deployment memory d) {
        (, address sender,) = vm.readCallers();
        Config memory cfg = configFromEnv(sender);
        vm.startBroadcast();
        d = deploy(cfg);
        vm.stopBroadcast();
        write(d, cfg, defaultPath());
    }

    /// @notice Reads the configuration from the environment, with the defaults above.
    function configFromEnv(address sender) public view returns (Config memory cfg) {
        cfg.deployer = sender;
        cfg.owner = vm.envOr("OWNER", sender);
        cfg.token = vm.envOr("SNM_TOKEN", address(0));
        cfg.tokenSupply = vm.envOr("TOKEN_SUPPLY", uint256(444_000_000e18));
        cfg.snmPerUsd = vm.envOr("SNM_PER_USD", uint256(100e18));
        cfg.maxAge = vm.envOr("ORACLE_MAX_AGE", uint256(3600));
        cfg.maxChangeBps = vm.envOr("ORACLE_MAX_CHANGE_BPS", uint256(2000));
        cfg.reporter = vm.envOr("ORACLE_REPORTER", cfg.owner);
        cfg.minRunway = vm.envOr("MIN_RUNWAY", uint256(3600));
        cfg.rewardDelay = SafeCast.toUint64(vm.envOr("REWARD_DELAY", uint256(86_400)));
    }

    /// @notice Deploys the set (inside a broadcast). The oracle is owned by the sender until the reporter
    /// is named, then handed to `cfg.owner` with a two-step transfer when they differ. The market and the
    /// reward distributor are owned by `cfg.owner` from the start.
    function deploy(Config memory cfg) public returns (Deployment memory d) {
        d.token = cfg.token == address(0) ? address(new SNMToken(cfg.owner, cfg.tokenSupply)) : cfg.token;
        PriceOracle oracle = new PriceOracle(cfg.deployer, cfg.snmPerUsd, cfg.maxAge, cfg.maxChangeBps);
        oracle.setReporter(cfg.reporter, true);
        if (cfg.owner != cfg.deployer) oracle.transferOwnership(cfg.owner);
        d.oracle = address(oracle);
        d.market = address(new Market(cfg.owner, IERC20(d.token), IPriceOracle(d.oracle), cfg.minRunway));
        d.rewards = address(new RewardDistributor(IERC20(d.token), cfg.owner, cfg.rewardDelay));
    }

    /// @notice Where {run} writes the addresses.
    function defaultPath() public view returns (string memory) {
        string memory suffix = block.chainid == 31337 ? ".local.json" : ".json";
        return vm.envOr(
            "DEPLOYMENTS_FILE",
            string.concat(vm.projectRoot(), "/deployments/", vm.toString(block.chainid), suffix)
        );
    }

    /// @notice Writes the addresses and settings as JSON to `path`.
    function write(Deployment memory d, Config memory cfg, string memory path) public {
        string memory key = "deployment";
        vm.serializeUint(key, "chainId", block.chainid);
        vm.serializeAddress(key, "owner", cfg.owner);
        vm.serializeAddress(key, "token", d.token);
        vm.serializeAddress(key, "oracle", d.oracle);
        vm.serializeUint(key, "minRunway", cfg.minRunway);
        vm.serializeAddress(key, "market", d.market);
        vm.serializeUint(key, "rewardDelay", cfg.rewardDelay);
        vm.serializeUint(key, "startBlock", block.number);
        string memory json = vm.serializeAddress(key, "rewards", d.rewards);
        vm.writeJson(json, path);
    }
}
