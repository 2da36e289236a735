//! A local chain for demos and tests: starts `anvil`, deploys every contract (token, oracle with
//! its reporter, market, reward distributor) with [`Operator::deploy`], gives SNM to every
//! account, and hands out ready-made clients per account.
//!
//! The anvil binary is, in order: [`DevnetConfig::anvil`], the path in the `SNM_ANVIL` environment
//! variable, the pinned copy in this repository's `toolchain/.bin/anvil` (installed by
//! `make toolchain`), or `anvil` on `PATH`. The node stops when the [`Devnet`] is dropped.
//!
//! Account 0 is the operator: it deploys and owns the contracts and reports the rate. Every
//! account's provider signs for that account only. The devnet's providers are the SDK's
//! recommended one ([`crate::provider`]) and share one [`NonceLayer`], so transactions sent
//! through the bindings and through the clients, on any of them, get consecutive nonces.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};

use crate::{
    Client, Customer, Deployment, Error, Matcher, Operator, Supplier,
    operator::DeployConfig,
    provider::{self, NonceLayer, RequestCounter},
    tx::TxOptions,
    units::{Snm, SnmPerUsd},
};

/// Environment variable naming the anvil binary to use instead of the pinned one.
pub const ANVIL_ENV: &str = "SNM_ANVIL";

/// The block gas limit of a devnet with a [`DevnetConfig::block_time`]: a block holds thousands of
/// transactions, and EIP-1559 raises the base fee after every block fuller than half its limit, by
/// up to 12.5 % a block, until queued transactions' fee caps fall below it and they wait for ever.
/// At 10^9 gas (over 10,000 market transactions) a block stays under half.
pub const FULL_BLOCK_GAS_LIMIT: u64 = 1_000_000_000;

pub(crate) mod error;

mod sweeper;

pub use self::error::DevnetError;
use self::sweeper::Sweeper;

/// How a [`Devnet`] is set up.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Number of funded accounts; account 0 is the operator, who deploys everything (default 10).
    pub accounts: u32,
    /// SNM given to every account but the operator (default 1,000,000).
    pub snm_per_account: Snm,
    /// Total SNM supply, minted to the operator at deployment (default 444,000,000).
    pub snm_supply: Snm,
    /// The oracle's first rate (default 100 SNM/USD, $0.01 per SNM).
    pub snm_per_usd: SnmPerUsd,
    /// How long a rate stays usable (default 1 day, so that tests moving time ahead by hours keep
    /// a fresh rate).
    pub oracle_max_age: Duration,
    /// Largest change of one rate report, in basis points (default 2,000).
    pub oracle_max_change_bps: u16,
    /// Seconds a deposit must cover at opening (default 1 h, as `Deploy.s.sol`).
    pub min_runway: Duration,
    /// Delay of proposed reward roots (default 0: accepted in the next block).
    pub reward_delay: Duration,
    /// Besides the block anvil mines for each transaction, one every this often (`evm_mine` from a
    /// thread of the devnet's; default 1 s). Under many concurrent transactions anvil's automatic mining can leave
    /// ready transactions in its pool with no block to come
    /// ([foundry#10122](https://github.com/foundry-rs/foundry/issues/10122)); the periodic block
    /// takes them. `None`: blocks only when transactions arrive, so the chain's clock stands still
    /// in between (for tests that need it to).
    pub sweep_interval: Option<Duration>,
    /// `Some(t)`: no block per transaction, but one block every `t` holding every transaction
    /// that arrived since (anvil's automatic mining is turned off once the contracts are deployed;
    /// `sweep_interval` is then unused). Fewer, fuller blocks: anvil 1.7.1's work per block grows
    /// with the whole state, so a chain with thousands of accounts and transactions at once
    /// spends less of it (BENCHMARKS.md, "At scale"), while each transaction waits up to `t` for
    /// its block. The block gas limit is raised to [`FULL_BLOCK_GAS_LIMIT`] so that full blocks
    /// do not push the base fee over the transactions' fee caps. `None` (default): a block per
    /// transaction.
    pub block_time: Option<Duration>,
    /// The anvil binary; `None`: `$SNM_ANVIL`, the pinned one, or `anvil` on `PATH`.
    pub anvil: Option<PathBuf>,
    /// The port anvil listens on at 127.0.0.1; `None`: a free one.
    pub port: Option<u16>,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            accounts: 10,
            snm_per_account: Snm::from_whole(1_000_000),
            snm_supply: Snm::from_whole(444_000_000),
            snm_per_usd: SnmPerUsd::from_whole(100),
            oracle_max_age: Duration::from_secs(86_400),
            oracle_max_change_bps: 2_000,
            min_runway: Duration::from_secs(3_600),
            reward_delay: Duration::ZERO,
            sweep_interval: Some(Duration::from_secs(1)),
            block_time: None,
            anvil: None,
            port: None,
        }
    }
}

