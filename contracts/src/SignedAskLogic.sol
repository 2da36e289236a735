// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MarketLogic} from "./MarketLogic.sol";
import {IMarket} from "./interfaces/IMarket.sol";
import {ISignedAsks} from "./interfaces/ISignedAsks.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title Rules of a signed ask
/// @notice The EIP-712 digest of a signed ask and the checks that take one (fields, expiry, worker link,
/// nonce, the master's signature), shared by {Market}, which runs the hot path `quickBuySigned` itself, and
/// {MarketSignedAsks}, which serves the rest of {ISignedAsks} by delegatecall.
abstract contract SignedAskLogic is MarketLogic {
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
    /// @dev Half the secp256k1 order: a larger `s` is the malleable twin of a valid signature (EIP-2).
    uint256 internal constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @dev The market: the verifying contract of the EIP-712 domain.
    address internal immutable _market;
    uint256 internal immutable _deployChainId;
    bytes32 internal immutable _deployDomainSeparator;

    /// @param market_ The market whose storage the rules run on (the verifying contract of the domain).
    constructor(address market_) {
        _market = market_;
        _deployChainId = block.chainid;
        _deployDomainSeparator = _buildDomainSeparator();
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
        if (nonce != current) revert ISignedAsks.StaleAskNonce(ask.worker, nonce, current);
        if (!_isMasterSignature(master, _askDigest(ask, nonce), signature)) {
            revert ISignedAsks.InvalidAskSignature(master);
        }
        // 2^96 - 1 moves would each cost a transaction: the nonce never wraps.
        link.askNonce = uint96(current + 1);
    }

    /// @dev Whether `signature` is the master's over `digest`: {_isEcdsaSignature}, then EIP-1271 when the
    /// master has code (an externally owned master is never asked for its code, a cold account read).
    /// {Market} overrides it to leave the EIP-1271 case to {MarketSignedAsks}.
    function _isMasterSignature(address master, bytes32 digest, bytes calldata signature)
        internal
        virtual
        returns (bool)
    {
        return _isEcdsaSignature(master, digest, signature)
            || (master.code.length != 0
                && SignatureChecker.isValidERC1271SignatureNow(master, digest, signature));
    }

    /// @dev An ECDSA signature by `master`: 65 bytes, `v` 27 or 28, the malleable high `s` refused (EIP-2),
    /// the precompile called directly.
    function _isEcdsaSignature(address master, bytes32 digest, bytes calldata signature)
        internal
        pure
        returns (bool)
    {
        if (signature.length != 65) return false;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return false;
        address recovered = ecrecover(digest, v, r, s);
        return recovered != address(0) && recovered == master;
    }

    /// @dev {ISignedAsks.closeDealAndWithdraw}. The caller's share of this close is kept in transient storage
    /// ({Escrow._pay}) and sent with its earlier earnings: its earnings slot is read, and written only when
    /// it held earlier earnings.
    function _closeDealAndWithdraw(uint256 dealId, address to) internal {
        if (to == address(0)) revert ZeroAddress();
        _payoutMaster = msg.sender;
        _closeDeal(dealId, false);
        _payoutMaster = address(0);
        // The deal's three slots are cleared: {IMarket.DealClosed} keeps its record, and the storage refund
        // pays for most of the payout below.
        delete _deals[dealId];
        uint256 amount = _payout;
        _payout = 0;
        Account storage a = _accounts[msg.sender];
        uint256 earlier = a.earnings;
        if (earlier != 0) {
            a.earnings = 0;
            amount += earlier;
        }
        if (amount == 0) return;
        emit EarningsWithdrawn(msg.sender, to, amount, 0);
        _token.safeTransfer(to, amount);
    }

    /// @dev {ISignedAsks.quickBuySigned}: the signed ask taken, the deposit from the free balance, the deal.
    function _quickBuySigned(
        IMarket.Ask calldata ask,
        uint256 nonce,
        bytes calldata signature,
        uint256 duration,
        uint256 deposit_,
        string calldata image,
        bytes32 configHash
    ) internal returns (uint256 dealId) {
        _takeSignedAsk(ask, nonce, signature);
        if (ask.counterparty != address(0) && ask.counterparty != msg.sender) {
            revert IMarket.CounterpartyMismatch();
        }
        if (deposit_ == 0) revert ZeroAmount();
        _debitBalance(msg.sender, deposit_);
        dealId = _nextOrderId();
        uint256 endTime = _open(dealId, ask, msg.sender, duration, deposit_);
        _emitOpened(dealId, endTime, 0, ask, 0, msg.sender, deposit_, image, configHash);
    }

    /// @dev The EIP-712 digest, hashed from the ask's calldata words in scratch memory (no ABI encoding into
    /// fresh memory). {IMarket.Ask} is 16 static words: master, worker, the 7 of its resources, then netFlags,
    /// region, pricePerSecond, minDuration, maxDuration, expiry and counterparty, the order of the type's
    /// fields. A word with dirty high bits hashes to another digest, which the master did not sign.
    function _askDigest(IMarket.Ask calldata ask, uint256 nonce) internal view returns (bytes32 digest) {
        bytes32 separator = _domainSeparator();
        bytes32 resourcesType = RESOURCES_TYPEHASH;
        bytes32 askType = ASK_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            // Resources(...): its typehash, then its 7 words.
            mstore(m, resourcesType)
            calldatacopy(add(m, 0x20), add(ask, 0x40), 0xe0)
            let resourcesHash := keccak256(m, 0x100)
            // Ask(...): typehash, master, worker, the resources' hash, the 7 words after them, the nonce.
            mstore(m, askType)
            calldatacopy(add(m, 0x20), ask, 0x40)
            mstore(add(m, 0x60), resourcesHash)
            calldatacopy(add(m, 0x80), add(ask, 0x120), 0xe0)
            mstore(add(m, 0x160), nonce)
            let structHash := keccak256(m, 0x180)
            mstore(m, hex"1901")
            mstore(add(m, 0x02), separator)
            mstore(add(m, 0x22), structHash)
            digest := keccak256(m, 0x42)
        }
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
