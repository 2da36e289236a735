// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Escrow of the market
/// @notice Holds every SNM of the market: customers' free balances, each deal's deposit, suppliers'
/// earnings and accrued protocol fees. Payments are pull-only. Invariant: the token balance of the market
/// equals the sum of free balances, open deposits, earnings and accrued fees.
/// @dev Fee-on-transfer and rebasing tokens are not supported: the escrow credits the amount it asked
/// to transfer. Every balance is stored in 96 bits (79 billion tokens of 18 decimals); larger amounts revert
/// {AmountTooLarge}.
interface IEscrow {
    /// @notice An amount of zero was given.
    error ZeroAmount();
    /// @notice An amount does not fit the 96-bit balances.
    error AmountTooLarge(uint256 amount);
    /// @notice The free balance is smaller than the amount asked for.
    error InsufficientBalance(address account, uint256 available, uint256 needed);
    /// @notice The earnings are smaller than the amount asked for.
    error InsufficientEarnings(address account, uint256 available, uint256 needed);
    /// @notice The fee is above {MAX_FEE_BPS}.
    error FeeTooHigh(uint256 feeBps, uint256 maxFeeBps);
    /// @notice The zero address was given where an account is needed.
    error ZeroAddress();
    /// @notice There are no accrued fees to send.
    error NoFees();

    /// @notice `from` deposited `amount` into the free balance of `account`.
    event Deposited(address indexed account, address indexed from, uint256 amount, uint256 balance);
    /// @notice `account` withdrew `amount` of its free balance to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount, uint256 balance);
    /// @notice `master` withdrew `amount` of its earnings to `to`.
    event EarningsWithdrawn(address indexed master, address indexed to, uint256 amount, uint256 earnings);
    /// @notice Accrued fees were sent to the treasury.
    event FeesWithdrawn(address indexed treasury, uint256 amount);
    /// @notice The owner set the protocol fee and its treasury.
    event FeeSet(uint256 feeBps, address indexed treasury);

    /// @notice Moves `amount` SNM from the caller (after `approve`) into the free balance of `account`.
    function deposit(address account, uint256 amount) external;

    /// @notice {deposit} after an EIP-2612 permit of the caller for the market. A permit that fails
    /// (for example one already used by a front-runner) is ignored when the allowance is enough.
    function depositWithPermit(
        address account,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice Sends `amount` of the caller's free balance to `to`.
    function withdraw(uint256 amount, address to) external;

    /// @notice Sends `amount` of the caller's (a master's) earnings to `to`.
    function withdrawEarnings(uint256 amount, address to) external;

    /// @notice Sends every accrued fee to the treasury in force now. Anyone may call it. Fees accrued while
    /// no treasury is set (reverting {ZeroAddress} meanwhile) wait for one and are then sent in full.
    function withdrawFees() external;

    /// @notice Sets the protocol fee (basis points of each supplier payment, at most {MAX_FEE_BPS}) and the
    /// treasury that receives it. Only the owner. The fee applies to deals opened afterwards: each deal keeps
    /// the fee in force when it opened ({IMarket.Deal}'s `feeBps`) for every settlement of its life, so the
    /// terms a customer and a supplier agreed on never change under them. The treasury applies at once, to
    /// every fee accrued and not yet sent. A zero treasury is allowed with a zero fee only; fees that running
    /// deals still accrue then wait for a treasury.
    function setFee(uint256 feeBps, address treasury) external;

    /// @notice The highest fee the owner may set: 1,000 bps (10 %).
    function MAX_FEE_BPS() external view returns (uint256);

    /// @notice The token held.
    function token() external view returns (address);

    /// @notice Free balance of `account` (deposited, not locked in a deal).
    function balanceOf(address account) external view returns (uint256);

    /// @notice Earnings of `master`, settled from deals and not withdrawn yet.
    function earningsOf(address master) external view returns (uint256);

    /// @notice Fees accrued and not yet sent to the treasury.
    function accruedFees() external view returns (uint256);

    /// @notice Current fee in basis points and its treasury.
    function fee() external view returns (uint256 feeBps, address treasury);
}
