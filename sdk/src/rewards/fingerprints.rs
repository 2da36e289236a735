//! The fingerprints of the records a tally has read, to refuse one read twice: 64-bit hashes of
//! the record (IP, account, period, bytes) under a key drawn at random for each tally, so that
//! nobody can write two different records that share one.

use std::{
    collections::HashSet,
    fmt,
    hash::{BuildHasher, BuildHasherDefault, Hasher},
};

use alloy::primitives::map::DefaultHashBuilder;

/// Every record's fingerprint in one set. Two different records share a fingerprint with a
/// probability below n² / 2^65 for n records in the round (3 × 10^-6 for ten million), so that a
/// record is refused as read twice only when it was, to that probability; about 9 to 14 bytes per
/// record are kept (the set's slack included), where the records themselves would take 60. One
/// set rather than one per IP: one allocation, freed at once, and nothing per IP to walk when the
/// round is settled.
#[derive(Default)]
pub(super) struct Fingerprints {
    key: DefaultHashBuilder,
    set: HashSet<u64, BuildHasherDefault<Identity>>,
}

impl fmt::Debug for Fingerprints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fingerprints").field("key", &"..").field("len", &self.set.len()).finish()
    }
}

impl Fingerprints {
    /// Makes room for `records` more, so that the set does not grow (and move every fingerprint)
    /// step by step while a big report is read.
    pub(super) fn reserve(&mut self, records: usize) {
        self.set.reserve(records);
    }

    /// Adds the record's fingerprint; `false` when it was there already (the record was read
    /// before).
    pub(super) fn insert(&mut self, ip: u128, account: u32, start: u64, end: u64, bytes: u128) -> bool {
        self.set.insert(self.key.hash_one((ip, account, start, end, bytes)))
    }
}

/// The fingerprints are keyed hashes already: the set uses them as they are.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed here (`write_u64`); anything else is folded in all the same.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_new_once_and_any_field_makes_another() {
        let mut seen = Fingerprints::default();
        assert!(seen.insert(1, 2, 3, 4, 5));
        assert!(!seen.insert(1, 2, 3, 4, 5));
        for other in [(9, 2, 3, 4, 5), (1, 9, 3, 4, 5), (1, 2, 9, 4, 5), (1, 2, 3, 9, 5), (1, 2, 3, 4, 9)] {
            assert!(seen.insert(other.0, other.1, other.2, other.3, other.4), "{other:?}");
        }
    }
}
