//! The secret that opens a customer's proxy, and the check that it is hard to guess.
//!
//! The bid's `configHash` is `keccak256(secret)` and sits on chain for anyone to read, so an
//! attacker can try guesses offline at billions a second: a secret must carry at least 128 bits
//! of randomness ([`ProxySecret::MIN_BITS`]), such as 32 random bytes in hexadecimal
//! ([`ProxySecret::generate`]). The check cannot measure randomness: it refuses what cannot hold
//! 128 bits (too short for its alphabet, or too repetitive), and a long secret made of dictionary
//! words still passes, so generate secrets rather than choose them.

use std::fmt;

use alloy::primitives::{B256, keccak256};

/// A secret that passed [`ProxySecret::new`]'s strength check. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxySecret(String);

impl ProxySecret {
    /// The randomness a secret must be able to hold, in bits.
    pub const MIN_BITS: u32 = 128;

    /// A new secret: 32 random bytes from the system's generator, in hexadecimal (256 bits).
    /// Fails only if the system has no generator to offer.
    pub fn generate() -> std::io::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(std::io::Error::from)?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// Takes `secret` if it can hold [`MIN_BITS`](Self::MIN_BITS) of randomness: its length times
    /// the bits per character of the smallest alphabet it fits (hexadecimal 4, digits 3.3, letters
    /// and digits 5.2 to 5.95, printable ASCII 6.55) reaches 128, counting a periodic secret
    /// (`abcabc…`) by its period only, and it is not repetitive (the spread of its characters
    /// carries at least 64 bits).
    pub fn new(secret: impl Into<String>) -> Result<Self, WeakSecret> {
        let secret = secret.into();
        let (alphabet, repetition) = (alphabet_bits(&secret), spread_bits(&secret));
        if alphabet < f64::from(Self::MIN_BITS) || repetition < f64::from(Self::MIN_BITS / 2) {
            return Err(WeakSecret {
                length: secret.chars().count(),
                bits: alphabet.min(repetition * 2.0) as u32,
            });
        }
        Ok(Self(secret))
    }

    /// The secret itself, to send to the proxy.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The bid's `configHash`: `keccak256` of the secret.
    pub fn config_hash(&self) -> B256 {
        keccak256(self.0.as_bytes())
    }
}

impl fmt::Debug for ProxySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProxySecret(..)")
    }
}

/// The bits `secret` can hold at most: the length of its period (its whole length unless it repeats
/// itself) times the bits of the smallest alphabet it fits.
fn alphabet_bits(secret: &str) -> f64 {
    let has = |f: fn(&char) -> bool| secret.chars().any(|c| f(&c));
    let hex = secret.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        || secret.chars().all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c));
    let size = if hex {
        if has(char::is_ascii_alphabetic) { 16 } else { 10 }
    } else {
        let classes = [
            (has(char::is_ascii_digit), 10),
            (has(char::is_ascii_lowercase), 26),
            (has(char::is_ascii_uppercase), 26),
            (has(|c| !c.is_ascii_alphanumeric()), 33),
        ];
        classes.iter().filter(|(present, _)| *present).map(|(_, size)| size).sum()
    };
    period(&secret.chars().collect::<Vec<_>>()) as f64 * f64::from(size).log2()
}

/// The shortest `p` such that every character equals the one `p` before it (the KMP failure
/// function of the whole string): `abcabca` has period 3, a string that never repeats its length.
fn period(chars: &[char]) -> usize {
    let mut fail = vec![0usize; chars.len()];
    let mut k = 0;
    for i in 1..chars.len() {
        while k > 0 && chars[i] != chars[k] {
            k = fail[k - 1];
        }
        if chars[i] == chars[k] {
            k += 1;
        }
        fail[i] = k;
    }
    chars.len() - fail.last().copied().unwrap_or(0)
}

/// The Shannon entropy of the secret's characters times its length: low for `aaaa…` or `abab…`.
fn spread_bits(secret: &str) -> f64 {
    let mut counts = std::collections::HashMap::<char, u32>::new();
    for c in secret.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let length = secret.chars().count() as f64;
    counts.values().map(|&n| f64::from(n) / length).map(|p| -p * p.log2() * length).sum()
}

/// A secret too weak to protect a proxy whose `configHash` is public.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the proxy secret ({length} characters) holds at most about {bits} bits of randomness, and it \
     must hold {} since its keccak256 is public on chain: use 32 random bytes in hexadecimal \
     (for example `openssl rand -hex 32`)",
    ProxySecret::MIN_BITS
)]
pub struct WeakSecret {
    /// The secret's length in characters.
    pub length: usize,
    /// The estimate of the randomness it can hold, in bits.
    pub bits: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_repetitive_secrets_are_refused() {
        for weak in [
            "",
            "s3cret",
            "correct-horse",
            "0123456789abcdef0123456789abcde", // 31 hex digits: 124 bits
            "12345678901234567890123456789012345678", // 38 digits: 126 bits
            &"a".repeat(100),
            &"ab".repeat(50),
            &"Xk3v9Qz2".repeat(8),
            &format!("{}b", "a".repeat(60)),
        ] {
            let error = ProxySecret::new(weak).unwrap_err();
            assert!(error.bits < 128, "{weak}: {error}");
            assert!(error.to_string().contains("must hold 128"), "{error}");
        }
    }

    #[test]
    fn secrets_that_can_hold_128_bits_are_taken() {
        for strong in [
            "9f86d081884c7d659a2feaa0c55ad015", // 32 hex digits: 128 bits
            "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
            "Xk3v9Qz2LmP7wR4tY8nB1cD6", // 24 letters and digits: 143 bits
            "q#7Lv!2m@Zp9$Rx4&Wn6*Tb",  // 23 printable: 151 bits
        ] {
            assert_eq!(ProxySecret::new(strong).unwrap().expose(), strong);
        }
    }

    #[test]
    fn generated_secrets_pass_the_check_and_differ() {
        let (a, b) = (ProxySecret::generate().unwrap(), ProxySecret::generate().unwrap());
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a, b);
        assert_eq!(ProxySecret::new(a.expose()).unwrap(), a);
        assert_eq!(a.config_hash(), keccak256(a.expose()));
        assert_eq!(format!("{a:?}"), "ProxySecret(..)");
    }
}
