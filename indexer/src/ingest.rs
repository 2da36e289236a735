//! The follower: reads the watched contracts' logs up to the confirmed head and applies them, one
//! database transaction per batch of blocks, rolling back what a reorganisation orphaned.
//!
//! The hash and parent hash of every applied block is stored, in the batch's transaction (the
//! headers are read many per HTTP request). Each batch's first block must have the newest stored
//! block as its parent; when it does not, the follower walks back through the stored
//! blocks to the newest one still on the chain (the common ancestor), deletes every row the
//! orphaned blocks wrote and reopens every row they closed, in one transaction, and reads on from
//! there. Killed at any point, it resumes from the last committed batch: nothing is missed or
//! applied twice, since the position and the rows commit together.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    primitives::Address,
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::{SolEvent, SolEventInterface},
};
use snm_sdk::{
    Deployment,
    bindings::{
        Market::MarketEvents, MarketSignedAsks, PriceOracle::PriceOracleEvents,
        RewardDistributor::RewardDistributorEvents,
    },
    events::MAX_BLOCKS_PER_QUERY,
};
use sqlx::Connection;

use crate::{
    Database, IndexerError,
    apply::{ContractEvent, LoggedEvent, PreparedBatch, address_key, prepare, write},
    db::{
        Backend, BulkInsert, Cell, ColumnType, LOG_TABLES, Rows, VERSIONED_TABLES, commit_without_flush, int,
        int_saturating, uint,
    },
    headers::{BlockHeader, headers},
    model::HealthView,
    oracle_seed,
};

/// How the follower runs.
#[derive(Clone, Debug)]
pub struct IndexerConfig {
    /// The contracts to follow and where to start.
    pub deployment: Deployment,
    /// Only blocks at least this deep are applied.
    pub confirmations: u64,
    /// Most blocks read (and committed) at once.
    pub max_blocks_per_batch: u64,
    /// The pause when there is nothing new.
    pub poll_interval: Duration,
    /// The longest pause between retries when the node fails.
    pub max_backoff: Duration,
}

impl IndexerConfig {
    /// Follows `deployment` with `confirmations`, polling every second, batches of 10,000 blocks.
    pub fn new(deployment: Deployment, confirmations: u64) -> Self {
        Self {
            deployment,
            confirmations,
            max_blocks_per_batch: MAX_BLOCKS_PER_QUERY,
            poll_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Default)]
struct HealthState {
    status: &'static str,
    chain_head: Option<u64>,
    indexed_block: Option<u64>,
    last_error: Option<String>,
}

/// How the follower is doing, shared with the HTTP service.
#[derive(Clone, Debug, Default)]
pub struct Health(Arc<Mutex<HealthState>>);

impl Health {
    fn update(&self, change: impl FnOnce(&mut HealthState)) {
        if let Ok(mut state) = self.0.lock() {
            change(&mut state);
        }
    }

    /// What `/v1/health` shows.
    pub fn view(&self) -> HealthView {
        let Ok(state) = self.0.lock() else {
            return HealthView {
                status: "unknown".into(),
                chain_head: None,
                indexed_block: None,
                lag: None,
                last_error: None,
            };
        };
        HealthView {
            status: if state.status.is_empty() { "starting" } else { state.status }.to_owned(),
            chain_head: state.chain_head,
            indexed_block: state.indexed_block,
            lag: state.chain_head.zip(state.indexed_block).map(|(head, done)| head.saturating_sub(done)),
            last_error: state.last_error.clone(),
        }
    }
}

/// What one [`Indexer::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Applied the blocks up to this one, holding this many events.
    Applied {
        /// The last block applied.
        to_block: u64,
        /// Events applied.
        events: usize,
    },
    /// Rolled back to the common ancestor after a reorganisation (`None`: before the start block).
    RolledBack {
        /// The newest block kept.
        to_block: Option<u64>,
    },
    /// Nothing new under the confirmed head.
    UpToDate,
    /// The chain moved while it was read, or the stored position moved while the batch was read
    /// (a cancelled step's transaction committed meanwhile); nothing was kept.
    Raced,
}

