// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEscrow} from "./IEscrow.sol";
import {IIdentity} from "./IIdentity.sol";

/// @title Compute market: orders, deals, lazy per-second settlement
/// @notice Suppliers place asks and customers place bids. Only the hash of an order is stored; its fields
/// are in the placement event, and {openDeal} / {quickBuy} take the full order in calldata and check it
/// against the stored hash. A deal runs at the ask's price (USD per second, 1e18 scale) and is paid from
/// its own deposit in SNM at the oracle's rate, second by second, by the permissionless {settle}.
///
/// Money rules:
/// - Opening needs a fresh oracle rate and a deposit covering `minRunway` seconds (or the whole fixed
///   term when shorter) at the ask's price and the current rate.
/// - {settle} pays `floor(price * seconds * snmPerUsd / 1e18)` capped by the deposit, for the seconds since
///   the last settlement up to the deal's end time (if any). It needs a fresh rate. When the deposit runs
///   out the deal closes with reason {CloseReason.OutOfFunds} ({CloseReason.Expired} when it paid a fixed
///   term exactly, up to its end).
/// - {closeDeal} first settles the unsettled seconds, then returns the rest of the deposit to the
///   customer's free balance. When the caller is the customer and the oracle rate is stale, the unsettled
///   seconds are paid at the last stored rate (capped by the deposit), so a customer can always close and
///   get back what is not owed. Everyone else needs a fresh rate.
/// - {endDealUnserved} lets the supplier end a deal it cannot serve at any time, fixed term included: it is
///   paid only up to the time it says it served (never beyond now or the end of the term), the rest of the
///   deposit goes back to the customer, and the deal closes with {CloseReason.Unserved}.
/// - Pausing stops new deals only; settling, closing, top-ups and withdrawals always work.
///
/// Who acts for the supplier: the deal's master always; the deal's worker only while it is still a
/// confirmed worker of that master (`masterOf(worker) == deal.master`). A worker removed from the master
/// (or moved to another one) keeps no power over the master's deals, which go on paying the master.
interface IMarket is IEscrow, IIdentity {
    /// @notice Resources of a machine (ask) or the minimum needed (bid).
    struct Resources {
        uint64 cpuMilliCores;
        uint64 ramBytes;
        uint64 storageBytes;
        uint64 gpuCount;
        uint64 gpuMemBytes;
        uint64 netUpBps;
        uint64 netDownBps;
    }

    /// @notice A supplier's offer of one worker's machine.
    /// @param master Payout account of the supplier; must be the confirmed master of `worker`.
    /// @param worker The machine's key.
    /// @param resources What the machine provides.
    /// @param netFlags Bitmask of network capabilities (bit 0 public IP, bit 1 incoming connections, ...).
    /// @param region Region code (for example ISO 3166 numeric); 0 = unspecified.
    /// @param pricePerSecond USD per second, 1e18 scale; nonzero.
    /// @param minDuration Smallest fixed term accepted, seconds.
    /// @param maxDuration Largest fixed term accepted, seconds; 0 = no maximum and spot deals accepted.
    /// @param expiry Timestamp after which the ask cannot be taken; 0 = never.
    /// @param counterparty The only customer allowed; zero = anyone.
    struct Ask {
        address master;
        address worker;
        Resources resources;
        uint64 netFlags;
        uint32 region;
        uint256 pricePerSecond;
        uint64 minDuration;
        uint64 maxDuration;
        uint64 expiry;
        address counterparty;
    }

