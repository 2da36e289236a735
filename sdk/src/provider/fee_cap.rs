//! "Never pay more than this per gas", for every transaction a provider sends: [`FeeCapFiller`].

use alloy::{
    network::{Network, TransactionBuilder},
    providers::{
        Provider, SendableTx,
        fillers::{FillerControlFlow, TxFiller},
    },
    transports::TransportResult,
};

use crate::tx::fees::Fees;

/// A filler that holds every transaction's `maxFeePerGas` (and its tip, or a legacy gas price)
/// under a cap, after the provider's gas filler estimated them and before its wallet filler signs:
/// [`TxOptions::max_fee_per_gas_cap`](crate::tx::TxOptions::max_fee_per_gas_cap) for the
/// transactions the clients do not send themselves (the raw bindings'). Fees under the cap are
/// left as they are; a transaction held at the cap may wait longer for a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeeCapFiller {
    cap: Option<u128>,
}

impl FeeCapFiller {
    /// A filler capping `maxFeePerGas` at `cap` wei per gas (`None`: no cap, the filler does
    /// nothing).
    pub fn new(cap: Option<u128>) -> Self {
        Self { cap }
    }

    /// The cap, in wei per gas.
    pub fn cap(&self) -> Option<u128> {
        self.cap
    }

    /// Whether `tx` offers more than the cap.
    fn over_cap<N: Network>(&self, tx: &N::TransactionRequest) -> bool {
        let Some(cap) = self.cap else { return false };
        let over = |fee: Option<u128>| fee.is_some_and(|fee| fee > cap);
        over(tx.max_fee_per_gas()) || over(tx.max_priority_fee_per_gas()) || over(tx.gas_price())
    }

    /// Holds `tx`'s fees under the cap, while it is not signed yet.
    fn hold<N: Network>(&self, tx: &mut SendableTx<N>) {
        let Some(request) = tx.as_mut_builder() else { return };
        if !self.over_cap::<N>(request) {
            return;
        }
        if let Some(max_fee_per_gas) = request.max_fee_per_gas() {
            let tip = request.max_priority_fee_per_gas().unwrap_or_default();
            let fees = Fees { max_fee_per_gas, max_priority_fee_per_gas: tip }.capped(self.cap);
            request.set_max_fee_per_gas(fees.max_fee_per_gas);
            if request.max_priority_fee_per_gas().is_some() {
                request.set_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
            }
        }
        if let (Some(price), Some(cap)) = (request.gas_price(), self.cap) {
            request.set_gas_price(price.min(cap));
        }
    }
}

impl<N: Network> TxFiller<N> for FeeCapFiller {
    type Fillable = ();

    fn status(&self, tx: &N::TransactionRequest) -> FillerControlFlow {
        if self.over_cap::<N>(tx) { FillerControlFlow::Ready } else { FillerControlFlow::Finished }
    }

    // The cap is applied here, before any filler of the round fills (a wallet filler signs in its
    // `fill`), so that where the filler stands among the others does not matter.
    fn fill_sync(&self, tx: &mut SendableTx<N>) {
        self.hold(tx);
    }

    async fn prepare<P: Provider<N>>(
        &self,
        _provider: &P,
        _tx: &N::TransactionRequest,
    ) -> TransportResult<()> {
        Ok(())
    }

    async fn fill(&self, _fillable: (), mut tx: SendableTx<N>) -> TransportResult<SendableTx<N>> {
        self.hold(&mut tx);
        Ok(tx)
    }
}
