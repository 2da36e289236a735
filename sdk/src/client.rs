//! The connection every role client shares: a provider, the contracts' addresses, the sending
//! account, and the reads and actions open to anyone.

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::{Filter, Log, TransactionReceipt},
    signers::Signer,
    sol_types::{Eip712Domain, SolCall, SolEvent, SolStruct},
};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::{
    Error,
    bindings::{
        IRewardDistributor,
        Market::{self, MarketEvents, MarketInstance},
        PriceOracle, RewardDistributor, SNMToken,
    },
    error::{Funds, Target, from_contract},
    events::{EventCursor, EventStream, MAX_BLOCKS_PER_QUERY, block_ranges},
    market::{Deal, DealClosed, DealId, DealSettled, Rate},
    orderbook::OrderBook,
    rewards::{RewardClaim, RewardMultiProof},
    tx::{self, Call, TxOptions},
    units::{Snm, SnmPerUsd, Term, UsdPerSecond},
};

/// Defines a role client: a struct wrapping a [`Client`], dereferencing to it, made with `new` or
/// `From<Client>`.
macro_rules! role_client {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name<P> {
            client: $crate::Client<P>,
        }

        impl<P> std::ops::Deref for $name<P> {
            type Target = $crate::Client<P>;

            fn deref(&self) -> &$crate::Client<P> {
                &self.client
            }
        }

        impl<P: alloy::providers::Provider + Clone> From<$crate::Client<P>> for $name<P> {
            fn from(client: $crate::Client<P>) -> Self {
                Self { client }
            }
        }

        impl<P: alloy::providers::Provider + Clone> $name<P> {
            #[doc = concat!("The ", stringify!($name), " acting as `client`'s sender.")]
            pub fn new(client: $crate::Client<P>) -> Self {
                Self { client }
            }
        }
    };
}
pub(crate) use role_client;

/// A stream of the market's events, typed by the generated `MarketEvents` enum, resumable from a
/// cursor (see [`EventStream`]).
pub type MarketEventStream<P> = EventStream<P, MarketEvents>;

/// Where the marketplace's contracts are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deployment {
    /// The SNM token.
    pub token: Address,
    /// The SNM/USD price oracle.
    pub oracle: Address,
    /// The market (with its escrow and identity parts).
    pub market: Address,
    /// The reward distributor, if there is one.
    #[serde(default, alias = "rewards")]
    pub distributor: Option<Address>,
    /// The block the market was deployed in: where event scans start.
    #[serde(default, alias = "startBlock")]
    pub start_block: u64,
}

impl Deployment {
    /// Reads a deployment file: the JSON this type serializes to, or the one
    /// `contracts/script/Deploy.s.sol` writes (`token`, `oracle`, `market`, `rewards`, `startBlock`;
    /// other keys are ignored).
    pub fn from_file(path: &std::path::Path) -> Result<Self, Error> {
        let text = std::fs::read(path)
            .map_err(|e| Error::InvalidInput(format!("deployment file {}: {e}", path.display())))?;
        serde_json::from_slice(&text)
            .map_err(|e| Error::InvalidInput(format!("deployment file {} is not valid: {e}", path.display())))
    }

    /// Writes the deployment as JSON (readable by [`Deployment::from_file`]).
    pub fn write_file(&self, path: &std::path::Path) -> Result<(), Error> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::InvalidInput(e.to_string()))?;
        std::fs::write(path, json)
            .map_err(|e| Error::InvalidInput(format!("deployment file {}: {e}", path.display())))
    }

    /// Reads the token and the oracle from the market at `market`. Event scans start at block 0;
    /// set [`Deployment::start_block`] to the market's deployment block to skip older blocks.
    pub async fn discover<P: Provider>(
        provider: &P,
        market: Address,
        distributor: Option<Address>,
    ) -> Result<Self, Error> {
        let instance = Market::new(market, provider);
        let (token, oracle) = (instance.token(), instance.oracle());
        let (token, oracle) = tokio::try_join!(token.call(), oracle.call())?;
        Ok(Self { token, oracle, market, distributor, start_block: 0 })
    }
}

