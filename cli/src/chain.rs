//! The options every command that touches the chain shares: which chain (`--rpc`), which
//! contracts (`--deployment`, else the committed deployment of the node's chain, or `--market`),
//! which account (`--account` with its keystore and password, or `--private-key-env VAR` for CI).

use std::path::PathBuf;

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use clap::Args;
use snm_sdk::{Client, Deployment, provider, tx::TxOptions};

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
}

/// Where the marketplace is and who acts, each option also read from its environment variable.
#[derive(Clone, Debug, Args)]
pub struct ChainArgs {
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "SNM_RPC", default_value = "http://127.0.0.1:8545")]
    pub rpc: String,
    /// Deployment file (what `snm devnet --deployment-out` or `contracts/script/Deploy.s.sol`
    /// writes); default: the committed `deployments/<chain id>.json` of the node's chain.
    #[arg(long, env = "SNM_DEPLOYMENT", conflicts_with = "market")]
    pub deployment: Option<PathBuf>,
    /// The market's address, when there is no deployment file (token and oracle are read from it).
    #[arg(long, env = "SNM_MARKET")]
    pub market: Option<Address>,
    /// The reward distributor's address, with `--market`.
    #[arg(long, env = "SNM_DISTRIBUTOR", requires = "market")]
    pub distributor: Option<Address>,
    /// The acting account: a keystore's name in the keystore directory (`snm wallet list`).
    #[arg(long, env = "SNM_ACCOUNT")]
    pub account: Option<String>,
    /// File whose first line is the keystore's password (else it is asked on the terminal).
    #[arg(long, env = "SNM_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
    /// For CI: the name of an environment variable holding the acting account's private key.
    #[arg(long, value_name = "VAR", conflicts_with = "account")]
    pub private_key_env: Option<String>,
    /// Where the keystores are (default `~/.snm/keystores`).
    #[arg(long, env = "SNM_KEYSTORE_DIR")]
    pub keystore_dir: Option<PathBuf>,
    /// Private key of the acting account (hex), from the environment only: prefer --account.
    #[arg(long, env = "SNM_KEY", hide = true, hide_env_values = true)]
    pub key: Option<String>,
}

impl ChainArgs {
    /// The acting account's signer: `--private-key-env`, else `--account`'s keystore unlocked with
    /// its password, else `SNM_KEY`.
    pub fn signer(&self) -> Result<PrivateKeySigner, ChainError> {
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
        self.private_key_env.is_some() || self.account.is_some() || self.key.is_some()
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

    /// A client acting as the account's signer.
    pub async fn connect(&self) -> Result<Client<DynProvider>, ChainError> {
        self.connect_with(self.signer()?).await
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
        let reader = self.reader()?;
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
