//! A sent transaction awaiting its receipt ([`InFlight`]): polled, replaced with higher fees while
//! it is not mined, any of its versions recognised as the one mined.

use std::time::{Duration, Instant};

use alloy::{
    consensus::Transaction as _,
    network::{TransactionBuilder, TransactionResponse as _},
    primitives::{Address, B256, Bytes},
    providers::Provider,
    rpc::types::{Transaction, TransactionReceipt, TransactionRequest},
};

use crate::{
    Error,
    tx::{
        Fees, PoolState, ReplacementStop, TxOptions, Unmined,
        pace::{MiningPace, PollSchedule},
        receipt_order::Turn,
        refusal::{Refusal, node_message},
        with_fees,
    },
};

/// How many of the latest blocks are searched, at most, for a transaction of ours whose hash the
/// SDK does not know (see the module documentation).
const SEARCHED_BLOCKS: u64 = 128;

/// One version of a sent transaction that the node accepted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Version {
    pub(crate) hash: B256,
    pub(crate) fees: Fees,
}

/// A sent transaction awaiting its receipt: its versions, and how replacing it goes.
#[derive(Debug)]
pub(crate) struct InFlight {
    from: Address,
    /// The nonce every version has; `None` until known (a provider without the SDK's nonce layer
    /// does not say which it gave: it is then read from the node).
    nonce: Option<u64>,
    /// The transaction without its nonce and fees: call, gas limit, chain id.
    unsigned: TransactionRequest,
    /// Every version the node accepted, oldest first (never empty).
    versions: Vec<Version>,
    /// The highest fees sent, accepted or not: the next replacement must beat them, since a send
    /// that got no answer may have reached the node.
    tried: Fees,
    /// When the last version was sent (or tried).
    last_sent: Instant,
    /// Whether a replacement was tried: from then on, polls go by the account's mined nonce.
    replaced: bool,
    /// The node answered a replacement with "nonce too low": one version (or a transaction the
    /// SDK did not send) was mined, so there is nothing left to replace.
    nonce_used: bool,
    /// Why replacing stopped before the receipt came, if it did.
    stopped: Option<ReplacementStop>,
    /// The latest block already searched for the transaction with our nonce.
    searched_to: Option<u64>,
}

impl InFlight {
    pub(crate) fn new(
        from: Address,
        nonce: Option<u64>,
        unsigned: TransactionRequest,
        first: Version,
    ) -> Self {
        Self {
            from,
            nonce,
            unsigned,
            versions: vec![first],
            tried: first.fees,
            last_sent: Instant::now(),
            replaced: false,
            nonce_used: false,
            stopped: None,
            searched_to: None,
        }
    }

    /// Polls for the receipt of any version: at once, then every millisecond for the next few (a
    /// devnet mines in about that), then every 2, 4, 8 ... ms up to the poll
    /// interval, until the receipt timeout, replacing the transaction every
    /// [`TxOptions::replace_after`]; after the fast polls, the pause ramps up to a quarter of the
    /// time the client's last transaction took to be mined (`pace`, [`PollSchedule`]). Polls start
    /// once the client's earlier transactions are mined (`receipt_order`). Transport failures (a
    /// node restarting) count as "not yet" until then.
    pub(crate) async fn wait_mined<P: Provider>(
        &mut self,
        provider: &P,
        options: &TxOptions,
        pace: &MiningPace,
    ) -> Result<TransactionReceipt, Error> {
        let start = Instant::now();
        // Polled only once the client's earlier transactions are mined (see `receipt_order`);
        // meanwhile it is still replaced when due, and wakes to see to that without a request.
        let turn = self.nonce.map(|nonce| pace.order().enter(nonce));
        let mut turn_came = None;
        // No faster than the client's transactions are mined (see `pace`).
        let mut schedule = PollSchedule::new(pace.least_pause(), options.poll_interval);
        loop {
            if turn_came.is_none() && turn.as_ref().is_none_or(Turn::is_first) {
                turn_came = Some(Instant::now());
            }
            if let Some(came) = turn_came
                && let Some(receipt) = self.poll(provider).await?
            {
                // Its own mining time, not the wait for the earlier ones.
                pace.mined_after(came.elapsed());
                return Ok(receipt);
            }
            let waited = start.elapsed();
            if waited >= options.receipt_timeout {
                return self.timed_out(provider, waited).await;
            }
            if self.replacement_due(options) {
                self.replace(provider, options).await;
            }
            let left = options.receipt_timeout - waited;
            if let (None, Some(turn)) = (turn_came, &turn) {
                turn.earlier_mined(options.poll_interval.min(left)).await;
                continue;
            }
            tokio::time::sleep(schedule.next_pause().min(left)).await;
        }
    }

