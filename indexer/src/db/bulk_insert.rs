//! Many rows into one table in few statements, the same rows on both databases: on SQLite,
//! multi-row `VALUES` of positional `?`; on PostgreSQL, a few parameters per statement of 10,000
//! rows, unrolled by `UNNEST` in the select list (a multi-row `VALUES` of 500 rows binds 7,500
//! parameters, each decoded, planned and evaluated as an expression of its own by the server).
//!
//! On PostgreSQL, `sqlx::Any` binds no arrays, so each BIGINT column goes as its array's text
//! literal (`{1,2}`), cast by the statement (`$1::bigint[]`: PostgreSQL casts text to any type
//! through the type's input function). The TEXT and bytes columns, most of a row's size, go packed:
//! every such value of the statement's rows one after the other in a single BYTEA parameter (sent
//! as binary, so never parsed), with an array of each column's starts and one of its lengths; the
//! statement cuts each value out (`substr`) and makes TEXT of it (`convert_from`, which checks
//! the UTF-8). Text array literals had the server's array parser read every character of the
//! rows (`array_in` and its helpers, about a fifth of the server's samples in an ingestion once the
//! rows were bytes). The statements run on the caller's connection, in its transaction.
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
                Rows::Packed(rows.chunks(ROWS_PER_UNNEST).map(|chunk| self.packed(chunk)).collect())
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
            Rows::Packed(statements) => {
                for packed in statements {
                    self.unnest(conn, packed).await?;
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

    /// `rows` packed for one statement: each BIGINT column's array literal, each other column's
    /// starts and lengths in the bytes of all of them.
    fn packed(&self, rows: &[[Cell; N]]) -> Packed {
        let mut bytes = Vec::new();
        let mut arrays = Vec::with_capacity(2 * N);
        for (n, (_, kind)) in self.columns.iter().enumerate() {
            match kind {
                ColumnType::Int => {
                    let mut literal = ArrayLiteral::with_capacity(rows.len() * 12);
                    for row in rows {
                        literal.push_int(cell_int(&row[n]));
                    }
                    arrays.push(literal.finish());
                }
                ColumnType::Text | ColumnType::Bytes => {
                    let mut starts = ArrayLiteral::with_capacity(rows.len() * 8);
                    let mut lengths = ArrayLiteral::with_capacity(rows.len() * 4);
                    for row in rows {
                        let value = cell_bytes(&row[n]);
                        // `substr` counts from 1.
                        starts.push_int(position(bytes.len() + 1));
                        lengths.push_int(position(value.len()));
                        bytes.extend_from_slice(&value);
                    }
                    arrays.push(starts.finish());
                    arrays.push(lengths.finish());
                }
            }
        }
        Packed { arrays, bytes }
    }

    /// `INSERT INTO t (a, b) SELECT c0, convert_from(substr($4, s1, l1), 'UTF8') FROM (SELECT
    /// UNNEST($1::bigint[]) AS c0, UNNEST($2::int[]) AS s1, UNNEST($3::int[]) AS l1) AS r`:
    /// every array unrolled in the inner select list, where PostgreSQL (10 and later) runs them in
    /// step, element n of each making row n, and streams the rows into the insert (`SELECT * FROM
    /// UNNEST(…)`, a function in `FROM`, first gathered every row in a tuple store, which spilled a
    /// batch's 10,000 rows to a temporary file beyond `work_mem`: 3 % of the server's time in
    /// `perf`). The packed bytes are the last parameter.
    fn unnest_sql(&self) -> String {
        let mut unnests = Vec::with_capacity(2 * N);
        let mut values = Vec::with_capacity(N);
        let mut parameter = 0;
        let mut next = || {
            parameter += 1;
            parameter
        };
        for (n, (_, kind)) in self.columns.iter().enumerate() {
            match kind {
                ColumnType::Int => {
                    unnests.push(format!("UNNEST(${}::bigint[]) AS c{n}", next()));
                    values.push(format!("c{n}"));
                }
                ColumnType::Text | ColumnType::Bytes => {
                    unnests.push(format!("UNNEST(${}::int[]) AS s{n}", next()));
                    unnests.push(format!("UNNEST(${}::int[]) AS l{n}", next()));
                    values.push(format!("s{n}, l{n}"));
                }
            }
        }
        let bytes = next();
        let values = self
            .columns
            .iter()
            .zip(values)
            .map(|((_, kind), value)| match kind {
                ColumnType::Int => value,
                ColumnType::Bytes => format!("substr(${bytes}, {value})"),
                ColumnType::Text => format!("convert_from(substr(${bytes}, {value}), 'UTF8')"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {} ({}) SELECT {values} FROM (SELECT {}) AS r {}",
            self.table,
            self.column_list(),
            unnests.join(", "),
            self.suffix
        )
    }

    async fn unnest(&self, conn: &mut AnyConnection, packed: &Packed) -> Result<(), IndexerError> {
        let sql = self.unnest_sql();
        let mut query = sqlx::query(&sql);
        for array in &packed.arrays {
            query = query.bind(array.as_str());
        }
        query.bind(packed.bytes.as_slice()).execute(&mut *conn).await?;
        Ok(())
    }
}

/// A statement's rows packed for PostgreSQL ([`BulkInsert::encode`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Packed {
    /// Array literals, in the order of the statement's parameters.
    arrays: Vec<String>,
    /// Every TEXT and bytes value, one after the other.
    bytes: Vec<u8>,
}

/// A BIGINT column's value (a cell of another type where the columns say BIGINT is a bug of the
/// caller's; it is written as 0 rather than panicking in a library).
fn cell_int(cell: &Cell) -> i64 {
    match cell {
        Cell::Int(value) => *value,
        Cell::Text(_) | Cell::Bytes(_) => {
            debug_assert!(false, "a text or bytes cell in a BIGINT column");
            0
        }
    }
}

/// A TEXT or bytes column's value as bytes (a number's decimal digits if it is one).
fn cell_bytes(cell: &Cell) -> std::borrow::Cow<'_, [u8]> {
    match cell {
        Cell::Text(value) => value.as_bytes().into(),
        Cell::Bytes(value) => value.as_slice().into(),
        Cell::Int(value) => value.to_string().into_bytes().into(),
    }
}

/// A position or length in the packed bytes (INTEGER for `substr`: a BYTEA parameter holds 1 GiB at
/// most, so a statement's bytes beyond `i32::MAX` are refused by the server whatever is written
/// here).
fn position(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A table's rows ready to bind ([`BulkInsert::encode`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rows<const N: usize> {
    /// SQLite: the rows, bound as multi-row `VALUES`.
    Values(Vec<[Cell; N]>),
    /// PostgreSQL: per statement of up to 10,000 rows, its parameters.
    Packed(Vec<Packed>),
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
    fn int_array_literals() {
        let mut ints = ArrayLiteral::with_capacity(0);
        for value in [1, -2, i64::MAX] {
            ints.push_int(value);
        }
        assert_eq!(ints.finish(), "{1,-2,9223372036854775807}");
        assert_eq!(ArrayLiteral::with_capacity(0).finish(), "{}");
    }

    const TABLE: BulkInsert<3> = BulkInsert {
        table: "t",
        columns: [("a", ColumnType::Int), ("b", ColumnType::Text), ("c", ColumnType::Bytes)],
        suffix: "ON CONFLICT DO NOTHING",
    };

    #[test]
    fn postgres_rows_pack_text_and_bytes_behind_starts_and_lengths() {
        let rows = vec![
            [Cell::Int(7), Cell::Text("é,\"{}".to_owned()), Cell::Bytes(vec![0, 1])],
            [Cell::Int(-1), Cell::Text(String::new()), Cell::Bytes(vec![0xff])],
        ];
        let packed = TABLE.packed(&rows);
        assert_eq!(packed.arrays, ["{7,-1}", "{1,7}", "{6,0}", "{7,9}", "{2,1}"]);
        assert_eq!(packed.bytes, [&b"\xc3\xa9,\"{}"[..], &[0, 1], &[0xff]].concat());
        assert_eq!(
            TABLE.unnest_sql(),
            "INSERT INTO t (a, b, c) SELECT c0, convert_from(substr($6, s1, l1), 'UTF8'), substr($6, s2, l2) \
             FROM (SELECT UNNEST($1::bigint[]) AS c0, UNNEST($2::int[]) AS s1, UNNEST($3::int[]) AS l1, \
             UNNEST($4::int[]) AS s2, UNNEST($5::int[]) AS l2) AS r ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn values_are_positional() {
        assert_eq!(values(2, 3), "(?, ?, ?), (?, ?, ?)");
    }
}
