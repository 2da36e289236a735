//! Events into rows: every decoded log is stored in `events`, and its effect on the current state
//! in the state tables, inside the caller's transaction.

use alloy::primitives::{Address, B256, Bytes, U256};
use snm_sdk::{
    bindings::{
        Market::MarketEvents, PriceOracle::PriceOracleEvents, RewardDistributor::RewardDistributorEvents,
    },
    market::{Ask, AskId, Bid, BidId, DealId, PlacedAsk, PlacedBid},
    units::{Snm, UsdPerSecond},
};
use sqlx::AnyConnection;

use crate::{
    IndexerError,
    db::{Backend, BulkInsert, Cell, ColumnType, Rows, commit_without_flush, int, int_saturating},
    model::{DealClosing, DealRecord, DealStatus},
};

/// A decoded event of one of the watched contracts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContractEvent {
    /// The market's (escrow included).
    Market(MarketEvents),
    /// The price oracle's.
    Oracle(PriceOracleEvents),
    /// The reward distributor's.
    Distributor(RewardDistributorEvents),
}

/// One log: where it is, what it says raw and decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Its block.
    pub block: u64,
    /// Its index in the block.
    pub log_index: u64,
    /// The transaction that emitted it.
    pub transaction: B256,
    /// The contract that emitted it.
    pub address: Address,
    /// Its topics.
    pub topics: Vec<B256>,
    /// Its data.
    pub data: Bytes,
    /// The decoded event.
    pub event: ContractEvent,
}

impl LoggedEvent {
    /// The event's name (`AskPlaced`, `RateUpdated`, …).
    pub fn name(&self) -> &'static str {
        let selector = self.topics.first().map(|t| t.0).unwrap_or_default();
        let name = match self.event {
            ContractEvent::Market(_) => MarketEvents::name_by_selector(selector),
            ContractEvent::Oracle(_) => PriceOracleEvents::name_by_selector(selector),
            ContractEvent::Distributor(_) => RewardDistributorEvents::name_by_selector(selector),
        };
        name.unwrap_or("unknown")
    }

    fn contract(&self) -> &'static str {
        match self.event {
            ContractEvent::Market(_) => "market",
            ContractEvent::Oracle(_) => "oracle",
            ContractEvent::Distributor(_) => "distributor",
        }
    }
}

/// The text an address is stored as: lowercase hexadecimal with `0x`.
pub fn address_key(address: Address) -> String {
    format!("{address:#x}")
}

/// The text a price is sorted by: 64 hexadecimal digits, so that text order is numeric order.
pub fn price_key(price: UsdPerSecond) -> String {
    format!("{:064x}", price.scaled())
}

fn u64_of(word: U256) -> u64 {
    word.try_into().unwrap_or(u64::MAX)
}

fn add(amount: Snm, wei: U256) -> Snm {
    Snm::from_wei(amount.wei().saturating_add(wei))
}

fn json<T: serde::Serialize>(table: &'static str, value: &T) -> Result<String, IndexerError> {
    serde_json::to_string(value).map_err(|source| IndexerError::CorruptRow { table, source })
}

/// Stores `event` and applies it to the state, in `conn`'s transaction.
pub async fn apply(conn: &mut AnyConnection, event: &LoggedEvent) -> Result<(), IndexerError> {
    apply_all(conn, std::slice::from_ref(event)).await
}

/// The `events` table: every decoded log.
const EVENTS: BulkInsert<7> = BulkInsert {
    table: "events",
    columns: [
        ("block", ColumnType::Int),
        ("log_index", ColumnType::Int),
        ("tx_hash", ColumnType::Text),
        ("contract", ColumnType::Text),
        ("name", ColumnType::Text),
        ("topics", ColumnType::Bytes),
        ("data", ColumnType::Bytes),
    ],
    suffix: "",
};

