//! Many rows into one table in few statements, the same rows on both databases: on SQLite,
//! multi-row `VALUES` of positional `?`; on PostgreSQL, one array per column bound once per
//! statement and unrolled by `UNNEST`, so a batch of 10,000 rows is one statement of as many
//! parameters as the table has columns (a multi-row `VALUES` of 500 rows binds 7,500 parameters,
//! each decoded, planned and evaluated as an expression of its own by the server).
//!
//! `sqlx::Any` binds no arrays, so each array goes as its text literal (`{1,2}`, `{"a","b"}`),
//! cast by the statement (`$1::bigint[]`): PostgreSQL casts text to any type through the type's
//! input function. The statements run on the caller's connection, in its transaction.

use sqlx::AnyConnection;

use crate::IndexerError;

/// Rows per multi-row `VALUES` on SQLite: 500 rows of up to 15 columns, far below its 32,766
/// parameters.
pub(crate) const ROWS_PER_INSERT: usize = 500;

/// Rows per `UNNEST` statement on PostgreSQL: a batch of the follower's in one statement, while
/// a batch of a very busy chain still makes array literals of tens of megabytes at most.
const ROWS_PER_UNNEST: usize = 10_000;

/// A column's SQL type (the schema has these two only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColumnType {
    /// BIGINT.
    Int,
    /// TEXT.
    Text,
}

/// One value of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    /// A BIGINT.
    Int(i64),
    /// A TEXT.
    Text(String),
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
    pub(crate) async fn run(&self, conn: &mut AnyConnection, rows: &[[Cell; N]]) -> Result<(), IndexerError> {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                self.values(conn, chunk).await?;
            }
        } else {
            for chunk in rows.chunks(ROWS_PER_UNNEST) {
                self.unnest(conn, chunk).await?;
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
            };
        }
        query.execute(&mut *conn).await?;
        Ok(())
    }

    async fn unnest(&self, conn: &mut AnyConnection, rows: &[[Cell; N]]) -> Result<(), IndexerError> {
        let arrays: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(n, _)| {
                let mut literal = ArrayLiteral::with_capacity(rows.len() * 24);
                for row in rows {
                    match &row[n] {
                        Cell::Int(value) => literal.push_int(*value),
                        Cell::Text(value) => literal.push_text(value),
                    }
                }
                literal.finish()
            })
            .collect();
        let casts = self
            .columns
            .iter()
            .enumerate()
            .map(|(n, (_, kind))| match kind {
                ColumnType::Int => format!("${}::bigint[]", n + 1),
                ColumnType::Text => format!("${}::text[]", n + 1),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) SELECT * FROM UNNEST({casts}) {}",
            self.table,
            self.column_list(),
            self.suffix
        );
        let mut query = sqlx::query(&sql);
        for array in &arrays {
            query = query.bind(array.as_str());
        }
        query.execute(&mut *conn).await?;
        Ok(())
    }
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
    }

    #[test]
    fn values_are_positional() {
        assert_eq!(values(2, 3), "(?, ?, ?), (?, ?, ?)");
    }
}