/// A running local chain with the marketplace deployed on it.
#[derive(Debug)]
pub struct Devnet {
    // Before `anvil`: fields drop in order, and the ticks stop before the node does.
    sweeper: Option<Sweeper>,
    sweep_interval: Option<Duration>,
    block_time: Option<Duration>,
    anvil: AnvilInstance,
    anvil_path: PathBuf,
    anvil_args: Vec<String>,
    accounts: u32,
    nonces: NonceLayer,
    requests: RequestCounter,
    provider: DynProvider,
    providers: Vec<DynProvider>,
    signers: Vec<PrivateKeySigner>,
    deployment: Deployment,
}

impl Devnet {
    /// Starts a devnet with the default [`DevnetConfig`].
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(DevnetConfig::default()).await
    }

    /// Starts anvil, deploys every contract and funds every account.
    pub async fn start_with(config: DevnetConfig) -> Result<Self, Error> {
        let path = config.anvil.clone().unwrap_or_else(anvil_path);
        let accounts = config.accounts.max(1);
        // Only the last 64 blocks' states are kept: anvil's memory and per-block work stay smaller on
        // long runs (logs and blocks are all kept). It holds in automatic mining only, hence the
        // periodic block from outside (`sweeper`), not anvil's `--block-time`.
        let mut args = vec![
            "--accounts".to_owned(),
            accounts.to_string(),
            "--prune-history".to_owned(),
            "64".to_owned(),
        ];
        if config.block_time.is_some() {
            args.extend(["--gas-limit".to_owned(), FULL_BLOCK_GAS_LIMIT.to_string()]);
        }
        let anvil = spawn_anvil(&path, &args, config.port)?;
        // With a block time, the blocks start once the contracts are deployed (below): the
        // deployment's transactions, one after another, would each wait for one.
        let sweeper = match config.block_time {
            Some(_) => None,
            None => start_sweeper(&anvil, config.sweep_interval)?,
        };

        let signers: Vec<PrivateKeySigner> =
            anvil.keys().iter().cloned().map(PrivateKeySigner::from).collect();
        let Some((operator, others)) = signers.split_first() else {
            return Err(DevnetError::NoAccounts { path }.into());
        };
        let mut wallet = EthereumWallet::from(operator.clone());
        for signer in others {
            wallet.register_signer(signer.clone());
        }
        let nonces = NonceLayer::new();
        let requests = RequestCounter::new();
        let provider = connect(anvil.endpoint_url(), wallet, &nonces, &requests);
        let providers: Vec<DynProvider> = signers
            .iter()
            .map(|signer| connect(anvil.endpoint_url(), signer.clone(), &nonces, &requests))
            .collect();

        let deploy = DeployConfig {
            token: None,
            token_supply: config.snm_supply,
            snm_per_usd: config.snm_per_usd,
            oracle_max_age: config.oracle_max_age,
            oracle_max_change_bps: config.oracle_max_change_bps,
            reporter: None,
            min_runway: config.min_runway,
            reward_delay: config.reward_delay,
        };
        let operator = Operator::deploy(providers[0].clone(), operator.address(), &deploy).await?;
        for signer in others {
            operator.token().transfer(signer.address(), config.snm_per_account).await?;
        }
        let deployment = *operator.deployment();
        let mut devnet = Self {
            sweeper,
            sweep_interval: config.sweep_interval,
            block_time: config.block_time,
            anvil,
            anvil_path: path,
            anvil_args: args,
            accounts,
            nonces,
            requests,
            provider,
            providers,
            signers,
            deployment,
        };
        devnet.start_blocks().await?;
        Ok(devnet)
    }

    /// With a block time: turns anvil's automatic mining off and starts mining a block every
    /// block time (without one, the sweeper is already running).
    async fn start_blocks(&mut self) -> Result<(), Error> {
        let Some(block_time) = self.block_time else { return Ok(()) };
        self.provider.raw_request::<_, ()>("evm_setAutomine".into(), (false,)).await?;
        self.sweeper = start_sweeper(&self.anvil, Some(block_time))?;
        Ok(())
    }

    /// Stops the node and starts a new one on the same port with the same chain (state, blocks
    /// and logs carried over through `anvil_dumpState` / `anvil_loadState`), as a node operator's
    /// restart would. Clients keep their endpoint; requests sent while it is down fail.
    pub async fn restart(&mut self) -> Result<(), Error> {
        let state: Bytes = self.provider.raw_request("anvil_dumpState".into(), ()).await?;
        let port = self.anvil.port();
        // No block may be mined on the new node before it loads the chain.
        drop(self.sweeper.take());
        // The port is taken until the old process is gone: stop it before starting the new one.
        let mut old =
            std::mem::replace(&mut self.anvil, spawn_anvil(&self.anvil_path, &self.anvil_args, None)?);
        old.child_mut().kill().ok();
        old.child_mut().wait().ok();
        drop(old);
        self.anvil = spawn_anvil(&self.anvil_path, &self.anvil_args, Some(port))?;
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
            return Err(DevnetError::LoadState { path: self.anvil_path.clone() }.into());
        }
        match self.block_time {
            Some(_) => self.start_blocks().await?,
            None => self.sweeper = start_sweeper(&self.anvil, self.sweep_interval)?,
        }
        Ok(())
    }

    /// The node's HTTP JSON-RPC endpoint.
    pub fn endpoint(&self) -> alloy::transports::http::reqwest::Url {
        self.anvil.endpoint_url()
    }

    /// The node's WebSocket JSON-RPC endpoint (anvil serves it on the HTTP port):
    /// `ws://127.0.0.1:<port>`.
    pub fn ws_endpoint(&self) -> alloy::transports::http::reqwest::Url {
        self.anvil.ws_endpoint_url()
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

    /// The signer (private key) of account `index` ([`DevnetError::NoAccount`] beyond the
    /// devnet's accounts).
    pub fn signer(&self, index: usize) -> Result<&PrivateKeySigner, Error> {
        self.signers.get(index).ok_or_else(|| self.no_account(index))
    }

    fn no_account(&self, index: usize) -> Error {
        DevnetError::NoAccount { index, accounts: self.accounts }.into()
    }

    /// Where the contracts are.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// The SNM token's address.
    pub fn token(&self) -> Address {
        self.deployment.token
    }

    /// A client sending as account `index` (through a provider signing for it alone;
    /// [`DevnetError::NoAccount`] beyond the devnet's accounts).
    pub fn client(&self, index: usize) -> Result<Client<DynProvider>, Error> {
        let (Some(provider), Some(signer)) = (self.providers.get(index), self.signers.get(index)) else {
            return Err(self.no_account(index));
        };
        Ok(Client::new(provider.clone(), self.deployment, signer.address()))
    }

    /// A new account with a random key, given 1,000 ETH for gas and `snm` tokens by the operator.
    pub async fn new_account(&self, snm: Snm) -> Result<PrivateKeySigner, Error> {
        let signer = PrivateKeySigner::random();
        let eth = U256::from(10u64).pow(U256::from(21));
        let operator = self.connect(self.signer(0)?);
        operator.provider().raw_request::<_, ()>("anvil_setBalance".into(), (signer.address(), eth)).await?;
        if snm > Snm::ZERO {
            operator.token().transfer(signer.address(), snm).await?;
        }
        Ok(signer)
    }

    /// A client sending as `signer`'s account over a new connection: for an account made by
    /// [`Self::new_account`], or to use the devnet from another tokio runtime than the one that
    /// started it (a connection belongs to the runtime it was opened in).
    pub fn connect(&self, signer: &PrivateKeySigner) -> Client<DynProvider> {
        let provider = connect(self.endpoint(), signer.clone(), &self.nonces, &self.requests);
        Client::new(provider, self.deployment, signer.address())
    }

    /// Account `index` as a customer, signing EIP-2612 permits with its key (so purchases and
    /// deposits take one transaction; see [`Customer::with_permit_signer`]).
    pub fn customer(&self, index: usize) -> Result<Customer<DynProvider>, Error> {
        let signer = self.signer(index)?.clone();
        Ok(Customer::new(self.client(index)?).with_permit_signer(signer))
    }

    /// Account `index` as a supplier (its master account).
    pub fn supplier(&self, index: usize) -> Result<Supplier<DynProvider>, Error> {
        self.client(index).map(Supplier::new)
    }

    /// Account `index` as a matcher bot.
    pub fn matcher(&self, index: usize) -> Result<Matcher<DynProvider>, Error> {
        self.client(index).map(Matcher::new)
    }

    /// The operator (account 0): owner of every contract and the oracle's reporter.
    pub fn operator(&self) -> Result<Operator<DynProvider>, Error> {
        self.client(0).map(Operator::new)
    }

    /// The SNM balance of `account`.
    pub async fn snm_balance(&self, account: Address) -> Result<Snm, Error> {
        self.client(0)?.token().balance(account).await
    }

    /// The JSON-RPC requests sent to the node so far through the devnet's providers and the
    /// clients of [`Self::connect`], by method.
    pub fn requests(&self) -> &RequestCounter {
        &self.requests
    }

    /// The anvil process's id (to read its memory use, say).
    pub fn anvil_pid(&self) -> u32 {
        self.anvil.child().id()
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64, Error> {
        Ok(self.provider.get_block_number().await?)
    }

    /// Moves the chain's time ahead by `by` and mines a block at the new time.
    pub async fn advance_time(&self, by: Duration) -> Result<(), Error> {
        self.provider.raw_request::<_, i64>("evm_increaseTime".into(), (by.as_secs(),)).await?;
        self.provider.raw_request::<_, String>("evm_mine".into(), ()).await?;
        Ok(())
    }
}

/// The recommended provider over `url` signing with `wallet`, with the devnet's `nonces`, its
/// requests counted by `requests`.
fn connect(
    url: alloy::transports::http::reqwest::Url,
    wallet: impl Into<EthereumWallet>,
    nonces: &NonceLayer,
    requests: &RequestCounter,
) -> DynProvider {
    let client = provider::counted_http_client(url, requests);
    provider::connect_client(client, wallet, &TxOptions::default(), nonces)
}

fn start_sweeper(anvil: &AnvilInstance, interval: Option<Duration>) -> Result<Option<Sweeper>, Error> {
    let Some(interval) = interval else { return Ok(None) };
    let sweeper =
        Sweeper::start(anvil.endpoint_url(), interval).map_err(|source| DevnetError::Sweeper { source })?;
    Ok(Some(sweeper))
}

fn spawn_anvil(path: &Path, args: &[String], port: Option<u16>) -> Result<AnvilInstance, Error> {
    let mut anvil = Anvil::new().path(path).args(args);
    if let Some(port) = port {
        anvil = anvil.port(port);
    }
    anvil.try_spawn().map_err(|source| DevnetError::Spawn { path: path.to_owned(), source }.into())
}

/// The anvil binary a devnet starts by default: `$SNM_ANVIL`, else the pinned one, else `anvil` on
/// `PATH`.
pub fn anvil_path() -> PathBuf {
    if let Some(path) = std::env::var_os(ANVIL_ENV) {
        return PathBuf::from(path);
    }
    let pinned = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../toolchain/.bin/anvil");
    if pinned.exists() { pinned } else { PathBuf::from("anvil") }
}
