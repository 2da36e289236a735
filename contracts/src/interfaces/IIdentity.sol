// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Supplier identity: masters and workers
/// @notice A worker (one per machine, with its own key) asks to join a master (the supplier's payout
/// account); the master confirms. Either side can end the link at any time. Deals record the worker and
/// pay the master. Ending the link leaves deals already open running and paying the master, but the worker
/// no longer acts for them (only the master does); new deals need a confirmed worker.
interface IIdentity {
    /// @notice The worker already belongs to a master.
    error AlreadyWorker(address worker, address master);
    /// @notice `master` has no pending request from `worker`.
    error NoWorkerRequest(address worker, address master);
    /// @notice `worker` is not a confirmed worker of `master` (nor pending when removing).
    error NotWorkerOf(address worker, address master);
    /// @notice The zero address was given as a master.
    error ZeroMaster();

    /// @notice `worker` asked to join `master`.
    event WorkerRequested(address indexed worker, address indexed master);
    /// @notice `master` confirmed `worker`.
    event WorkerConfirmed(address indexed worker, address indexed master);
    /// @notice The link (pending or confirmed) between `worker` and `master` was ended by `by`.
    event WorkerRemoved(
        address indexed worker, address indexed master, address indexed by, bool wasConfirmed
    );

    /// @notice The caller (a worker) asks to join `master`; replaces a previous pending request.
    function requestWorker(address master) external;

    /// @notice The caller (a master) confirms the pending request of `worker`.
    function confirmWorker(address worker) external;

    /// @notice Ends the link of `worker` with `master`, pending or confirmed. Callable by either of them.
    function removeWorker(address worker, address master) external;

    /// @notice The confirmed master of `worker`, or zero.
    function masterOf(address worker) external view returns (address);

    /// @notice The master `worker` asked to join and that has not confirmed yet, or zero.
    function pendingMasterOf(address worker) external view returns (address);

    /// @notice Number of confirmed workers of `master`.
    function workerCount(address master) external view returns (uint256);
}