/// The follower (see the [module documentation](self)).
#[derive(Debug)]
pub struct Indexer<P> {
    provider: P,
    db: Database,
    config: IndexerConfig,
    health: Health,
    rpc_calls: u64,
}

impl<P: Provider> Indexer<P> {
    /// A follower of `config.deployment` on `provider` into `db`. The database must be empty or
    /// hold the same market of the same chain.
    pub async fn new(provider: P, db: Database, config: IndexerConfig) -> Result<Self, IndexerError> {
        let chain = provider.get_chain_id().await?;
        let market = address_key(config.deployment.market);
        let found: Option<(i64, String)> =
            sqlx::query_as("SELECT chain_id, market FROM sync_state WHERE id = 1")
                .fetch_optional(db.pool())
                .await?;
        match found {
            Some((found_chain, found_market)) if found_market != market || uint(found_chain) != chain => {
                return Err(IndexerError::OtherDeployment {
                    market: config.deployment.market,
                    chain,
                    found_market,
                    found_chain,
                });
            }
            Some(_) => {}
            None => {
                let rate = oracle_seed::rate_before_start(&provider, &config.deployment).await;
                let mut conn = db.pool().acquire().await?;
                let mut tx = conn.begin().await?;
                sqlx::query(
                    "INSERT INTO sync_state (id, chain_id, market, start_block, next_block) VALUES (1, $1, $2, $3, $3)",
                )
                .bind(int("chain id", chain)?)
                .bind(market)
                .bind(int("start block", config.deployment.start_block)?)
                .execute(&mut *tx)
                .await?;
                if let Some(rate) = rate {
                    oracle_seed::store(&mut tx, &config.deployment, rate).await?;
                }
                tx.commit().await?;
            }
        }
        let indexer = Self { provider, db, config, health: Health::default(), rpc_calls: 1 };
        let next = indexer.next_block().await?;
        indexer.health.update(|h| h.indexed_block = next.checked_sub(1));
        Ok(indexer)
    }

    /// The health shared with the HTTP service.
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// RPC requests made so far.
    pub fn rpc_calls(&self) -> u64 {
        self.rpc_calls
    }

    /// The next block to apply.
    pub async fn next_block(&self) -> Result<u64, IndexerError> {
        let next: i64 = sqlx::query_scalar("SELECT next_block FROM sync_state WHERE id = 1")
            .fetch_one(self.db.pool())
            .await?;
        Ok(uint(next))
    }

