//! The error of every `snm` command: what went wrong, its [`Kind`] (hence its exit code) and, where
//! there is one, a hint at what to do.

use std::path::PathBuf;

use snm_sdk::rewards::RewardsError;

use crate::{
    campaign::CampaignError,
    chain::ChainError,
    exit::{Kind, sdk_kind},
    output::{Frame, OutputError},
    purchase::PurchaseError,
    wallet::WalletError,
};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The chain options could not be used.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A wallet operation failed.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The SDK failed (the node, the contracts, a check before sending).
    #[error(transparent)]
    Sdk(#[from] snm_sdk::Error),
    /// A purchase failed (boxed: it is the largest error by far).
    #[error(transparent)]
    Purchase(Box<PurchaseError>),
    /// A campaign step failed (boxed, as a purchase).
    #[error(transparent)]
    Campaign(Box<CampaignError>),
    /// The customer's usage report could not be written.
    #[error(transparent)]
    CustomerReport(#[from] ReportError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The output could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Something asked for does not exist.
    #[error("{what}")]
    NotFound {
        /// What was not found, as a sentence.
        what: String,
    },
    /// A value or a combination of options that cannot be used.
    #[error("{message}")]
    Usage {
        /// What is wrong, naming the value and what is expected.
        message: String,
    },
    /// Waited as long as asked.
    #[error("{message}")]
    Timeout {
        /// What did not happen in time.
        message: String,
    },
    /// A check that failed (`snm supplier doctor`, `snm supplier init`).
    #[error("{message}")]
    Check {
        /// What failed.
        message: String,
    },
    /// The indexer's relay refused a signed ask, or could not be reached (boxed: it is large).
    #[error(transparent)]
    Relay(Box<snm_sdk::indexer_client::IndexerClientError>),
    /// A signed ask file cannot be used (boxed, as the relay's).
    #[error(transparent)]
    SignedAskFile(Box<crate::signed_ask_file::SignedAskFileError>),
}

impl CliError {
    /// Prints the error in `frame` (stderr; JSON with `--json`) and gives the exit code of its kind.
    pub fn report(&self, frame: Frame) -> std::process::ExitCode {
        frame.report_error(self.kind(), &self.to_string(), self.hint().as_deref())
    }
}

impl From<PurchaseError> for CliError {
    fn from(error: PurchaseError) -> Self {
        Self::Purchase(Box::new(error))
    }
}

impl From<crate::signed_ask_file::SignedAskFileError> for CliError {
    fn from(error: crate::signed_ask_file::SignedAskFileError) -> Self {
        Self::SignedAskFile(Box::new(error))
    }
}

impl From<CampaignError> for CliError {
    fn from(error: CampaignError) -> Self {
        Self::Campaign(Box::new(error))
    }
}

impl CliError {
    /// The kind of failure, hence the exit code.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Chain(error) => chain_kind(error),
            Self::Wallet(error) => wallet_kind(error),
            Self::Sdk(error) => sdk_kind(error),
            Self::Purchase(error) => purchase_kind(error),
            Self::Campaign(error) => match error.as_ref() {
                CampaignError::Sdk(error) => sdk_kind(error),
                CampaignError::Chain(error) => chain_kind(error),
                CampaignError::Wallet(error) => wallet_kind(error.as_ref()),
                CampaignError::Rewards(_) => Kind::Usage,
                _ => Kind::Failed,
            },
            Self::CustomerReport(error) => report_kind(error),
            Self::File { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Kind::NotFound,
            Self::File { .. } | Self::Output(_) | Self::Check { .. } => Kind::Failed,
            Self::NotFound { .. } => Kind::NotFound,
            Self::Usage { .. } => Kind::Usage,
            Self::Timeout { .. } => Kind::Timeout,
            Self::Relay(error) => match error.as_ref() {
                snm_sdk::indexer_client::IndexerClientError::Refused { .. } => Kind::Refused,
                snm_sdk::indexer_client::IndexerClientError::Url { .. } => Kind::Usage,
                _ => Kind::Network,
            },
            Self::SignedAskFile(error) => signed_ask_file_kind(error),
        }
    }

    /// What to do about it, if anything useful can be said.
    pub fn hint(&self) -> Option<String> {
        let specific = match self {
            Self::Chain(ChainError::NoKey) => {
                Some("create one with `snm wallet new NAME` or import one with `snm wallet import`")
            }
            Self::Purchase(error) if matches!(error.as_ref(), PurchaseError::Chain(ChainError::NoKey)) => {
                Some("create one with `snm wallet new NAME` or import one with `snm wallet import`")
            }
            Self::Relay(error)
                if !matches!(error.as_ref(), snm_sdk::indexer_client::IndexerClientError::Refused { .. }) =>
            {
                Some(
                    "is snm-indexer serving at --indexer (SNM_INDEXER), started with --rpc so that it relays signed asks?",
                )
            }
            Self::Chain(ChainError::Indexer { .. }) => Some(
                "is snm-indexer serving at --indexer (SNM_INDEXER)? Without it the book is read from the chain",
            ),
            Self::Chain(ChainError::NoMarket { .. }) => {
                Some("for a local chain, `snm devnet --deployment-out FILE` writes one")
            }
            Self::Wallet(WalletError::WrongPassword { .. })
            | Self::Chain(ChainError::Wallet(WalletError::WrongPassword { .. })) => {
                Some("check the password file (--password-file, SNM_PASSWORD_FILE)")
            }
            _ => None,
        };
        specific.or_else(|| self.kind().default_hint()).map(str::to_owned)
    }
}

