//! The options every command that touches the chain shares: which chain (`--rpc`), which
//! contracts (`--deployment`, else the committed deployment of the node's chain, or `--market`),
//! which account (`--account` with its keystore and password, `--private-key-env VAR` for CI, or
//! `--ledger`), and where the order book is read from (`--indexer`). Every one is global: given
//! before the subcommand (`snm --account alice customer deposit 5SNM`) or after it, the later
//! one winning.

use std::path::PathBuf;

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use clap::Args;
use snm_sdk::{Client, Deployment, OrderBook, provider, tx::TxOptions};

use crate::wallet::{self, Keystores, Password, WalletError};

/// Why the command line's chain options cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// A key is needed and none was given.
    #[error("no account: pass --account NAME (SNM_ACCOUNT) or --private-key-env VAR")]
    NoKey,
    /// `--key` / `SNM_KEY` is not a private key.
    #[error("--key (SNM_KEY) is not a private key (64 hex digits): {source}")]
    BadKey {
        /// The parser's error.
        #[source]
        source: alloy::signers::local::LocalSignerError,
    },
    /// `--rpc` is not a URL.
    #[error("--rpc `{url}` is not a URL: {source}")]
    BadRpc {
        /// What was given.
        url: String,
        /// The parser's error.
        #[source]
        source: url::ParseError,
    },
    /// Neither a deployment file nor a market address was given, and none is committed for the
    /// node's chain.
    #[error(
        "no deployment for chain {chain_id}: pass --deployment <file> (SNM_DEPLOYMENT) or --market <address>"
    )]
    NoMarket {
        /// The node's chain id.
        chain_id: u64,
    },
    /// The deployment file could not be read.
    #[error(transparent)]
    Deployment(#[from] snm_sdk::deployment::DeploymentError),
    /// The key could not be had.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The node or the deployment failed.
    #[error(transparent)]
    Sdk(#[from] snm_sdk::Error),
    /// The order book could not be read from `--indexer`.
    #[error("--indexer (SNM_INDEXER): {source}")]
    Indexer {
        /// The indexer client's error (it names the URL; boxed: it is large).
        #[source]
        source: Box<snm_sdk::indexer_client::IndexerClientError>,
    },
    /// `--ledger` where it cannot be used (boxed, as the indexer's).
    #[error("{0}")]
    Ledger(Box<crate::ledger::LedgerError>),
}

impl From<crate::ledger::LedgerError> for ChainError {
    fn from(error: crate::ledger::LedgerError) -> Self {
        Self::Ledger(Box::new(error))
    }
}

/// Where the marketplace is and who acts, each option also read from its environment variable.
#[derive(Clone, Debug, Args)]
pub struct ChainArgs {
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "SNM_RPC", default_value = "http://127.0.0.1:8545", global = true)]
    pub rpc: String,
    /// Deployment file (what `snm devnet --deployment-out` or `contracts/script/Deploy.s.sol`
    /// writes); default: the committed `deployments/<chain id>.json` of the node's chain.
    #[arg(long, env = "SNM_DEPLOYMENT", conflicts_with = "market", global = true)]
    pub deployment: Option<PathBuf>,
    /// The market's address, when there is no deployment file (token and oracle are read from it).
    #[arg(long, env = "SNM_MARKET", global = true)]
    pub market: Option<Address>,
    /// The reward distributor's address, with `--market`.
    #[arg(long, env = "SNM_DISTRIBUTOR", requires = "market", global = true)]
    pub distributor: Option<Address>,
    /// The acting account: a keystore's name in the keystore directory (`snm wallet list`).
    #[arg(long, env = "SNM_ACCOUNT", global = true)]
    pub account: Option<String>,
    /// File whose first line is the keystore's password (else it is asked on the terminal).
    #[arg(long, env = "SNM_PASSWORD_FILE", global = true)]
    pub password_file: Option<PathBuf>,
    /// For CI: the name of an environment variable holding the acting account's private key.
    #[arg(long, value_name = "VAR", conflicts_with = "account", global = true)]
    pub private_key_env: Option<String>,
    /// Where the keystores are (default `~/.snm/keystores`).
    #[arg(long, env = "SNM_KEYSTORE_DIR", global = true)]
    pub keystore_dir: Option<PathBuf>,
    /// Signs with the first account of a Ledger device (needs `snm` built with the cargo feature
    /// `ledger`).
    #[arg(long, global = true, conflicts_with_all = ["account", "private_key_env"])]
    pub ledger: bool,
    /// A market data service (`snm-indexer`) to read the order book from, instead of every
    /// market event since the deployment; what it has not indexed yet is read from the chain.
    #[arg(long, env = "SNM_INDEXER", global = true, value_name = "URL")]
    pub indexer: Option<url::Url>,
    /// Private key of the acting account (hex), from the environment only: prefer --account.
    #[arg(long, env = "SNM_KEY", hide = true, hide_env_values = true, global = true)]
    pub key: Option<String>,
}

