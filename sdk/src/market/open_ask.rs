//! An ask a customer can take, owned: placed on chain or signed off chain. What
//! [`Customer::best_offer`](crate::Customer::best_offer) returns and
//! [`Customer::buy`](crate::Customer::buy) takes, each kind bought by its own market call.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use super::{Ask, PlacedAsk, SignedAsk};

/// An open ask, placed (bought with `quickBuy`) or signed (bought with `quickBuySigned`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpenAsk {
    /// Placed on chain.
    Placed(PlacedAsk),
    /// Signed off chain by its master.
    Signed(SignedAsk),
}

impl OpenAsk {
    /// The ask's fields.
    pub fn ask(&self) -> &Ask {
        match self {
            Self::Placed(placed) => &placed.ask,
            Self::Signed(signed) => &signed.ask,
        }
    }

    /// The machine that serves it.
    pub fn worker(&self) -> Address {
        self.ask().worker
    }

    /// Whether it is a signed ask.
    pub fn is_signed(&self) -> bool {
        matches!(self, Self::Signed(_))
    }
}