/// The deposit rule of the market: opening needs a deposit covering `min_runway` seconds (or the
/// whole fixed term when shorter) at the ask's price and the current rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepositRule {
    /// The oracle's current rate.
    pub rate: SnmPerUsd,
    /// Seconds a deposit must cover at opening.
    pub min_runway: Duration,
}

impl DepositRule {
    /// The seconds a deposit must cover for `term`.
    pub fn runway_secs(&self, term: Term) -> u64 {
        match term.secs() {
            0 => self.min_runway.as_secs(),
            secs => secs.min(self.min_runway.as_secs()),
        }
    }

    /// The least deposit the contract accepts for `term` at `price` (rounded up, as it checks).
    pub fn required(&self, price: UsdPerSecond, term: Term) -> Option<Snm> {
        price.snm_needed_up(self.runway_secs(term), self.rate)
    }
}

/// The protocol fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fee {
    /// Basis points of each supplier payment.
    pub bps: u16,
    /// Who receives it; `None` while the fee is zero and no treasury was set.
    pub treasury: Option<Address>,
}

/// What one reward claim transaction paid ([`Client::claim_reward_for`],
/// [`Client::claim_rewards`], [`Client::claim_rewards_multiproof`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardsPaid {
    /// Each account paid and the amount paid now, in the transaction's order (its `Claimed`
    /// events). A batch entry with nothing left to claim is absent.
    pub paid: Vec<(Address, Snm)>,
    /// Gas the transaction used.
    pub gas_used: u64,
    /// The transaction.
    pub transaction: B256,
}

impl RewardsPaid {
    /// Everything the transaction paid.
    pub fn total(&self) -> Snm {
        self.paid.iter().map(|(_, amount)| *amount).sum()
    }

    /// What `account` was paid (zero when it is not among the payments).
    pub fn paid_to(&self, account: Address) -> Snm {
        self.paid.iter().filter(|(a, _)| *a == account).map(|(_, amount)| *amount).sum()
    }
}

impl From<&RewardClaim> for IRewardDistributor::Claim {
    fn from(claim: &RewardClaim) -> Self {
        Self { account: claim.account, cumulativeAmount: claim.cumulative.wei(), proof: claim.proof.clone() }
    }
}

/// A connection to the marketplace as one account: the provider, the contracts and the sender.
///
/// Role clients ([`crate::Customer`], [`crate::Supplier`], [`crate::Operator`],
/// [`crate::Matcher`]) wrap one and dereference to it, so the reads and actions here are theirs
/// too. `P` is any alloy provider that can send transactions for `sender`: one with a wallet for
/// it ([`crate::provider::connect_http`], or your own: see [`crate::provider`] for what to add),
/// or a node that signs for it. Transactions are simulated before they are sent and never leave a
/// nonce gap (see [`crate::tx`]).
#[derive(Clone, Debug)]
pub struct Client<P> {
    provider: P,
    deployment: Deployment,
    sender: Address,
    options: TxOptions,
    chain_id: Arc<OnceCell<u64>>,
    pace: Arc<tx::ReceiptPace>,
}

impl<P: Provider + Clone> Client<P> {
    /// A client of the contracts of `deployment`, sending as `sender` through `provider`.
    pub fn new(provider: P, deployment: Deployment, sender: Address) -> Self {
        Self {
            provider,
            deployment,
            sender,
            options: TxOptions::default(),
            chain_id: Arc::default(),
            pace: Arc::default(),
        }
    }

    /// The same client with other transaction options.
    pub fn with_options(self, options: TxOptions) -> Self {
        Self { options, ..self }
    }

    /// The same provider and contracts, sending as another account (the provider must sign for it).
    pub fn as_account(&self, sender: Address) -> Self {
        Self { sender, ..self.clone() }
    }

