//! The options every command that touches the chain shares: which chain, which contracts, which
//! account.

use std::path::PathBuf;

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use clap::Args;
use snm_sdk::{Client, Deployment, provider, tx::TxOptions};

/// Why the command line's chain options cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// A key is needed and none was given.
    #[error("no key: pass --key or set SNM_KEY")]
    NoKey,
    /// `--key` is not a private key.
    #[error("--key is not a private key (64 hex digits): {source}")]
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
    /// Neither a deployment file nor a market address was given.
    #[error("where is the market? pass --deployment <file> (or SNM_DEPLOYMENT) or --market <address>")]
    NoMarket,
    /// The deployment file could not be read.
    #[error(transparent)]
    Deployment(#[from] snm_sdk::deployment::DeploymentError),
    /// The deployment could not be discovered from the market.
    #[error(transparent)]
    Sdk(#[from] snm_sdk::Error),
}

/// Where the marketplace is and who acts: `--rpc`, `--deployment` (or `--market`), `--key`, each
/// also read from its environment variable.
#[derive(Clone, Debug, Args)]
pub struct ChainArgs {
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "SNM_RPC", default_value = "http://127.0.0.1:8545")]
    pub rpc: String,
    /// Deployment file: the JSON `contracts/script/Deploy.s.sol` or the devnet writes.
    #[arg(long, env = "SNM_DEPLOYMENT", conflicts_with = "market")]
    pub deployment: Option<PathBuf>,
    /// The market's address, when there is no deployment file (token and oracle are read from it).
    #[arg(long, env = "SNM_MARKET")]
    pub market: Option<Address>,
    /// The reward distributor's address, with `--market`.
    #[arg(long, env = "SNM_DISTRIBUTOR", requires = "market")]
    pub distributor: Option<Address>,
    /// Private key of the acting account (hex). Prefer the environment variable to the command line.
    #[arg(long, env = "SNM_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

impl ChainArgs {
    /// The signer of `--key`.
    pub fn signer(&self) -> Result<PrivateKeySigner, ChainError> {
        let key = self.key.as_deref().ok_or(ChainError::NoKey)?;
        key.trim().parse().map_err(|source| ChainError::BadKey { source })
    }

    /// Where the contracts are: the deployment file, or what the market at `--market` says.
    pub async fn deployment<P: Provider>(&self, provider: &P) -> Result<Deployment, ChainError> {
        match (&self.deployment, self.market) {
            (Some(path), _) => Ok(Deployment::from_file(path)?),
            (None, Some(market)) => Ok(Deployment::discover(provider, market, self.distributor).await?),
            (None, None) => Err(ChainError::NoMarket),
        }
    }

    /// A client acting as `--key`'s account.
    pub async fn connect(&self) -> Result<Client<DynProvider>, ChainError> {
        let signer = self.signer()?;
        let sender = signer.address();
        self.client(provider::connect_http(self.url()?, signer, &TxOptions::default()), sender).await
    }

    /// A client for reads only, needing no key: `--key`'s account when one is given (so that
    /// reads about "my" orders see it), else the zero address; it cannot sign.
    pub async fn connect_read_only(&self) -> Result<Client<DynProvider>, ChainError> {
        let reader = match &self.key {
            Some(_) => self.signer()?.address(),
            None => Address::ZERO,
        };
        self.client(provider::connect_http_reader(self.url()?), reader).await
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

    fn url(&self) -> Result<url::Url, ChainError> {
        self.rpc.parse().map_err(|source| ChainError::BadRpc { url: self.rpc.clone(), source })
    }
}
