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
/// use snm_cli::table::{Align, Table};
///
/// let mut table = Table::new(&[("account", Align::Left), ("paid", Align::Right)]);
/// table.row(["0xA", "150 SNM"]);
/// table.row(["0xB", "50.5 SNM"]);
/// assert_eq!(table.to_string(), "account      paid\n0xA       150 SNM\n0xB      50.5 SNM\n");
/// ```
#[derive(Clone, Debug)]
pub struct Table {
    header: Vec<String>,
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers and alignments, no rows.
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            header: columns.iter().map(|(name, _)| (*name).to_owned()).collect(),
            aligns: columns.iter().map(|(_, align)| *align).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty, extra ones are dropped).
    pub fn row<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, cells: I) {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).take(self.aligns.len()).collect();
        row.resize(self.aligns.len(), String::new());
        self.rows.push(row);
    }

    /// How many rows it has.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = || std::iter::once(&self.header).chain(&self.rows);
        let widths: Vec<usize> = (0..self.aligns.len())
            .map(|k| lines().map(|line| line[k].chars().count()).max().unwrap_or(0))
            .collect();
        for line in lines() {
            let mut text = String::new();
            for (k, cell) in line.iter().enumerate() {
                if k > 0 {
                    text.push_str("  ");
                }
                let width = widths[k];
                match self.aligns[k] {
                    Align::Left => text.push_str(&format!("{cell:<width$}")),
                    Align::Right => text.push_str(&format!("{cell:>width$}")),
                }
            }
            writeln!(f, "{}", text.trim_end())?;
        }
        Ok(())
    }
}
