// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Market} from "../src/Market.sol";
import {SNMToken} from "../src/SNMToken.sol";
import {IMarket} from "../src/interfaces/IMarket.sol";
import {ISignedAsks} from "../src/interfaces/ISignedAsks.sol";
import {Deploy} from "./Deploy.s.sol";
import {GasInputs} from "./GasInputs.sol";
// The tests' permit digest (library, internal functions only: nothing of it is deployed).
import {Permits} from "../test/utils/Permits.sol";

/// @notice The receipt-gas scenario of `make gas` (scripts/gas.sh), with SONM's inputs: price 1e14 USD-wei
/// per second, an ask with every resource set and 3 network flags, a bid for a fixed term of 3600 s.
/// Broadcast to a fresh anvil in phases (the shell script moves anvil's clock between them):
/// `prepare` (deploy, identity, deposit, ask, bid, openDeal, quick buys, cancel, change request),
/// `settleFirst` (+1800 s), `settleRepeat` (+600 s), `finish` (+600 s: closes, the supplier's withdrawal and
/// a deal its worker ends unserved, served for its first 1800 s).
/// The deal opened from the order book is the whole fixed-term deal: ask, bid, openDeal, one settle, close with refund, withdrawal.
/// The signed deal is the whole signed cycle: the master signs an ask off chain (no transaction), the customer
/// takes it from its free balance (`quickBuySigned`), and in `finishSigned` (+1200 s, past the term) the master
/// closes it and is paid out in the same transaction (`closeDealAndWithdraw`). A second signed deal is closed by
/// its customer through the same call (storage cleared, no payout) and its master withdraws afterwards.
contract GasReport is Deploy {
    string internal constant MNEMONIC = "test test test test test test test test test test test junk";
    string internal constant STATE = "deployments/gas.local.json";
    uint256 internal constant PRICE = GasInputs.PRICE;
    uint256 internal constant DEPOSIT = GasInputs.DEPOSIT;
    uint256 internal constant TERM = GasInputs.TERM;

    uint256 internal operatorKey;
    uint256 internal masterKey;
    uint256 internal workerKey;
    uint256 internal customerKey;

    function _keys() internal {
        operatorKey = vm.deriveKey(MNEMONIC, 0);
        masterKey = vm.deriveKey(MNEMONIC, 1);
        workerKey = vm.deriveKey(MNEMONIC, 2);
        customerKey = vm.deriveKey(MNEMONIC, 3);
    }

    function prepare() external {
        _keys();
        address operator = vm.addr(operatorKey);
        address master = vm.addr(masterKey);
        address worker = vm.addr(workerKey);
        address customer = vm.addr(customerKey);

        vm.startBroadcast(operatorKey);
        Config memory cfg = Config({
            deployer: operator,
            owner: operator,
            token: address(0),
            tokenSupply: 444_000_000e18,
            snmPerUsd: 100e18,
            maxAge: 1 days,
            maxChangeBps: 2000,
            reporter: operator,
            minRunway: 3600,
            rewardDelay: 1 days
        });
        Deployment memory d = deploy(cfg);
        SNMToken token = SNMToken(d.token);
        Market market = Market(d.market);
        // Every actor holds SNM, as on the SDK's devnet.
        token.transfer(master, 1_000_000e18);
        token.transfer(worker, 1_000_000e18);
        token.transfer(customer, 1_000_000e18);
        vm.stopBroadcast();

        vm.broadcast(workerKey);
        market.requestWorker(master);
        vm.broadcast(masterKey);
        market.confirmWorker(worker);

        vm.startBroadcast(customerKey);
        token.approve(address(market), type(uint256).max);
        market.deposit(customer, 1000e18);
        vm.stopBroadcast();

        IMarket.Ask memory ask = GasInputs.ask(master, worker);
        IMarket.Bid memory bid = GasInputs.bid(customer);

        // Deal 1, by the order book: ask, bid, openDeal.
        vm.broadcast(masterKey);
        uint256 askId = market.placeAsk(ask);
        vm.broadcast(customerKey);
        uint256 bidId = market.placeBid(bid);
        vm.broadcast(customerKey);
        uint256 fixedDeal = market.openDeal(askId, ask, bidId, bid);

        // Deal 2: quick buy with the deposit (allowance given above).
        vm.broadcast(masterKey);
        askId = market.placeAsk(ask);
        vm.broadcast(customerKey);
        uint256 quickDeal = market.quickBuy(askId, ask, TERM, DEPOSIT, bid.image, bid.configHash);

        // Deal 4: quick buy its supplier ends unserved in `finish`.
        vm.broadcast(masterKey);
        askId = market.placeAsk(ask);
        vm.broadcast(customerKey);
        // Recorded at once: one more local would not fit the stack.
        vm.serializeUint(
            "gas", "unservedDeal", market.quickBuy(askId, ask, TERM, DEPOSIT, bid.image, bid.configHash)
        );

        // Deal 3: quick buy with a permit instead of an allowance (allowance reset first).
        vm.broadcast(masterKey);
        askId = market.placeAsk(ask);
        vm.broadcast(customerKey);
        token.approve(address(market), 0);
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(token, customerKey, address(market), DEPOSIT);
        vm.broadcast(customerKey);
        market.quickBuyWithPermit(
            askId, ask, TERM, DEPOSIT, bid.image, bid.configHash, block.timestamp + 1 days, v, r, s
        );

        // Cancel an ask, and a pending change request on deal 2.
        vm.broadcast(masterKey);
        askId = market.placeAsk(ask);
        vm.broadcast(masterKey);
        market.cancelAsk(askId, ask);
        vm.broadcast(customerKey);
        market.proposeChange(quickDeal, PRICE / 2, block.timestamp + 2 * TERM);

        vm.serializeUint("gas", "signedDeal", _takeSignedAsk(market, ask, bid));
        vm.serializeUint("gas", "signedDeal2", _takeSignedAsk(market, ask, bid));

        vm.serializeUint("gas", "fixedDeal", fixedDeal);
        vm.serializeUint("gas", "quickDeal", quickDeal);
        vm.writeJson(vm.serializeAddress("gas", "market", d.market), STATE);
    }

    function settleFirst() external {
        _keys();
        Market market = _market();
        vm.broadcast(operatorKey);
        market.settle(_deal("fixedDeal"));
        vm.broadcast(operatorKey);
        market.settle(_deal("quickDeal"));
    }

    function settleRepeat() external {
        _keys();
        vm.broadcast(operatorKey);
        _market().settle(_deal("quickDeal"));
    }

    function finish() external {
        _keys();
        Market market = _market();
        address master = vm.addr(masterKey);
        vm.broadcast(customerKey);
        market.closeDeal(_deal("fixedDeal"), false);
        uint256 earnings = market.earningsOf(master);
        vm.broadcast(masterKey);
        market.withdrawEarnings(earnings, master);
        vm.broadcast(customerKey);
        market.closeDeal(_deal("quickDeal"), true);
        // Served for its first 1800 s only (never settled): those are paid, the rest refunded.
        vm.broadcast(workerKey);
        market.endDealUnserved(_deal("unservedDeal"), block.timestamp - 1200);
    }

    /// @dev The master signs `ask` at the worker's current nonce; the customer takes it for {TERM} seconds; then
    /// the master cancels the worker's signed asks.
    function _takeSignedAsk(Market market, IMarket.Ask memory ask, IMarket.Bid memory bid)
        internal
        returns (uint256 dealId)
    {
        ISignedAsks signedAsks = ISignedAsks(address(market));
        uint256 nonce = signedAsks.askNonce(ask.worker);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(masterKey, signedAsks.hashSignedAsk(ask, nonce));
        vm.broadcast(customerKey);
        dealId = signedAsks.quickBuySigned(
            ask, nonce, abi.encodePacked(r, s, v), TERM, DEPOSIT, bid.image, bid.configHash
        );
        // The master voids the worker's other signed asks (none are taken after this).
        vm.broadcast(masterKey);
        signedAsks.cancelSignedAsks(ask.worker);
    }

    function finishSigned() external {
        _keys();
        ISignedAsks signedAsks = ISignedAsks(address(_market()));
        address master = vm.addr(masterKey);
        vm.broadcast(masterKey);
        signedAsks.closeDealAndWithdraw(_deal("signedDeal"), master);
        // The second signed deal: the customer closes it (its storage cleared, nothing to pay out to the
        // customer), then the master withdraws its earnings as it would once for many deals.
        vm.broadcast(customerKey);
        signedAsks.closeDealAndWithdraw(_deal("signedDeal2"), vm.addr(customerKey));
        uint256 earnings = _market().earningsOf(master);
        vm.broadcast(masterKey);
        _market().withdrawEarnings(earnings, master);
    }

    function _deal(string memory key) internal view returns (uint256) {
        return vm.parseJsonUint(vm.readFile(STATE), string.concat(".", key));
    }

    function _market() internal view returns (Market) {
        return Market(vm.parseJsonAddress(vm.readFile(STATE), ".market"));
    }

    function _signPermit(SNMToken token, uint256 key, address spender, uint256 value)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        address owner = vm.addr(key);
        return vm.sign(
            key, Permits.digest(token, owner, spender, value, token.nonces(owner), block.timestamp + 1 days)
        );
    }
}