/// The `asks` table's placements.
const ASKS: BulkInsert<15> = BulkInsert {
    table: "asks",
    columns: [
        ("id", ColumnType::Int),
        ("master", ColumnType::Text),
        ("worker", ColumnType::Text),
        ("cpu_milli_cores", ColumnType::Int),
        ("ram_bytes", ColumnType::Int),
        ("storage_bytes", ColumnType::Int),
        ("gpu_count", ColumnType::Int),
        ("gpu_mem_bytes", ColumnType::Int),
        ("net_up_bps", ColumnType::Int),
        ("net_down_bps", ColumnType::Int),
        ("flags", ColumnType::Int),
        ("region", ColumnType::Int),
        ("price_key", ColumnType::Text),
        ("body", ColumnType::Text),
        ("valid_from", ColumnType::Int),
    ],
    suffix: "",
};

/// A batch of events made into rows before its transaction ([`prepare`]): the event rows and
/// every run of consecutive placements encoded for the database's bulk inserts, the other events
/// kept to be applied statement by statement, in order ([`write()`]). Building it is the CPU work of
/// a batch (JSON bodies, hexadecimal texts, PostgreSQL's array literals): the follower does it for
/// the next batch while the database writes this one.
#[derive(Clone, Debug)]
pub struct PreparedBatch {
    events: Rows<7>,
    steps: Vec<StateStep>,
    count: usize,
}

