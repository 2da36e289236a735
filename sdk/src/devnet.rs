//! A local chain for demos and tests: starts `anvil`, deploys every contract and funds the accounts.
//!
//! The anvil binary is, in order: the path in the `SNM_ANVIL` environment variable, the pinned copy
//! in this repository's `toolchain/.bin/anvil` (installed by `make toolchain`), or `anvil` on `PATH`.
//! The node stops when the [`Devnet`] is dropped.

use std::path::{Path, PathBuf};

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};

use crate::{Error, bindings::SNMToken, units::Snm};

/// Environment variable naming the anvil binary to use instead of the pinned one.
pub const ANVIL_ENV: &str = "SNM_ANVIL";

/// How a [`Devnet`] is set up.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Number of funded accounts; account 0 is the operator, who deploys everything.
    pub accounts: u32,
    /// SNM given to every account but the operator.
    pub snm_per_account: Snm,
    /// Total SNM supply, minted to the operator at deployment.
    pub snm_supply: Snm,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            accounts: 10,
            snm_per_account: Snm::from_whole(1_000_000),
            snm_supply: Snm::from_whole(444_000_000),
        }
    }
}

/// A running local chain with the marketplace deployed on it.
#[derive(Debug)]
pub struct Devnet {
    anvil: AnvilInstance,
    anvil_path: PathBuf,
    accounts: u32,
    provider: DynProvider,
    signers: Vec<PrivateKeySigner>,
    token: Address,
}

impl Devnet {
    /// Starts a devnet with the default [`DevnetConfig`].
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(DevnetConfig::default()).await
    }

    /// Starts anvil, deploys the SNM token and funds every account.
    pub async fn start_with(config: DevnetConfig) -> Result<Self, Error> {
        let path = anvil_path();
        let accounts = config.accounts.max(1);
        let anvil = spawn_anvil(&path, accounts, None)?;

        let signers: Vec<PrivateKeySigner> =
            anvil.keys().iter().cloned().map(PrivateKeySigner::from).collect();
        let Some((operator, others)) = signers.split_first() else {
            return Err(Error::Devnet {
                path: path.display().to_string(),
                reason: "anvil gave no accounts".into(),
            });
        };
        let mut wallet = EthereumWallet::from(operator.clone());
        for signer in others {
            wallet.register_signer(signer.clone());
        }
        let provider = ProviderBuilder::new().wallet(wallet).connect_http(anvil.endpoint_url()).erased();

        let token = SNMToken::deploy(&provider, operator.address(), config.snm_supply.wei()).await?;
        for signer in others {
            token.transfer(signer.address(), config.snm_per_account.wei()).send().await?.watch().await?;
        }

        Ok(Self { token: *token.address(), anvil, anvil_path: path, accounts, provider, signers })
    }

    /// Stops the node and starts a new one on the same port with the same chain (state, blocks
    /// and logs carried over through `anvil_dumpState` / `anvil_loadState`), as a node operator's
    /// restart would. Clients keep their endpoint; requests sent while it is down fail.
    pub async fn restart(&mut self) -> Result<(), Error> {
        let state: Bytes = self.provider.raw_request("anvil_dumpState".into(), ()).await?;
        let port = self.anvil.port();
        // The port is taken until the old process is gone: stop it before starting the new one.
        let mut old = std::mem::replace(&mut self.anvil, spawn_anvil(&self.anvil_path, self.accounts, None)?);
        old.child_mut().kill().ok();
        old.child_mut().wait().ok();
        drop(old);
        self.anvil = spawn_anvil(&self.anvil_path, self.accounts, Some(port))?;
        // The first requests may meet connections pooled to the old process: retry those.
        let mut attempt = 0;
        let loaded: bool = loop {
            match self.provider.raw_request("anvil_loadState".into(), (state.clone(),)).await {
                Ok(loaded) => break loaded,
                Err(error) if attempt < 5 && error.is_transport_error() => attempt += 1,
                Err(error) => return Err(error.into()),
            }
        };
        if !loaded {
            return Err(Error::Devnet {
                path: self.anvil_path.display().to_string(),
                reason: "anvil refused to load the saved state".into(),
            });
        }
        Ok(())
    }

    /// The node's HTTP JSON-RPC endpoint.
    pub fn endpoint(&self) -> alloy::transports::http::reqwest::Url {
        self.anvil.endpoint_url()
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.anvil.chain_id()
    }

    /// A provider that signs for every devnet account (pick one with the transaction's `from`).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The funded accounts; the first is the operator.
    pub fn accounts(&self) -> Vec<Address> {
        self.signers.iter().map(PrivateKeySigner::address).collect()
    }

    /// The signer (private key) of account `index`, if there is one.
    pub fn signer(&self, index: usize) -> Option<&PrivateKeySigner> {
        self.signers.get(index)
    }

    /// The SNM token's address.
    pub fn token(&self) -> Address {
        self.token
    }

    /// The SNM balance of `account`.
    pub async fn snm_balance(&self, account: Address) -> Result<Snm, Error> {
        let wei: U256 = SNMToken::new(self.token, &self.provider).balanceOf(account).call().await?;
        Ok(Snm::from_wei(wei))
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64, Error> {
        Ok(self.provider.get_block_number().await?)
    }
}

fn spawn_anvil(path: &Path, accounts: u32, port: Option<u16>) -> Result<AnvilInstance, Error> {
    let mut anvil = Anvil::new().path(path).args(["--accounts", &accounts.to_string()]);
    if let Some(port) = port {
        anvil = anvil.port(port);
    }
    anvil.try_spawn().map_err(|e| Error::Devnet { path: path.display().to_string(), reason: e.to_string() })
}

/// The anvil binary a devnet starts: `$SNM_ANVIL`, else the pinned one, else `anvil` on `PATH`.
pub fn anvil_path() -> PathBuf {
    if let Some(path) = std::env::var_os(ANVIL_ENV) {
        return PathBuf::from(path);
    }
    let pinned = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../toolchain/.bin/anvil");
    if pinned.exists() { pinned } else { PathBuf::from("anvil") }
}
