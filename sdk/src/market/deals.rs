//! Deals: as stored ([`Deal`]) and the events of their lives (opened, settled, closed).

use std::{fmt, time::Duration};

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use super::{AskId, BidId, DealId, nonzero_u64, word_u64};
use crate::{
    bindings::{IMarket, Market},
    block_time::BlockTime,
    units::{Snm, SnmPerUsd, UsdPerSecond, format_duration},
};

/// Why a deal closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The customer closed it.
    ByCustomer,
    /// The supplier (master or worker) closed it.
    BySupplier,
    /// Its fixed term ended.
    Expired,
    /// Its deposit ran out.
    OutOfFunds,
    /// Its supplier ended it as unserved
    /// ([`MarketService::end_unserved`](crate::services::MarketService::end_unserved)), paid only up
    /// to the time it says it served; the customer got the rest of the deposit back.
    Unserved,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ByCustomer => "closed by its customer",
            Self::BySupplier => "closed by its supplier",
            Self::Expired => "its term ended",
            Self::OutOfFunds => "its deposit ran out",
            Self::Unserved => "ended by its supplier, who could not serve it",
        })
    }
}

impl CloseReason {
    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::ByCustomer),
            2 => Some(Self::BySupplier),
            3 => Some(Self::Expired),
            4 => Some(Self::OutOfFunds),
            5 => Some(Self::Unserved),
            _ => None,
        }
    }
}

/// A deal as stored on chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    /// Its id.
    pub id: DealId,
    /// The supplier's payout account.
    pub master: Address,
    /// Who pays.
    pub customer: Address,
    /// The machine.
    pub worker: Address,
    /// The price (the ask's, or an accepted change).
    pub price: UsdPerSecond,
    /// SNM left to pay from.
    pub deposit: Snm,
    /// Block time up to which the deal has been paid.
    pub settled_until: u64,
    /// End of a fixed term; `None` for spot.
    pub end_time: Option<u64>,
    /// Why it closed; `None` while it runs.
    pub closed: Option<CloseReason>,
    /// Protocol fee of this deal in basis points, fixed when it opened.
    pub fee_bps: u16,
}

impl Deal {
    /// Whether the deal is running.
    pub fn is_active(&self) -> bool {
        self.closed.is_none()
    }

    /// The stored deal `id`, or `None` when no deal has that id (`customer` is zero).
    pub(crate) fn from_stored(id: DealId, d: &IMarket::Deal) -> Option<Self> {
        if d.customer.is_zero() {
            return None;
        }
        Some(Self {
            id,
            master: d.master,
            customer: d.customer,
            worker: d.worker,
            price: UsdPerSecond::from_scaled(U256::from(d.pricePerSecond)),
            deposit: Snm::from_wei(U256::from(d.deposit)),
            settled_until: d.settledUntil.to(),
            end_time: nonzero_u64(d.endTime.to()),
            closed: if d.active {
                None
            } else {
                CloseReason::from_code(d.reason).or(Some(CloseReason::OutOfFunds))
            },
            fee_bps: d.feeBps,
        })
    }
}

impl fmt::Display for Deal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deal {}: {} rents worker {} of {} at {} ({}), deposit {}, paid until block time {}",
            self.id,
            self.customer,
            self.worker,
            self.master,
            self.price.to_per_hour(),
            self.price,
            self.deposit,
            BlockTime(self.settled_until)
        )?;
        match self.end_time {
            Some(end) => write!(f, ", fixed term ending at block time {}", BlockTime(end))?,
            None => f.write_str(", spot")?,
        }
        match self.closed {
            Some(reason) => write!(f, "; closed: {reason}"),
            None => f.write_str("; running"),
        }
    }
}

/// A deal opened (the `DealOpened` event): the ask (and bid) consumed and the terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealOpened {
    /// The deal's id.
    pub id: DealId,
    /// Who pays.
    pub customer: Address,
    /// The supplier's payout account.
    pub master: Address,
    /// The machine.
    pub worker: Address,
    /// The ask taken.
    pub ask: AskId,
    /// The bid matched; `None` for a quick buy.
    pub bid: Option<BidId>,
    /// The price.
    pub price: UsdPerSecond,
    /// SNM locked at opening.
    pub deposit: Snm,
    /// Opening block time (the deal is paid from it).
    pub start_time: u64,
    /// End of the fixed term; `None` for spot.
    pub end_time: Option<u64>,
    /// The container image to run.
    pub image: String,
    /// Hash of the container's configuration.
    pub config_hash: B256,
}

impl From<&Market::DealOpened> for DealOpened {
    fn from(e: &Market::DealOpened) -> Self {
        Self {
            id: DealId::from_word(e.dealId),
            customer: e.customer,
            master: e.master,
            worker: e.info.worker,
            ask: AskId::from_word(e.info.askId),
            bid: (!e.info.bidId.is_zero()).then(|| BidId::from_word(e.info.bidId)),
            price: UsdPerSecond::from_scaled(e.info.pricePerSecond),
            deposit: Snm::from_wei(e.info.deposit),
            start_time: word_u64(e.info.startTime),
            end_time: nonzero_u64(word_u64(e.info.endTime)),
            image: e.info.image.clone(),
            config_hash: e.info.configHash,
        }
    }
}

