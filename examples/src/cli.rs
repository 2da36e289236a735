//! Command-line options every example shares: which chain, which contracts, which account.

use std::path::PathBuf;

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::Args;
use snm_sdk::{Client, Deployment, Error};

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
    pub fn signer(&self) -> Result<PrivateKeySigner, Error> {
        let key = self
            .key
            .as_deref()
            .ok_or_else(|| Error::InvalidInput("no key: pass --key or set SNM_KEY".into()))?;
        key.trim()
            .parse()
            .map_err(|e| Error::InvalidInput(format!("--key is not a private key (64 hex digits): {e}")))
    }

    /// Where the contracts are: the deployment file, or what the market at `--market` says.
    pub async fn deployment<P: Provider>(&self, provider: &P) -> Result<Deployment, Error> {
        match (&self.deployment, self.market) {
            (Some(path), _) => Deployment::from_file(path),
            (None, Some(market)) => Deployment::discover(provider, market, self.distributor).await,
            (None, None) => Err(Error::InvalidInput(
                "where is the market? pass --deployment <file> (or SNM_DEPLOYMENT) or --market <address>"
                    .into(),
            )),
        }
    }

    /// A client acting as `--key`'s account.
    pub async fn connect(&self) -> Result<Client<DynProvider>, Error> {
        let signer = self.signer()?;
        let sender = signer.address();
        self.client(ProviderBuilder::new().wallet(signer).connect_http(self.url()?).erased(), sender).await
    }

    /// A client for reads only, needing no key: `--key`'s account when one is given (so that
    /// reads about "my" orders see it), else the zero address; it cannot sign.
    pub async fn connect_read_only(&self) -> Result<Client<DynProvider>, Error> {
        let reader = match &self.key {
            Some(_) => self.signer()?.address(),
            None => Address::ZERO,
        };
        self.client(ProviderBuilder::new().connect_http(self.url()?).erased(), reader).await
    }

    /// A client of the deployment through `provider`, sending as `sender`.
    async fn client(&self, provider: DynProvider, sender: Address) -> Result<Client<DynProvider>, Error> {
        let deployment = self.deployment(&provider).await?;
        Ok(Client::new(provider, deployment, sender))
    }

    fn url(&self) -> Result<alloy::transports::http::reqwest::Url, Error> {
        self.rpc.parse().map_err(|e| Error::InvalidInput(format!("--rpc `{}`: {e}", self.rpc)))
    }
}

/// Completes on SIGTERM or Ctrl-C: when a long-running program should stop.
pub async fn stop_signal() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// A program built next to this one (such as `proxy` beside `quickstart`), if it is there.
pub fn beside_this_program(name: &str) -> Option<PathBuf> {
    let candidate = std::env::current_exe().ok()?.parent()?.join(name);
    candidate.is_file().then_some(candidate)
}