    /// The receipt, if a version was mined. Before any replacement that is one request for the
    /// one version's receipt; after, one for the account's mined nonce, and only once that
    /// passed ours, the versions' receipts (and, when none has one, a search of the latest
    /// blocks).
    async fn poll<P: Provider>(&mut self, provider: &P) -> Result<Option<TransactionReceipt>, Error> {
        let Some(nonce) = self.nonce.filter(|_| self.replaced) else {
            return receipt(provider, self.versions[0].hash).await;
        };
        match provider.get_transaction_count(self.from).await {
            Ok(mined) if mined > nonce => {}
            Ok(_) => return Ok(None),
            Err(error) if error.is_transport_error() => return Ok(None),
            Err(error) => return Err(error.into()),
        }
        for version in self.versions.iter().rev() {
            if let Some(receipt) = receipt(provider, version.hash).await? {
                return Ok(Some(receipt));
            }
        }
        // None of the versions we know was mined (or the node's receipts lag behind its nonce):
        // find the transaction that used our nonce.
        let Some(found) = self.search_blocks(provider, nonce).await else { return Ok(None) };
        let hash = found.tx_hash();
        if !self.versions.iter().any(|v| v.hash == hash) {
            if found.kind() != self.unsigned.kind().unwrap_or_default() || found.input() != self.input() {
                return Err(Error::NonceTaken {
                    account: self.from,
                    nonce,
                    by: hash,
                    sent: self.versions.iter().map(|v| v.hash).collect(),
                });
            }
            // Our call, sent by a replacement whose answer was lost.
            let fees = Fees {
                max_fee_per_gas: alloy::consensus::Transaction::max_fee_per_gas(&found),
                max_priority_fee_per_gas: alloy::consensus::Transaction::max_priority_fee_per_gas(&found)
                    .unwrap_or_default(),
            };
            self.versions.push(Version { hash, fees });
        }
        receipt(provider, hash).await
    }

    fn input(&self) -> &Bytes {
        static EMPTY: Bytes = Bytes::new();
        self.unsigned.input.input().unwrap_or(&EMPTY)
    }

    /// The transaction of our account with `nonce` in the blocks not searched yet (at most the
    /// latest [`SEARCHED_BLOCKS`]), newest first. Failures to read are retried at the next poll.
    async fn search_blocks<P: Provider>(&mut self, provider: &P, nonce: u64) -> Option<Transaction> {
        let latest = provider.get_block_number().await.ok()?;
        let oldest = latest.saturating_sub(SEARCHED_BLOCKS - 1);
        let first = self.searched_to.map_or(oldest, |searched| (searched + 1).max(oldest));
        for number in (first..=latest).rev() {
            let block = provider.get_block_by_number(number.into()).full().await.ok()??;
            let mut transactions = block.transactions.into_transactions();
            if let Some(found) = transactions.find(|tx| tx.from() == self.from && tx.nonce() == nonce) {
                // Found once is enough: a version of ours is awaited among the versions from now
                // on, and a transaction of someone else ends the wait.
                self.searched_to = Some(latest);
                return Some(found);
            }
        }
        self.searched_to = Some(latest);
        None
    }

    fn replacement_due(&self, options: &TxOptions) -> bool {
        self.stopped.is_none()
            && !self.nonce_used
            && options.replace_after.is_some_and(|after| self.last_sent.elapsed() >= after)
    }

