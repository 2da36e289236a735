// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {GasInputs} from "../../../script/GasInputs.sol";
import {Market} from "../../../src/Market.sol";
import {PriceOracle} from "../../../src/PriceOracle.sol";
import {SNMToken} from "../../../src/SNMToken.sol";
import {IMarket} from "../../../src/interfaces/IMarket.sol";
import {ISignedAsks} from "../../../src/interfaces/ISignedAsks.sol";
import {Test} from "forge-std/Test.sol";

/// @notice Random sequences over signed asks: takes with the right or a stale nonce, by the master's key or
/// another, cancellations, workers leaving and rejoining, closes and time. Ghost counters record every move of
/// each worker's nonce and every (worker, nonce) taken; any take of an ask that should have been refused is
/// counted as a violation.
contract SignedAskHandler is Test {
    Market internal immutable market;
    ISignedAsks internal immutable signedAsks;
    SNMToken internal immutable token;
    PriceOracle internal immutable oracle;
    uint256 internal immutable masterKey;
    address internal immutable master;
    uint256 internal immutable otherKey;
    address public immutable customer;

    address[2] public workers;
    mapping(address worker => uint256) public ghostMoves;
    mapping(address worker => mapping(uint256 nonce => bool)) internal _taken;
    uint256 public violations;
    uint256 public takes;
    uint256[] internal _deals;

    constructor(Market market_, SNMToken token_, PriceOracle oracle_, uint256 masterKey_, address customer_) {
        market = market_;
        signedAsks = ISignedAsks(address(market_));
        token = token_;
        oracle = oracle_;
        masterKey = masterKey_;
        master = vm.addr(masterKey_);
        otherKey = uint256(keccak256("other signer"));
        customer = customer_;
        workers[0] = makeAddr("signed worker 0");
        workers[1] = makeAddr("signed worker 1");
        for (uint256 i = 0; i < 2; i++) {
            vm.prank(workers[i]);
            market.requestWorker(master);
            vm.prank(master);
            market.confirmWorker(workers[i]);
        }
    }

    function dealCount() external view returns (uint256) {
        return _deals.length;
    }

    function dealAt(uint256 i) external view returns (uint256) {
        return _deals[i];
    }

    /// @dev A take: `mode` 0 = valid, 1 = stale nonce (replay), 2 = future nonce, 3 = someone else's key.
    function take(uint256 workerSeed, uint256 mode, uint256 price) external {
        address worker = workers[workerSeed % 2];
        mode = mode % 4;
        IMarket.Ask memory ask = GasInputs.ask(master, worker);
        ask.maxDuration = 0;
        ask.pricePerSecond = bound(price, 1e12, 1e15);
        uint256 current = signedAsks.askNonce(worker);
        uint256 nonce = current;
        if (mode == 1) {
            if (current == 0) return;
            nonce = current - 1;
        } else if (mode == 2) {
            nonce = current + 1;
        }
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(mode == 3 ? otherKey : masterKey, signedAsks.hashSignedAsk(ask, nonce));
        bool linked = market.masterOf(worker) == master;
        uint256 amount = 400e18; // a runway of an hour at the highest price
        vm.startPrank(customer);
        market.deposit(customer, amount);
        try signedAsks.quickBuySigned(
            ask, nonce, abi.encodePacked(r, s, v), 0, amount, "img", bytes32(0)
        ) returns (
            uint256 dealId
        ) {
            if (mode != 0 || !linked || _taken[worker][nonce]) violations += 1;
            _taken[worker][nonce] = true;
            ghostMoves[worker] += 1;
            takes += 1;
            _deals.push(dealId);
        } catch {
            market.withdraw(amount, customer);
        }
        vm.stopPrank();
    }

    function cancel(uint256 workerSeed, bool byWorker) external {
        address worker = workers[workerSeed % 2];
        if (market.masterOf(worker) != master) return;
        vm.prank(byWorker ? worker : master);
        signedAsks.cancelSignedAsks(worker);
        ghostMoves[worker] += 1;
    }

    /// @dev The worker leaves its master (the nonce moves on) and, half of the time, comes back.
    function relink(uint256 workerSeed, bool comeBack) external {
        address worker = workers[workerSeed % 2];
        if (market.masterOf(worker) == master) {
            vm.prank(worker);
            market.removeWorker(worker, master);
            ghostMoves[worker] += 1;
        }
        if (comeBack) {
            vm.prank(worker);
            market.requestWorker(master);
            vm.prank(master);
            market.confirmWorker(worker);
        }
    }

    /// @dev The customer closes a deal, clearing it (or not), or the master closes a spot deal with payout.
    function close(uint256 index, uint256 how) external {
        if (_deals.length == 0) return;
        uint256 dealId = _deals[index % _deals.length];
        if (!market.getDeal(dealId).active) return;
        how = how % 3;
        if (how == 0) {
            vm.prank(customer);
            market.closeDeal(dealId, false);
        } else if (how == 1) {
            vm.prank(customer);
            signedAsks.closeDealAndWithdraw(dealId, customer);
        } else {
            vm.prank(master);
            signedAsks.closeDealAndWithdraw(dealId, master);
        }
    }

    function warp(uint256 seconds_) external {
        skip(bound(seconds_, 1, 30 minutes));
        (uint256 rate,) = oracle.latestRate();
        oracle.report(rate);
    }
}
