//! Tables with aligned columns, for the examples' output: text left-aligned, figures right-aligned.

use std::fmt;

/// How a column is aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// Text: padded on the right.
    Left,
    /// Figures: padded on the left, so that units and digits line up.
    Right,
}

/// A table: a header line, then one line per row, columns two spaces apart.
///
/// ```
/// use snm_examples::table::{Align, Table};
///
/// let mut table = Table::new(&[("account", Align::Left), ("paid", Align::Right)]);
/// table.row(["0xA", "150 SNM"]);
/// table.row(["0xB", "50.5 SNM"]);
/// assert_eq!(table.to_string(), "account      paid\n0xA       150 SNM\n0xB      50.5 SNM\n");
/// ```
#[derive(Clone, Debug)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers and alignments, no rows.
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            columns: columns.iter().map(|(name, align)| ((*name).to_owned(), *align)).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty, extra ones are dropped).
    pub fn row<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, cells: I) {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).take(self.columns.len()).collect();
        row.resize(self.columns.len(), String::new());
        self.rows.push(row);
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(k, (name, _))| {
                self.rows
                    .iter()
                    .map(|row| row[k].chars().count())
                    .chain([name.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header: Vec<&str> = self.columns.iter().map(|(name, _)| name.as_str()).collect();
        for line in std::iter::once(header)
            .chain(self.rows.iter().map(|row| row.iter().map(String::as_str).collect()))
        {
            let mut text = String::new();
            for (k, cell) in line.iter().enumerate() {
                if k > 0 {
                    text.push_str("  ");
                }
                let pad = " ".repeat(widths[k].saturating_sub(cell.chars().count()));
                match self.columns[k].1 {
                    Align::Left => {
                        text.push_str(cell);
                        text.push_str(&pad);
                    }
                    Align::Right => {
                        text.push_str(&pad);
                        text.push_str(cell);
                    }
                }
            }
            writeln!(f, "{}", text.trim_end())?;
        }
        Ok(())
    }
}