    /// The account transactions are sent from.
    pub fn sender(&self) -> Address {
        self.sender
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// The contracts' addresses.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// The transaction options.
    pub fn options(&self) -> &TxOptions {
        &self.options
    }

    /// The market's generated binding, for what the clients do not cover.
    pub fn market_contract(&self) -> MarketInstance<&P> {
        Market::new(self.deployment.market, &self.provider)
    }

    // ------------------------------------------------------------------ reads

    /// The latest block's timestamp: the chain's "now".
    pub async fn now(&self) -> Result<u64, Error> {
        let block = self.provider.get_block_by_number(BlockNumberOrTag::Latest).await?;
        block
            .map(|b| b.header.timestamp)
            .ok_or_else(|| Error::InvalidInput("the node has no latest block".into()))
    }

    /// `account`'s SNM tokens.
    pub async fn token_balance(&self, account: Address) -> Result<Snm, Error> {
        let token = SNMToken::new(self.deployment.token, &self.provider);
        token.balanceOf(account).call().await.map(Snm::from_wei).map_err(|e| from_contract(e, Target::Token))
    }

    /// What the market may take from `owner`'s tokens.
    pub async fn allowance(&self, owner: Address) -> Result<Snm, Error> {
        let token = SNMToken::new(self.deployment.token, &self.provider);
        let allowance = token.allowance(owner, self.deployment.market).call().await;
        allowance.map(Snm::from_wei).map_err(|e| from_contract(e, Target::Token))
    }

    /// `account`'s free balance in the market (deposited, not locked in a deal).
    pub async fn free_balance(&self, account: Address) -> Result<Snm, Error> {
        Ok(Snm::from_wei(self.market_contract().balanceOf(account).call().await?))
    }

    /// `master`'s earnings in the market, not withdrawn yet.
    pub async fn earnings(&self, master: Address) -> Result<Snm, Error> {
        Ok(Snm::from_wei(self.market_contract().earningsOf(master).call().await?))
    }

    /// The deal `id` as stored, or `None` when no deal has that id.
    pub async fn deal(&self, id: DealId) -> Result<Option<Deal>, Error> {
        let stored = self.market_contract().getDeal(id.word()).call().await?;
        Ok(Deal::from_stored(id, &stored))
    }

    /// The oracle's current rate, however old (see [`Rate::is_fresh`]).
    pub async fn rate(&self) -> Result<Rate, Error> {
        let oracle = PriceOracle::new(self.deployment.oracle, &self.provider);
        let (latest, max_age) = (oracle.latestRate(), oracle.maxAge());
        let (latest, max_age) =
            tokio::try_join!(latest.call(), max_age.call()).map_err(|e| from_contract(e, Target::Oracle))?;
        Ok(Rate {
            snm_per_usd: SnmPerUsd::from_scaled(latest.snmPerUsd),
            updated_at: latest.updatedAt.saturating_to(),
            max_age: Duration::from_secs(max_age.saturating_to()),
        })
    }

    /// The oracle's current rate alone: one call, where [`Self::rate`] also reads its maximum age.
    pub(crate) async fn snm_per_usd(&self) -> Result<SnmPerUsd, Error> {
        let oracle = PriceOracle::new(self.deployment.oracle, &self.provider);
        let latest = oracle.latestRate().call().await.map_err(|e| from_contract(e, Target::Oracle))?;
        Ok(SnmPerUsd::from_scaled(latest.snmPerUsd))
    }

    /// The market's deposit rule: the current rate and the minimum runway.
    pub async fn deposit_rule(&self) -> Result<DepositRule, Error> {
        let market = self.market_contract();
        let (rate, runway) =
            tokio::try_join!(self.snm_per_usd(), async { Ok(market.minRunway().call().await?) })?;
        Ok(DepositRule { rate, min_runway: Duration::from_secs(runway.saturating_to()) })
    }

    /// The protocol fee.
    pub async fn fee(&self) -> Result<Fee, Error> {
        let fee = self.market_contract().fee().call().await?;
        Ok(Fee {
            bps: fee.feeBps.saturating_to(),
            treasury: (!fee.treasury.is_zero()).then_some(fee.treasury),
        })
    }

    /// Whether new deals are paused.
    pub async fn paused(&self) -> Result<bool, Error> {
        Ok(self.market_contract().paused().call().await?)
    }

    /// The confirmed master of `worker`, if any.
    pub async fn master_of(&self, worker: Address) -> Result<Option<Address>, Error> {
        let master = self.market_contract().masterOf(worker).call().await?;
        Ok((!master.is_zero()).then_some(master))
    }

    /// The master `worker` asked to join and that has not confirmed it yet, if any.
    pub async fn pending_master_of(&self, worker: Address) -> Result<Option<Address>, Error> {
        let master = self.market_contract().pendingMasterOf(worker).call().await?;
        Ok((!master.is_zero()).then_some(master))
    }

    /// Whether `owner` has blacklisted `target`.
    pub async fn is_blacklisted(&self, owner: Address, target: Address) -> Result<bool, Error> {
        Ok(self.market_contract().isBlacklisted(owner, target).call().await?)
    }

    /// Where the deal's workload serves, as its supplier last announced it
    /// ([`Supplier::announce_endpoint`](crate::Supplier::announce_endpoint)); `None` before any
    /// announcement.
    pub async fn endpoint(&self, deal: DealId) -> Result<Option<String>, Error> {
        Ok(self.endpoint_since(deal, self.deployment.start_block).await?.0)
    }

    /// The deal's last endpoint announced from block `from` to the chain's head, and that head:
    /// a waiter reads only the blocks after it next time.
    pub(crate) async fn endpoint_since(
        &self,
        deal: DealId,
        from: u64,
    ) -> Result<(Option<String>, u64), Error> {
        let filter = Filter::new()
            .address(self.deployment.market)
            .event_signature(Market::EndpointAnnounced::SIGNATURE_HASH)
            .topic1(deal.word());
        let mut last = None;
        let head = self
            .scan_logs(filter, from, |log| {
                if let Ok(announced) = Market::EndpointAnnounced::decode_log(&log.inner) {
                    last = Some(announced.data.endpoint);
                }
                Ok(())
            })
            .await?;
        Ok((last, head))
    }

    // ------------------------------------------------------------------ events and the order book

    /// The market's events after `from`, typed (see [`EventStream`]).
    pub fn events(&self, from: EventCursor) -> MarketEventStream<P> {
        EventStream::resume(self.provider.clone(), self.deployment.market, from)
            .with_poll_interval(self.options.poll_interval)
    }

    /// The order book, read from every market event since the deployment.
    pub async fn order_book(&self) -> Result<OrderBook, Error> {
        let mut book = OrderBook::starting_at(EventCursor::from_block(self.deployment.start_block));
        self.sync(&mut book).await?;
        Ok(book)
    }

    /// Brings `book` up to date from its cursor; returns how many orders were added or removed.
    pub async fn sync(&self, book: &mut OrderBook) -> Result<usize, Error> {
        let events = self.events(book.cursor()).poll().await?;
        Ok(events.iter().filter(|event| book.apply(event)).count())
    }

    // ------------------------------------------------------------------ actions open to every role

    /// Lets the market take up to `amount` of the sender's tokens (ERC-20 `approve`; replaces the
    /// previous allowance). Needed before [`crate::Customer::deposit`] and
    /// [`crate::Customer::quick_buy`]; the `*_with_permit` variants need none.
    pub async fn approve(&self, amount: Snm) -> Result<(), Error> {
        let call = SNMToken::approveCall { spender: self.deployment.market, value: amount.wei() };
        self.send_to(Target::Token, call).await.map(drop)
    }

    /// Sends `amount` SNM tokens to `to`.
    pub async fn transfer(&self, to: Address, amount: Snm) -> Result<(), Error> {
        self.check_funds(Funds::TokenBalance, self.token_balance(self.sender).await?, amount)?;
        self.send_to(Target::Token, SNMToken::transferCall { to, value: amount.wei() }).await.map(drop)
    }

    /// Withdraws `amount` of the sender's free balance to its own address; returns the free
    /// balance left. Checked first: [`Error::InsufficientFunds`] with [`Funds::FreeBalance`].
    pub async fn withdraw(&self, amount: Snm) -> Result<Snm, Error> {
        self.check_funds(Funds::FreeBalance, self.free_balance(self.sender).await?, amount)?;
        let call = Market::withdrawCall { amount: amount.wei(), to: self.sender };
        let withdrawn: Market::Withdrawn = self.send_market_event(call).await?;
        Ok(Snm::from_wei(withdrawn.balance))
    }

    /// Blacklists (or un-blacklists) `target`: no deal between the sender and it opens.
    pub async fn set_blacklist(&self, target: Address, blacklisted: bool) -> Result<(), Error> {
        self.send_market(Market::setBlacklistCall { target, blacklisted }).await.map(drop)
    }

    /// Pays a deal's unsettled seconds from its deposit (anyone may); `None` when no second was
    /// due. The deal closes with [`crate::market::CloseReason::OutOfFunds`] when its deposit runs
    /// out.
    pub async fn settle(&self, deal: DealId) -> Result<Option<DealSettled>, Error> {
        let receipt = self.send_market(Market::settleCall { dealId: deal.word() }).await?;
        Ok(tx::events::<Market::DealSettled>(&receipt, self.deployment.market).next().map(|e| (&e).into()))
    }

    /// Closes a deal after settling it, refunding the rest of the deposit to the customer. With
    /// `blacklist`, the closing party also blacklists the other side.
    pub async fn close_deal(&self, deal: DealId, blacklist: bool) -> Result<DealClosed, Error> {
        let call = Market::closeDealCall { dealId: deal.word(), blacklist };
        Ok((&self.send_market_event::<Market::DealClosed>(call).await?).into())
    }

    /// Proposes new terms for a deal the sender is a party of: `price` from now on, and the end
    /// time (`None` for a spot deal, which stays spot; a fixed-term deal needs a future time). The
    /// other side accepts with [`Self::accept_change`].
    pub async fn propose_change(
        &self,
        deal: DealId,
        price: UsdPerSecond,
        end_time: Option<u64>,
    ) -> Result<(), Error> {
        let call = Market::proposeChangeCall {
            dealId: deal.word(),
            pricePerSecond: price.scaled(),
            endTime: U256::from(end_time.unwrap_or(0)),
        };
        self.send_market(call).await.map(drop)
    }

    /// Accepts the other side's pending change of a deal (the terms must be the proposed ones);
    /// the seconds before are settled at the old price.
    pub async fn accept_change(
        &self,
        deal: DealId,
        price: UsdPerSecond,
        end_time: Option<u64>,
    ) -> Result<(), Error> {
        let call = Market::acceptChangeCall {
            dealId: deal.word(),
            pricePerSecond: price.scaled(),
            endTime: U256::from(end_time.unwrap_or(0)),
        };
        self.send_market(call).await.map(drop)
    }

    /// Withdraws the sender's pending change of a deal.
    pub async fn cancel_change(&self, deal: DealId) -> Result<(), Error> {
        self.send_market(Market::cancelChangeCall { dealId: deal.word() }).await.map(drop)
    }

    /// The sender, as a worker (a machine's key), asks to join `master`; the master then confirms
    /// (see [`crate::Supplier::confirm_worker`]).
    pub async fn request_worker(&self, master: Address) -> Result<(), Error> {
        self.send_market(Market::requestWorkerCall { master }).await.map(drop)
    }

    // ------------------------------------------------------------------ reward claims, open to anyone

    /// What `account` has claimed from the reward distributor so far (cumulative).
    pub async fn claimed_reward(&self, account: Address) -> Result<Snm, Error> {
        let distributor = RewardDistributor::new(self.distributor_address()?, &self.provider);
        let claimed = distributor.claimed(account).call().await;
        claimed.map(Snm::from_wei).map_err(|e| from_contract(e, Target::Distributor))
    }

    /// What every account has claimed from the reward distributor so far (cumulative), read from
    /// its `Claimed` events since [`Deployment::start_block`], one `eth_getLogs` per
    /// [`MAX_BLOCKS_PER_QUERY`] blocks, instead of one call per account: for a sweep of a
    /// large round. Accounts that never claimed are absent; claims mined after the read are not
    /// in it.
    pub async fn claimed_rewards_by_account(&self) -> Result<HashMap<Address, Snm>, Error> {
        let distributor = self.distributor_address()?;
        let filter =
            Filter::new().address(distributor).event_signature(RewardDistributor::Claimed::SIGNATURE_HASH);
        let mut claimed: HashMap<Address, Snm> = HashMap::new();
        self.scan_logs(filter, self.deployment.start_block, |log| {
            let event = RewardDistributor::Claimed::decode_log(&log.inner).map_err(|error| {
                Error::UndecodableEvent {
                    address: distributor,
                    block: log.block_number.unwrap_or_default(),
                    log_index: log.log_index.unwrap_or_default(),
                    reason: error.to_string(),
                }
            })?;
            // Cumulative amounts only grow: the largest is the latest.
            let cumulative = Snm::from_wei(event.cumulativeAmount);
            let entry = claimed.entry(event.account).or_insert(cumulative);
            *entry = (*entry).max(cumulative);
            Ok(())
        })
        .await?;
        Ok(claimed)
    }

    /// Claims `claim.account`'s rewards (its cumulative amount in the accepted root's leaf and the
    /// proof, for example from [`StandardMerkleTree::claim`](crate::rewards::StandardMerkleTree::claim)).
    /// Anyone may send it and pay the gas; the tokens go to `claim.account`. Refused with the
    /// distributor's `NothingToClaim` when the account has already claimed that much, `StaleProof`
    /// for a proof of a replaced root, `RootNotAccepted` for one of the proposed root.
    pub async fn claim_reward_for(&self, claim: &RewardClaim) -> Result<RewardsPaid, Error> {
        let call = RewardDistributor::claimCall {
            account: claim.account,
            cumulativeAmount: claim.cumulative.wei(),
            proof: claim.proof.clone(),
        };
        self.send_claims(call).await
    }

    /// Claims for many accounts in one transaction (the distributor's `claimMany`): each account is
    /// paid its cumulative amount minus what it has claimed, to itself; an entry with nothing left
    /// to claim is skipped (absent from [`RewardsPaid::paid`]) while any invalid proof refuses the
    /// whole batch. Anyone may send it. An empty batch is refused before sending.
    pub async fn claim_rewards(&self, claims: &[RewardClaim]) -> Result<RewardsPaid, Error> {
        if claims.is_empty() {
            return Err(Error::InvalidInput("a batch claim needs at least one claim".into()));
        }
        let claims = claims.iter().map(IRewardDistributor::Claim::from).collect();
        self.send_claims(RewardDistributor::claimManyCall { claims }).await
    }

    /// Claims for the leaves of one OpenZeppelin multiproof in one transaction (the distributor's
    /// `claimMultiproof`; make it with
    /// [`StandardMerkleTree::multi_proof`](crate::rewards::StandardMerkleTree::multi_proof)): each
    /// account is paid to itself as in [`Self::claim_rewards`], an entry with nothing left to claim
    /// is skipped. Siblings shared by several leaves are sent once, so for a run of neighbouring
    /// leaves (a batch of [`StandardMerkleTree::sweep_batches`](crate::rewards::StandardMerkleTree::sweep_batches))
    /// it costs less gas per account than `claimMany`; for leaves scattered over a large tree,
    /// `claimMany` is cheaper. A multiproof that does not lead to the accepted root is refused as a
    /// whole, with `InvalidProof` (or `StaleProof`, `RootNotAccepted`) naming its first leaf, and one
    /// whose lengths or flags do not fit together with `MerkleProofInvalidMultiproof`. Anyone may
    /// send it. A multiproof of no leaves is refused before sending.
    pub async fn claim_rewards_multiproof(
        &self,
        multiproof: &RewardMultiProof,
    ) -> Result<RewardsPaid, Error> {
        if multiproof.is_empty() {
            return Err(Error::InvalidInput("a multiproof claim needs at least one leaf".into()));
        }
        let leaves = multiproof
            .leaves
            .iter()
            .map(|&(account, cumulative)| IRewardDistributor::Leaf {
                account,
                cumulativeAmount: cumulative.wei(),
            })
            .collect();
        let call = RewardDistributor::claimMultiproofCall {
            leaves,
            proof: multiproof.proof.clone(),
            proofFlags: multiproof.flags.clone(),
        };
        self.send_claims(call).await
    }

    async fn send_claims(&self, call: impl SolCall) -> Result<RewardsPaid, Error> {
        let distributor = self.distributor_address()?;
        let receipt = self.send_to(Target::Distributor, call).await?;
        let paid = tx::events::<RewardDistributor::Claimed>(&receipt, distributor)
            .map(|claimed| (claimed.account, Snm::from_wei(claimed.amount)))
            .collect();
        Ok(RewardsPaid { paid, gas_used: receipt.gas_used, transaction: receipt.transaction_hash })
    }

    /// The reward distributor's address, or [`Error::InvalidInput`] when the deployment has none.
    pub(crate) fn distributor_address(&self) -> Result<Address, Error> {
        self.deployment
            .distributor
            .ok_or_else(|| Error::InvalidInput("the deployment has no reward distributor".into()))
    }

    // ------------------------------------------------------------------ internals

    /// Hands every log `filter` selects (address, event, topics; its blocks are set here) from
    /// block `from` to the chain's head to `each`, in chain order, and returns that head. One
    /// `eth_getLogs` per [`MAX_BLOCKS_PER_QUERY`] blocks, as [`EventStream`] reads them (public RPC
    /// providers refuse wider ranges, and a market's history outgrows one range), each retried
    /// after a transport failure like every read; logs are handled a range at a time, never all
    /// held at once.
    pub(crate) async fn scan_logs(
        &self,
        filter: Filter,
        from: u64,
        mut each: impl FnMut(&Log) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        let head = self.provider.get_block_number().await?;
        for (start, end) in block_ranges(from, head, MAX_BLOCKS_PER_QUERY) {
            let filter = filter.clone().from_block(start).to_block(end);
            for log in self.provider.get_logs(&filter).await? {
                each(&log)?;
            }
        }
        Ok(head)
    }

    pub(crate) async fn chain_id(&self) -> Result<u64, Error> {
        Ok(*self.chain_id.get_or_try_init(|| self.provider.get_chain_id().into_future()).await?)
    }

    /// Simulates, sends and awaits a transaction from the sender.
    pub(crate) async fn send(&self, call: Call) -> Result<TransactionReceipt, Error> {
        let chain_id = self.chain_id().await?;
        tx::send(&self.provider, self.sender, chain_id, call, &self.options, &self.pace).await
    }

    /// [`Self::send`] of `call` to the deployment's contract `target` (whose errors are decoded
    /// first).
    pub(crate) async fn send_to(
        &self,
        target: Target,
        call: impl SolCall,
    ) -> Result<TransactionReceipt, Error> {
        let to = match target {
            Target::Market => self.deployment.market,
            Target::Oracle => self.deployment.oracle,
            Target::Distributor => self.distributor_address()?,
            Target::Token => self.deployment.token,
        };
        self.send(Call::new(to, call.abi_encode(), target)).await
    }

    /// [`Self::send_to`] of a market call.
    pub(crate) async fn send_market(&self, call: impl SolCall) -> Result<TransactionReceipt, Error> {
        self.send_to(Target::Market, call).await
    }

    /// [`Self::send_market`], returning the first `E` event the market emitted.
    pub(crate) async fn send_market_event<E: SolEvent>(&self, call: impl SolCall) -> Result<E, Error> {
        tx::event(&self.send_market(call).await?, self.deployment.market)
    }

    /// [`Error::InsufficientFunds`] of the sender unless `available` covers `needed`.
    pub(crate) fn check_funds(&self, funds: Funds, available: Snm, needed: Snm) -> Result<(), Error> {
        if available < needed {
            return Err(Error::InsufficientFunds { account: self.sender, funds, available, needed });
        }
        Ok(())
    }

    /// Checks that the sender holds `amount` tokens and, without a permit, has allowed the market
    /// to take them.
    pub(crate) async fn check_tokens(&self, amount: Snm, with_permit: bool) -> Result<(), Error> {
        let (balance, allowance) = tokio::try_join!(self.token_balance(self.sender), async {
            if with_permit { Ok(amount) } else { self.allowance(self.sender).await }
        })?;
        self.check_funds(Funds::TokenBalance, balance, amount)?;
        self.check_funds(Funds::Allowance, allowance, amount)
    }

    /// An EIP-2612 permit of the sender for `spender` over `value` tokens, signed by `signer`
    /// (which must be the sender's), valid for an hour of block time.
    pub(crate) async fn sign_permit<S: Signer + Sync>(
        &self,
        signer: &S,
        spender: Address,
        value: Snm,
    ) -> Result<Permit, Error> {
        let owner = self.sender;
        if signer.address() != owner {
            return Err(Error::InvalidInput(format!(
                "the permit's signer {} is not the sender {owner}",
                signer.address()
            )));
        }
        let token = SNMToken::new(self.deployment.token, &self.provider);
        let (domain, nonce, now) = tokio::try_join!(
            async { token.eip712Domain().call().await.map_err(|e| from_contract(e, Target::Token)) },
            async { token.nonces(owner).call().await.map_err(|e| from_contract(e, Target::Token)) },
            self.now(),
        )?;
        let deadline = U256::from(now + PERMIT_VALIDITY.as_secs());
        let permit = permit::Permit { owner, spender, value: value.wei(), nonce, deadline };
        let domain = Eip712Domain::new(
            Some(domain.name.into()),
            Some(domain.version.into()),
            Some(domain.chainId),
            Some(domain.verifyingContract),
            None,
        );
        let signature = signer.sign_hash(&permit.eip712_signing_hash(&domain)).await?;
        Ok(Permit {
            deadline,
            v: 27 + u8::from(signature.v()),
            r: signature.r().into(),
            s: signature.s().into(),
        })
    }
}

/// How long a permit the SDK signs stays valid, in block time.
const PERMIT_VALIDITY: Duration = Duration::from_secs(3_600);

/// A signed EIP-2612 permit, split as the contracts take it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Permit {
    pub(crate) deadline: U256,
    pub(crate) v: u8,
    pub(crate) r: B256,
    pub(crate) s: B256,
}

