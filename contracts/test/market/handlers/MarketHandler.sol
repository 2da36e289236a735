// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {GasInputs} from "../../../script/GasInputs.sol";
import {Market} from "../../../src/Market.sol";
import {PriceOracle} from "../../../src/PriceOracle.sol";
import {SNMToken} from "../../../src/SNMToken.sol";
import {IMarket} from "../../../src/interfaces/IMarket.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// @notice Drives the market through random sequences of every user action, time jumps and rate updates, and
/// keeps ghost variables the invariants check the market against:
/// - token flows in and out of the escrow, earnings and fees withdrawn;
/// - a model of every deal (price and end time in force, settled-until time, what was put in, what the
///   model says was paid, the most price x time could have paid at the rates used), advanced exactly when a
///   call that settles succeeds;
/// - the refund each closing customer received against the model's deposit minus paid (closed by
///   {closeDeal} or ended unserved by its supplier, paid only up to the time it says it served);
/// - each closed deal's stored record, to check it never changes again;
/// - every action a worker got through for a deal of a master it is no longer linked to (workers are
///   removed and confirmed again at random).
/// Inputs are bounded to sensible ranges; calls that revert leave the ghosts untouched (the invariant
/// config does not fail on reverts).
contract MarketHandler is CommonBase, StdCheats, StdUtils {
    struct Model {
        uint256 price;
        uint256 endTime;
        uint256 settledUntil;
        uint256 funded;
        uint256 paid;
        uint256 maxPayable;
        bool closed;
        uint256 refund;
        bytes32 closedRecord;
    }

    uint256 internal constant MIN_RATE = 50e18;
    uint256 internal constant MAX_RATE = 200e18;

    Market public immutable market;
    SNMToken public immutable token;
    PriceOracle public immutable oracle;
    address public immutable owner;
    address public immutable reporter;
    address public immutable treasury;

    address[] internal _customers;
    address[] internal _masters;
    address[] internal _workers; // _workers[i] is the confirmed worker of _masters[i]
    address[] internal _accounts; // everyone who may hold a balance or earnings in the escrow
    address public stranger;

    IMarket.Ask[] internal _asks;
    uint256[] internal _askIds;
    IMarket.Bid[] internal _bids;
    uint256[] internal _bidIds;
    uint256[] internal _dealIds;
    mapping(uint256 dealId => Model) internal _models;

    // ghosts
    uint256 public ghostTokensIn;
    uint256 public ghostTokensOut;
    uint256 public ghostEarningsWithdrawn;
    uint256 public ghostFeesWithdrawn;
    uint256 public ghostRefundErrors;
    uint256 public ghostModelErrors;
    uint256 public ghostUnlinkedWorkerActions;
    uint256 public ghostUnservedEnds;

    constructor(
        Market market_,
        SNMToken token_,
        PriceOracle oracle_,
        address owner_,
        address reporter_,
        address treasury_
    ) {
        market = market_;
        token = token_;
        oracle = oracle_;
        owner = owner_;
        reporter = reporter_;
        treasury = treasury_;
        for (uint256 i; i < 3; ++i) {
            _customers.push(_actor(string.concat("customer", vm.toString(i))));
        }
        for (uint256 i; i < 2; ++i) {
            address master = _actor(string.concat("master", vm.toString(i)));
            address worker = _actor(string.concat("worker", vm.toString(i)));
            _masters.push(master);
            _workers.push(worker);
            vm.prank(worker);
            market.requestWorker(master);
            vm.prank(master);
            market.confirmWorker(worker);
        }
        stranger = _actor("stranger");
    }

    /// @dev A funded account with an unlimited allowance for the market.
    function _actor(string memory name) internal returns (address account) {
        account = makeAddr(name);
        _accounts.push(account);
        deal(address(token), account, 10_000_000e18);
        vm.prank(account);
        token.approve(address(market), type(uint256).max);
    }

    // ------------------------------------------------------------ escrow

    function deposit(uint256 actorSeed, uint256 amount) external {
        address actor = _pick(_accounts, actorSeed);
        amount = bound(amount, 1, 1000e18);
        vm.prank(actor);
        try market.deposit(actor, amount) {
            ghostTokensIn += amount;
        } catch {}
    }

    function withdraw(uint256 actorSeed, uint256 amount) external {
        address actor = _pick(_accounts, actorSeed);
        uint256 balance = market.balanceOf(actor);
        if (balance == 0) return;
        amount = bound(amount, 1, balance);
        vm.prank(actor);
        try market.withdraw(amount, actor) {
            ghostTokensOut += amount;
        } catch {}
    }

    function withdrawEarnings(uint256 masterSeed, uint256 amount) external {
        address master = _pick(_masters, masterSeed);
        uint256 earnings = market.earningsOf(master);
        if (earnings == 0) return;
        amount = bound(amount, 1, earnings);
        vm.prank(master);
        try market.withdrawEarnings(amount, master) {
            ghostTokensOut += amount;
            ghostEarningsWithdrawn += amount;
        } catch {}
    }

    function setFee(uint256 feeBps) external {
        feeBps = bound(feeBps, 0, 1000);
        vm.prank(owner);
        market.setFee(feeBps, treasury);
    }

    function withdrawFees() external {
        uint256 fees = market.accruedFees();
        try market.withdrawFees() {
            ghostTokensOut += fees;
            ghostFeesWithdrawn += fees;
        } catch {}
    }

    function setPaused(bool paused) external {
        vm.prank(owner);
        market.setPaused(paused);
    }

    /// @dev Removes a master's worker (by either side) when linked, confirms it again when not.
    function relinkWorker(uint256 masterSeed) external {
        uint256 i = masterSeed % _masters.length;
        address master = _masters[i];
        address worker = _workers[i];
        if (market.masterOf(worker) == master) {
            vm.prank(masterSeed % 2 == 0 ? master : worker);
            market.removeWorker(worker, master);
        } else {
            vm.prank(worker);
            market.requestWorker(master);
            vm.prank(master);
            market.confirmWorker(worker);
        }
    }

    function setBlacklist(uint256 ownerSeed, uint256 targetSeed, bool blacklisted) external {
        address by = _pick(_accounts, ownerSeed);
        address target = _pick(_accounts, targetSeed);
        vm.prank(by);
        market.setBlacklist(target, blacklisted);
    }

    // ------------------------------------------------------------ orders

    function placeAsk(uint256 masterSeed, uint256 price, bool spot, uint256 expiry) external {
        _placeAsk(masterSeed, price, spot, expiry);
    }

    function placeBid(uint256 customerSeed, uint256 duration, uint256 depositAmount, uint256 expiry)
        external
    {
        _placeBid(customerSeed, duration, depositAmount, expiry);
    }

    /// @dev The ask of {GasInputs} for one of the masters (placed by the master or its worker) at 1e12 to
    /// 1e15 USD-wei a second, spot or fixed terms up to 30 days, expiring within 3 days one time in four.
    function _placeAsk(uint256 masterSeed, uint256 price, bool spot, uint256 expiry) internal {
        uint256 i = masterSeed % _masters.length;
        IMarket.Ask memory ask = GasInputs.ask(_masters[i], _workers[i]);
        ask.pricePerSecond = bound(price, 1e12, 1e15);
        if (spot) ask.maxDuration = 0;
        ask.expiry = expiry % 4 == 0 ? uint64(block.timestamp + bound(expiry, 1, 3 days)) : 0;
        vm.prank(masterSeed % 3 == 0 ? ask.worker : ask.master);
        try market.placeAsk(ask) returns (uint256 askId) {
            _asks.push(ask);
            _askIds.push(askId);
        } catch {}
    }

    /// @dev The bid of {GasInputs} for one of the customers, requiring 2 network flags, at up to 1e15 USD-wei
    /// a second, spot one time in three or a fixed term of 1 minute to 3 days, depositing 1 to 500 SNM,
    /// expiring within 3 days one time in four.
    function _placeBid(uint256 customerSeed, uint256 duration, uint256 depositAmount, uint256 expiry)
        internal
    {
        address customer = _pick(_customers, customerSeed);
        IMarket.Bid memory bid = GasInputs.bid(customer);
        bid.requiredFlags = 3;
        bid.maxPricePerSecond = 1e15;
        bid.duration = duration % 3 == 0 ? 0 : uint64(bound(duration, 60, 3 days));
        bid.deposit = bound(depositAmount, 1e18, 500e18);
        bid.expiry = expiry % 4 == 0 ? uint64(block.timestamp + bound(expiry, 1, 3 days)) : 0;
        vm.prank(customer);
        try market.placeBid(bid) returns (uint256 bidId) {
            _bids.push(bid);
            _bidIds.push(bidId);
        } catch {}
    }

    function cancelAsk(uint256 askSeed) external {
        if (_askIds.length == 0) return;
        uint256 i = askSeed % _askIds.length;
        vm.prank(_asks[i].master);
        try market.cancelAsk(_askIds[i], _asks[i]) {
            _removeAsk(i);
        } catch {}
    }

    function cancelBid(uint256 bidSeed) external {
        if (_bidIds.length == 0) return;
        uint256 i = bidSeed % _bidIds.length;
        vm.prank(_bids[i].customer);
        try market.cancelBid(_bidIds[i], _bids[i]) {
            _removeBid(i);
        } catch {}
    }

    // ------------------------------------------------------------ opening deals

    /// @dev Matches a known ask and bid (placing one of each first when there is none, and depositing what
    /// the customer's free balance lacks, so that most calls open a deal).
    function openDeal(uint256 askSeed, uint256 bidSeed, bool fund) external {
        if (_askIds.length == 0) _placeAsk(askSeed, askSeed >> 8, askSeed % 2 == 0, 1);
        if (_bidIds.length == 0) _placeBid(bidSeed, bidSeed >> 8, bidSeed >> 16, 1);
        if (_askIds.length == 0 || _bidIds.length == 0) return;
        uint256 a = askSeed % _askIds.length;
        uint256 b = bidSeed % _bidIds.length;
        IMarket.Ask memory ask = _asks[a];
        IMarket.Bid memory bid = _bids[b];
        uint256 balance = market.balanceOf(bid.customer);
        if (fund && balance < bid.deposit) {
            vm.prank(bid.customer);
            market.deposit(bid.customer, bid.deposit - balance);
            ghostTokensIn += bid.deposit - balance;
        }
        vm.prank(stranger);
        try market.openDeal(_askIds[a], ask, _bidIds[b], bid) returns (uint256 dealId) {
            _newDeal(dealId, ask.pricePerSecond, bid.duration, bid.deposit);
            _removeAsk(a);
            _removeBid(b);
        } catch {}
    }

    /// @dev Takes a known ask (placing one first when there is none).
    function quickBuy(uint256 askSeed, uint256 customerSeed, uint256 duration, uint256 depositAmount)
        external
    {
        if (_askIds.length == 0) _placeAsk(askSeed, askSeed >> 8, askSeed % 2 == 0, 1);
        if (_askIds.length == 0) return;
        uint256 a = askSeed % _askIds.length;
        IMarket.Ask memory ask = _asks[a];
        address customer = _pick(_customers, customerSeed);
        duration = ask.maxDuration == 0 && duration % 2 == 0 ? 0 : bound(duration, 60, 3 days);
        depositAmount = bound(depositAmount, 1e18, 500e18);
        vm.prank(customer);
        try market.quickBuy(_askIds[a], ask, duration, depositAmount, "img", bytes32(0)) returns (
            uint256 dealId
        ) {
            _newDeal(dealId, ask.pricePerSecond, duration, depositAmount);
            _removeAsk(a);
            ghostTokensIn += depositAmount;
        } catch {}
    }

    // ------------------------------------------------------------ running deals

    function settle(uint256 dealSeed) external {
        if (_dealIds.length == 0) return;
        uint256 dealId = _pickDeal(dealSeed);
        (uint256 rate,) = oracle.latestRate();
        vm.prank(stranger);
        try market.settle(dealId) {
            bool ranOut = _modelSettle(_models[dealId], rate);
            bool active = market.getDeal(dealId).active;
            if (!active) _markClosed(dealId);
            if (ranOut == active) ghostModelErrors++;
        } catch {}
    }

    function topUp(uint256 dealSeed, uint256 actorSeed, uint256 amount) external {
        if (_dealIds.length == 0) return;
        uint256 dealId = _pickDeal(dealSeed);
        address actor = actorSeed % 2 == 0 ? market.getDeal(dealId).customer : _pick(_accounts, actorSeed);
        uint256 balance = market.balanceOf(actor);
        if (balance == 0) return;
        amount = bound(amount, 1, balance);
        vm.prank(actor);
        try market.topUp(dealId, amount) {
            _models[dealId].funded += amount;
        } catch {}
    }

    /// @dev `who`: 0 the customer, 1 the master, 2 the worker, 3 a stranger.
    function closeDeal(uint256 dealSeed, uint256 who, bool blacklist) external {
        if (_dealIds.length == 0) return;
        uint256 dealId = _pickDeal(dealSeed);
        IMarket.Deal memory d = market.getDeal(dealId);
        address caller = _party(d, who);
        uint256 balanceBefore = market.balanceOf(d.customer);
        (uint256 rate,) = oracle.latestRate();
        bool unlinked = _unlinkedWorker(d, caller);
        vm.prank(caller);
        try market.closeDeal(dealId, blacklist) {
            Model storage m = _models[dealId];
            _modelSettle(m, rate);
            m.refund = market.balanceOf(d.customer) - balanceBefore;
            if (m.refund != m.funded - m.paid) ghostRefundErrors++;
            _markClosed(dealId);
            // Closing as anyone may (past the end, out of funds) is fine; as the supplier it is not.
            if (unlinked && (blacklist || market.getDeal(dealId).reason == IMarket.CloseReason.BySupplier)) {
                ghostUnlinkedWorkerActions++;
            }
        } catch {}
    }

    /// @dev `who` as in {closeDeal}. The time served: one time in four nothing since the last settlement, one
    /// time in sixteen a second in the future (refused), otherwise between the last settlement and now.
    function endDealUnserved(uint256 dealSeed, uint256 who, uint256 served) external {
        if (_dealIds.length == 0) return;
        uint256 dealId = _pickDeal(dealSeed);
        IMarket.Deal memory d = market.getDeal(dealId);
        address caller = _party(d, who % 8 < 5 ? 1 + who % 2 : who);
        Model storage m = _models[dealId];
        if (served % 16 == 1) served = block.timestamp + 1;
        else if (served % 4 == 0) served = served % 3 == 0 ? 0 : m.settledUntil;
        else served = bound(served, m.settledUntil, block.timestamp);
        uint256 balanceBefore = market.balanceOf(d.customer);
        (uint256 rate,) = oracle.latestRate();
        bool unlinked = _unlinkedWorker(d, caller);
        vm.prank(caller);
        try market.endDealUnserved(dealId, served) {
            _modelSettleUpTo(m, rate, served);
            m.refund = market.balanceOf(d.customer) - balanceBefore;
            if (m.refund != m.funded - m.paid) ghostRefundErrors++;
            if (market.getDeal(dealId).reason != IMarket.CloseReason.Unserved) ghostModelErrors++;
            _markClosed(dealId);
            if (unlinked) ghostUnlinkedWorkerActions++;
            ghostUnservedEnds++;
        } catch {}
    }

    function proposeChange(uint256 dealSeed, uint256 who, uint256 price, uint256 endTime) public {
        if (_dealIds.length == 0) return;
        uint256 dealId = _pickDeal(dealSeed);
        IMarket.Deal memory d = market.getDeal(dealId);
        price = bound(price, 1e12, 1e15);
        endTime = d.endTime == 0 ? 0 : block.timestamp + bound(endTime, 1, 3 days);
        vm.prank(_party(d, who % 3));
        try market.proposeChange(dealId, price, endTime) {} catch {}
    }

    function acceptChange(uint256 dealSeed, bool byWorker) external {
        if (_dealIds.length == 0) return;
        uint256 dealId = _pickDeal(dealSeed);
        IMarket.Deal memory d = market.getDeal(dealId);
        if (market.pendingChange(dealId).proposer == address(0)) {
            proposeChange(dealSeed, dealSeed >> 8, dealSeed >> 16, dealSeed >> 32);
        }
        IMarket.Change memory c = market.pendingChange(dealId);
        if (c.proposer == address(0)) return;
        address acceptor = c.proposer == d.customer ? (byWorker ? d.worker : d.master) : d.customer;
        (uint256 rate,) = oracle.latestRate();
        // Accepting for the supplier, or a proposal a worker made for it, needs the worker linked now.
        bool unlinked = _unlinkedWorker(d, acceptor) || _unlinkedWorker(d, c.proposer);
        vm.prank(acceptor);
        try market.acceptChange(dealId, c.pricePerSecond, c.endTime) {
            if (unlinked) ghostUnlinkedWorkerActions++;
            Model storage m = _models[dealId];
            _modelSettle(m, rate);
            m.price = c.pricePerSecond;
            m.endTime = c.endTime;
            m.settledUntil = block.timestamp;
        } catch {}
    }

    function cancelChange(uint256 dealSeed) external {
        if (_dealIds.length == 0) return;
        uint256 dealId = _pickDeal(dealSeed);
        address proposer = market.pendingChange(dealId).proposer;
        if (proposer == address(0)) return;
        vm.prank(proposer);
        market.cancelChange(dealId);
    }

    // ------------------------------------------------------------ time and rate

    /// @dev Moves the clock by up to 2 hours; three times in four the reporter then restates the rate,
    /// otherwise it may go stale (1 hour).
    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 hours));
        if (seconds_ % 4 != 0) {
            (uint256 rate,) = oracle.latestRate();
            vm.prank(reporter);
            oracle.report(rate);
        }
    }

    /// @dev Reports a rate within the oracle's 20 % step, kept between {MIN_RATE} and {MAX_RATE}.
    function updateRate(uint256 changeBps, bool up) external {
        (uint256 rate,) = oracle.latestRate();
        changeBps = bound(changeBps, 0, 2000);
        uint256 next = up ? rate * (10_000 + changeBps) / 10_000 : rate * (10_000 - changeBps) / 10_000;
        if (next < MIN_RATE) next = MIN_RATE;
        if (next > MAX_RATE) next = MAX_RATE;
        vm.prank(reporter);
        oracle.report(next);
    }

    // ------------------------------------------------------------ views for the invariants

    function dealIds() external view returns (uint256[] memory) {
        return _dealIds;
    }

    function accounts() external view returns (address[] memory) {
        return _accounts;
    }

    function model(uint256 dealId) external view returns (Model memory) {
        return _models[dealId];
    }

    /// @notice What the market says the deal has paid: everything put in, less what is left or was refunded.
    function paidByMarket(uint256 dealId) public view returns (uint256) {
        Model storage m = _models[dealId];
        return m.funded - market.getDeal(dealId).deposit - m.refund;
    }

    // ------------------------------------------------------------ internals

    function _newDeal(uint256 dealId, uint256 price, uint256 duration, uint256 amount) internal {
        _dealIds.push(dealId);
        _models[dealId] = Model({
            price: price,
            endTime: duration == 0 ? 0 : block.timestamp + duration,
            settledUntil: block.timestamp,
            funded: amount,
            paid: 0,
            maxPayable: 0,
            closed: false,
            refund: 0,
            closedRecord: bytes32(0)
        });
    }

    /// @dev The model of a settlement at `rate`: the seconds since the last one, up to the end time, at the
    /// price in force, rounded down, capped by what is left. Returns whether that used the deposit up.
    function _modelSettle(Model storage m, uint256 rate) internal returns (bool ranOut) {
        return _modelSettleUpTo(m, rate, block.timestamp);
    }

    /// @dev {_modelSettle} paying no second after `served` (a supplier ending a deal it did not serve).
    function _modelSettleUpTo(Model storage m, uint256 rate, uint256 served) internal returns (bool ranOut) {
        uint256 until = m.endTime != 0 && m.endTime < block.timestamp ? m.endTime : block.timestamp;
        if (served < until) until = served;
        if (until <= m.settledUntil) return false;
        uint256 owed = m.price * (until - m.settledUntil) * rate / 1e18;
        uint256 left = m.funded - m.paid;
        m.maxPayable += owed;
        m.paid += owed < left ? owed : left;
        m.settledUntil = until;
        return owed >= left;
    }

    function _markClosed(uint256 dealId) internal {
        Model storage m = _models[dealId];
        m.closed = true;
        m.closedRecord = keccak256(abi.encode(market.getDeal(dealId)));
    }

    /// @dev Whether `account` is the deal's worker and no longer a confirmed worker of the deal's master.
    function _unlinkedWorker(IMarket.Deal memory d, address account) internal view returns (bool) {
        return account == d.worker && account != d.master && market.masterOf(account) != d.master;
    }

    function _party(IMarket.Deal memory d, uint256 who) internal view returns (address) {
        who %= 4;
        if (who == 0) return d.customer;
        if (who == 1) return d.master;
        if (who == 2) return d.worker;
        return stranger;
    }

    function _pick(address[] storage list, uint256 seed) internal view returns (address) {
        return list[seed % list.length];
    }

    function _pickDeal(uint256 seed) internal view returns (uint256) {
        return _dealIds[seed % _dealIds.length];
    }

    function _removeAsk(uint256 i) internal {
        uint256 last = _askIds.length - 1;
        _askIds[i] = _askIds[last];
        _asks[i] = _asks[last];
        _askIds.pop();
        _asks.pop();
    }

    function _removeBid(uint256 i) internal {
        uint256 last = _bidIds.length - 1;
        _bidIds[i] = _bidIds[last];
        _bids[i] = _bids[last];
        _bidIds.pop();
        _bids.pop();
    }
}
