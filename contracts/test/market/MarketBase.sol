// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {GasInputs} from "../../script/GasInputs.sol";
import {Market} from "../../src/Market.sol";
import {PriceOracle} from "../../src/PriceOracle.sol";
import {SNMToken} from "../../src/SNMToken.sol";
import {IMarket} from "../../src/interfaces/IMarket.sol";
import {IPriceOracle} from "../../src/interfaces/IPriceOracle.sol";
import {Permits} from "../utils/Permits.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "forge-std/Test.sol";

/// @notice Shared set-up of the market tests: token, oracle and market deployed by `owner`, funded actors,
/// a master with a confirmed worker, and helpers that build asks and bids with SONM's measured inputs
/// (price 1e14 USD-wei per second, every resource set, 3 network flags, a fixed term of 3600 s).
abstract contract MarketBase is Test {
    uint256 internal constant SUPPLY = 444_000_000e18;
    /// @dev SNM wei per USD, 1e18 scale: 1 SNM = $0.01.
    uint256 internal constant RATE = 100e18;
    uint256 internal constant MAX_AGE = 1 hours;
    uint256 internal constant MAX_CHANGE_BPS = 2000;
    uint256 internal constant RUNWAY = 3600;
    /// @dev USD-wei per second: 0.01 SNM a second at {RATE}.
    uint256 internal constant PRICE = GasInputs.PRICE;
    uint256 internal constant TERM = GasInputs.TERM;
    uint256 internal constant DEPOSIT = GasInputs.DEPOSIT;
    uint256 internal constant FUNDS = 1_000_000e18;
    uint256 internal constant START = 1_700_000_000;
    string internal constant IMAGE = GasInputs.IMAGE;
    bytes32 internal constant CONFIG = GasInputs.CONFIG_HASH;

    SNMToken internal token;
    PriceOracle internal oracle;
    Market internal market;

    address internal owner = makeAddr("owner");
    address internal reporter = makeAddr("reporter");
    address internal master = makeAddr("master");
    address internal worker = makeAddr("worker");
    /// @dev The customer signs permits, so its key is known (makeAddr derives it the same way).
    uint256 internal customerKey = uint256(keccak256(abi.encodePacked("customer")));
    address internal customer = makeAddr("customer");
    address internal stranger = makeAddr("stranger");
    address internal treasury = makeAddr("treasury");

    function setUp() public virtual {
        vm.warp(START);
        token = new SNMToken(address(this), SUPPLY);
        oracle = new PriceOracle(owner, RATE, MAX_AGE, MAX_CHANGE_BPS);
        vm.prank(owner);
        oracle.setReporter(reporter, true);
        market = new Market(owner, IERC20(address(token)), IPriceOracle(address(oracle)), RUNWAY);

        _fund(master);
        _fund(worker);
        _fund(customer);
        _fund(stranger);
        _link(worker, master);
    }

    // ------------------------------------------------------------ actors

    /// @dev Gives `account` {FUNDS} SNM and an unlimited allowance for the market.
    function _fund(address account) internal {
        token.transfer(account, FUNDS);
        vm.prank(account);
        token.approve(address(market), type(uint256).max);
    }

    /// @dev Makes `worker_` a confirmed worker of `master_`.
    function _link(address worker_, address master_) internal {
        vm.prank(worker_);
        market.requestWorker(master_);
        vm.prank(master_);
        market.confirmWorker(worker_);
    }

    /// @dev Moves `amount` of `account`'s SNM into its free balance in the escrow.
    function _deposit(address account, uint256 amount) internal {
        vm.prank(account);
        market.deposit(account, amount);
    }

    /// @dev Takes back the customer's allowance for the market (the permit paths then need their permit).
    function _revokeAllowance() internal {
        vm.prank(customer);
        token.approve(address(market), 0);
    }

    // ------------------------------------------------------------ owner

    /// @dev The owner sets a fee of `feeBps` paid to `treasury`.
    function _setFee(uint256 feeBps) internal {
        vm.prank(owner);
        market.setFee(feeBps, treasury);
    }

    /// @dev The owner pauses the market.
    function _pause() internal {
        vm.prank(owner);
        market.setPaused(true);
    }

    // ------------------------------------------------------------ orders

    /// @dev An ask of `master` for `worker` with every resource set and 3 network flags, fixed terms up to 30
    /// days at {PRICE} (the ask of `make gas`).
    function _ask() internal view returns (IMarket.Ask memory) {
        return GasInputs.ask(master, worker);
    }

    /// @dev {_ask} accepting spot deals (no maximum duration).
    function _spotAsk() internal view returns (IMarket.Ask memory ask) {
        ask = _ask();
        ask.maxDuration = 0;
    }

    /// @dev A bid of `customer` for a fixed term of {TERM} seconds, depositing {DEPOSIT} (the bid of `make gas`).
    function _bid() internal view returns (IMarket.Bid memory) {
        return GasInputs.bid(customer);
    }

    /// @dev {_bid} for a spot deal.
    function _spotBid() internal view returns (IMarket.Bid memory bid) {
        bid = _bid();
        bid.duration = 0;
    }

    function _placeAsk(IMarket.Ask memory ask) internal returns (uint256 askId) {
        vm.prank(ask.master);
        askId = market.placeAsk(ask);
    }

    function _placeBid(IMarket.Bid memory bid) internal returns (uint256 bidId) {
        vm.prank(bid.customer);
        bidId = market.placeBid(bid);
    }

    // ------------------------------------------------------------ deals

    /// @dev Deposits the bid's deposit for its customer, places both orders and matches them (as `stranger`,
    /// a matcher bot).
    function _open(IMarket.Ask memory ask, IMarket.Bid memory bid) internal returns (uint256 dealId) {
        _deposit(bid.customer, bid.deposit);
        uint256 askId = _placeAsk(ask);
        uint256 bidId = _placeBid(bid);
        vm.prank(stranger);
        dealId = market.openDeal(askId, ask, bidId, bid);
    }

    /// @dev A fixed-term deal of {TERM} seconds with a deposit of {DEPOSIT}.
    function _openFixed() internal returns (uint256) {
        return _open(_ask(), _bid());
    }

    /// @dev A spot deal with a deposit of {DEPOSIT}.
    function _openSpot() internal returns (uint256) {
        return _open(_spotAsk(), _spotBid());
    }

    /// @dev A quick buy of `customer` for `duration` seconds with `amount` deposited.
    function _quickBuy(IMarket.Ask memory ask, uint256 duration, uint256 amount) internal returns (uint256) {
        uint256 askId = _placeAsk(ask);
        vm.prank(customer);
        return market.quickBuy(askId, ask, duration, amount, IMAGE, CONFIG);
    }

    /// @dev An EIP-2612 permit of `customer` for the market, valid for a day.
    function _signPermit(uint256 value)
        internal
        view
        returns (uint256 deadline, uint8 v, bytes32 r, bytes32 s)
    {
        deadline = block.timestamp + 1 days;
        (v, r, s) = vm.sign(
            customerKey,
            Permits.digest(token, customer, address(market), value, token.nonces(customer), deadline)
        );
    }

    function _deal(uint256 dealId) internal view returns (IMarket.Deal memory) {
        return market.getDeal(dealId);
    }

    /// @dev `by` closes the deal, blacklisting the other side when `blacklist` is set.
    function _close(address by, uint256 dealId, bool blacklist) internal {
        vm.prank(by);
        market.closeDeal(dealId, blacklist);
    }

    /// @dev The deal is closed for `reason`, its deposit paid out or refunded.
    function _assertClosed(uint256 dealId, IMarket.CloseReason reason) internal view {
        IMarket.Deal memory d = _deal(dealId);
        assertFalse(d.active);
        assertEq(uint8(d.reason), uint8(reason));
        assertEq(d.deposit, 0);
    }

    // ------------------------------------------------------------ time and rate

    /// @dev Moves the clock `seconds_` forward and has the reporter restate the rate, so it stays fresh.
    function _skipFresh(uint256 seconds_) internal {
        skip(seconds_);
        (uint256 rate,) = oracle.latestRate();
        _report(rate);
    }

    /// @dev Reports `rate` (within the oracle's maximum change of the current one).
    function _report(uint256 rate) internal {
        vm.prank(reporter);
        oracle.report(rate);
    }

    /// @dev SNM owed for `seconds_` at `price` and `rate`, rounded down (plain arithmetic, for small values).
    function _owed(uint256 price, uint256 seconds_, uint256 rate) internal pure returns (uint256) {
        return price * seconds_ * rate / 1e18;
    }

    /// @dev SNM a deal pays per second at {PRICE} and {RATE}: 0.01 SNM.
    function _perSecond() internal pure returns (uint256) {
        return _owed(PRICE, 1, RATE);
    }
}