    /// Follows the chain until `shutdown` resolves. Node failures are retried with a growing pause
    /// (and shown by [`Health`]); a database failure stops it with the error, after the
    /// transaction in flight rolled back.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), IndexerError> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut backoff = Duration::ZERO;
        let mut pending = None;
        loop {
            let pause = match self.step_overlapped(&mut pending).await {
                Ok(Step::Applied { .. } | Step::RolledBack { .. } | Step::Raced) => {
                    backoff = Duration::ZERO;
                    Duration::ZERO
                }
                Ok(Step::UpToDate) => {
                    backoff = Duration::ZERO;
                    self.config.poll_interval
                }
                Err(error @ (IndexerError::Rpc(_) | IndexerError::MissingBlock { .. })) => {
                    tracing::warn!(%error, "the node failed; retrying");
                    self.health.update(|h| {
                        h.status = "rpc_unreachable";
                        h.last_error = Some(error.to_string());
                    });
                    backoff = (backoff * 2).clamp(Duration::from_millis(100), self.config.max_backoff);
                    backoff
                }
                Err(error) => {
                    self.health.update(|h| {
                        h.status = "stopped";
                        h.last_error = Some(error.to_string());
                    });
                    return Err(error);
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = &mut shutdown => return Ok(()),
                }
            }
        }
    }

    /// Steps until the confirmed head is applied; returns the last block applied.
    pub async fn catch_up(&mut self) -> Result<Option<u64>, IndexerError> {
        let mut pending = None;
        while self.step_overlapped(&mut pending).await? != Step::UpToDate {}
        Ok(self.next_block().await?.checked_sub(1))
    }

    async fn header(&mut self, number: u64) -> Result<BlockHeader, IndexerError> {
        self.headers(&[number]).await?.pop().flatten().ok_or(IndexerError::MissingBlock { number })
    }

    async fn headers(&mut self, numbers: &[u64]) -> Result<Vec<Option<BlockHeader>>, IndexerError> {
        let (found, requests) = headers(&self.provider, numbers).await?;
        self.rpc_calls += requests;
        Ok(found)
    }

    /// Whether the stored block (`number`, `hash`) is still on the chain whose head is `head`: by
    /// the parent hash of its child when there is one.
    async fn canonical(&mut self, number: u64, hash: &str, head: u64) -> Result<bool, IndexerError> {
        if number > head {
            return Ok(false);
        }
        if number < head {
            let child = self.header(number + 1).await?;
            return Ok(format!("{:#x}", child.parent_hash) == hash);
        }
        Ok(format!("{:#x}", self.header(number).await?.hash) == hash)
    }

    async fn newest_stored(&self) -> Result<Option<(u64, String)>, IndexerError> {
        let newest: Option<(i64, String)> =
            sqlx::query_as("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT 1")
                .fetch_optional(self.db.pool())
                .await?;
        Ok(newest.map(|(n, h)| (uint(n), h)))
    }

    /// Applies the next batch of confirmed blocks, or rolls back a reorganisation.
    ///
    /// Every block of the batch is read (its hash and parent hash): the first one's parent must be
    /// the newest stored block, each next one's parent the one before, and every log must come
    /// from the block read at its number. A first parent that differs is a reorganisation (rolled
    /// back); a difference inside the batch is the chain moving while it was read (nothing kept).
    pub async fn step(&mut self) -> Result<Step, IndexerError> {
        let mut pending = None;
        let step = self.step_overlapped(&mut pending).await?;
        if let Some(batch) = pending {
            if !commit(&self.db, &batch).await? {
                return Ok(Step::Raced);
            }
            self.health.update(|h| h.indexed_block = Some(batch.end));
        }
        Ok(step)
    }

    /// A [`Self::step`] that leaves the batch it read in `pending`, committed by the next call
    /// while it reads (and builds) the batch after: the node's answers, their decoding and the
    /// rows' building then run beside the database's writing. Order is kept: a batch is read as
    /// following `pending` (its last block must be the next one's parent), and committed before
    /// the next is kept, rolled back or reported; each still commits alone with its position. On
    /// return, `pending` holds the batch read (when [`Step::Applied`]) or nothing, every earlier
    /// one committed; a batch left pending when the caller stops is simply read again.
    async fn step_overlapped(&mut self, pending: &mut Option<ReadBatch>) -> Result<Step, IndexerError> {
        let committing = pending.take();
        let tip = committing.as_ref().map(ReadBatch::tip);
        let db = self.db.clone();
        let commit_pending = async {
            match &committing {
                Some(batch) => commit(&db, batch).await.map(|kept| Some(kept.then_some(batch.end))),
                None => Ok(None),
            }
        };
        let (read, committed) = tokio::join!(self.read(tip), commit_pending);
        match committed? {
            Some(Some(end)) => self.health.update(|h| h.indexed_block = Some(end)),
            // The batch read followed the one refused: neither is kept.
            Some(None) => return Ok(Step::Raced),
            None => {}
        }
        match read? {
            Read::Batch(batch) => {
                let step = Step::Applied { to_block: batch.end, events: batch.rows.len() };
                tracing::debug!(from = batch.from, to = batch.end, events = batch.rows.len(), "applied");
                *pending = Some(batch);
                Ok(step)
            }
            Read::Reorganised { head } => self.roll_back(head).await,
            Read::UpToDate => Ok(Step::UpToDate),
            Read::Raced => Ok(Step::Raced),
        }
    }

    /// Reads the next batch of confirmed blocks after `tip` (after the stored blocks when `None`)
    /// and builds its rows, or finds that the newest block of `tip` left the chain.
    async fn read(&mut self, tip: Option<Tip>) -> Result<Read, IndexerError> {
        self.rpc_calls += 1;
        let head = self.provider.get_block_number().await?;
        self.health.update(|h| {
            h.chain_head = Some(head);
            h.status = "ok";
            h.last_error = None;
        });
        let Tip { next, newest } = match tip {
            Some(tip) => tip,
            None => Tip { newest: self.newest_stored().await?, next: self.next_block().await? },
        };
        let target = head.saturating_sub(self.config.confirmations);
        // The newest stored block is checked through the batch's first header when the batch
        // follows it, on its own otherwise (nothing to apply, or a database written before every
        // block was stored).
        let follows = newest.as_ref().is_some_and(|(number, _)| number + 1 == next);
        if let Some((number, hash)) = &newest
            && (next > target || !follows)
            && !self.canonical(*number, hash, head).await?
        {
            return Ok(Read::Reorganised { head });
        }
        if next > target {
            return Ok(Read::UpToDate);
        }
        let end = target.min(next.saturating_add(self.config.max_blocks_per_batch.max(1) - 1));
        let numbers: Vec<u64> = (next..=end).collect();
        let Some(headers) = self.headers(&numbers).await?.into_iter().collect::<Option<Vec<_>>>() else {
            return Ok(Read::Raced);
        };
        if let (Some((_, hash)), Some(first)) = (&newest, headers.first())
            && follows
            && format!("{:#x}", first.parent_hash) != *hash
        {
            return Ok(Read::Reorganised { head });
        }
        if headers.windows(2).any(|pair| pair[1].parent_hash != pair[0].hash) {
            return Ok(Read::Raced);
        }
        let Some(&last) = headers.last() else { return Ok(Read::UpToDate) };
        let deployment = self.config.deployment;
        let addresses: Vec<Address> =
            [Some(deployment.market), Some(deployment.oracle), deployment.distributor]
                .into_iter()
                .flatten()
                .collect();
        self.rpc_calls += 1;
        let logs =
            self.provider.get_logs(&Filter::new().address(addresses).from_block(next).to_block(end)).await?;
        // The chain must not have moved under the read: the batch's last block is read again.
        if self.header(end).await?.hash != last.hash {
            return Ok(Read::Raced);
        }
        // Decoding and building the rows is the batch's CPU work: on a thread of its own, so that
        // the commit of the batch before (joined with this read) goes on meanwhile.
        let backend = self.db.backend();
        let built =
            tokio::task::spawn_blocking(move || build(&deployment, backend, next, &headers, &logs)).await;
        let built = match built {
            Ok(built) => built?,
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Err(_) => return Err(IndexerError::ShuttingDown),
        };
        Ok(match built {
            Some((rows, blocks)) => Read::Batch(ReadBatch {
                rows,
                blocks,
                from: next,
                end,
                last_hash: format!("{:#x}", last.hash),
            }),
            None => Read::Raced,
        })
    }

    /// Finds the newest stored block still on the chain and rolls everything after it back.
    async fn roll_back(&mut self, head: u64) -> Result<Step, IndexerError> {
        let mut ancestor = None;
        let mut below = int("block", head)?.saturating_add(1);
        // Every applied block is stored: walk back page by page, reading each page's headers in
        // one request, to the newest block whose hash the chain still has.
        'search: loop {
            let stored: Vec<(i64, String)> = sqlx::query_as(
                "SELECT number, hash FROM blocks WHERE number < $1 ORDER BY number DESC LIMIT 256",
            )
            .bind(below)
            .fetch_all(self.db.pool())
            .await?;
            let Some(&(oldest, _)) = stored.last() else { break };
            let numbers: Vec<u64> = stored.iter().map(|(number, _)| uint(*number)).collect();
            let read = self.headers(&numbers).await?;
            for ((number, hash), header) in stored.iter().zip(read) {
                if header.is_some_and(|h| format!("{:#x}", h.hash) == *hash) {
                    ancestor = Some(uint(*number));
                    break 'search;
                }
            }
            below = oldest;
        }
        // Nothing stored is on the chain any more: start again from the deployment block.
        let keep = match ancestor {
            Some(number) => int("block", number)?,
            None => int("block", self.config.deployment.start_block)? - 1,
        };
        let mut conn = self.db.pool().acquire().await?;
        let mut tx = conn.begin().await?;
        for table in VERSIONED_TABLES {
            sqlx::query(&format!("DELETE FROM {table} WHERE valid_from > $1"))
                .bind(keep)
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!("UPDATE {table} SET valid_to = NULL WHERE valid_to > $1"))
                .bind(keep)
                .execute(&mut *tx)
                .await?;
        }
        for table in LOG_TABLES {
            sqlx::query(&format!("DELETE FROM {table} WHERE block > $1"))
                .bind(keep)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM blocks WHERE number > $1").bind(keep).execute(&mut *tx).await?;
        sqlx::query("UPDATE sync_state SET next_block = $1 WHERE id = 1")
            .bind(keep + 1)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(to_block = keep, "rolled back a reorganisation");
        let to_block = u64::try_from(keep).ok();
        self.health.update(|h| h.indexed_block = to_block);
        Ok(Step::RolledBack { to_block })
    }
}

