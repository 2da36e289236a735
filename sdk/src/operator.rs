//! The operator's client: deploys the contracts, and holds the services through which it reports
//! the rate, sets the fee, pauses, and publishes reward rounds.

use std::time::Duration;

use alloy::{
    primitives::{Address, TxKind, U256},
    providers::Provider,
    sol_types::{SolCall, SolConstructor},
};

use crate::{
    Client, Deployment, Error,
    bindings::{Market, PriceOracle, RewardDistributor, SNMToken},
    error::Target,
    services::{DistributorService, EscrowService, MarketService, OracleService, TokenService},
    tx::Call,
    units::{Snm, SnmPerUsd},
};

/// How [`Operator::deploy`] sets the contracts up. The defaults are those of
/// `contracts/script/Deploy.s.sol`, plus a reward distributor with a one-day delay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployConfig {
    /// An existing SNM token; `None` deploys one minting `token_supply` to the operator.
    pub token: Option<Address>,
    /// Supply of a newly deployed token (default 444,000,000 SNM).
    pub token_supply: Snm,
    /// The oracle's first rate (default 100 SNM/USD, that is $0.01 per SNM).
    pub snm_per_usd: SnmPerUsd,
    /// How long a rate stays usable (default 1 h).
    pub oracle_max_age: Duration,
    /// Largest change of one rate report, in basis points (default 2,000).
    pub oracle_max_change_bps: u16,
    /// Who reports the rate; `None`: the operator.
    pub reporter: Option<Address>,
    /// Seconds a deposit must cover at opening (default 1 h).
    pub min_runway: Duration,
    /// How long a proposed reward root waits before it can be accepted (default 1 day; 0 only for
    /// tests and devnets).
    pub reward_delay: Duration,
}

impl Default for DeployConfig {
    fn default() -> Self {
        Self {
            token: None,
            token_supply: Snm::from_whole(444_000_000),
            snm_per_usd: SnmPerUsd::from_whole(100),
            oracle_max_age: Duration::from_secs(3_600),
            oracle_max_change_bps: 2_000,
            reporter: None,
            min_runway: Duration::from_secs(3_600),
            reward_delay: Duration::from_secs(86_400),
        }
    }
}

/// The operator: owner of the market, the oracle and the reward distributor.
///
/// It holds every service (see [`crate::services`]): it pauses through [`Self::market`]
/// ([`MarketService::set_paused`]), sets the fee through [`Self::escrow`]
/// ([`EscrowService::set_fee`]), reports the rate through [`Self::oracle`]
/// ([`OracleService::report`]), funds and publishes reward rounds through [`Self::distributor`]
/// (`publish_round`, with the `rewards` feature). Its own method deploys the whole set.
#[derive(Clone, Debug)]
pub struct Operator<P> {
    market: MarketService<P>,
    escrow: EscrowService<P>,
    oracle: OracleService<P>,
    token: TokenService<P>,
    distributor: Option<DistributorService<P>>,
}

impl<P: Provider + Clone> From<Client<P>> for Operator<P> {
    fn from(client: Client<P>) -> Self {
        Self::new(client)
    }
}

impl<P: Provider + Clone> Operator<P> {
    /// The operator acting as `client`'s sender (the contracts' owner).
    pub fn new(client: Client<P>) -> Self {
        Self {
            market: client.market(),
            escrow: client.escrow(),
            oracle: client.oracle(),
            token: client.token(),
            distributor: client.distributor().ok(),
        }
    }

    /// Deploys the whole set from `sender`, which owns it: the token (unless given), the oracle
    /// (with its reporter), the market and the reward distributor. The devnet uses this.
    pub async fn deploy(provider: P, sender: Address, config: &DeployConfig) -> Result<Self, Error> {
        let placeholder = Deployment {
            token: Address::ZERO,
            oracle: Address::ZERO,
            market: Address::ZERO,
            distributor: None,
            start_block: 0,
            chain_id: None,
        };
        let deployer = Client::new(provider, placeholder, sender);
        let token = match config.token {
            Some(token) => token,
            None => {
                let args = SNMToken::constructorCall { holder: sender, supply: config.token_supply.wei() };
                deployer.create(&SNMToken::BYTECODE, &args.abi_encode(), Target::Token).await?.0
            }
        };
        let args = PriceOracle::constructorCall {
            owner_: sender,
            initialRate: config.snm_per_usd.scaled(),
            maxAge_: U256::from(config.oracle_max_age.as_secs()),
            maxChangeBps_: U256::from(config.oracle_max_change_bps),
        };
        let (oracle, _) = deployer.create(&PriceOracle::BYTECODE, &args.abi_encode(), Target::Oracle).await?;
        let reporter = config.reporter.unwrap_or(sender);
        let call = PriceOracle::setReporterCall { reporter, allowed: true };
        deployer.send(Call::new(oracle, call.abi_encode(), Target::Oracle)).await?;
        let args = Market::constructorCall {
            owner_: sender,
            token_: token,
            oracle_: oracle,
            minRunway_: U256::from(config.min_runway.as_secs()),
        };
        let (market, start_block) =
            deployer.create(&Market::BYTECODE, &args.abi_encode(), Target::Market).await?;
        let args = RewardDistributor::constructorCall {
            token_: token,
            owner_: sender,
            delay_: config.reward_delay.as_secs(),
        };
        let (distributor, _) =
            deployer.create(&RewardDistributor::BYTECODE, &args.abi_encode(), Target::Distributor).await?;
        let chain_id = Some(deployer.chain_id().await?);
        let deployment =
            Deployment { token, oracle, market, distributor: Some(distributor), start_block, chain_id };
        Ok(Self::new(Client::new(deployer.provider().clone(), deployment, sender)))
    }

    /// The account it acts as.
    pub fn sender(&self) -> Address {
        self.client().sender()
    }

    /// The connection it sends through.
    pub fn client(&self) -> &Client<P> {
        self.market.client()
    }

    /// The contracts' addresses.
    pub fn deployment(&self) -> &Deployment {
        self.client().deployment()
    }

    /// The market: pause.
    pub fn market(&self) -> &MarketService<P> {
        &self.market
    }

    /// The escrow: the fee and its withdrawal.
    pub fn escrow(&self) -> &EscrowService<P> {
        &self.escrow
    }

    /// The price oracle: reports, reporters, the rate's maximum age.
    pub fn oracle(&self) -> &OracleService<P> {
        &self.oracle
    }

    /// The token: the operator's tokens (the whole supply of a token it deployed).
    pub fn token(&self) -> &TokenService<P> {
        &self.token
    }

    /// The reward distributor: funding, roots, rounds; [`Error::NoDistributor`] when the
    /// deployment names none.
    pub fn distributor(&self) -> Result<&DistributorService<P>, Error> {
        self.distributor.as_ref().ok_or(Error::NoDistributor)
    }
}

impl<P: Provider + Clone> Client<P> {
    /// Deploys `bytecode` with constructor `args`; returns the address and the block.
    pub(crate) async fn create(
        &self,
        bytecode: &[u8],
        args: &[u8],
        target: Target,
    ) -> Result<(Address, u64), Error> {
        let call = Call { to: TxKind::Create, input: [bytecode, args].concat().into(), target };
        let receipt = self.send(call).await?;
        let address = receipt.contract_address.ok_or_else(|| Error::MissingEvent {
            event: "contract creation",
            transaction: receipt.transaction_hash,
        })?;
        Ok((address, receipt.block_number.unwrap_or_default()))
    }
}
