//! The ids of asks, bids and deals: one sequence (see the [module documentation](super#one-id-sequence)).

use std::fmt;

use alloy::primitives::U256;
use serde::{Deserialize, Serialize};

use super::word_u64;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub u64);

        impl $name {
            /// The id as the contract takes it.
            pub fn word(self) -> U256 {
                U256::from(self.0)
            }

            /// The id from the contract's word.
            pub fn from_word(word: U256) -> Self {
                Self(word_u64(word))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// The id of an ask. Asks, bids and deals share one id sequence, starting at 1 (see the
    /// [module documentation](super#one-id-sequence)).
    AskId
);
id_type!(
    /// The id of a bid (from the sequence asks and deals share).
    BidId
);
id_type!(
    /// The id of a deal: the id of the bid it consumed, or the next id of the sequence asks, bids
    /// and deals share for a quick buy (the first deal after 20 asks is deal 21).
    DealId
);

impl From<BidId> for DealId {
    /// A deal opened from a bid takes the bid's id.
    fn from(bid: BidId) -> Self {
        Self(bid.0)
    }
}
