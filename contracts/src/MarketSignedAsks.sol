// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MarketLogic} from "./MarketLogic.sol";
import {IMarket} from "./interfaces/IMarket.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {ISignedAsks} from "./interfaces/ISignedAsks.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title Signed asks of the market
/// @notice See {ISignedAsks}. {Market} deploys this contract in its constructor and runs it by delegatecall
/// from its fallback: every function here works on the market's storage and token balance, through the rules
/// of {MarketLogic} that the market's own entry points use. Called at its own address it works on its own
/// storage, where no worker is ever confirmed and no deal opens: nothing of the market is reachable that way.
contract MarketSignedAsks is ISignedAsks, MarketLogic {
    using SafeERC20 for IERC20;

    /// @dev EIP-712 type of a signed ask: {IMarket.Ask}'s fields plus the worker's nonce.
    bytes32 internal constant ASK_TYPEHASH = keccak256(
        "Ask(address master,address worker,Resources resources,uint64 netFlags,uint32 region,"
        "uint256 pricePerSecond,uint64 minDuration,uint64 maxDuration,uint64 expiry,address counterparty,"
        "uint256 nonce)Resources(uint64 cpuMilliCores,uint64 ramBytes,uint64 storageBytes,uint64 gpuCount,"
        "uint64 gpuMemBytes,uint64 netUpBps,uint64 netDownBps)"
    );
    bytes32 internal constant RESOURCES_TYPEHASH = keccak256(
        "Resources(uint64 cpuMilliCores,uint64 ramBytes,uint64 storageBytes,uint64 gpuCount,"
        "uint64 gpuMemBytes,uint64 netUpBps,uint64 netDownBps)"
    );
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant NAME_HASH = keccak256("SNM Market");
    bytes32 internal constant VERSION_HASH = keccak256("1");

    /// @dev The market that deployed this contract: the verifying contract of the EIP-712 domain.
    address internal immutable _market;
    uint256 internal immutable _deployChainId;
    bytes32 internal immutable _deployDomainSeparator;

    /// @notice Deployed by {Market}'s constructor with the market's own token, oracle and runway (the
    /// immutables the shared rules read); the deployer is the market.
    constructor(IERC20 token_, IPriceOracle oracle_, uint256 minRunway_)
        Ownable(msg.sender)
        MarketLogic(token_, oracle_, minRunway_)
    {
        _market = msg.sender;
        _deployChainId = block.chainid;
        _deployDomainSeparator = _buildDomainSeparator();
    }

    /// @inheritdoc ISignedAsks
    function quickBuySigned(
        IMarket.Ask calldata ask,
        uint256 nonce,
        bytes calldata signature,
        uint256 duration,
        uint256 deposit_,
        string calldata image,
        bytes32 configHash
    ) external override returns (uint256 dealId) {
        _takeSignedAsk(ask, nonce, signature);
        if (ask.counterparty != address(0) && ask.counterparty != msg.sender) {
            revert IMarket.CounterpartyMismatch();
        }
        if (deposit_ == 0) revert ZeroAmount();
        _debitBalance(msg.sender, deposit_);
        dealId = _nextOrderId();
        _open(dealId, ask, msg.sender, duration, deposit_);
        _emitOpened(dealId, 0, ask, 0, msg.sender, deposit_, image, configHash);
    }

    /// @inheritdoc ISignedAsks
    function openDealSigned(
        IMarket.Ask calldata ask,
        uint256 nonce,
        bytes calldata signature,
        uint256 bidId,
        IMarket.Bid calldata bid
    ) external override returns (uint256 dealId) {
        _takeSignedAsk(ask, nonce, signature);
        _checkOrder(bidId, keccak256(abi.encode(bid)), bid.expiry);
        _checkTerms(ask, bid);
        _debitBalance(bid.customer, bid.deposit);
        // The deal takes the bid's id and is written over the bid's hash, as in {IMarket.openDeal}.
        dealId = bidId;
        _open(dealId, ask, bid.customer, bid.duration, bid.deposit);
        _emitOpened(dealId, 0, ask, bidId, bid.customer, bid.deposit, bid.image, bid.configHash);
    }

    /// @inheritdoc ISignedAsks
    function cancelSignedAsks(address worker) external override {
        WorkerLink storage link = _workers[worker];
        address master = link.master;
        if (master == address(0) || (msg.sender != master && msg.sender != worker)) {
            revert NotAskSigner(worker, msg.sender);
        }
        uint256 nonce = link.askNonce + 1;
        link.askNonce = uint96(nonce);
        emit SignedAsksCancelled(worker, msg.sender, nonce);
    }

    /// @inheritdoc ISignedAsks
    function closeDealAndWithdraw(uint256 dealId, address to) external override {
        if (to == address(0)) revert ZeroAddress();
        _closeDeal(dealId, false);
        // The deal's three slots are cleared: {IMarket.DealClosed} keeps its record, and the storage refund
        // pays for most of the payout below.
        delete _deals[dealId];
        Account storage a = _accounts[msg.sender];
        uint256 earnings = a.earnings;
        if (earnings == 0) return;
        a.earnings = 0;
        emit EarningsWithdrawn(msg.sender, to, earnings, 0);
        _token.safeTransfer(to, earnings);
    }

    /// @inheritdoc ISignedAsks
    function askNonce(address worker) external view override returns (uint256) {
        return _workers[worker].askNonce;
    }

    /// @inheritdoc ISignedAsks
    function hashSignedAsk(IMarket.Ask calldata ask, uint256 nonce) external view override returns (bytes32) {
        return _askDigest(ask, nonce);
    }

    /// @inheritdoc ISignedAsks
    function domainSeparator() external view override returns (bytes32) {
        return _domainSeparator();
    }

    /// @dev Checks a signed ask (fields as {IMarket.placeAsk} would, expiry, worker link, nonce, signature)
    /// and moves the worker's nonce on. The signature is checked before the only write, and an EIP-1271 wallet
    /// is only asked through a static call.
    function _takeSignedAsk(IMarket.Ask calldata ask, uint256 nonce, bytes calldata signature) internal {
        if (
            ask.pricePerSecond == 0 || ask.pricePerSecond > type(uint80).max
                || (ask.maxDuration != 0 && ask.minDuration > ask.maxDuration)
        ) revert IMarket.InvalidOrder();
        if (ask.expiry != 0 && block.timestamp > ask.expiry) revert IMarket.OrderExpired(0, ask.expiry);
        WorkerLink storage link = _workers[ask.worker];
        address master = link.master;
        if (master != ask.master || master == address(0)) {
            revert IMarket.WorkerNotConfirmed(ask.worker, ask.master);
        }
        uint256 current = link.askNonce;
        if (nonce != current) revert StaleAskNonce(ask.worker, nonce, current);
        if (!_isMasterSignature(master, _askDigest(ask, nonce), signature)) {
            revert InvalidAskSignature(master);
        }
        // 2^96 - 1 moves would each cost a transaction: the nonce never wraps.
        link.askNonce = uint96(current + 1);
    }

    /// @dev ECDSA first (malleable `s` and bad `v` refused), then EIP-1271 when the master has code: an
    /// externally owned master is never asked for its code (a cold account read).
    function _isMasterSignature(address master, bytes32 digest, bytes calldata signature)
        internal
        view
        returns (bool)
    {
        // The third value only details an error; `err` alone decides.
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == master) return true;
        return
            master.code.length != 0 && SignatureChecker.isValidERC1271SignatureNow(master, digest, signature);
    }

    function _askDigest(IMarket.Ask calldata ask, uint256 nonce) internal view returns (bytes32) {
        bytes32 resourcesHash = keccak256(abi.encode(RESOURCES_TYPEHASH, ask.resources));
        bytes32 structHash = keccak256(
            bytes.concat(
                abi.encode(ASK_TYPEHASH, ask.master, ask.worker, resourcesHash, ask.netFlags, ask.region),
                abi.encode(
                    ask.pricePerSecond, ask.minDuration, ask.maxDuration, ask.expiry, ask.counterparty, nonce
                )
            )
        );
        return keccak256(abi.encodePacked(hex"1901", _domainSeparator(), structHash));
    }

    /// @dev The separator computed at deployment, rebuilt only on a chain whose id differs (a fork).
    function _domainSeparator() internal view returns (bytes32) {
        if (block.chainid == _deployChainId) return _deployDomainSeparator;
        return _buildDomainSeparator();
    }

    function _buildDomainSeparator() internal view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, _market));
    }
}