    /// @notice A customer's demand.
    /// @param customer Who pays; the deposit comes from this account's free balance.
    /// @param minResources Least of each resource needed.
    /// @param requiredFlags Network flags the machine must have.
    /// @param region Required region; 0 = any.
    /// @param maxPricePerSecond Highest USD per second (1e18 scale) accepted.
    /// @param duration Fixed term in seconds; 0 = spot (open-ended).
    /// @param deposit SNM moved from the free balance into the deal's deposit at opening.
    /// @param expiry Timestamp after which the bid cannot be matched; 0 = never.
    /// @param counterparty The only master allowed; zero = any.
    /// @param image Container image reference to run (for example "ghcr.io/acme/proxy:1.2").
    /// @param configHash Hash of the container's configuration.
    struct Bid {
        address customer;
        Resources minResources;
        uint64 requiredFlags;
        uint32 region;
        uint256 maxPricePerSecond;
        uint64 duration;
        uint256 deposit;
        uint64 expiry;
        address counterparty;
        string image;
        bytes32 configHash;
    }

    /// @notice Why a deal closed. {CloseReason.Unserved}: the supplier ended it with {endDealUnserved}, being
    /// paid only for the time it served.
    enum CloseReason {
        None,
        ByCustomer,
        BySupplier,
        Expired,
        OutOfFunds,
        Unserved
    }

    /// @notice Deal state as stored (three slots). A deal's id is the id of the bid it consumed (a fresh order
    /// id for a quick buy): the deal is written over its bid's storage.
    /// @param master Supplier's payout account.
    /// @param deposit SNM left to pay from.
    /// @param customer Who pays.
    /// @param settledUntil Timestamp up to which the deal has been paid.
    /// @param endTime End of a fixed term; 0 for spot.
    /// @param active Whether the deal is open.
    /// @param reason Why it closed (None while active).
    /// @param worker The machine.
    /// @param pricePerSecond USD per second, 1e18 scale.
    /// @param feeBps Protocol fee of this deal, fixed when it opened.
    struct Deal {
        address master;
        uint96 deposit;
        address customer;
        uint40 settledUntil;
        uint40 endTime;
        bool active;
        CloseReason reason;
        address worker;
        uint80 pricePerSecond;
        uint16 feeBps;
    }

    /// @notice Terms of a newly opened deal, as carried by {DealOpened}.
    /// @param worker The machine.
    /// @param askId The ask taken.
    /// @param bidId The bid matched; 0 for a quick buy.
    /// @param pricePerSecond USD per second, 1e18 scale.
    /// @param deposit SNM locked at opening.
    /// @param startTime Opening timestamp (the deal is paid from it).
    /// @param endTime End of the fixed term; 0 for spot.
    /// @param image Container image reference to run.
    /// @param configHash Hash of the container's configuration.
    struct DealInfo {
        address worker;
        uint256 askId;
        uint256 bidId;
        uint256 pricePerSecond;
        uint256 deposit;
        uint256 startTime;
        uint256 endTime;
        string image;
        bytes32 configHash;
    }

    /// @notice A pending change of price and end time, proposed by one side of a deal.
    struct Change {
        address proposer;
        uint80 pricePerSecond;
        uint40 endTime;
    }

