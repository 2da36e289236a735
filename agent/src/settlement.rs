//! When the agent settles a deal: lazily. A settle costs the supplier about 49,000 gas and pays
//! only what accrued since the last one, and the market pays the unsettled seconds whenever they
//! are settled (up to the deposit, which is the customer's promise), so settling by the clock
//! buys nothing: at a million concurrent deals an hourly settle of each would use half of a
//! 30 M gas per second chain. A deal is settled once `settle_every` of chain time is unsettled
//! (the supplier wants its money about that often), and its end is settled by its close.

use std::collections::HashMap;

use snm_sdk::market::DealId;

use crate::DealRecord;

/// The chain time up to which each deal is known settled by this agent.
#[derive(Debug, Default)]
pub(crate) struct Settlements {
    settled_until: HashMap<DealId, u64>,
}

impl Settlements {
    /// Whether `deal` has `every` seconds or more unsettled at chain time `now`: since its last
    /// settlement by this agent, or since it opened (after a restart the agent settles each open
    /// deal once more than needed, never less).
    pub(crate) fn due(&self, deal: DealId, record: &DealRecord, now: u64, every: u64) -> bool {
        let from = self.settled_until.get(&deal).copied().unwrap_or(record.opened_at);
        now.saturating_sub(from) >= every
    }

    /// Notes that `deal` is settled up to chain time `until`.
    pub(crate) fn settled(&mut self, deal: DealId, until: u64) {
        self.settled_until.insert(deal, until);
    }

    /// Forgets a deal that finished.
    pub(crate) fn forget(&mut self, deal: DealId) {
        self.settled_until.remove(&deal);
    }
}
