//! The exit codes of `snm`, one per kind of failure, so that a script can tell "the chain said no"
//! from "the node is down" without reading the message. The README lists them.
//!
//! | code | kind | meaning |
//! | ---: | --- | --- |
//! | 0 | | done |
//! | 1 | `failed` | anything not below (a file that cannot be written, a task that died) |
//! | 2 | `usage` | bad command line or bad value: unknown flag, `-5 SNM`, term `0s`, ram `lots` |
//! | 3 | `refused` | the chain refused, or would have: a contract's error, funds short before sending |
//! | 4 | `network` | the RPC endpoint cannot be reached or answered with an error |
//! | 5 | `not-found` | no such deal, ask, account or file |
//! | 6 | `deployment` | the deployment does not match the node: other chain id, no contract code |
//! | 7 | `wallet` | a key or keystore that cannot be used: not a key, wrong password, no terminal |
//! | 8 | `timeout` | waited as long as asked and it did not happen |

use std::process::ExitCode;

use serde::Serialize;

/// What kind of failure stopped a command; each has its exit code ([`Kind::code`]) and its name in
/// the JSON error (`{"error": {"kind": …}}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Anything not below.
    Failed,
    /// Bad command line or bad value.
    Usage,
    /// The chain refused (a contract's error), or a check before sending found it would.
    Refused,
    /// The RPC endpoint cannot be reached or answered with an error.
    Network,
    /// No such deal, order, account or file.
    NotFound,
    /// The deployment does not match the node (chain id, contract code).
    Deployment,
    /// A key or keystore that cannot be used.
    Wallet,
    /// Waited as long as asked.
    Timeout,
}

impl Kind {
    /// The process exit code of this kind.
    pub fn code(self) -> u8 {
        match self {
            Self::Failed => 1,
            Self::Usage => 2,
            Self::Refused => 3,
            Self::Network => 4,
            Self::NotFound => 5,
            Self::Deployment => 6,
            Self::Wallet => 7,
            Self::Timeout => 8,
        }
    }

    /// The process exit code of this kind, for `main`.
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// What to try next, when the kind alone says it.
    pub fn default_hint(self) -> Option<&'static str> {
        match self {
            Self::Usage => Some("see `snm <command> --help`"),
            Self::Network => Some("is the node running at --rpc (SNM_RPC)?"),
            Self::Deployment => {
                Some("pass the deployment file of this node's chain with --deployment (SNM_DEPLOYMENT)")
            }
            Self::Wallet => Some("`snm wallet list` shows the accounts; --password-file reads the password"),
            Self::Failed | Self::Refused | Self::NotFound | Self::Timeout => None,
        }
    }
}

/// The kind of an SDK error: the contracts' refusals and the checks made before sending are
/// [`Kind::Refused`], transport failures [`Kind::Network`], and so on.
pub fn sdk_kind(error: &snm_sdk::Error) -> Kind {
    use snm_sdk::Error as E;
    match error {
        E::Market(_)
        | E::Oracle(_)
        | E::Distributor(_)
        | E::Token(_)
        | E::CloseNotAllowed { .. }
        | E::Reverted { .. }
        | E::InsufficientFunds { .. }
        | E::NothingFits(_)
        | E::ForeignBid { .. }
        | E::ForeignAsk { .. }
        | E::PermitSigner { .. }
        | E::NonceTaken { .. }
        | E::OrderCancelled(_)
        | E::Contract(_) => Kind::Refused,
        E::Transport(_) | E::NoLatestBlock => Kind::Network,
        E::Timeout { .. } | E::NotMined(_) => Kind::Timeout,
        E::DealNotFound(_) | E::NoDistributor | E::NoLeaf { .. } => Kind::NotFound,
        E::WrongChain { .. } | E::NoContractCode { .. } | E::Deployment(_) => Kind::Deployment,
        E::Parse(_) | E::InexactPrice(_) => Kind::Usage,
        E::Signer(_) => Kind::Wallet,
        _ => Kind::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_code() {
        let kinds = [
            Kind::Failed,
            Kind::Usage,
            Kind::Refused,
            Kind::Network,
            Kind::NotFound,
            Kind::Deployment,
            Kind::Wallet,
            Kind::Timeout,
        ];
        let mut codes: Vec<u8> = kinds.iter().map(|k| k.code()).collect();
        codes.dedup();
        assert_eq!(codes, (1..=8).collect::<Vec<u8>>());
        assert_eq!(serde_json::to_string(&Kind::NotFound).ok().as_deref(), Some("\"not-found\""));
    }
}