impl PreparedBatch {
    /// Events in the batch.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether it holds no event.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// One step of a batch's state changes, in chain order.
#[derive(Clone, Debug)]
enum StateStep {
    /// A run of consecutive placements, inserted in bulk.
    Asks(Rows<15>),
    /// Any other event.
    Apply(Box<LoggedEvent>),
}

/// `events` (in chain order) made into the rows `backend` binds (see [`PreparedBatch`]).
pub fn prepare(backend: Backend, events: &[LoggedEvent]) -> Result<PreparedBatch, IndexerError> {
    let rows = events
        .iter()
        .map(|event| {
            Ok([
                Cell::Int(int("block", event.block)?),
                Cell::Int(int("log index", event.log_index)?),
                Cell::Text(format!("{:#x}", event.transaction)),
                event.contract().into(),
                event.name().into(),
                // The topics' 32 bytes each, one after the other.
                Cell::Bytes(event.topics.iter().flat_map(|topic| topic.0).collect()),
                Cell::Bytes(event.data.to_vec()),
            ])
        })
        .collect::<Result<Vec<_>, IndexerError>>()?;
    let mut steps = Vec::new();
    let mut next = 0;
    while next < events.len() {
        let placements: Vec<PlacedAsk> = events[next..]
            .iter()
            .map_while(|event| match &event.event {
                ContractEvent::Market(MarketEvents::AskPlaced(placed)) => Some(PlacedAsk {
                    id: AskId::from_word(placed.askId),
                    ask: Ask::from(&placed.ask),
                    block: event.block,
                }),
                _ => None,
            })
            .collect();
        if placements.is_empty() {
            steps.push(StateStep::Apply(Box::new(events[next].clone())));
            next += 1;
        } else {
            next += placements.len();
            steps.push(StateStep::Asks(ASKS.encode(backend, ask_rows(&placements)?)));
        }
    }
    Ok(PreparedBatch { events: EVENTS.encode(backend, rows), steps, count: events.len() })
}

/// Stores a [`prepare`]d batch and applies it to the state, in `conn`'s transaction: the event
/// rows, and each run of consecutive placements, in bulk (`BulkInsert`: one statement per 2,000
/// rows on SQLite, per 10,000 on PostgreSQL); everything else statement by statement, in order.
/// `batch` must have been prepared for `conn`'s backend.
pub async fn write(conn: &mut AnyConnection, batch: &PreparedBatch) -> Result<(), IndexerError> {
    EVENTS.write(conn, &batch.events).await?;
    for step in &batch.steps {
        match step {
            StateStep::Asks(rows) => ASKS.write(conn, rows).await?,
            StateStep::Apply(event) => apply_state(conn, event).await?,
        }
    }
    Ok(())
}

/// Stores `events` (in chain order) and applies them to the state, in `conn`'s transaction
/// ([`prepare`] then [`write()`]).
pub async fn apply_all(conn: &mut AnyConnection, events: &[LoggedEvent]) -> Result<(), IndexerError> {
    let batch = prepare(Backend::of(conn), events)?;
    write(conn, &batch).await
}

/// What `event` changes in the state tables.
async fn apply_state(conn: &mut AnyConnection, event: &LoggedEvent) -> Result<(), IndexerError> {
    let block = int("block", event.block)?;
    let log_index = int("log index", event.log_index)?;
    match &event.event {
        ContractEvent::Market(market) => apply_market(conn, event.block, log_index, market).await,
        ContractEvent::Oracle(PriceOracleEvents::RateUpdated(rate)) => {
            sqlx::query(
                "INSERT INTO oracle_rates (block, log_index, reporter, rate, updated_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(block)
            .bind(log_index)
            .bind(address_key(rate.reporter))
            .bind(rate.newRate.to_string())
            .bind(int_saturating(u64_of(rate.updatedAt)))
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
        ContractEvent::Oracle(_) => Ok(()),
        ContractEvent::Distributor(distributor) => {
            apply_distributor(conn, block, log_index, distributor).await
        }
    }
}

async fn apply_market(
    conn: &mut AnyConnection,
    number: u64,
    log_index: i64,
    event: &MarketEvents,
) -> Result<(), IndexerError> {
    let block = int("block", number)?;
    match event {
        MarketEvents::AskPlaced(placed) => {
            let ask =
                PlacedAsk { id: AskId::from_word(placed.askId), ask: Ask::from(&placed.ask), block: number };
            insert_asks(conn, std::slice::from_ref(&ask)).await
        }
        MarketEvents::BidPlaced(placed) => {
            let bid =
                PlacedBid { id: BidId::from_word(placed.bidId), bid: Bid::from(&placed.bid), block: number };
            sqlx::query(
                "INSERT INTO bids (id, customer, price_key, body, valid_from) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(int("bid id", bid.id.0)?)
            .bind(address_key(bid.bid.customer))
            .bind(price_key(bid.bid.max_price))
            .bind(json("bids", &bid)?)
            .bind(block)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
        MarketEvents::OrderCancelled(cancelled) => {
            let id = int_saturating(u64_of(cancelled.orderId));
            close_order(conn, "asks", id, block).await?;
            close_order(conn, "bids", id, block).await
        }
        MarketEvents::DealOpened(opened) => {
            let info = &opened.info;
            close_order(conn, "asks", int_saturating(u64_of(info.askId)), block).await?;
            close_order(conn, "bids", int_saturating(u64_of(info.bidId)), block).await?;
            let end = u64_of(info.endTime);
            let deal = DealRecord {
                id: DealId::from_word(opened.dealId),
                customer: opened.customer,
                master: opened.master,
                worker: info.worker,
                ask_id: AskId::from_word(info.askId),
                bid_id: BidId::from_word(info.bidId),
                price: UsdPerSecond::from_scaled(info.pricePerSecond),
                deposit: Snm::from_wei(info.deposit),
                start_time: u64_of(info.startTime),
                end_time: (end != 0).then_some(end),
                image: info.image.clone(),
                config_hash: info.configHash,
                status: DealStatus::Open,
                endpoint: None,
                paid: Snm::ZERO,
                fees: Snm::ZERO,
                settled_until: u64_of(info.startTime),
                opened_block: number,
                closed: None,
            };
            insert_deal(conn, &deal, block).await
        }
        MarketEvents::DealSettled(settled) => {
            insert_settlement(
                conn,
                block,
                log_index,
                settled.dealId,
                settled.master,
                Payment {
                    amount: settled.amount,
                    fee: settled.fee,
                    rate: settled.snmPerUsd,
                    until: settled.settledUntil,
                    last: false,
                },
            )
            .await?;
            update_deal(conn, settled.dealId, block, |deal| {
                deal.paid = add(deal.paid, settled.amount);
                deal.fees = add(deal.fees, settled.fee);
                deal.settled_until = u64_of(settled.settledUntil);
                deal.deposit = Snm::from_wei(settled.depositLeft);
            })
            .await
        }
        MarketEvents::DealClosed(closed) => {
            let master = current_deal(conn, closed.dealId).await?.map(|d| d.master).unwrap_or_default();
            insert_settlement(
                conn,
                block,
                log_index,
                closed.dealId,
                master,
                Payment {
                    amount: closed.paid,
                    fee: closed.fee,
                    rate: closed.snmPerUsd,
                    until: closed.settledUntil,
                    last: true,
                },
            )
            .await?;
            update_deal(conn, closed.dealId, block, |deal| {
                deal.paid = add(deal.paid, closed.paid);
                deal.fees = add(deal.fees, closed.fee);
                deal.settled_until = u64_of(closed.settledUntil);
                deal.deposit = Snm::ZERO;
                deal.status = DealStatus::Closed;
                deal.closed = Some(DealClosing {
                    reason: closed.reason,
                    by: closed.by,
                    refund: Snm::from_wei(closed.refund),
                    blacklisted: closed.blacklisted,
                    block: number,
                });
            })
            .await
        }
        MarketEvents::DealToppedUp(topped) => {
            update_deal(conn, topped.dealId, block, |deal| deal.deposit = Snm::from_wei(topped.deposit)).await
        }
        MarketEvents::ChangeAccepted(change) => {
            update_deal(conn, change.dealId, block, |deal| {
                deal.price = UsdPerSecond::from_scaled(change.pricePerSecond);
                let end = u64_of(change.endTime);
                deal.end_time = (end != 0).then_some(end);
            })
            .await
        }
        MarketEvents::EndpointAnnounced(announced) => {
            update_deal(conn, announced.dealId, block, |deal| {
                deal.endpoint = Some(announced.endpoint.clone())
            })
            .await
        }
        MarketEvents::Deposited(moved) => {
            escrow_move(
                conn,
                block,
                log_index,
                "deposit",
                moved.account,
                moved.from,
                moved.amount,
                moved.balance,
            )
            .await
        }
        MarketEvents::Withdrawn(moved) => {
            escrow_move(
                conn,
                block,
                log_index,
                "withdrawal",
                moved.account,
                moved.to,
                moved.amount,
                moved.balance,
            )
            .await
        }
        MarketEvents::EarningsWithdrawn(moved) => {
            escrow_move(
                conn,
                block,
                log_index,
                "earnings_withdrawal",
                moved.master,
                moved.to,
                moved.amount,
                moved.earnings,
            )
            .await
        }
        MarketEvents::WorkerRequested(link) => {
            set_worker(conn, link.worker, Some((link.master, false)), block).await
        }
        MarketEvents::WorkerConfirmed(link) => {
            set_worker(conn, link.worker, Some((link.master, true)), block).await
        }
        MarketEvents::WorkerRemoved(link) => set_worker(conn, link.worker, None, block).await,
        MarketEvents::BlacklistSet(set) => {
            let (owner, target) = (address_key(set.owner), address_key(set.target));
            sqlx::query(
                "UPDATE blacklists SET valid_to = $1 WHERE owner = $2 AND target = $3 AND valid_to IS NULL",
            )
            .bind(block)
            .bind(&owner)
            .bind(&target)
            .execute(&mut *conn)
            .await?;
            if set.blacklisted {
                sqlx::query("INSERT INTO blacklists (owner, target, valid_from) VALUES ($1, $2, $3)")
                    .bind(&owner)
                    .bind(&target)
                    .bind(block)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Inserts open asks, in bulk.
async fn insert_asks(conn: &mut AnyConnection, asks: &[PlacedAsk]) -> Result<(), IndexerError> {
    ASKS.run(conn, ask_rows(asks)?).await
}

/// The `asks` rows of placements.
fn ask_rows(asks: &[PlacedAsk]) -> Result<Vec<[Cell; 15]>, IndexerError> {
    asks.iter()
        .map(|ask| {
            let resources = &ask.ask.resources;
            Ok([
                Cell::Int(int("ask id", ask.id.0)?),
                Cell::Text(address_key(ask.ask.master)),
                Cell::Text(address_key(ask.ask.worker)),
                Cell::Int(int_saturating(resources.cpu_milli_cores)),
                Cell::Int(int_saturating(resources.ram_bytes)),
                Cell::Int(int_saturating(resources.storage_bytes)),
                Cell::Int(int_saturating(resources.gpu_count)),
                Cell::Int(int_saturating(resources.gpu_mem_bytes)),
                Cell::Int(int_saturating(resources.net_up_bps)),
                Cell::Int(int_saturating(resources.net_down_bps)),
                Cell::Int(flags_int(ask.ask.flags.bits())),
                Cell::Int(i64::from(ask.ask.region)),
                Cell::Text(price_key(ask.ask.price)),
                Cell::Text(json("asks", ask)?),
                Cell::Int(int("block", ask.block)?),
            ])
        })
        .collect()
}

/// Network flags as BIGINT: the same 64 bits, so that `flags & wanted = wanted` holds in SQL
/// exactly when it holds for the `u64`.
pub(crate) fn flags_int(bits: u64) -> i64 {
    i64::from_ne_bytes(bits.to_ne_bytes())
}

async fn close_order(conn: &mut AnyConnection, table: &str, id: i64, block: i64) -> Result<(), IndexerError> {
    let sql = format!("UPDATE {table} SET valid_to = $1 WHERE id = $2 AND valid_to IS NULL");
    sqlx::query(&sql).bind(block).bind(id).execute(&mut *conn).await?;
    Ok(())
}

async fn insert_deal(conn: &mut AnyConnection, deal: &DealRecord, block: i64) -> Result<(), IndexerError> {
    sqlx::query(
        "INSERT INTO deals (id, customer, master, status, body, valid_from) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(int("deal id", deal.id.0)?)
    .bind(address_key(deal.customer))
    .bind(address_key(deal.master))
    .bind(deal.status.as_str())
    .bind(json("deals", deal)?)
    .bind(block)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn current_deal(conn: &mut AnyConnection, id: U256) -> Result<Option<DealRecord>, IndexerError> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM deals WHERE id = $1 AND valid_to IS NULL")
            .bind(int_saturating(u64_of(id)))
            .fetch_optional(&mut *conn)
            .await?;
    body.map(|body| {
        serde_json::from_str(&body).map_err(|source| IndexerError::CorruptRow { table: "deals", source })
    })
    .transpose()
}

/// Replaces the current version of deal `id` by `change` applied to it (nothing when the deal is
/// unknown, as for a deal opened before the start block).
async fn update_deal(
    conn: &mut AnyConnection,
    id: U256,
    block: i64,
    change: impl FnOnce(&mut DealRecord),
) -> Result<(), IndexerError> {
    let Some(mut deal) = current_deal(conn, id).await? else { return Ok(()) };
    change(&mut deal);
    sqlx::query("UPDATE deals SET valid_to = $1 WHERE id = $2 AND valid_to IS NULL")
        .bind(block)
        .bind(int_saturating(u64_of(id)))
        .execute(&mut *conn)
        .await?;
    insert_deal(conn, &deal, block).await
}

struct Payment {
    amount: U256,
    fee: U256,
    rate: U256,
    until: U256,
    last: bool,
}

async fn insert_settlement(
    conn: &mut AnyConnection,
    block: i64,
    log_index: i64,
    deal: U256,
    master: Address,
    payment: Payment,
) -> Result<(), IndexerError> {
    sqlx::query(
        "INSERT INTO settlements (block, log_index, deal_id, master, amount, fee, snm_per_usd, settled_until, final) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(block)
    .bind(log_index)
    .bind(int_saturating(u64_of(deal)))
    .bind(address_key(master))
    .bind(payment.amount.to_string())
    .bind(payment.fee.to_string())
    .bind(payment.rate.to_string())
    .bind(int_saturating(u64_of(payment.until)))
    .bind(i64::from(payment.last))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn escrow_move(
    conn: &mut AnyConnection,
    block: i64,
    log_index: i64,
    kind: &str,
    account: Address,
    counterparty: Address,
    amount: U256,
    balance: U256,
) -> Result<(), IndexerError> {
    sqlx::query(
        "INSERT INTO escrow_moves (block, log_index, kind, account, counterparty, amount, balance) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(block)
    .bind(log_index)
    .bind(kind)
    .bind(address_key(account))
    .bind(address_key(counterparty))
    .bind(amount.to_string())
    .bind(balance.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn set_worker(
    conn: &mut AnyConnection,
    worker: Address,
    link: Option<(Address, bool)>,
    block: i64,
) -> Result<(), IndexerError> {
    let worker = address_key(worker);
    sqlx::query("UPDATE workers SET valid_to = $1 WHERE worker = $2 AND valid_to IS NULL")
        .bind(block)
        .bind(&worker)
        .execute(&mut *conn)
        .await?;
    if let Some((master, confirmed)) = link {
        sqlx::query("INSERT INTO workers (worker, master, confirmed, valid_from) VALUES ($1, $2, $3, $4)")
            .bind(&worker)
            .bind(address_key(master))
            .bind(i64::from(confirmed))
            .bind(block)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn apply_distributor(
    conn: &mut AnyConnection,
    block: i64,
    log_index: i64,
    event: &RewardDistributorEvents,
) -> Result<(), IndexerError> {
    struct RoundRow {
        round: u64,
        root: B256,
        status: &'static str,
        total: U256,
        content_hash: B256,
        uri: String,
        acceptable_at: u64,
    }
    let row = match event {
        RewardDistributorEvents::RootProposed(p) => RoundRow {
            round: p.round,
            root: p.root,
            status: "proposed",
            total: p.total,
            content_hash: p.contentHash,
            uri: p.uri.clone(),
            acceptable_at: p.acceptableAt,
        },
        RewardDistributorEvents::RootAccepted(a) => {
            let acceptable_at: Option<i64> = sqlx::query_scalar(
                "SELECT acceptable_at FROM reward_rounds WHERE round = $1 AND valid_to IS NULL",
            )
            .bind(int("round", a.round)?)
            .fetch_optional(&mut *conn)
            .await?;
            RoundRow {
                round: a.round,
                root: a.root,
                status: "accepted",
                total: a.total,
                content_hash: a.contentHash,
                uri: a.uri.clone(),
                acceptable_at: acceptable_at.map_or(0, crate::db::uint),
            }
        }
        RewardDistributorEvents::RootCancelled(c) => {
            sqlx::query("UPDATE reward_rounds SET valid_to = $1 WHERE round = $2 AND valid_to IS NULL")
                .bind(block)
                .bind(int("round", c.round)?)
                .execute(&mut *conn)
                .await?;
            return Ok(());
        }
        RewardDistributorEvents::Claimed(claimed) => {
            sqlx::query(
                "INSERT INTO reward_claims (block, log_index, account, amount, cumulative) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(block)
            .bind(log_index)
            .bind(address_key(claimed.account))
            .bind(claimed.amount.to_string())
            .bind(claimed.cumulativeAmount.to_string())
            .execute(&mut *conn)
            .await?;
            return Ok(());
        }
        _ => return Ok(()),
    };
    let round = int("round", row.round)?;
    sqlx::query("UPDATE reward_rounds SET valid_to = $1 WHERE round = $2 AND valid_to IS NULL")
        .bind(block)
        .bind(round)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO reward_rounds (round, root, status, total, content_hash, uri, acceptable_at, valid_from) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(round)
    .bind(format!("{:#x}", row.root))
    .bind(row.status)
    .bind(row.total.to_string())
    .bind(format!("{:#x}", row.content_hash))
    .bind(row.uri)
    .bind(int_saturating(row.acceptable_at))
    .bind(block)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores and applies `events` in one transaction (what the follower does per batch, without
/// moving its position): for loading and measuring.
pub async fn apply_batch(db: &crate::Database, events: &[LoggedEvent]) -> Result<(), IndexerError> {
    write_batch(db, &prepare(db.backend(), events)?).await
}

/// Writes a [`prepare`]d batch in one transaction, committed as the follower commits its batches
/// (without waiting for the disk on PostgreSQL: `db::commit_without_flush`), without moving its
/// position: for loading and measuring.
pub async fn write_batch(db: &crate::Database, batch: &PreparedBatch) -> Result<(), IndexerError> {
    use sqlx::Connection;
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    commit_without_flush(&mut tx).await?;
    write(&mut tx, batch).await?;
    tx.commit().await?;
    Ok(())
}
