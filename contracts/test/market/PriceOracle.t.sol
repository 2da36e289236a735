// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PriceOracle} from "../../src/PriceOracle.sol";
import {IPriceOracle} from "../../src/interfaces/IPriceOracle.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Test} from "forge-std/Test.sol";

/// @notice The SNM/USD oracle: reporters, bounded updates, freshness.
contract PriceOracleTest is Test {
    uint256 internal constant RATE = 100e18;
    uint256 internal constant MAX_AGE = 1 hours;
    uint256 internal constant MAX_CHANGE_BPS = 2000;
    uint256 internal constant START = 1_700_000_000;

    PriceOracle internal oracle;
    address internal owner = makeAddr("owner");
    address internal reporter = makeAddr("reporter");
    address internal stranger = makeAddr("stranger");

    function setUp() public {
        vm.warp(START);
        oracle = new PriceOracle(owner, RATE, MAX_AGE, MAX_CHANGE_BPS);
        vm.prank(owner);
        oracle.setReporter(reporter, true);
    }

    function _report(uint256 rate) internal {
        vm.prank(reporter);
        oracle.report(rate);
    }

    // ------------------------------------------------------------ constructor

    function test_Constructor() public {
        vm.expectEmit();
        emit IPriceOracle.RateUpdated(owner, 0, 5e18, START);
        vm.expectEmit();
        emit IPriceOracle.MaxAgeSet(60);
        vm.expectEmit();
        emit IPriceOracle.MaxChangeSet(1);
        PriceOracle o = new PriceOracle(owner, 5e18, 60, 1);

        (uint256 rate, uint256 updatedAt) = o.latestRate();
        assertEq(rate, 5e18);
        assertEq(updatedAt, START);
        assertEq(o.freshRate(), 5e18);
        assertEq(o.maxAge(), 60);
        assertEq(o.maxChangeBps(), 1);
        assertEq(o.owner(), owner);
        assertFalse(o.isReporter(owner));
    }

    function test_Constructor_Extremes() public {
        PriceOracle o = new PriceOracle(owner, type(uint128).max, type(uint32).max, type(uint16).max);
        assertEq(o.freshRate(), type(uint128).max);
        assertEq(o.maxAge(), type(uint32).max);
        assertEq(o.maxChangeBps(), type(uint16).max);
    }

    function test_RevertWhen_ConstructorZeroRate() public {
        vm.expectRevert(IPriceOracle.ZeroRate.selector);
        new PriceOracle(owner, 0, MAX_AGE, MAX_CHANGE_BPS);
    }

    function test_RevertWhen_ConstructorRateAboveUint128() public {
        vm.expectRevert(IPriceOracle.ZeroRate.selector);
        new PriceOracle(owner, uint256(type(uint128).max) + 1, MAX_AGE, MAX_CHANGE_BPS);
    }

    function test_RevertWhen_ConstructorZeroMaxAge() public {
        vm.expectRevert(IPriceOracle.InvalidMaxAge.selector);
        new PriceOracle(owner, RATE, 0, MAX_CHANGE_BPS);
    }

    function test_RevertWhen_ConstructorMaxAgeAboveUint32() public {
        vm.expectRevert(IPriceOracle.InvalidMaxAge.selector);
        new PriceOracle(owner, RATE, uint256(type(uint32).max) + 1, MAX_CHANGE_BPS);
    }

    function test_RevertWhen_ConstructorZeroMaxChange() public {
        vm.expectRevert(IPriceOracle.InvalidMaxChange.selector);
        new PriceOracle(owner, RATE, MAX_AGE, 0);
    }

    function test_RevertWhen_ConstructorMaxChangeAboveUint16() public {
        vm.expectRevert(IPriceOracle.InvalidMaxChange.selector);
        new PriceOracle(owner, RATE, MAX_AGE, uint256(type(uint16).max) + 1);
    }

    function test_RevertWhen_ConstructorZeroOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new PriceOracle(address(0), RATE, MAX_AGE, MAX_CHANGE_BPS);
    }

    // ------------------------------------------------------------ report

    function test_Report() public {
        skip(100);
        vm.expectEmit(address(oracle));
        emit IPriceOracle.RateUpdated(reporter, RATE, 110e18, START + 100);
        _report(110e18);

        (uint256 rate, uint256 updatedAt) = oracle.latestRate();
        assertEq(rate, 110e18);
        assertEq(updatedAt, START + 100);
        assertEq(oracle.freshRate(), 110e18);
    }

    function test_Report_AtTheBoundBothWays() public {
        _report(120e18); // +20 %
        _report(96e18); // -20 %
        assertEq(oracle.freshRate(), 96e18);
    }

    function test_Report_SameRateRefreshes() public {
        skip(MAX_AGE + 1);
        _report(RATE);
        assertEq(oracle.freshRate(), RATE);
    }

    function test_RevertWhen_ReportCallerNotReporter() public {
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.NotReporter.selector, owner));
        vm.prank(owner);
        oracle.report(RATE);
    }

    function test_RevertWhen_ReportZero() public {
        vm.expectRevert(IPriceOracle.ZeroRate.selector);
        _report(0);
    }

    function test_RevertWhen_ReportAboveUint128() public {
        vm.prank(owner);
        oracle.setMaxChangeBps(type(uint16).max);
        vm.expectRevert(IPriceOracle.ZeroRate.selector);
        _report(uint256(type(uint128).max) + 1);
    }

    function test_RevertWhen_ReportRisesTooMuch() public {
        vm.expectRevert(
            abi.encodeWithSelector(IPriceOracle.RateChangeTooLarge.selector, RATE, 120e18 + 1, MAX_CHANGE_BPS)
        );
        _report(120e18 + 1);
    }

    function test_RevertWhen_ReportFallsTooMuch() public {
        vm.expectRevert(
            abi.encodeWithSelector(IPriceOracle.RateChangeTooLarge.selector, RATE, 80e18 - 1, MAX_CHANGE_BPS)
        );
        _report(80e18 - 1);
    }

    function testFuzz_ReportMovesAtMostMaxChange(uint256 rate) public {
        rate = bound(rate, 1, 1000e18);
        vm.prank(reporter);
        try oracle.report(rate) {
            uint256 delta = rate > RATE ? rate - RATE : RATE - rate;
            assertLe(delta * 10_000, RATE * MAX_CHANGE_BPS);
            assertEq(oracle.freshRate(), rate);
        } catch (bytes memory err) {
            assertEq(
                err,
                abi.encodeWithSelector(IPriceOracle.RateChangeTooLarge.selector, RATE, rate, MAX_CHANGE_BPS)
            );
            assertGt((rate > RATE ? rate - RATE : RATE - rate) * 10_000, RATE * MAX_CHANGE_BPS);
        }
    }

    // ------------------------------------------------------------ freshness

    function test_FreshRate_UntilMaxAge() public {
        skip(MAX_AGE);
        assertEq(oracle.freshRate(), RATE);
    }

    function test_RevertWhen_FreshRateStale() public {
        skip(MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.StaleRate.selector, START, MAX_AGE));
        oracle.freshRate();
        // The stored rate is still readable, for refunds.
        (uint256 rate, uint256 updatedAt) = oracle.latestRate();
        assertEq(rate, RATE);
        assertEq(updatedAt, START);
    }

    // ------------------------------------------------------------ administration

    function test_SetReporter() public {
        vm.expectEmit(address(oracle));
        emit IPriceOracle.ReporterSet(stranger, true);
        vm.prank(owner);
        oracle.setReporter(stranger, true);
        assertTrue(oracle.isReporter(stranger));

        vm.expectEmit(address(oracle));
        emit IPriceOracle.ReporterSet(reporter, false);
        vm.prank(owner);
        oracle.setReporter(reporter, false);
        assertFalse(oracle.isReporter(reporter));
        vm.expectRevert(abi.encodeWithSelector(IPriceOracle.NotReporter.selector, reporter));
        _report(RATE);
    }

    function test_RevertWhen_SetReporterZero() public {
        vm.expectRevert(IPriceOracle.ZeroReporter.selector);
        vm.prank(owner);
        oracle.setReporter(address(0), true);
    }

    function test_RevertWhen_SetReporterCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, reporter));
        vm.prank(reporter);
        oracle.setReporter(stranger, true);
    }

    function test_SetMaxAge() public {
        vm.expectEmit(address(oracle));
        emit IPriceOracle.MaxAgeSet(2 hours);
        vm.prank(owner);
        oracle.setMaxAge(2 hours);
        assertEq(oracle.maxAge(), 2 hours);
        skip(2 hours);
        assertEq(oracle.freshRate(), RATE);
        // The rest of the slot is untouched.
        (uint256 rate, uint256 updatedAt) = oracle.latestRate();
        assertEq(rate, RATE);
        assertEq(updatedAt, START);
        assertEq(oracle.maxChangeBps(), MAX_CHANGE_BPS);
    }

    function test_RevertWhen_SetMaxAgeInvalid() public {
        vm.startPrank(owner);
        vm.expectRevert(IPriceOracle.InvalidMaxAge.selector);
        oracle.setMaxAge(0);
        vm.expectRevert(IPriceOracle.InvalidMaxAge.selector);
        oracle.setMaxAge(uint256(type(uint32).max) + 1);
        vm.stopPrank();
    }

    function test_RevertWhen_SetMaxAgeCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        oracle.setMaxAge(1);
    }

    function test_SetMaxChangeBps() public {
        vm.expectEmit(address(oracle));
        emit IPriceOracle.MaxChangeSet(5000);
        vm.prank(owner);
        oracle.setMaxChangeBps(5000);
        assertEq(oracle.maxChangeBps(), 5000);
        _report(150e18);
        assertEq(oracle.freshRate(), 150e18);
        assertEq(oracle.maxAge(), MAX_AGE);
    }

    function test_RevertWhen_SetMaxChangeBpsInvalid() public {
        vm.startPrank(owner);
        vm.expectRevert(IPriceOracle.InvalidMaxChange.selector);
        oracle.setMaxChangeBps(0);
        vm.expectRevert(IPriceOracle.InvalidMaxChange.selector);
        oracle.setMaxChangeBps(uint256(type(uint16).max) + 1);
        vm.stopPrank();
    }

    function test_RevertWhen_SetMaxChangeBpsCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        oracle.setMaxChangeBps(1);
    }

    function test_TransferOwnershipTwoStep() public {
        vm.prank(owner);
        oracle.transferOwnership(stranger);
        assertEq(oracle.pendingOwner(), stranger);
        vm.prank(stranger);
        oracle.acceptOwnership();
        assertEq(oracle.owner(), stranger);
    }
}
