//! Gas limits that cover the path a call takes when it is mined, not only the path its estimate saw.
//!
//! `settle`, `closeDeal` and `endDealUnserved` do more the later they run. Estimated in the second
//! of the deal's last settlement, `settle` has nothing to pay (about 30,000 gas); mined a second later
//! it pays (49,331), and once the deposit runs out it pays and closes the deal. A gas limit of the
//! estimate plus a margin then runs out of gas on chain, and the sender pays for a reverted
//! transaction. On a public chain time always moves between the estimate and the block, so these
//! calls get at least the gas of their costliest path: every storage slot they may write going
//! from zero to non-zero (the master's earnings, the protocol's fees, the customer's refund,
//! a blacklist entry), both events, the deal closed. Those paths are measured on a devnet in
//! `sdk/tests/inclusion_gas.rs`, which fails when one no longer fits under its limit; each limit
//! is that measure plus about 20 %. Only the gas used is paid, so the higher limit costs nothing
//! when the cheap path runs.

use alloy::sol_types::SolCall;

use crate::{
    bindings::{Market, MarketSignedAsks, SettleBatcher},
    error::Target,
    services::{
        CLOSE_AND_WITHDRAW_GAS_LIMIT, OPEN_DEAL_SIGNED_GAS_LIMIT, QUICK_BUY_SIGNED_GAS_LIMIT,
        settle_many_gas_floor,
    },
};

/// Gas limit of every `settle`: its costliest path (pays, closes the deal out of funds, the
/// master's earnings and the protocol's fees written from zero: 76,242 gas measured), plus about 20 %.
pub const SETTLE_GAS_LIMIT: u64 = 92_000;

/// Gas limit of every `closeDeal`: its costliest path (the customer closes with blacklisting,
/// paying the master, the protocol fee and a refund, every slot written from zero: 121,127 gas
/// measured), plus about 20 %.
pub const CLOSE_DEAL_GAS_LIMIT: u64 = 146_000;

/// Gas limit of every `endDealUnserved`: its costliest path (pays the master and the protocol
/// fee, refunds the customer, every slot written from zero: 95,648 gas measured), plus about 20 %.
pub const END_UNSERVED_GAS_LIMIT: u64 = 115_000;

/// The least gas limit `input` to `target` needs at inclusion, whatever the estimate said; 0 for
/// calls whose path does not depend on when they are mined.
pub(crate) fn gas_floor(target: Target, input: &[u8]) -> u64 {
    let selector = input.get(..4).and_then(|s| <[u8; 4]>::try_from(s).ok());
    if matches!(target, Target::SignedAsks) {
        return match selector {
            Some(MarketSignedAsks::quickBuySignedCall::SELECTOR) => QUICK_BUY_SIGNED_GAS_LIMIT,
            Some(MarketSignedAsks::closeDealAndWithdrawCall::SELECTOR) => CLOSE_AND_WITHDRAW_GAS_LIMIT,
            Some(MarketSignedAsks::openDealSignedCall::SELECTOR) => OPEN_DEAL_SIGNED_GAS_LIMIT,
            _ => 0,
        };
    }
    if !matches!(target, Target::Market) {
        return 0;
    }
    match selector {
        Some(Market::settleCall::SELECTOR) => SETTLE_GAS_LIMIT,
        Some(Market::closeDealCall::SELECTOR) => CLOSE_DEAL_GAS_LIMIT,
        Some(Market::endDealUnservedCall::SELECTOR) => END_UNSERVED_GAS_LIMIT,
        // The batcher's call, sent with the market's errors: each deal's costliest settle.
        Some(SettleBatcher::settleManyCall::SELECTOR) => SettleBatcher::settleManyCall::abi_decode(input)
            .map_or(0, |call| settle_many_gas_floor(call.dealIds.len())),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;

    use super::*;

    #[test]
    fn time_dependent_market_calls_get_their_floor_and_others_none() {
        let settle = Market::settleCall { dealId: U256::from(7) }.abi_encode();
        assert_eq!(gas_floor(Target::Market, &settle), SETTLE_GAS_LIMIT);
        let close = Market::closeDealCall { dealId: U256::from(7), blacklist: true }.abi_encode();
        assert_eq!(gas_floor(Target::Market, &close), CLOSE_DEAL_GAS_LIMIT);
        assert_eq!(gas_floor(Target::Token, &settle), 0, "only the market's settle");
        assert_eq!(gas_floor(Target::Market, &[1, 2]), 0);
        let batch =
            SettleBatcher::settleManyCall { dealIds: vec![U256::from(1), U256::from(2)] }.abi_encode();
        assert_eq!(gas_floor(Target::Market, &batch), 21_000 + 2 * (SETTLE_GAS_LIMIT - 21_000));
    }
}
