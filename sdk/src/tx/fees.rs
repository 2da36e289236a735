//! The EIP-1559 fees a transaction offers: raised for a replacement, held under a cap, written in
//! gwei.

use std::fmt;

use alloy::eips::eip1559::Eip1559Estimation;

use crate::{tx::TxOptions, units::fixed::Fixed};

/// The least raise of both fees that geth and reth accept for a replacement, in percent.
pub const MIN_FEE_BUMP_PERCENT: u64 = 10;

/// The EIP-1559 fees one version of a transaction offers, in wei per gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fees {
    /// `maxFeePerGas`: the most paid per gas, base fee and tip together.
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas`: the most of it that goes to the block's producer as a tip.
    pub max_priority_fee_per_gas: u128,
}

impl Fees {
    /// These fees with `maxFeePerGas` at most `cap` (and the tip at most that).
    pub(crate) fn capped(self, cap: Option<u128>) -> Self {
        let max_fee_per_gas = cap.map_or(self.max_fee_per_gas, |cap| self.max_fee_per_gas.min(cap));
        Self { max_fee_per_gas, max_priority_fee_per_gas: self.max_priority_fee_per_gas.min(max_fee_per_gas) }
    }

    /// Both fees raised by `percent`, rounded up (so that a node's "at least +10 %" holds).
    fn raised(self, percent: u64) -> Self {
        let raise = |fee: u128| fee.saturating_mul(100 + u128::from(percent)).div_ceil(100);
        Self {
            max_fee_per_gas: raise(self.max_fee_per_gas),
            max_priority_fee_per_gas: raise(self.max_priority_fee_per_gas),
        }
    }

    /// The fees of a replacement of a version that offered `self` (or was tried with it): both
    /// raised by the options' bump, at least `estimate` (the node's current one, if it answered),
    /// under the cap. `None` when the cap leaves no room for a raise the node would accept.
    pub(crate) fn replacement(self, estimate: Option<Self>, options: &TxOptions) -> Option<Self> {
        let bumped = self.raised(options.fee_bump_percent.max(MIN_FEE_BUMP_PERCENT));
        let estimate = estimate.unwrap_or(bumped);
        let max_priority_fee_per_gas = bumped.max_priority_fee_per_gas.max(estimate.max_priority_fee_per_gas);
        let max_fee_per_gas =
            bumped.max_fee_per_gas.max(estimate.max_fee_per_gas).max(max_priority_fee_per_gas);
        let fees = Self { max_fee_per_gas, max_priority_fee_per_gas }.capped(options.max_fee_per_gas_cap);
        let least = self.raised(MIN_FEE_BUMP_PERCENT);
        (fees.max_fee_per_gas >= least.max_fee_per_gas
            && fees.max_priority_fee_per_gas >= least.max_priority_fee_per_gas)
            .then_some(fees)
    }
}

impl From<Eip1559Estimation> for Fees {
    fn from(estimate: Eip1559Estimation) -> Self {
        Self {
            max_fee_per_gas: estimate.max_fee_per_gas,
            max_priority_fee_per_gas: estimate.max_priority_fee_per_gas,
        }
    }
}

impl fmt::Display for Fees {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "maxFeePerGas {}, maxPriorityFeePerGas {}",
            Gwei(self.max_fee_per_gas),
            Gwei(self.max_priority_fee_per_gas)
        )
    }
}

/// A fee in wei per gas, written in gwei ("1.5 gwei").
pub(crate) struct Gwei(pub(crate) u128);

impl fmt::Display for Gwei {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A gwei is 10^9 wei.
        write!(f, "{} gwei", Fixed::from_u128(self.0, 9))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GWEI: u128 = 1_000_000_000;

    fn fees(max: u128, tip: u128) -> Fees {
        Fees { max_fee_per_gas: max, max_priority_fee_per_gas: tip }
    }

    #[test]
    fn a_replacement_raises_both_fees_by_the_bump_rounded_up() {
        let options = TxOptions::default();
        assert_eq!(fees(100, 10).replacement(None, &options), Some(fees(112, 12)));
        // 1 wei tips (alloy's floor) still rise.
        assert_eq!(fees(3, 1).replacement(None, &options), Some(fees(4, 2)));
        // Less than the nodes' 10 % counts as 10 %.
        let small = TxOptions { fee_bump_percent: 1, ..options };
        assert_eq!(fees(100 * GWEI, GWEI).replacement(None, &small), Some(fees(110 * GWEI, 1_100_000_000)));
    }

    #[test]
    fn a_replacement_offers_at_least_the_nodes_estimate() {
        let options = TxOptions::default();
        let estimate = Some(fees(40 * GWEI, 2 * GWEI));
        assert_eq!(fees(3 * GWEI, GWEI).replacement(estimate, &options), Some(fees(40 * GWEI, 2 * GWEI)));
        // A tip above the bumped max fee lifts the max fee with it.
        let estimate = Some(fees(GWEI, 5 * GWEI));
        assert_eq!(fees(2 * GWEI, GWEI).replacement(estimate, &options), Some(fees(5 * GWEI, 5 * GWEI)));
    }

    #[test]
    fn the_cap_holds_replacements_and_ends_them() {
        let capped = TxOptions { max_fee_per_gas_cap: Some(115), ..TxOptions::default() };
        assert_eq!(fees(100, 10).replacement(None, &capped), Some(fees(112, 12)));
        // From 112 a replacement needs at least 124 (+10 %): the cap of 115 leaves no room.
        assert_eq!(fees(112, 12).replacement(None, &capped), None);
        let capped = TxOptions { max_fee_per_gas_cap: Some(111), ..capped };
        // The estimate is above the cap: the replacement offers the cap, still more than +10 %.
        assert_eq!(fees(100, 10).replacement(Some(fees(500, 1)), &capped), Some(fees(111, 12)));
        // The tip never exceeds the capped max fee.
        assert_eq!(fees(500, 400).capped(Some(300)), fees(300, 300));
    }

    #[test]
    fn fees_are_written_in_gwei() {
        assert_eq!(
            fees(2_500_000_000, 1).to_string(),
            "maxFeePerGas 2.5 gwei, maxPriorityFeePerGas 0.000000001 gwei"
        );
        assert_eq!(Gwei(30 * GWEI).to_string(), "30 gwei");
    }
}
