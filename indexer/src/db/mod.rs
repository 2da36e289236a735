//! The database: one `sqlx::Any` pool over SQLite or PostgreSQL, the same statements for both
//! (positional `$n` parameters; BIGINT, TEXT and bytes columns), migrations embedded in the binary.
//!
//! Migrations: `migrations/` holds the steps shared by both databases, `migrations/postgres/` and
//! `migrations/sqlite/` each backend's own (versions unique across the three folders). A database
//! is migrated by the shared steps and its backend's, in version order (`migrator`), so a step
//! may use what only one database has (PostgreSQL's collations, SQLite's table rebuilds) while the
//! two schemas stay the same to the statements.

mod bulk_insert;
mod reads;
mod signed_asks;

use std::{pin::Pin, str::FromStr};

use sqlx::{
    AnyPool, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
    error::BoxDynError,
    migrate::{Migration, MigrationSource, Migrator},
};

use crate::IndexerError;

pub(crate) use bulk_insert::{BulkInsert, Cell, ColumnType, Rows};
pub use reads::{AskFilter, PageAfter};

/// Which server is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend of `conn`.
    pub(crate) fn of(conn: &sqlx::AnyConnection) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") { Self::Sqlite } else { Self::Postgres }
    }
}

/// The tables of versioned state: rows valid from `valid_from` until `valid_to`.
pub(crate) const VERSIONED_TABLES: [&str; 6] =
    ["asks", "bids", "deals", "workers", "blacklists", "reward_rounds"];

/// The tables of things that happened, keyed by `block`.
pub(crate) const LOG_TABLES: [&str; 5] =
    ["events", "settlements", "escrow_moves", "oracle_rates", "reward_claims"];

/// A pool of connections to the indexer's database.
#[derive(Clone, Debug)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
}

impl Database {
    /// Connects to `url` (`sqlite://FILE`, created when missing, or `postgres://…`) and applies the
    /// migrations.
    pub async fn connect(url: &str) -> Result<Self, IndexerError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            let url = if url.contains("mode=") {
                url.to_owned()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(IndexerError::UnsupportedDatabase { url: url.to_owned() });
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            // WAL: the API reads while the follower writes. NORMAL sync: a commit
                            // is not fsynced (the WAL is at checkpoints), so it survives the process
                            // dying but a power loss may undo the last commits; the file stays
                            // consistent, and the follower's position (`sync_state.next_block`)
                            // commits in the same transaction as the rows, so an undone batch
                            // takes its position with it and is read again from the chain: no
                            // event is lost or applied twice.
                            connection.execute("PRAGMA journal_mode = WAL").await?;
                            connection.execute("PRAGMA synchronous = NORMAL").await?;
                            connection.execute("PRAGMA busy_timeout = 10000").await?;
                            // 64 MiB of pages (2 MiB by default): the price index of a million
                            // asks stays in memory while a batch inserts into it.
                            connection.execute("PRAGMA cache_size = -65536").await?;
                            // A multi-row INSERT inside a transaction keeps a statement journal
                            // (to undo just that statement); in a temporary file, each one cost a
                            // write per page touched (`subjournalPageIfRequired` -> `pwrite`:
                            // 13% of SQLite's ingestion in `perf`, 3.6% in memory).
                            connection.execute("PRAGMA temp_store = MEMORY").await?;
                            // Pages read through a mapping of the file (up to 1 GiB) instead of
                            // `pread` copies into each connection's cache: the asks' indexes of a
                            // million asks outgrow the 64 MiB cache, and ingesting 1,000,000 asks
                            // took 1.34x the CPU without it (BENCHMARKS.md). Writes still go
                            // through the WAL.
                            connection.execute("PRAGMA mmap_size = 1073741824").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            // A custom plan for a selective best-ask query (few asks fit) is a
                            // sequential scan and sort of every open ask, since the planner sees
                            // few rows to find; the generic plan walks `asks_fit` in price order
                            // and stops at the first fit (the whole index at worst). JIT only
                            // adds compile time to these short statements.
                            connection.execute("SET plan_cache_mode = force_generic_plan").await?;
                            connection.execute("SET jit = off").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
        };
        let database = Self { pool, backend };
        migrator(backend).await?.run(&database.pool).await?;
        Ok(database)
    }

    /// The pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which server it is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The migrations of `backend`: the shared ones and its own, in version order.
pub(crate) async fn migrator(backend: Backend) -> Result<Migrator, IndexerError> {
    let own = match backend {
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
    };
    let mut migrations: Vec<Migration> =
        sqlx::migrate!("./migrations").iter().chain(own.iter()).cloned().collect();
    migrations.sort_by_key(|migration| migration.version);
    Ok(Migrator::new(Migrations(migrations)).await?)
}

/// Migrations already resolved, as a source for [`Migrator::new`].
#[derive(Debug)]
struct Migrations(Vec<Migration>);

impl MigrationSource<'static> for Migrations {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send>> {
        Box::pin(std::future::ready(Ok(self.0)))
    }
}

/// Lets the transaction open on `conn` (a batch of the follower's) commit before its WAL reaches
/// the disk, on PostgreSQL (`SET LOCAL synchronous_commit = off`; the server writes it out within
/// `wal_writer_delay`, three times that at worst). Safe for the reason SQLite's `synchronous =
/// NORMAL` is: a server crash may undo the last commits but never corrupts the database (unlike
/// `fsync = off`), and the follower's position commits in the same transaction as its rows, so an
/// undone batch takes its position with it and is read again from the chain: no event is lost or
/// applied twice. Only the follower's batches: an accepted signed ask (`POST /v1/asks`) is not on
/// the chain to be read again, so its commit still waits for the disk.
pub(crate) async fn commit_without_flush(conn: &mut sqlx::AnyConnection) -> Result<(), IndexerError> {
    if Backend::of(conn) == Backend::Postgres {
        conn.execute("SET LOCAL synchronous_commit = off").await?;
    }
    Ok(())
}

/// A `u64` as the database's BIGINT, refused when it does not fit.
pub(crate) fn int(what: &'static str, value: u64) -> Result<i64, IndexerError> {
    i64::try_from(value).map_err(|_| IndexerError::TooLarge { what, value })
}

/// A `u64` as BIGINT, saturating: for columns only used to narrow a search, whose exact value is in
/// the row's JSON body.
pub(crate) fn int_saturating(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A BIGINT read back as the `u64` it was written from.
pub(crate) fn uint(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