/// Where the next batch starts: the next block and the newest block before it (number, hash).
#[derive(Clone, Debug)]
struct Tip {
    next: u64,
    newest: Option<(u64, String)>,
}

/// A batch read from the node, checked and made into rows: left to commit.
#[derive(Debug)]
struct ReadBatch {
    rows: PreparedBatch,
    blocks: Rows<4>,
    from: u64,
    end: u64,
    last_hash: String,
}

impl ReadBatch {
    /// Where the batch after this one starts.
    fn tip(&self) -> Tip {
        Tip { next: self.end + 1, newest: Some((self.end, self.last_hash.clone())) }
    }
}

/// What [`Indexer::read`] found.
#[derive(Debug)]
enum Read {
    /// The next batch.
    Batch(ReadBatch),
    /// The newest block of the tip is no longer on the chain whose head is `head`.
    Reorganised { head: u64 },
    /// Nothing new under the confirmed head.
    UpToDate,
    /// The chain moved while it was read.
    Raced,
}

/// The rows of the blocks `headers` (from block `from`) and of their `logs`; `None` when a log
/// is not from the block read at its number (the chain moved while it was read).
fn build(
    deployment: &Deployment,
    backend: Backend,
    from: u64,
    headers: &[BlockHeader],
    logs: &[Log],
) -> Result<Option<(PreparedBatch, Rows<4>)>, IndexerError> {
    let mut events = Vec::with_capacity(logs.len());
    for log in logs {
        let (Some(number), Some(hash)) = (log.block_number, log.block_hash) else { continue };
        let read = number.checked_sub(from).and_then(|i| headers.get(usize::try_from(i).ok()?));
        if read.is_none_or(|header| header.hash != hash) {
            return Ok(None);
        }
        if let Some(event) = decode(deployment, log)? {
            events.push(event);
        }
    }
    Ok(Some((prepare(backend, &events)?, BLOCKS.encode(backend, block_rows(headers)?))))
}

