//! Many rows into one table in few statements, the same rows on both databases: on SQLite,
//! multi-row `VALUES` of positional `?`; on PostgreSQL, one array per column bound once per
//! statement and unrolled by `UNNEST` in the select list, so a batch of 10,000 rows is one statement of as many
//! parameters as the table has columns (a multi-row `VALUES` of 500 rows binds 7,500 parameters,
//! each decoded, planned and evaluated as an expression of its own by the server).
//!
//! `sqlx::Any` binds no arrays, so each array goes as its text literal (`{1,2}`, `{"a","b"}`),
//! cast by the statement (`$1::bigint[]`): PostgreSQL casts text to any type through the type's
//! input function. The statements run on the caller's connection, in its transaction.
//!
//! The rows are encoded ([`BulkInsert::encode`]: array literals built for PostgreSQL) apart from
//! being written ([`BulkInsert::write`]), so that the follower builds a batch while the database
//! writes the one before.

use sqlx::AnyConnection;

use crate::{IndexerError, db::Backend};

/// The most parameters one SQLite statement binds (`SQLITE_MAX_VARIABLE_NUMBER` since 3.32).
const SQLITE_MAX_VARIABLES: usize = 32_766;

/// Rows per multi-row `VALUES` on SQLite at most: fewer statements per batch (each one a step,
/// a statement journal and a reset), within its parameter limit (2,000 rows of 15 columns bind
/// 30,000).
const MAX_ROWS_PER_INSERT: usize = 2_000;

/// Rows per `UNNEST` statement on PostgreSQL: a batch of the follower's in one statement, while
/// a batch of a very busy chain still makes array literals of tens of megabytes at most.
const ROWS_PER_UNNEST: usize = 10_000;

/// A column's SQL type (the schema has these three only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColumnType {
    /// BIGINT.
    Int,
    /// TEXT.
    Text,
    /// Bytes: BYTEA on PostgreSQL, BLOB on SQLite.
    Bytes,
}

/// One value of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    /// A BIGINT.
    Int(i64),
    /// A TEXT.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