    /// Sends the next version; the node's refusals change what happens next, they are no error.
    async fn replace<P: Provider>(&mut self, provider: &P, options: &TxOptions) {
        if self.nonce.is_none() {
            // A replacement must take the original's nonce: without it, wait (and ask again).
            self.nonce = nonce_of(provider, &self.versions).await;
        }
        let Some(nonce) = self.nonce else { return };
        self.replaced = true;
        self.last_sent = Instant::now();
        let estimate = provider.estimate_eip1559_fees().await.ok().map(Fees::from);
        let Some(fees) = self.tried.replacement(estimate, options) else {
            // Under the cap there is no raise the node would take: wait for what was sent.
            self.stopped = options.max_fee_per_gas_cap.map(|cap| ReplacementStop::FeeCapReached { cap });
            return;
        };
        self.tried = fees;
        let version = with_fees(self.unsigned.clone().with_nonce(nonce), fees);
        match provider.send_transaction(version).await {
            Ok(pending) => self.versions.push(Version { hash: *pending.tx_hash(), fees }),
            Err(error) => match Refusal::of(&error) {
                Refusal::NonceTooLow => self.nonce_used = true,
                // The node holds a version at least this dear, or perhaps got this one: the next
                // replacement bumps from the fees tried.
                Refusal::AlreadyKnown | Refusal::Underpriced | Refusal::NoAnswer => {}
                Refusal::Other => {
                    self.stopped = Some(ReplacementStop::Refused { fees, reason: node_message(&error) });
                }
            },
        }
    }

    /// [`Error::NotMined`], saying what the node holds, unless a version was mined after all.
    async fn timed_out<P: Provider>(
        &mut self,
        provider: &P,
        waited: Duration,
    ) -> Result<TransactionReceipt, Error> {
        let mined = provider.get_transaction_count(self.from).await.ok();
        let mut state = None;
        let mut unanswered = mined.is_none();
        for version in self.versions.iter().rev() {
            match provider.get_transaction_by_hash(version.hash).await {
                Ok(Some(tx)) if tx.block_number.is_some() => {
                    if let Some(receipt) = receipt(provider, version.hash).await? {
                        return Ok(receipt);
                    }
                }
                Ok(Some(tx)) => {
                    let hash = version.hash;
                    self.nonce = Some(tx.nonce());
                    state = Some(match mined {
                        Some(behind) if tx.nonce() > behind => PoolState::Queued { hash, behind },
                        _ => PoolState::Pending { hash },
                    });
                    break;
                }
                Ok(None) => {}
                Err(_) => unanswered = true,
            }
        }
        let state = state.unwrap_or(match (mined, self.nonce) {
            _ if unanswered => PoolState::Unknown,
            (Some(mined), Some(nonce)) if mined > nonce => PoolState::NonceUsed,
            _ => PoolState::Dropped,
        });
        let last = self.versions.last().map_or(self.tried, |v| v.fees);
        Err(Error::NotMined(Box::new(Unmined {
            account: self.from,
            nonce: self.nonce,
            versions: self.versions.iter().map(|v| v.hash).collect(),
            fees: last,
            state,
            stopped: self.stopped.clone(),
            waited,
        })))
    }
}

/// The nonce of the first of `versions` the node knows, if it knows one.
pub(crate) async fn nonce_of<P: Provider>(provider: &P, versions: &[Version]) -> Option<u64> {
    for version in versions {
        if let Ok(Some(tx)) = provider.get_transaction_by_hash(version.hash).await {
            return Some(tx.nonce());
        }
    }
    None
}

/// The receipt of `hash`, if mined; a transport failure counts as "not yet".
async fn receipt<P: Provider>(provider: &P, hash: B256) -> Result<Option<TransactionReceipt>, Error> {
    match provider.get_transaction_receipt(hash).await {
        Ok(receipt) => Ok(receipt),
        Err(error) if error.is_transport_error() => Ok(None),
        Err(error) => Err(error.into()),
    }
}