    /// @notice No open order with this id, or the given fields differ from the stored hash.
    error OrderMismatch(uint256 orderId);
    /// @notice The caller may not place or cancel this order.
    error NotOrderOwner(uint256 orderId, address caller);
    /// @notice The order is malformed (zero price or deposit, min above max duration, past expiry, price above
    /// 2^80 - 1, deposit above 2^96 - 1).
    error InvalidOrder();
    /// @notice The order expired at `expiry`.
    error OrderExpired(uint256 orderId, uint256 expiry);
    /// @notice New deals are paused.
    error MarketPaused();
    /// @notice The ask's resources are below the bid's minimum.
    error ResourcesTooLow();
    /// @notice The ask lacks some of the bid's required network flags.
    error FlagsMissing(uint256 required, uint256 offered);
    /// @notice The ask's region is not the bid's.
    error RegionMismatch(uint256 required, uint256 offered);
    /// @notice The ask's price is above the bid's maximum.
    error PriceTooHigh(uint256 price, uint256 maxPrice);
    /// @notice The duration is outside the ask's range (or spot asked from an ask with a maximum).
    error DurationOutOfRange(uint256 duration);
    /// @notice An order's counterparty is someone else.
    error CounterpartyMismatch();
    /// @notice `blocker` has blacklisted `blocked`.
    error BlacklistedBy(address blocker, address blocked);
    /// @notice The ask's worker is no longer a confirmed worker of its master.
    error WorkerNotConfirmed(address worker, address master);
    /// @notice The deposit does not cover the minimum runway.
    error DepositBelowRunway(uint256 deposit, uint256 required);
    /// @notice The deal is not active (never opened or closed).
    error DealNotActive(uint256 dealId);
    /// @notice The caller is not a party the action is allowed to.
    error NotDealParty(uint256 dealId, address caller);
    /// @notice The caller may not close this deal now.
    error CloseNotAllowed(uint256 dealId, address caller);
    /// @notice The caller is neither the deal's master nor its worker while still a confirmed worker of that
    /// master.
    error NotDealSupplier(uint256 dealId, address caller);
    /// @notice The time a supplier says it served a deal up to is after the block's time.
    error ServedUntilInFuture(uint256 servedUntil, uint256 blockTime);
    /// @notice There is no pending change on this deal, or it differs from what the caller accepts.
    error NoPendingChange(uint256 dealId);
    /// @notice The proposed change is malformed (zero price, end time in the past or on a spot/fixed mismatch).
    error InvalidChange();
    /// @notice The minimum runway constructor parameter is zero.
    error InvalidRunway();
    /// @notice An announced endpoint is empty or longer than {MAX_ENDPOINT_LENGTH} bytes.
    error InvalidEndpoint(uint256 length);

    /// @notice An ask was placed. Carries every field of the ask.
    event AskPlaced(uint256 indexed askId, address indexed master, address indexed worker, Ask ask);
    /// @notice A bid was placed. Carries every field of the bid.
    event BidPlaced(uint256 indexed bidId, address indexed customer, Bid bid);
    /// @notice An order was cancelled by its owner.
    event OrderCancelled(uint256 indexed orderId, address indexed by);
    /// @notice A deal opened (the ask and the bid, if any, are consumed); `info` carries its terms.
    event DealOpened(uint256 indexed dealId, address indexed customer, address indexed master, DealInfo info);
    /// @notice A deal was paid up to `settledUntil`: `amount` left the deposit, `fee` of it to the treasury
    /// and the rest to the master's earnings, at `snmPerUsd`.
    event DealSettled(
        uint256 indexed dealId,
        address indexed master,
        uint256 amount,
        uint256 fee,
        uint256 snmPerUsd,
        uint256 settledUntil,
        uint256 depositLeft
    );
    /// @notice A deal closed. When closed by {closeDeal} or {endDealUnserved}, the final settlement is carried
    /// here (no separate {DealSettled}): `paid` left the deposit (`fee` of it to the treasury, the rest to the
    /// master) at `snmPerUsd`, up to `settledUntil` (the deal's settled-until time after that settlement,
    /// unchanged when there was nothing to settle); then `refund` went back to the customer's free balance.
    /// {endDealUnserved} reads no rate when there is nothing to pay: `snmPerUsd` is 0 then. When {settle}
    /// closes a deal (its deposit used up) it emits {DealSettled} and then this event with `paid`, `fee` and
    /// `refund` 0.
    event DealClosed(
        uint256 indexed dealId,
        CloseReason reason,
        address indexed by,
        uint256 paid,
        uint256 fee,
        uint256 snmPerUsd,
        uint256 settledUntil,
        uint256 refund,
        bool blacklisted
    );
    /// @notice `from` added `amount` from its free balance to the deal's deposit.
    event DealToppedUp(uint256 indexed dealId, address indexed from, uint256 amount, uint256 deposit);
    /// @notice The supplier published where the deal's workload serves (for example `203.0.113.7:3128`), so
    /// that the customer's software can reach it; the latest announcement of a deal is the one that counts.
    event EndpointAnnounced(uint256 indexed dealId, address indexed worker, string endpoint);
    /// @notice One side proposed a new price and end time.
    event ChangeProposed(
        uint256 indexed dealId, address indexed proposer, uint256 pricePerSecond, uint256 endTime
    );
    /// @notice The other side accepted; the deal runs at the new terms from now (earlier seconds were settled
    /// at the old price).
    event ChangeAccepted(
        uint256 indexed dealId, address indexed acceptor, uint256 pricePerSecond, uint256 endTime
    );
    /// @notice The proposer withdrew a pending change.
    event ChangeCancelled(uint256 indexed dealId, address indexed by);
    /// @notice `owner` blacklisted (or un-blacklisted) `target`: no deal between them opens.
    event BlacklistSet(address indexed owner, address indexed target, bool blacklisted);
    /// @notice The owner paused or unpaused new deals.
    event PausedSet(bool paused);