/// An `INSERT` of many rows into `table`'s `N` `columns`, followed by `suffix` (an `ON CONFLICT`
/// clause, or nothing).
#[derive(Clone, Copy, Debug)]
pub(crate) struct BulkInsert<const N: usize> {
    /// The table.
    pub(crate) table: &'static str,
    /// Its columns written, in the order of every row's cells, with their types.
    pub(crate) columns: [(&'static str, ColumnType); N],
    /// What follows the rows in the statement.
    pub(crate) suffix: &'static str,
}

impl<const N: usize> BulkInsert<N> {
    /// Inserts `rows` (cells in the order of the columns) on `conn`.
    pub(crate) async fn run(
        &self,
        conn: &mut AnyConnection,
        rows: Vec<[Cell; N]>,
    ) -> Result<(), IndexerError> {
        let rows = self.encode(Backend::of(conn), rows);
        self.write(conn, &rows).await
    }

    /// `rows` in the form `backend` binds them: done before the batch's transaction, so that a
    /// follower can build the next batch while the database writes this one.
    pub(crate) fn encode(&self, backend: Backend, rows: Vec<[Cell; N]>) -> Rows<N> {
        match backend {
            Backend::Sqlite => Rows::Values(rows),
            Backend::Postgres => {
                Rows::Arrays(rows.chunks(ROWS_PER_UNNEST).map(|chunk| self.arrays(chunk)).collect())
            }
        }
    }

    /// Inserts `rows` (from [`Self::encode`] for this connection's backend) on `conn`.
    pub(crate) async fn write(&self, conn: &mut AnyConnection, rows: &Rows<N>) -> Result<(), IndexerError> {
        match rows {
            Rows::Values(rows) => {
                let per_insert = (SQLITE_MAX_VARIABLES / N.max(1)).min(MAX_ROWS_PER_INSERT);
                for chunk in rows.chunks(per_insert) {
                    self.values(conn, chunk).await?;
                }
            }
            Rows::Arrays(statements) => {
                for arrays in statements {
                    self.unnest(conn, arrays).await?;
                }
            }
        }
        Ok(())
    }

    fn column_list(&self) -> String {
        self.columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
    }

    async fn values(&self, conn: &mut AnyConnection, rows: &[[Cell; N]]) -> Result<(), IndexerError> {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {} {}",
            self.table,
            self.column_list(),
            values(rows.len(), N),
            self.suffix
        );
        let mut query = sqlx::query(&sql);
        for cell in rows.iter().flatten() {
            query = match cell {
                Cell::Int(value) => query.bind(*value),
                Cell::Text(value) => query.bind(value.as_str()),
                Cell::Bytes(value) => query.bind(value.as_slice()),
            };
        }
        query.execute(&mut *conn).await?;
        Ok(())
    }

    /// Every column of `rows` as its array literal.
    fn arrays(&self, rows: &[[Cell; N]]) -> [String; N] {
        std::array::from_fn(|n| {
            let mut literal = ArrayLiteral::with_capacity(rows.len() * 24);
            for row in rows {
                match &row[n] {
                    Cell::Int(value) => literal.push_int(*value),
                    Cell::Text(value) => literal.push_text(value),
                    Cell::Bytes(value) => literal.push_bytes(value),
                }
            }
            literal.finish()
        })
    }

    /// `UNNEST($1::bigint[]), UNNEST($2::text[]), …`: every column's array unrolled in the select
    /// list, where PostgreSQL (10 and later) runs them in step, element n of each making row n,
    /// and streams the rows into the insert. `SELECT * FROM UNNEST(…)` (a function in `FROM`) first
    /// gathered every row in a tuple store, which spilled a batch's 10,000 rows to a temporary file
    /// beyond `work_mem` (3 % of the server's time in `perf`).
    fn unnests(&self) -> String {
        self.columns
            .iter()
            .enumerate()
            .map(|(n, (_, kind))| match kind {
                ColumnType::Int => format!("UNNEST(${}::bigint[])", n + 1),
                ColumnType::Text => format!("UNNEST(${}::text[])", n + 1),
                ColumnType::Bytes => format!("UNNEST(${}::bytea[])", n + 1),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    async fn unnest(&self, conn: &mut AnyConnection, arrays: &[String; N]) -> Result<(), IndexerError> {
        let sql = format!(
            "INSERT INTO {} ({}) SELECT {} {}",
            self.table,
            self.column_list(),
            self.unnests(),
            self.suffix
        );
        let mut query = sqlx::query(&sql);
        for array in arrays {
            query = query.bind(array.as_str());
        }
        query.execute(&mut *conn).await?;
        Ok(())
    }
}

/// A table's rows ready to bind ([`BulkInsert::encode`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rows<const N: usize> {
    /// SQLite: the rows, bound as multi-row `VALUES`.
    Values(Vec<[Cell; N]>),
    /// PostgreSQL: per statement of up to 10,000 rows, each column's array literal.
    Arrays(Vec<[String; N]>),
}

/// PostgreSQL's text form of a one-dimensional array: `{1,2}` or `{"a","b"}`. Text elements are
/// always quoted (an unquoted `NULL` would be a null), with `"` and `\` escaped by `\`.
struct ArrayLiteral(String);

impl ArrayLiteral {
    fn with_capacity(capacity: usize) -> Self {
        let mut text = String::with_capacity(capacity + 2);
        text.push('{');
        Self(text)
    }

    fn separate(&mut self) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
    }

    fn push_int(&mut self, value: i64) {
        use std::fmt::Write;
        self.separate();
        // Writing into a String does not fail.
        let _ = write!(self.0, "{value}");
    }

    fn push_text(&mut self, value: &str) {
        self.separate();
        self.0.push('"');
        for c in value.chars() {
            if c == '"' || c == '\\' {
                self.0.push('\\');
            }
            self.0.push(c);
        }
        self.0.push('"');
    }

    /// Bytes in BYTEA's hexadecimal input form, `\\x0102` (the backslash escaped in the array).
    fn push_bytes(&mut self, value: &[u8]) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        self.separate();
        self.0.reserve(value.len() * 2 + 5);
        self.0.push_str(r#""\\x"#);
        for byte in value {
            self.0.push(char::from(DIGITS[usize::from(byte >> 4)]));
            self.0.push(char::from(DIGITS[usize::from(byte & 0xf)]));
        }
        self.0.push('"');
    }

    fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// `(?, …), (?, …)`: the VALUES of `rows` rows of `columns` parameters each. Positional: SQLite
/// keeps `$N` as a named parameter and finds a name by walking the list of names, both when it
/// parses the statement and when sqlx binds each argument, so a statement of 7,500 `$N` cost
/// quadratic time (461 events/s at 500 rows per statement); nameless ones are bound by position.
fn values(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals_quote_and_escape_text() {
        let mut ints = ArrayLiteral::with_capacity(0);
        for value in [1, -2, i64::MAX] {
            ints.push_int(value);
        }
        assert_eq!(ints.finish(), "{1,-2,9223372036854775807}");
        let mut texts = ArrayLiteral::with_capacity(0);
        for value in ["NULL", "a,b", r#"{"k":"v\n"}"#, ""] {
            texts.push_text(value);
        }
        assert_eq!(texts.finish(), r#"{"NULL","a,b","{\"k\":\"v\\n\"}",""}"#);
        assert_eq!(ArrayLiteral::with_capacity(0).finish(), "{}");
        let mut bytes = ArrayLiteral::with_capacity(0);
        for value in [&[0x01, 0xab, 0xff][..], &[]] {
            bytes.push_bytes(value);
        }
        assert_eq!(bytes.finish(), r#"{"\\x01abff","\\x"}"#);
    }

    #[test]
    fn values_are_positional() {
        assert_eq!(values(2, 3), "(?, ?, ?), (?, ?, ?)");
    }
}
