//! The connection every service and role client shares ([`Client`]): a provider, the contracts'
//! addresses, the sending account, its transaction options and nonce memory, and the send path
//! every transaction of the SDK goes through.
//!
//! The contracts are reached through one service each, made from a client
//! ([`Client::market`], [`Client::escrow`], [`Client::oracle`], [`Client::token`],
//! [`Client::distributor`]); see [`crate::services`].

use std::sync::Arc;

use alloy::{
    eips::BlockNumberOrTag,
    primitives::Address,
    providers::Provider,
    rpc::types::{Filter, Log, TransactionReceipt},
    sol_types::{SolCall, SolEvent},
};
use tokio::sync::OnceCell;

use crate::{
    Deployment, Error,
    error::{Funds, Target},
    events::{MAX_BLOCKS_PER_QUERY, block_ranges},
    services::{DistributorService, EscrowService, MarketService, OracleService, TokenService},
    tx::{self, Call, TxOptions, fee_memory::FeeMemory, pace::MiningPace},
    units::Snm,
};

/// A connection to the marketplace as one account: the provider, the contracts' addresses, the
/// sender, and the path every transaction takes.
///
/// `P` is any alloy provider that can send transactions for `sender`: one with a wallet for it
/// ([`crate::provider::connect_http`], or your own: see [`crate::provider`] for what to add), or a
/// node that signs for it. Transactions are simulated before they are sent and never leave a nonce
/// gap (see [`crate::tx`]). The services and role clients made from one client each hold a clone of
/// it and send as one account through the same provider.
#[derive(Clone, Debug)]
pub struct Client<P> {
    provider: P,
    deployment: Deployment,
    sender: Address,
    options: TxOptions,
    chain_id: Arc<OnceCell<u64>>,
    /// The last fee estimate, shared by the clones (see `tx::fee_memory`).
    fees: Arc<FeeMemory>,
    /// How long the last transaction took to be mined, shared by the clones (see `tx::pace`).
    pace: Arc<MiningPace>,
    confirmations: u64,
}

impl<P> Client<P> {
    /// A client of the contracts of `deployment`, sending as `sender` through `provider`.
    pub fn new(provider: P, deployment: Deployment, sender: Address) -> Self {
        Self {
            provider,
            deployment,
            sender,
            options: TxOptions::default(),
            chain_id: Arc::default(),
            fees: Arc::default(),
            pace: Arc::default(),
            confirmations: 0,
        }
    }

    /// The same client with other transaction options.
    pub fn with_options(self, options: TxOptions) -> Self {
        Self { options, ..self }
    }

    /// The same client with event streams that read only blocks at least `confirmations` below
    /// the head (default 0; see [`crate::events::default_confirmations`]).
    pub fn with_confirmations(self, confirmations: u64) -> Self {
        Self { confirmations, ..self }
    }

    /// How deep a block must be before the event streams made from this client read it.
    pub fn confirmations(&self) -> u64 {
        self.confirmations
    }

    /// The same provider and contracts, sending as another account (the provider must sign for it).
    pub fn as_account(&self, sender: Address) -> Self
    where
        P: Clone,
    {
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
}

impl<P: Provider + Clone> Client<P> {
    // ------------------------------------------------------------------ services

    /// The market: orders, deals, workers, endpoints, blacklists, its events and order book.
    pub fn market(&self) -> MarketService<P> {
        MarketService::new(self.clone())
    }

    /// The market's escrow: deposits, free balances, top-ups, withdrawals, earnings, the fee.
    pub fn escrow(&self) -> EscrowService<P> {
        EscrowService::new(self.clone())
    }

    /// The SNM/USD price oracle.
    pub fn oracle(&self) -> OracleService<P> {
        OracleService::new(self.clone())
    }

    /// The SNM token: balances, allowances, approvals, transfers, EIP-2612 permits.
    pub fn token(&self) -> TokenService<P> {
        TokenService::new(self.clone())
    }

    /// The reward distributor, or [`Error::NoDistributor`] when the deployment names none.
    pub fn distributor(&self) -> Result<DistributorService<P>, Error> {
        Ok(DistributorService::new(self.clone(), self.distributor_address()?))
    }

    // ------------------------------------------------------------------ the chain

    /// The latest block's timestamp: the chain's "now".
    pub async fn now(&self) -> Result<u64, Error> {
        let block = self.provider.get_block_by_number(BlockNumberOrTag::Latest).await?;
        block.map(|b| b.header.timestamp).ok_or_else(|| Error::NoLatestBlock)
    }

    // ------------------------------------------------------------------ internals

    /// Hands every log `filter` selects (address, event, topics; its blocks are set here) from
    /// block `from` to the chain's head to `each`, in chain order, and returns that head. One
    /// `eth_getLogs` per [`MAX_BLOCKS_PER_QUERY`] blocks, as [`EventStream`](crate::events::EventStream) reads them (public RPC
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
        tx::send(&self.provider, self.sender, chain_id, call, &self.options, &self.fees, &self.pace).await
    }

    /// [`Self::send`] of `call` to the deployment's contract `target` (whose errors are decoded
    /// first).
    pub(crate) async fn send_to(
        &self,
        target: Target,
        call: impl SolCall,
    ) -> Result<TransactionReceipt, Error> {
        let to = self.address_of(target)?;
        self.send(Call::new(to, call.abi_encode(), target)).await
    }

    /// The deployment's address of the contract `target`.
    fn address_of(&self, target: Target) -> Result<Address, Error> {
        Ok(match target {
            Target::Market | Target::SignedAsks => self.deployment.market,
            Target::Oracle => self.deployment.oracle,
            Target::Distributor => self.distributor_address()?,
            Target::Token => self.deployment.token,
        })
    }

    /// [`Self::send_to`] of a market call.
    pub(crate) async fn send_market(&self, call: impl SolCall) -> Result<TransactionReceipt, Error> {
        self.send_to(Target::Market, call).await
    }

    /// [`Self::send_to`], returning the first `E` event the contract `target` emitted.
    pub(crate) async fn send_event<E: SolEvent>(
        &self,
        target: Target,
        call: impl SolCall,
    ) -> Result<E, Error> {
        let address = self.address_of(target)?;
        tx::event(&self.send_to(target, call).await?, address)
    }

    /// The reward distributor's address, or [`Error::NoDistributor`] when the deployment has none.
    pub(crate) fn distributor_address(&self) -> Result<Address, Error> {
        self.deployment.distributor.ok_or(Error::NoDistributor)
    }

    /// [`Error::InsufficientFunds`] of the sender unless `available` covers `needed`.
    pub(crate) fn check_funds(&self, funds: Funds, available: Snm, needed: Snm) -> Result<(), Error> {
        if available < needed {
            return Err(Error::InsufficientFunds { account: self.sender, funds, available, needed });
        }
        Ok(())
    }
}