    /// @notice Places an ask and returns its id. The caller is `ask.master` or `ask.worker`, and the worker
    /// must be a confirmed worker of the master.
    function placeAsk(Ask calldata ask) external returns (uint256 askId);

    /// @notice Places a bid and returns its id. The caller must be `bid.customer`.
    function placeBid(Bid calldata bid) external returns (uint256 bidId);

    /// @notice Cancels an open ask; by its master or worker.
    function cancelAsk(uint256 askId, Ask calldata ask) external;

    /// @notice Cancels an open bid; by its customer.
    function cancelBid(uint256 bidId, Bid calldata bid) external;

    /// @notice Opens a deal from an ask and a bid; anyone may call it (matcher bots). Checks the stored hashes,
    /// pause, expiry, resources, flags, region, price, duration, counterparties, blacklists in both
    /// directions, the worker's link, the fresh rate and the runway; moves `bid.deposit` from the customer's
    /// free balance into the deal. Both orders are consumed. Returns the deal id.
    function openDeal(uint256 askId, Ask calldata ask, uint256 bidId, Bid calldata bid)
        external
        returns (uint256 dealId);

    /// @notice Takes an ask directly: the caller pays `deposit` SNM (after `approve`) straight into a new deal
    /// for `duration` seconds (0 = spot) running `image`/`configHash`.
    function quickBuy(
        uint256 askId,
        Ask calldata ask,
        uint256 duration,
        uint256 deposit,
        string calldata image,
        bytes32 configHash
    ) external returns (uint256 dealId);

    /// @notice {quickBuy} after an EIP-2612 permit of the caller for the market (a failing permit is ignored
    /// when the allowance is already enough).
    function quickBuyWithPermit(
        uint256 askId,
        Ask calldata ask,
        uint256 duration,
        uint256 deposit,
        string calldata image,
        bytes32 configHash,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 dealId);

    /// @notice Pays the deal's unsettled seconds; anyone may call it. Needs a fresh rate. Closes the deal
    /// when the deposit runs out: {CloseReason.OutOfFunds}, or {CloseReason.Expired} when the deposit paid a
    /// fixed term exactly, up to its end.
    function settle(uint256 dealId) external;

    /// @notice Adds `amount` of the caller's free balance to the deal's deposit.
    function topUp(uint256 dealId, uint256 amount) external;

    /// @notice Closes a deal after settling it, refunding what is left to the customer. The customer may
    /// close at any time (even with a stale rate, see the contract notice); the supplier (master, or the
    /// deal's worker while still a confirmed worker of that master) may close a spot deal at any time and a
    /// fixed-term deal from its end time (earlier, {endDealUnserved}); anyone may close a deal past its end
    /// time or whose deposit, once the unsettled seconds are paid, cannot pay one more second (the supplier
    /// of a fixed-term deal included). With `blacklist`, a party closing also blacklists the other side
    /// (customer blacklists the master, supplier the customer); anyone else is refused {NotDealParty}.
    function closeDeal(uint256 dealId, bool blacklist) external;