impl ChainArgs {
    /// The acting account's signer: `--private-key-env`, else `--account`'s keystore unlocked with
    /// its password, else `SNM_KEY`.
    pub fn signer(&self) -> Result<PrivateKeySigner, ChainError> {
        if self.ledger {
            return Err(crate::ledger::LedgerError::NeedsKey.into());
        }
        if let Some(var) = &self.private_key_env {
            return Ok(wallet::key_from_env(var)?);
        }
        if let Some(name) = &self.account {
            let stores = Keystores::new(self.keystore_dir.clone())?;
            // The account must exist before its password is asked.
            stores.account(name)?;
            let password = self.password().read(&format!("password of account `{name}`: "), false)?;
            return Ok(stores.unlock(name, &password)?);
        }
        let key = self.key.as_deref().ok_or(ChainError::NoKey)?;
        key.trim().parse().map_err(|source| ChainError::BadKey { source })
    }

    /// Whether an account was given at all.
    pub fn has_account(&self) -> bool {
        self.ledger || self.private_key_env.is_some() || self.account.is_some() || self.key.is_some()
    }

    /// Where the password comes from.
    pub fn password(&self) -> Password {
        Password { file: self.password_file.clone() }
    }

    /// The keystores of `--keystore-dir`.
    pub fn keystores(&self) -> Result<Keystores, WalletError> {
        Keystores::new(self.keystore_dir.clone())
    }

    /// Where the contracts are: the deployment file, what the market at `--market` says, or the
    /// committed deployment of the node's chain.
    pub async fn deployment<P: Provider>(&self, provider: &P) -> Result<Deployment, ChainError> {
        match (&self.deployment, self.market) {
            (Some(path), _) => Ok(Deployment::from_file(path)?),
            (None, Some(market)) => Ok(Deployment::discover(provider, market, self.distributor).await?),
            (None, None) => {
                let chain_id = provider.get_chain_id().await.map_err(snm_sdk::Error::from)?;
                crate::deployments::committed(chain_id).ok_or(ChainError::NoMarket { chain_id })
            }
        }
    }

    /// A client acting as the account's signer (the Ledger's first account with `--ledger`).
    pub async fn connect(&self) -> Result<Client<DynProvider>, ChainError> {
        if self.ledger {
            crate::ledger::ensure_built_in()?;
            let url = self.url()?;
            let chain_id = provider::connect_http_reader(url.clone())
                .get_chain_id()
                .await
                .map_err(snm_sdk::Error::from)?;
            let (wallet, sender) = crate::ledger::wallet(chain_id).await?;
            return self.client(provider::connect_http(url, wallet, &TxOptions::default()), sender).await;
        }
        self.connect_with(self.signer()?).await
    }

    /// The order book: from `--indexer` when given (then brought up to the chain's head from the
    /// market's events after the last block the indexer had applied), else from every market
    /// event since the deployment.
    pub async fn order_book(&self, client: &Client<DynProvider>) -> Result<OrderBook, ChainError> {
        let market = client.market();
        match &self.indexer {
            None => Ok(market.order_book().await?),
            Some(url) => {
                let mut book = OrderBook::from_indexer(url)
                    .await
                    .map_err(|e| ChainError::Indexer { source: Box::new(e) })?;
                market.sync(&mut book).await?;
                Ok(book)
            }
        }
    }

    /// A client acting as `signer` (an account other than the options' own, such as a worker's
    /// during `snm supplier init`).
    pub async fn connect_with(&self, signer: PrivateKeySigner) -> Result<Client<DynProvider>, ChainError> {
        let sender = signer.address();
        self.client(provider::connect_http(self.url()?, signer, &TxOptions::default()), sender).await
    }

    /// A client for reads only: the account's address when one is given (so that reads about
    /// "my" orders see it; a keystore with its address needs no password), else the zero
    /// address; it cannot sign.
    pub async fn connect_read_only(&self) -> Result<Client<DynProvider>, ChainError> {
        let reader = if self.ledger {
            crate::ledger::ensure_built_in()?;
            let chain_id = provider::connect_http_reader(self.url()?)
                .get_chain_id()
                .await
                .map_err(snm_sdk::Error::from)?;
            crate::ledger::wallet(chain_id).await?.1
        } else {
            self.reader()?
        };
        self.client(provider::connect_http_reader(self.url()?), reader).await
    }

    /// The account's address for reads, unlocking the keystore only when it does not say it.
    pub fn reader(&self) -> Result<Address, ChainError> {
        if let (Some(name), None) = (&self.account, &self.private_key_env) {
            let stores = self.keystores()?;
            if let Some(address) = stores.account(name)?.address {
                return Ok(address);
            }
        }
        if self.ledger {
            return Err(crate::ledger::LedgerError::NeedsKey.into());
        }
        if self.has_account() { Ok(self.signer()?.address()) } else { Ok(Address::ZERO) }
    }

    /// A client of the deployment through `provider`, sending as `sender`, once the node is
    /// known to serve the deployment's chain and its contracts (so that nothing is sent, or read,
    /// on the wrong chain).
    async fn client(
        &self,
        provider: DynProvider,
        sender: Address,
    ) -> Result<Client<DynProvider>, ChainError> {
        let deployment = self.deployment(&provider).await?;
        deployment.verify(&provider).await?;
        Ok(Client::new(provider, deployment, sender))
    }

    /// `--rpc` as a URL.
    pub fn url(&self) -> Result<url::Url, ChainError> {
        self.rpc.parse().map_err(|source| ChainError::BadRpc { url: self.rpc.clone(), source })
    }
}
