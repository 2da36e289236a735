// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MarketLogic} from "./MarketLogic.sol";
import {IMarket} from "./interfaces/IMarket.sol";
import {ISignedAsks} from "./interfaces/ISignedAsks.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title Rules of a signed ask
/// @notice The EIP-712 digest of a signed ask and the checks that take one (fields, expiry, worker link,
/// nonce, the master's signature), shared by {Market}, which runs the hot path `quickBuySigned` itself, and
/// {MarketSignedAsks}, which serves the rest of {ISignedAsks} by delegatecall.
abstract contract SignedAskLogic is MarketLogic {
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
            || (master.code.length != 0 && SignatureChecker.isValidERC1271SignatureNow(master, digest, signature));
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
        _open(dealId, ask, msg.sender, duration, deposit_);
        _emitOpened(dealId, 0, ask, 0, msg.sender, deposit_, image, configHash);
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