fn decode(deployment: &Deployment, log: &Log) -> Result<Option<LoggedEvent>, IndexerError> {
    let (Some(block), Some(log_index)) = (log.block_number, log.log_index) else { return Ok(None) };
    let address = log.address();
    let undecodable = |reason: String| IndexerError::UndecodableLog { address, block, log_index, reason };
    let event = if address == deployment.market
        && log.topic0() == Some(&MarketSignedAsks::SignedAsksCancelled::SIGNATURE_HASH)
    {
        // Emitted from the market's address by its delegatecalled part; nothing is stored
        // for it: the relay reads each worker's nonce from the chain when it prunes.
        return Ok(None);
    } else if address == deployment.market {
        ContractEvent::Market(
            MarketEvents::decode_log(&log.inner).map_err(|e| undecodable(e.to_string()))?.data,
        )
    } else if address == deployment.oracle {
        ContractEvent::Oracle(
            PriceOracleEvents::decode_log(&log.inner).map_err(|e| undecodable(e.to_string()))?.data,
        )
    } else if Some(address) == deployment.distributor {
        ContractEvent::Distributor(
            RewardDistributorEvents::decode_log(&log.inner).map_err(|e| undecodable(e.to_string()))?.data,
        )
    } else {
        return Ok(None);
    };
    Ok(Some(LoggedEvent {
        block,
        log_index,
        transaction: log.transaction_hash.unwrap_or_default(),
        address,
        topics: log.topics().to_vec(),
        data: log.data().data.clone(),
        event,
    }))
}

