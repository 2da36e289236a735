//! Why a node refused a transaction, told apart across node clients, as far as sending acts on it.

use alloy::transports::TransportError;

/// Why a node refused a transaction, as far as sending acts on it (node messages differ: geth,
/// reth and anvil write "nonce too low", Besu `NONCE_TOO_LOW`, Nethermind `OldNonce`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The nonce was used: a version of this transaction (or another of the account) was mined.
    NonceTooLow,
    /// The node already holds this very transaction ("already known"; anvil: "transaction
    /// already imported").
    AlreadyKnown,
    /// The node holds a version with the same nonce and fees the new one does not beat by its
    /// required margin, or the fees are below its minimum.
    Underpriced,
    /// No answer from the node: the transaction may or may not have arrived.
    NoAnswer,
    /// Anything else.
    Other,
}

impl Refusal {
    pub(crate) fn of(error: &TransportError) -> Self {
        if error.is_transport_error() {
            return Self::NoAnswer;
        }
        Self::of_message(&node_message(error))
    }

    fn of_message(message: &str) -> Self {
        let message = message.to_lowercase().replace('_', " ");
        let says = |phrases: &[&str]| phrases.iter().any(|phrase| message.contains(phrase));
        if says(&["nonce too low", "oldnonce"]) {
            Self::NonceTooLow
        } else if says(&["already known", "already imported", "alreadyknown"]) {
            Self::AlreadyKnown
        } else if says(&["underpriced", "feetoolow"]) {
            Self::Underpriced
        } else {
            Self::Other
        }
    }
}

/// What the node said when it refused a transaction: its JSON-RPC error message, or the transport's
/// error when there is none.
pub(crate) fn node_message(error: &TransportError) -> String {
    error.as_error_resp().map_or_else(|| error.to_string(), |e| e.message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_refusals_are_told_apart_across_clients() {
        for (message, refusal) in [
            ("nonce too low", Refusal::NonceTooLow),
            ("nonce too low: next nonce 5, tx nonce 4", Refusal::NonceTooLow),
            ("NONCE_TOO_LOW", Refusal::NonceTooLow),
            ("OldNonce", Refusal::NonceTooLow),
            ("already known", Refusal::AlreadyKnown),
            ("transaction already imported", Refusal::AlreadyKnown),
            ("replacement transaction underpriced", Refusal::Underpriced),
            ("REPLACEMENT_UNDERPRICED", Refusal::Underpriced),
            ("insufficient funds for gas * price + value", Refusal::Other),
        ] {
            assert_eq!(Refusal::of_message(message), refusal, "{message}");
        }
    }
}