fn report_kind(error: &ReportError) -> Kind {
    use snm_sdk::proxy_client::DealMeterError;
    match error {
        ReportError::Traffic(DealMeterError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Kind::NotFound
        }
        ReportError::Traffic(DealMeterError::Io { .. }) | ReportError::Rewards(RewardsError::Io { .. }) => {
            Kind::Failed
        }
        ReportError::Traffic(_) | ReportError::Rewards(_) => Kind::Usage,
    }
}

/// A bad file is a usage error; a missing one is not found; the node failing is the SDK's kind.
pub(crate) fn signed_ask_file_kind(error: &crate::signed_ask_file::SignedAskFileError) -> Kind {
    use crate::signed_ask_file::SignedAskFileError as E;
    match error {
        E::Chain { source, .. } => sdk_kind(source),
        error if error.is_missing() => Kind::NotFound,
        error if error.is_input() => Kind::Usage,
        _ => Kind::Failed,
    }
}

fn chain_kind(error: &ChainError) -> Kind {
    match error {
        ChainError::NoKey | ChainError::BadKey { .. } => Kind::Wallet,
        ChainError::BadRpc { .. } => Kind::Usage,
        ChainError::NoMarket { .. } | ChainError::Deployment(_) => Kind::Deployment,
        ChainError::Wallet(error) => wallet_kind(error),
        ChainError::Sdk(error) => sdk_kind(error),
        ChainError::Indexer { .. } => Kind::Network,
        ChainError::Ledger(error) => match error.as_ref() {
            crate::ledger::LedgerError::NotBuiltIn | crate::ledger::LedgerError::NeedsKey => Kind::Usage,
            #[cfg(feature = "ledger")]
            _ => Kind::Wallet,
        },
    }
}

fn wallet_kind(error: &WalletError) -> Kind {
    match error {
        WalletError::NotFound { .. } => Kind::NotFound,
        WalletError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Kind::NotFound,
        WalletError::BadName { .. } | WalletError::Exists { .. } => Kind::Usage,
        _ => Kind::Wallet,
    }
}

fn purchase_kind(error: &PurchaseError) -> Kind {
    match error {
        PurchaseError::Sdk(error) => sdk_kind(error),
        PurchaseError::Chain(error) => chain_kind(error),
        PurchaseError::WeakSecret(_) => Kind::Usage,
        PurchaseError::NothingFits(_) | PurchaseError::SignedAskUnfit(_) => Kind::NotFound,
        PurchaseError::SignedAskFile(error) => signed_ask_file_kind(error),
        PurchaseError::NoEndpoint { .. } => Kind::Timeout,
        PurchaseError::Config(error) if error.is_input() => Kind::Usage,
        PurchaseError::Config(error)
            if matches!(error.as_ref(), crate::workload_delivery::DeliveryError::Timeout { .. }) =>
        {
            Kind::Timeout
        }
        PurchaseError::Task(_) | PurchaseError::Output(_) => Kind::Failed,
        _ => Kind::Refused,
    }
}

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The traffic file could not be read.
    #[error(transparent)]
    Traffic(#[from] snm_sdk::proxy_client::DealMeterError),
    /// The report could not be written, read back or signed.
    #[error(transparent)]
    Rewards(#[from] snm_sdk::rewards::RewardsError),
}
