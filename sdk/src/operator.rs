//! The operator's client: deploys the contracts, reports the rate, sets fees, pauses, and publishes
//! reward rounds.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, Keccak256, TxKind, U256},
    providers::Provider,
    sol_types::{SolCall, SolConstructor},
};

use crate::{
    Client, Error,
    bindings::{Market, PriceOracle, RewardDistributor, SNMToken},
    client::Deployment,
    error::{Funds, Target, from_contract},
    rewards::Round,
    tx::{self, Call},
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

/// The reward distributor's state ([`Operator::reward_status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardStatus {
    /// The accepted round (0 before the first).
    pub round: u64,
    /// The accepted root claims are checked against (zero before the first round).
    pub root: B256,
    /// Its cumulative total: everything ever claimable under it.
    pub total: Snm,
    /// Everything funded so far.
    pub funded: Snm,
    /// Where the accepted round's proofs are published.
    pub uri: String,
    /// Hash of the proofs file.
    pub content_hash: B256,
    /// The proposal waiting for its delay, if any.
    pub pending: Option<PendingRound>,
}

/// A proposed reward root waiting to be accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRound {
    /// The round it becomes.
    pub round: u64,
    /// The proposed root.
    pub root: B256,
    /// Its cumulative total.
    pub total: Snm,
    /// Earliest block time it can be accepted.
    pub acceptable_at: u64,
}

crate::client::role_client! {
    /// The operator: owner of the market, the oracle and the reward distributor.
    ///
    /// Dereferences to [`Client`] for the reads and actions open to every role.
    Operator
}