/// Writes a batch: its events, the state they change, every block's hash and parent hash and
/// the next block, in one transaction; `false` (nothing written) when the stored position is no
/// longer the batch's first block.
///
/// The position moves first, on the condition that it is still where the batch was read from:
/// a step cancelled while its `COMMIT` was on its way leaves that transaction to finish on its own
/// connection after the next step read the old position on another, and the next step's rows
/// would then be written twice. The conditional update waits for that transaction's lock on the
/// position's row and then sees the position it left (nothing written, the step reads again) or,
/// rolled back, the old one.
async fn commit(db: &Database, batch: &ReadBatch) -> Result<bool, IndexerError> {
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    commit_without_flush(&mut tx).await?;
    let moved = sqlx::query("UPDATE sync_state SET next_block = $1 WHERE id = 1 AND next_block = $2")
        .bind(int("block", batch.end + 1)?)
        .bind(int("block", batch.from)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if moved != 1 {
        tx.rollback().await?;
        tracing::debug!(from = batch.from, "the stored position moved while the batch was read: read again");
        return Ok(false);
    }
    write(&mut tx, &batch.rows).await?;
    BLOCKS.write(&mut tx, &batch.blocks).await?;
    tx.commit().await?;
    Ok(true)
}

/// The `blocks` table: a block read again after a reorganisation replaces the orphaned one.
const BLOCKS: BulkInsert<4> = BulkInsert {
    table: "blocks",
    columns: [
        ("number", ColumnType::Int),
        ("hash", ColumnType::Text),
        ("parent_hash", ColumnType::Text),
        ("timestamp", ColumnType::Int),
    ],
    suffix: "ON CONFLICT (number) DO UPDATE SET hash = excluded.hash, parent_hash = excluded.parent_hash, \
             timestamp = excluded.timestamp",
};

/// The rows of the hash, parent hash and timestamp of every block of a batch.
fn block_rows(headers: &[BlockHeader]) -> Result<Vec<[Cell; 4]>, IndexerError> {
    headers
        .iter()
        .map(|header| {
            Ok([
                Cell::Int(int("block", header.block())?),
                Cell::Text(format!("{:#x}", header.hash)),
                Cell::Text(format!("{:#x}", header.parent_hash)),
                Cell::Int(int_saturating(header.timestamp.to())),
            ])
        })
        .collect()
}