mod permit {
    #![allow(missing_docs, unreachable_pub)]
    alloy::sol! {
        /// EIP-2612's signed message.
        struct Permit {
            address owner;
            address spender;
            uint256 value;
            uint256 nonce;
            uint256 deadline;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_deploy_scripts_file_and_its_own() {
        let dir = std::env::temp_dir().join(format!("snm-deployment-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let forge = dir.join("31337.local.json");
        std::fs::write(
            &forge,
            r#"{"chainId":31337,"owner":"0x0000000000000000000000000000000000000001",
                "token":"0x0000000000000000000000000000000000000002","oracle":"0x0000000000000000000000000000000000000003",
                "minRunway":3600,"market":"0x0000000000000000000000000000000000000004","rewardDelay":86400,
                "startBlock":7,"rewards":"0x0000000000000000000000000000000000000005"}"#,
        )
        .unwrap();
        let read = Deployment::from_file(&forge).unwrap();
        assert_eq!(read.market, Address::with_last_byte(4));
        assert_eq!((read.distributor, read.start_block), (Some(Address::with_last_byte(5)), 7));

        let own = dir.join("own.json");
        read.write_file(&own).unwrap();
        assert_eq!(Deployment::from_file(&own).unwrap(), read);
        std::fs::write(&own, b"{}").unwrap();
        let error = Deployment::from_file(&own).unwrap_err().to_string();
        assert!(error.contains("missing field `token`"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