impl<P: Provider + Clone> Operator<P> {
    /// Deploys the whole set from `sender`, which owns it: the token (unless given), the oracle
    /// (with its reporter), the market and the reward distributor. The devnet uses this.
    pub async fn deploy(provider: P, sender: Address, config: &DeployConfig) -> Result<Self, Error> {
        let placeholder = Deployment {
            token: Address::ZERO,
            oracle: Address::ZERO,
            market: Address::ZERO,
            distributor: None,
            start_block: 0,
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
        let deployment = Deployment { token, oracle, market, distributor: Some(distributor), start_block };
        Ok(Self { client: Client::new(deployer.provider().clone(), deployment, sender) })
    }

    // ------------------------------------------------------------------ oracle

    /// Reports a new SNM/USD rate (the sender must be a reporter).
    pub async fn report_rate(&self, rate: SnmPerUsd) -> Result<(), Error> {
        self.send_to(Target::Oracle, PriceOracle::reportCall { snmPerUsd: rate.scaled() }).await.map(drop)
    }

    /// Allows (or stops) `reporter` to report rates.
    pub async fn set_reporter(&self, reporter: Address, allowed: bool) -> Result<(), Error> {
        self.send_to(Target::Oracle, PriceOracle::setReporterCall { reporter, allowed }).await.map(drop)
    }

    /// Sets how long a rate stays usable.
    pub async fn set_oracle_max_age(&self, max_age: Duration) -> Result<(), Error> {
        let call = PriceOracle::setMaxAgeCall { maxAge_: U256::from(max_age.as_secs()) };
        self.send_to(Target::Oracle, call).await.map(drop)
    }

    // ------------------------------------------------------------------ market

    /// Sets the protocol fee (basis points of each supplier payment, at most 1,000) and the
    /// treasury receiving it; applies to deals opened afterwards.
    pub async fn set_fee(&self, fee_bps: u16, treasury: Address) -> Result<(), Error> {
        let call = Market::setFeeCall { feeBps: U256::from(fee_bps), treasury };
        self.send_market(call).await.map(drop)
    }

    /// Pauses (`true`) or resumes new deals. Settling, closing, top-ups and withdrawals always work.
    pub async fn set_paused(&self, paused: bool) -> Result<(), Error> {
        self.send_market(Market::setPausedCall { paused_: paused }).await.map(drop)
    }

    /// Sends every accrued fee to the treasury; returns the amount.
    pub async fn withdraw_fees(&self) -> Result<Snm, Error> {
        let withdrawn: Market::FeesWithdrawn = self.send_market_event(Market::withdrawFeesCall {}).await?;
        Ok(Snm::from_wei(withdrawn.amount))
    }

    // ------------------------------------------------------------------ rewards

    /// Adds `amount` of the sender's tokens to the reward distributor (approving it first).
    pub async fn fund_rewards(&self, amount: Snm) -> Result<(), Error> {
        let distributor = self.distributor_address()?;
        self.check_funds(Funds::TokenBalance, self.token_balance(self.sender()).await?, amount)?;
        let approve = SNMToken::approveCall { spender: distributor, value: amount.wei() };
        self.send_to(Target::Token, approve).await?;
        self.send_to(Target::Distributor, RewardDistributor::fundCall { amount: amount.wei() })
            .await
            .map(drop)
    }

    /// Publishes a round of the reward engine: funds the distributor with what the round adds
    /// (its cumulative total minus everything funded so far, so a retry never funds twice),
    /// proposes its root with its total, waits out the delay in block time, and accepts it. The
    /// content hash is the keccak-256 of the round's Merkle dump (`round-N.merkle.json` as
    /// [`Round::write`] writes it); `uri` says where it is published.
    ///
    /// The wait polls the chain's time: on a devnet with a delay, advance it
    /// ([`crate::devnet::Devnet::advance_time`]) or use [`Self::propose_round`] and
    /// [`Self::accept_round`].
    pub async fn publish_round(&self, round: &Round, uri: &str) -> Result<RewardStatus, Error> {
        let pending = self.propose_round(round, uri).await?;
        self.accept_round(&pending).await
    }

    /// The first half of [`Self::publish_round`]: funds what is missing and proposes the root.
    pub async fn propose_round(&self, round: &Round, uri: &str) -> Result<PendingRound, Error> {
        let distributor = self.distributor_address()?;
        let status = self.reward_status().await?;
        if let Some(missing) = round.total().checked_sub(status.funded).filter(|m| *m > Snm::ZERO) {
            self.fund_rewards(missing).await?;
        }
        let mut hasher = HashWriter(Keccak256::new());
        round.tree().write_dump(&mut hasher).map_err(|e| Error::InvalidInput(format!("dump: {e}")))?;
        let call = RewardDistributor::proposeRootCall {
            root: round.root(),
            total: round.total().wei(),
            contentHash: hasher.0.finalize(),
            uri: uri.to_owned(),
        };
        let receipt = self.send_to(Target::Distributor, call).await?;
        let proposed: RewardDistributor::RootProposed = tx::event(&receipt, distributor)?;
        Ok(PendingRound {
            round: proposed.round,
            root: proposed.root,
            total: Snm::from_wei(proposed.total),
            acceptable_at: proposed.acceptableAt,
        })
    }

    /// The second half of [`Self::publish_round`]: waits until the chain's time reaches the
    /// proposal's `acceptable_at` (at most that long plus the receipt timeout, then
    /// [`Error::Timeout`]) and accepts it.
    pub async fn accept_round(&self, pending: &PendingRound) -> Result<RewardStatus, Error> {
        self.distributor_address()?; // refused before the wait, not after
        let start = std::time::Instant::now();
        let mut now = self.now().await?;
        let limit =
            Duration::from_secs(pending.acceptable_at.saturating_sub(now)) + self.options().receipt_timeout;
        while now < pending.acceptable_at {
            if start.elapsed() >= limit {
                return Err(Error::Timeout {
                    what: format!("the delay of root {}", pending.root),
                    waited: limit,
                });
            }
            tokio::time::sleep(self.options().poll_interval).await;
            now = self.now().await?;
        }
        self.send_to(Target::Distributor, RewardDistributor::acceptRootCall { root: pending.root }).await?;
        self.reward_status().await
    }

    /// The accepted root, its total, what was funded, and any pending proposal.
    pub async fn reward_status(&self) -> Result<RewardStatus, Error> {
        let distributor = RewardDistributor::new(self.distributor_address()?, self.provider());
        let (current, pending, funded) =
            (distributor.currentRoot(), distributor.pendingRoot(), distributor.totalFunded());
        let (current, pending, funded) = tokio::try_join!(current.call(), pending.call(), funded.call())
            .map_err(|e| from_contract(e, Target::Distributor))?;
        Ok(RewardStatus {
            round: current.round,
            root: current.root,
            total: Snm::from_wei(current.total),
            funded: Snm::from_wei(funded),
            uri: current.uri,
            content_hash: current.contentHash,
            pending: (!pending.root.is_zero()).then(|| PendingRound {
                round: pending.round,
                root: pending.root,
                total: Snm::from_wei(pending.total),
                acceptable_at: pending.acceptableAt,
            }),
        })
    }
}

impl<P: Provider + Clone> Client<P> {
    /// Deploys `bytecode` with constructor `args`; returns the address and the block.
    async fn create(&self, bytecode: &[u8], args: &[u8], target: Target) -> Result<(Address, u64), Error> {
        let call = Call { to: TxKind::Create, input: [bytecode, args].concat().into(), target };
        let receipt = self.send(call).await?;
        let address = receipt.contract_address.ok_or_else(|| Error::MissingEvent {
            event: "contract creation",
            transaction: receipt.transaction_hash,
        })?;
        Ok((address, receipt.block_number.unwrap_or_default()))
    }
}

/// Feeds written bytes to a Keccak-256 hasher.
struct HashWriter(Keccak256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
