//! The fees of a client's last estimate, reused for a moment: a client that sends several
//! transactions in a row (a customer buying many deals) asks the node for the fee history once per
//! [`FEES_FRESH_FOR`], not once per transaction.
//!
//! Reusing them is safe for that long: an estimate's `maxFeePerGas` is twice the base fee plus the
//! tip, which covers the base fee's rise over six full blocks (12.5 % each), more than a second
//! holds on any chain the SDK targets (Ethereum mines every 12 s); a transaction underpriced all
//! the same is replaced with higher fees after [`TxOptions::replace_after`](crate::tx::TxOptions)
//! like any other.

use std::{
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use alloy::{providers::Provider, transports::TransportResult};

use super::Fees;

/// How long an estimate of the fees is reused.
pub(crate) const FEES_FRESH_FOR: Duration = Duration::from_secs(1);

/// The last estimate and when it was made (see the [module documentation](self)).
#[derive(Debug, Default)]
pub(crate) struct FeeMemory {
    last: Mutex<Option<(Fees, Instant)>>,
}

impl FeeMemory {
    /// The fees the node estimates now, or those it estimated less than [`FEES_FRESH_FOR`] ago.
    pub(crate) async fn estimate<P: Provider>(&self, provider: &P) -> TransportResult<Fees> {
        if let Some(fees) = self.fresh() {
            return Ok(fees);
        }
        let fees = Fees::from(provider.estimate_eip1559_fees().await?);
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some((fees, Instant::now()));
        Ok(fees)
    }

    fn fresh(&self) -> Option<Fees> {
        let last = *self.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.filter(|(_, at)| at.elapsed() < FEES_FRESH_FOR).map(|(fees, _)| fees)
    }
}