impl fmt::Display for DealOpened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let term = match self.end_time {
            Some(end) => format_duration(Duration::from_secs(end.saturating_sub(self.start_time))),
            None => "spot".to_owned(),
        };
        write!(
            f,
            "deal {}: {} rents worker {} of {} at {} ({}), term {term}, deposit {}",
            self.id,
            self.customer,
            self.worker,
            self.master,
            self.price,
            self.price.to_per_hour(),
            self.deposit
        )?;
        if !self.image.is_empty() {
            write!(f, ", image {}", self.image)?;
        }
        Ok(())
    }
}

/// A deal closed (the `DealClosed` event), with its final settlement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealClosed {
    /// The deal's id.
    pub id: DealId,
    /// Why.
    pub reason: CloseReason,
    /// Who closed it.
    pub by: Address,
    /// Paid from the deposit by the final settlement (fee included).
    pub paid: Snm,
    /// The protocol fee part of `paid`.
    pub fee: Snm,
    /// The rate of the final settlement.
    pub rate: SnmPerUsd,
    /// Block time the deal was paid up to.
    pub settled_until: u64,
    /// Returned to the customer's free balance.
    pub refund: Snm,
    /// Whether the closing party blacklisted the other.
    pub blacklisted: bool,
}

impl From<&Market::DealClosed> for DealClosed {
    fn from(e: &Market::DealClosed) -> Self {
        Self {
            id: DealId::from_word(e.dealId),
            reason: CloseReason::from_code(e.reason).unwrap_or(CloseReason::OutOfFunds),
            by: e.by,
            paid: Snm::from_wei(e.paid),
            fee: Snm::from_wei(e.fee),
            rate: SnmPerUsd::from_scaled(e.snmPerUsd),
            settled_until: word_u64(e.settledUntil),
            refund: Snm::from_wei(e.refund),
            blacklisted: e.blacklisted,
        }
    }
}

impl fmt::Display for DealClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deal {} closed ({}) by {}: paid {} (fee {}) at {}, up to block time {}; {} refunded to the \
             customer's free balance",
            self.id,
            self.reason,
            self.by,
            self.paid,
            self.fee,
            self.rate,
            BlockTime(self.settled_until),
            self.refund
        )?;
        if self.blacklisted {
            f.write_str("; the closing party blacklisted the other")?;
        }
        Ok(())
    }
}

/// A deal paid up to a time (the `DealSettled` event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealSettled {
    /// The deal's id.
    pub id: DealId,
    /// The master paid.
    pub master: Address,
    /// Taken from the deposit (fee included).
    pub amount: Snm,
    /// The protocol fee part of `amount`.
    pub fee: Snm,
    /// The rate used.
    pub rate: SnmPerUsd,
    /// Block time the deal is now paid up to.
    pub settled_until: u64,
    /// Deposit left.
    pub deposit_left: Snm,
}

impl From<&Market::DealSettled> for DealSettled {
    fn from(e: &Market::DealSettled) -> Self {
        Self {
            id: DealId::from_word(e.dealId),
            master: e.master,
            amount: Snm::from_wei(e.amount),
            fee: Snm::from_wei(e.fee),
            rate: SnmPerUsd::from_scaled(e.snmPerUsd),
            settled_until: word_u64(e.settledUntil),
            deposit_left: Snm::from_wei(e.depositLeft),
        }
    }
}

impl fmt::Display for DealSettled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deal {} settled up to block time {}: {} paid to {} (fee {}) at {}, {} left in its deposit",
            self.id,
            BlockTime(self.settled_until),
            self.amount,
            self.master,
            self.fee,
            self.rate,
            self.deposit_left
        )
    }
}

#[cfg(test)]
mod tests {
    use super::CloseReason;

    /// The codes are the contract's `CloseReason` order; `None` (0) and codes it does not have are none.
    #[test]
    fn close_reasons_decode_from_the_contracts_codes() {
        let decoded: Vec<_> = (0..=6).map(CloseReason::from_code).collect();
        assert_eq!(
            decoded,
            vec![
                None,
                Some(CloseReason::ByCustomer),
                Some(CloseReason::BySupplier),
                Some(CloseReason::Expired),
                Some(CloseReason::OutOfFunds),
                Some(CloseReason::Unserved),
                None,
            ]
        );
    }

    #[test]
    fn an_unserved_close_reads_and_serializes_as_such() -> Result<(), serde_json::Error> {
        assert_eq!(serde_json::to_string(&CloseReason::Unserved)?, r#""unserved""#);
        assert_eq!(serde_json::from_str::<CloseReason>(r#""unserved""#)?, CloseReason::Unserved);
        assert_eq!(CloseReason::Unserved.to_string(), "ended by its supplier, who could not serve it");
        Ok(())
    }
}
