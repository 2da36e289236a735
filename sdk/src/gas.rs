//! Receipt gas per kind of transaction, beside the figures of SONM's original contracts.
//!
//! SONM's figures were measured on a default anvil of Foundry 1.7.1 (Solidity 0.4.24, optimizer 200
//! runs; price 1e14 USD-wei per second, an ask with 12 benchmarks and 3 net flags, a bid forward
//! 3600 s, anonymous identity). Gas is a receipt's `gasUsed`, the 21,000 base included.

use std::{collections::BTreeMap, fmt};

use alloy::{
    consensus::Transaction as _, eips::BlockNumberOrTag, network::TransactionResponse as _,
    primitives::Address, providers::Provider, sol_types::SolCall,
};

use crate::{
    Deployment, Error,
    bindings::{Market, MarketSignedAsks, PriceOracle, RewardDistributor, SNMToken},
    units::fixed::Fixed,
};

/// SONM's measured receipt gas for the operations this market also has, by operation name.
pub const SONM_GAS: &[(&str, u64)] = &[
    ("place ask", 289_577),
    ("place bid", 341_658),
    ("open deal", 569_183),
    ("quick buy", 883_877),
    ("settle", 109_074),
    ("close deal", 115_671),
    ("close with blacklist", 165_061),
    ("cancel order", 45_733),
    ("propose change", 188_429),
    ("register worker", 55_425),
    ("confirm worker", 50_879),
    ("whole fixed-term deal", 1_440_000),
];

/// SONM's figure for `operation`, if it had that operation.
pub fn sonm_gas(operation: &str) -> Option<u64> {
    SONM_GAS.iter().find(|(name, _)| *name == operation).map(|(_, gas)| *gas)
}

/// Formats a count with thousands separators (`1,234,567`), as gas is usually read.
pub fn thousands(n: u64) -> String {
    format!("{:#}", Fixed::from_u128(n.into(), 0))
}

/// Gas used, collected per operation: count, total, minimum and maximum.
#[derive(Clone, Debug, Default)]
pub struct GasReport {
    operations: BTreeMap<String, GasStats>,
}

/// Statistics of one operation's receipts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GasStats {
    /// Receipts recorded.
    pub count: u64,
    /// Sum of their `gasUsed`.
    pub total: u64,
    /// Smallest `gasUsed`.
    pub min: u64,
    /// Largest `gasUsed`.
    pub max: u64,
    /// Receipts of transactions that reverted on chain (counted in `count` too): gas the sender
    /// paid for nothing.
    pub reverted: u64,
}

impl GasStats {
    /// Mean gas, rounded down (0 when nothing was recorded).
    pub fn mean(&self) -> u64 {
        self.total.checked_div(self.count).unwrap_or(0)
    }
}

impl GasReport {
    /// An empty report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one receipt's `gas_used` for `operation`.
    pub fn record(&mut self, operation: &str, gas_used: u64) {
        let stats = self.operations.entry(operation.to_owned()).or_default();
        stats.min = if stats.count == 0 { gas_used } else { stats.min.min(gas_used) };
        stats.max = stats.max.max(gas_used);
        stats.count += 1;
        stats.total += gas_used;
    }

    /// Records one receipt of a transaction that reverted on chain, `gas_used` spent for nothing.
    pub fn record_reverted(&mut self, operation: &str, gas_used: u64) {
        self.record(operation, gas_used);
        if let Some(stats) = self.operations.get_mut(operation) {
            stats.reverted += 1;
        }
    }

    /// Receipts recorded, all operations.
    pub fn transactions(&self) -> u64 {
        self.operations.values().map(|s| s.count).sum()
    }

    /// Receipts of transactions that reverted on chain, all operations.
    pub fn reverted(&self) -> u64 {
        self.operations.values().map(|s| s.reverted).sum()
    }

    /// The statistics of `operation`, if any receipt was recorded for it.
    pub fn get(&self, operation: &str) -> Option<GasStats> {
        self.operations.get(operation).copied()
    }

    /// Every operation with its statistics, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, GasStats)> {
        self.operations.iter().map(|(name, stats)| (name.as_str(), *stats))
    }
}

impl fmt::Display for GasReport {
    /// A table: operation, count, mean gas, SONM's gas and the ratio.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<24} {:>6} {:>10} {:>10} {:>9}", "operation", "txs", "mean gas", "SONM", "vs SONM")?;
        for (name, stats) in self.iter() {
            match sonm_gas(name) {
                Some(sonm) => {
                    let ratio = sonm as f64 / stats.mean().max(1) as f64;
                    writeln!(
                        f,
                        "{name:<24} {:>6} {:>10} {sonm:>10} {:>8.1}x",
                        stats.count,
                        stats.mean(),
                        ratio
                    )?
                }
                None => {
                    writeln!(f, "{name:<24} {:>6} {:>10} {:>10} {:>9}", stats.count, stats.mean(), "-", "-")?
                }
            }
        }
        Ok(())
    }
}