    /// @notice The supplier ends a deal it cannot serve (or stopped serving), spot or fixed-term, at any
    /// time: it is paid for the seconds from the last settlement up to `servedUntil` (at most the end of a
    /// fixed term), capped by the deposit, and everything else of the deposit goes back to the customer's
    /// free balance. The deal closes with {CloseReason.Unserved} ({DealClosed}, never blacklisting).
    /// Callable by the deal's master, or its worker while still a confirmed worker of that master (else
    /// {NotDealSupplier}). A `servedUntil` after the block's time is refused ({ServedUntilInFuture}). When
    /// `servedUntil` is at or before the last settlement nothing is paid and no rate is read, so it works
    /// with a stale oracle; otherwise it needs a fresh rate. Pausing does not stop it.
    /// @param dealId The deal.
    /// @param servedUntil Block time up to which the workload was served; 0 (or any time at or before the
    /// last settlement) forfeits every unsettled second.
    function endDealUnserved(uint256 dealId, uint256 servedUntil) external;

    /// @notice The deal's master, or its worker while still a confirmed worker of that master, announces where
    /// the workload serves (see {EndpointAnnounced}); anyone else is refused {NotDealParty}.
    /// Nothing is stored: the event is the record, which keeps the cost to the event's.
    function announceEndpoint(uint256 dealId, string calldata endpoint) external;

    /// @notice One side proposes a new price and end time (0 = spot, only for spot deals; otherwise in the
    /// future). A second proposal replaces the first. The supplier's side is its master, or its worker while
    /// still a confirmed worker of that master.
    function proposeChange(uint256 dealId, uint256 pricePerSecond, uint256 endTime) external;

    /// @notice The other side accepts the pending change (the values guard against a swapped proposal).
    /// Earlier seconds are settled at the old price first; the new terms run from now (extending a fixed
    /// term that has ended leaves the seconds between its end and now unpaid). The supplier's side is its
    /// master, or its worker while still a confirmed worker of that master; a change a worker proposed
    /// stands only while that worker still is one ({NoPendingChange} once it was removed).
    function acceptChange(uint256 dealId, uint256 pricePerSecond, uint256 endTime) external;

    /// @notice The proposer withdraws its pending change.
    function cancelChange(uint256 dealId) external;

    /// @notice The caller blacklists (or un-blacklists) `target`.
    function setBlacklist(address target, bool blacklisted) external;

    /// @notice Pauses (`true`) or resumes new deals. Only the owner.
    function setPaused(bool paused) external;

    /// @notice Stored state of a deal.
    function getDeal(uint256 dealId) external view returns (Deal memory);

    /// @notice Pending change of a deal (proposer zero when none).
    function pendingChange(uint256 dealId) external view returns (Change memory);

    /// @notice Hash of an open order, zero when none (never placed, cancelled or consumed).
    function orderHash(uint256 orderId) external view returns (bytes32);

    /// @notice keccak256(abi.encode(ask)), as stored for an open ask.
    function hashAsk(Ask calldata ask) external pure returns (bytes32);

    /// @notice keccak256(abi.encode(bid)), as stored for an open bid.
    function hashBid(Bid calldata bid) external pure returns (bytes32);

    /// @notice Whether `owner` has blacklisted `target`.
    function isBlacklisted(address owner, address target) external view returns (bool);

    /// @notice Whether new deals are paused.
    function paused() external view returns (bool);

    /// @notice Id the next order (or quick-buy deal) will get.
    function nextOrderId() external view returns (uint256);

    /// @notice The price oracle.
    function oracle() external view returns (address);

    /// @notice Longest endpoint {announceEndpoint} accepts, in bytes.
    function MAX_ENDPOINT_LENGTH() external view returns (uint256);

    /// @notice Seconds of runway a deposit must cover at opening.
    function minRunway() external view returns (uint256);

    /// @notice SNM the deal would pay if settled now at `snmPerUsd` (capped by the deposit), and the
    /// timestamp it would be settled up to.
    function owed(uint256 dealId, uint256 snmPerUsd) external view returns (uint256 amount, uint256 until);
}
