//! Many deals settled in one transaction, through the `SettleBatcher` periphery contract.
//!
//! `settle` is permissionless, so a contract may settle for anyone: `SettleBatcher.settleMany` calls
//! the market's `settle` for each deal, skips a deal no longer active (closed since the caller
//! listed it) and reverts with the market's own error otherwise (a stale rate). A batch pays the
//! transaction's base cost once and finds the oracle, the master's earnings and the treasury's fees
//! warm after its first deal: about 20,300 gas per deal in a batch of 50 of one master against
//! 49,524 for one `settle` (docs/GAS.md).

use alloy::{
    primitives::Address,
    providers::Provider,
    sol_types::{SolCall, SolConstructor},
};

use super::MarketService;
use crate::{
    Error,
    bindings::{
        Market,
        SettleBatcher::{self, settleManyCall},
    },
    error::Target,
    market::{DealId, DealSettled},
    tx::{self, Call, SETTLE_GAS_LIMIT},
};

/// The intrinsic gas of a transaction, paid once per batch rather than once per deal.
const TRANSACTION_BASE_GAS: u64 = 21_000;

/// The least gas limit of a `settleMany` of `deals` deals: each deal's costliest `settle` path
/// without the transaction's base (a batch estimated while a deal had nothing to pay may pay it at
/// inclusion, as a single `settle`, see `tx::inclusion`), and the base once.
pub(crate) fn settle_many_gas_floor(deals: usize) -> u64 {
    let per_deal = SETTLE_GAS_LIMIT - TRANSACTION_BASE_GAS;
    TRANSACTION_BASE_GAS.saturating_add(per_deal.saturating_mul(u64::try_from(deals).unwrap_or(u64::MAX)))
}

impl<P: Provider + Clone> MarketService<P> {
    /// Deploys a `SettleBatcher` for this market (anyone may: it settles for anyone, as `settle`
    /// does); returns its address, for [`Self::settle_many`].
    pub async fn deploy_settle_batcher(&self) -> Result<Address, Error> {
        let args = SettleBatcher::constructorCall { market_: self.address() }.abi_encode();
        Ok(self.client().create(&SettleBatcher::BYTECODE, &args, Target::Market).await?.0)
    }

    /// Settles `deals` in one transaction through the `SettleBatcher` at `batcher`, as
    /// [`Self::settle`] would one by one; returns the settlements made, in order. A deal no longer
    /// active is skipped (no settlement for it), a deal with no second due pays nothing; any other
    /// refusal (a stale oracle rate) is the market's error and nothing is settled. An empty list
    /// sends nothing.
    pub async fn settle_many(&self, batcher: Address, deals: &[DealId]) -> Result<Vec<DealSettled>, Error> {
        if deals.is_empty() {
            return Ok(Vec::new());
        }
        let call = settleManyCall { dealIds: deals.iter().map(|deal| deal.word()).collect() };
        let receipt = self.client().send(Call::new(batcher, call.abi_encode(), Target::Market)).await?;
        Ok(tx::events::<Market::DealSettled>(&receipt, self.address()).map(|e| (&e).into()).collect())
    }
}