/// The operation a call to the marketplace's contracts performs, by the names of [`SONM_GAS`] where
/// SONM had it; `None` for a call to another address or an unknown function.
pub fn operation_name(deployment: &Deployment, to: Address, input: &[u8]) -> Option<&'static str> {
    let selector: [u8; 4] = input.get(..4)?.try_into().ok()?;
    if to == deployment.market {
        return Some(match selector {
            Market::placeAskCall::SELECTOR => "place ask",
            Market::placeBidCall::SELECTOR => "place bid",
            Market::cancelAskCall::SELECTOR | Market::cancelBidCall::SELECTOR => "cancel order",
            Market::openDealCall::SELECTOR => "open deal",
            Market::quickBuyCall::SELECTOR => "quick buy",
            Market::quickBuyWithPermitCall::SELECTOR => "quick buy with permit",
            MarketSignedAsks::quickBuySignedCall::SELECTOR => "quick buy signed",
            MarketSignedAsks::openDealSignedCall::SELECTOR => "open deal signed",
            MarketSignedAsks::closeDealAndWithdrawCall::SELECTOR => "close and withdraw",
            Market::settleCall::SELECTOR => "settle",
            Market::topUpCall::SELECTOR => "top up",
            Market::closeDealCall::SELECTOR => match Market::closeDealCall::abi_decode(input) {
                Ok(call) if call.blacklist => "close with blacklist",
                _ => "close deal",
            },
            Market::endDealUnservedCall::SELECTOR => "end deal unserved",
            Market::announceEndpointCall::SELECTOR => "announce endpoint",
            Market::proposeChangeCall::SELECTOR => "propose change",
            Market::acceptChangeCall::SELECTOR => "accept change",
            Market::requestWorkerCall::SELECTOR => "register worker",
            Market::confirmWorkerCall::SELECTOR => "confirm worker",
            Market::removeWorkerCall::SELECTOR => "remove worker",
            Market::depositCall::SELECTOR => "escrow deposit",
            Market::depositWithPermitCall::SELECTOR => "escrow deposit with permit",
            Market::withdrawCall::SELECTOR => "escrow withdraw",
            Market::withdrawEarningsCall::SELECTOR => "withdraw earnings",
            Market::setBlacklistCall::SELECTOR => "blacklist",
            _ => "market, other",
        });
    }
    if Some(to) == deployment.distributor {
        return Some(match selector {
            RewardDistributor::claimCall::SELECTOR => "claim reward",
            RewardDistributor::claimManyCall::SELECTOR => "claim rewards, batch",
            RewardDistributor::claimMultiproofCall::SELECTOR => "claim rewards, multiproof",
            RewardDistributor::fundCall::SELECTOR => "fund rewards",
            RewardDistributor::proposeRootCall::SELECTOR => "propose reward root",
            RewardDistributor::acceptRootCall::SELECTOR => "accept reward root",
            _ => "distributor, other",
        });
    }
    if to == deployment.oracle {
        return Some(match selector {
            PriceOracle::reportCall::SELECTOR => "report rate",
            _ => "oracle, other",
        });
    }
    if to == deployment.token {
        return Some(match selector {
            SNMToken::approveCall::SELECTOR => "token approve",
            SNMToken::transferCall::SELECTOR => "token transfer",
            _ => "token, other",
        });
    }
    None
}

/// The gas of every transaction to the marketplace's contracts in blocks `from..=to`, by
/// [`operation_name`], those that reverted on chain counted apart too; contract creations count
/// as `"deploy"`.
pub async fn scan<P: Provider>(
    provider: &P,
    deployment: &Deployment,
    from: u64,
    to: u64,
) -> Result<GasReport, Error> {
    let mut report = GasReport::new();
    for number in from..=to {
        let number = BlockNumberOrTag::Number(number);
        let (block, receipts) = tokio::try_join!(
            provider.get_block_by_number(number).full(),
            provider.get_block_receipts(number.into())
        )?;
        let (Some(block), Some(receipts)) = (block, receipts) else { continue };
        for (tx, receipt) in block.transactions.txns().zip(receipts) {
            let name = match tx.to() {
                None => Some("deploy"),
                Some(to) => operation_name(deployment, to, tx.input()),
            };
            match name {
                Some(name) if receipt.status() => report.record(name, receipt.gas_used),
                Some(name) => report.record_reverted(name, receipt.gas_used),
                None => {}
            }
            debug_assert_eq!(tx.tx_hash(), receipt.transaction_hash);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_compares_with_sonm() {
        let mut report = GasReport::new();
        report.record("settle", 40_000);
        report.record("settle", 50_000);
        report.record("claim reward", 60_000);
        let settle = report.get("settle").unwrap_or_default();
        assert_eq!((settle.count, settle.mean(), settle.min, settle.max), (2, 45_000, 40_000, 50_000));
        let table = report.to_string();
        assert!(table.contains("settle") && table.contains("109074") && table.contains("2.4x"), "{table}");
        assert!(table.lines().any(|l| l.starts_with("claim reward") && l.contains(" - ")), "{table}");
        assert_eq!(sonm_gas("open deal"), Some(569_183));
        assert_eq!(sonm_gas("no such thing"), None);
        report.record_reverted("settle", 37_100);
        assert_eq!((report.transactions(), report.reverted()), (4, 1));
        assert_eq!(report.get("settle").map(|s| (s.count, s.reverted, s.min)), Some((3, 1, 37_100)));
    }
}
