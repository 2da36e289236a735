//! OpenZeppelin's `standard-v1` dump of a tree: written on every core of rayon's pool (the
//! biggest file of a round), and loaded back with every node checked.

use std::{
    io::{self, Write},
    ops::Range,
    path::Path,
};

use alloy::{
    hex,
    primitives::{Address, U256},
};
use rayon::prelude::*;
use serde::Deserialize;

use super::{hash::leaf_hash, tree::StandardMerkleTree};
use crate::{
    rewards::{error::RewardsError, input_error::Location},
    units::{Snm, fixed},
};

/// The leaf encoding written in the dump, as OpenZeppelin names it.
pub const LEAF_ENCODING: [&str; 2] = ["address", "uint256"];

impl StandardMerkleTree {
    /// Writes the tree in OpenZeppelin's `standard-v1` dump format (what `StandardMerkleTree.dump()`
    /// returns and `StandardMerkleTree.load()` takes), one array element per line. Addresses are
    /// written in EIP-55 checksum form and amounts as decimal strings of wei.
    pub fn write_dump<W: Write + Send>(&self, out: &mut W) -> io::Result<()> {
        out.write_all(
            b"{\"format\":\"standard-v1\",\"leafEncoding\":[\"address\",\"uint256\"],\"tree\":[\n",
        )?;
        let last = self.tree.len() - 1;
        par_format(out, self.tree.len(), 70, |range, buf| {
            // `"0x` + 64 hex digits + `",\n`: 70 bytes per node, written in place.
            let at = buf.len();
            buf.resize(at + 70 * range.len(), 0);
            for (slot, node) in buf[at..].chunks_exact_mut(70).zip(&self.tree[range.clone()]) {
                slot[0] = b'"';
                slot[1..67].copy_from_slice(hex::Buffer::<32, true>::new().format(&node.0).as_bytes());
                slot[67..].copy_from_slice(b"\",\n");
            }
            if range.end == last + 1 {
                buf.truncate(buf.len() - 2);
                buf.push(b'\n');
            }
        })?;
        out.write_all(b"],\"values\":[\n")?;
        let last = self.values.len() - 1;
        par_format(out, self.values.len(), 110, |range, buf| {
            for k in range {
                let (account, amount) = self.values[k];
                buf.extend_from_slice(b"{\"value\":[\"");
                buf.extend_from_slice(account.to_checksum_buffer(None).as_str().as_bytes());
                buf.extend_from_slice(b"\",\"");
                fixed::push(buf, amount.wei(), 0);
                buf.extend_from_slice(b"\"],\"treeIndex\":");
                fixed::push(buf, U256::from(self.tree_index[k]), 0);
                buf.extend_from_slice(if k == last { b"}\n" } else { b"},\n" });
            }
        })?;
        out.write_all(b"]}\n")
    }

    /// Loads and fully checks a `standard-v1` dump of `(address, uint256)` leaves: every node must
    /// be the hash of its children, every value's leaf must sit at its `treeIndex`, and every leaf
    /// must have exactly one value. It blocks (it reads the file and rebuilds the tree on every
    /// core): in async code, call it on a blocking thread (`tokio::task::spawn_blocking`).
    pub fn load_dump(path: &Path) -> Result<Self, RewardsError> {
        let file = std::fs::File::open(path).map_err(|e| RewardsError::io(path, e))?;
        let bad = |reason: String| RewardsError::Dump { at: Location::file(path), reason };
        let dump: Dump =
            serde_json::from_reader(io::BufReader::with_capacity(1 << 20, file)).map_err(|e| {
                RewardsError::Dump { at: Location::line(path, e.line() as u64), reason: e.to_string() }
            })?;
        if dump.format != "standard-v1" {
            return Err(bad(format!("unknown format `{}`", dump.format)));
        }
        if dump.leaf_encoding != LEAF_ENCODING {
            return Err(bad(format!(
                "leaf encoding {:?} is not [\"address\", \"uint256\"]",
                dump.leaf_encoding
            )));
        }
        let n = dump.values.len();
        if n == 0 || dump.tree.len() != 2 * n - 1 {
            return Err(bad(format!(
                "{} values need {} nodes, found {}",
                n,
                (2 * n).max(1) - 1,
                dump.tree.len()
            )));
        }
        let mut values = Vec::with_capacity(n);
        let mut seen = vec![false; dump.tree.len()];
        for entry in &dump.values {
            let account: Address =
                entry.value.0.parse().map_err(|_| bad(format!("bad address `{}`", entry.value.0)))?;
            let amount = fixed::parse(&entry.value.1, 0)
                .map_err(|_| bad(format!("bad amount `{}`", entry.value.1)))?;
            if entry.tree_index < n - 1 || entry.tree_index >= dump.tree.len() || seen[entry.tree_index] {
                return Err(bad(format!("treeIndex {} is not a free leaf position", entry.tree_index)));
            }
            seen[entry.tree_index] = true;
            values.push((account, Snm::from_wei(amount)));
        }
        let built = Self::build(values.clone())?;
        for (k, (account, amount)) in values.iter().enumerate() {
            let stored = &dump.tree[dump.values[k].tree_index];
            let leaf = format!("{}", leaf_hash(*account, *amount));
            if !stored.eq_ignore_ascii_case(&leaf) {
                return Err(bad(format!(
                    "leaf of {account} is not at treeIndex {}",
                    dump.values[k].tree_index
                )));
            }
        }
        for (i, (stored, node)) in dump.tree.iter().zip(&built.tree).enumerate() {
            if !stored.eq_ignore_ascii_case(&format!("{node}")) {
                return Err(bad(format!("node {i} is not the hash of its children")));
            }
        }
        Ok(built)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Dump {
    format: String,
    #[serde(rename = "leafEncoding")]
    leaf_encoding: Vec<String>,
    tree: Vec<String>,
    values: Vec<DumpValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DumpValue {
    value: (String, String),
    #[serde(rename = "treeIndex")]
    tree_index: usize,
}

/// Formats items `0..count` in batches of 32,768 on rayon's pool, with `fill(range, buffer)`
/// appending a batch, and writes the batches in order (see [`format_in_batches`]).
fn par_format<W: Write + Send>(
    out: &mut W,
    count: usize,
    bytes_per_item: usize,
    fill: impl Fn(Range<usize>, &mut Vec<u8>) + Sync,
) -> io::Result<()> {
    format_in_batches(out, count, 1 << 15, bytes_per_item, fill)
}

/// Formats items `0..count` in batches of `batch` on rayon's pool, with `fill(range, buffer)`
/// appending a batch, and writes the batches in order: one batch per thread at a time, written
/// while the next ones are formatted.
fn format_in_batches<W: Write + Send>(
    out: &mut W,
    count: usize,
    batch: usize,
    bytes_per_item: usize,
    fill: impl Fn(Range<usize>, &mut Vec<u8>) + Sync,
) -> io::Result<()> {
    let threads = rayon::current_num_threads();
    let (mut formatted, mut spare): (Vec<Vec<u8>>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < count {
        let batches = (count - start).div_ceil(batch).min(threads);
        let mut next: Vec<Vec<u8>> = (0..batches)
            .map(|_| spare.pop().unwrap_or_else(|| Vec::with_capacity(batch * bytes_per_item)))
            .collect();
        let (written, ()) = rayon::join(
            || formatted.iter().try_for_each(|batch| out.write_all(batch)),
            || {
                next.par_iter_mut().enumerate().for_each(|(t, buf)| {
                    buf.clear();
                    let from = start + t * batch;
                    fill(from..(from + batch).min(count), buf);
                })
            },
        );
        written?;
        spare.append(&mut formatted);
        formatted = next;
        start += batches * batch;
    }
    formatted.iter().try_for_each(|batch| out.write_all(batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(k: u8) -> Address {
        Address::repeat_byte(k)
    }

    #[test]
    fn dump_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let values: Vec<_> = (1..=5u8).map(|k| (account(k), Snm::from_whole(u64::from(k) * 10))).collect();
        let tree = StandardMerkleTree::build(values)?;
        let dir = std::env::temp_dir().join(format!("snm-merkle-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("dump.json");
        let mut bytes = Vec::new();
        tree.write_dump(&mut bytes)?;
        let parsed: serde_json::Value = serde_json::from_slice(&bytes)?;
        assert_eq!(parsed["format"], "standard-v1");
        std::fs::write(&path, &bytes)?;
        assert_eq!(StandardMerkleTree::load_dump(&path)?, tree);
        // Tamper with an amount: the load must fail.
        let tampered =
            String::from_utf8(bytes)?.replace("\"10000000000000000000\"", "\"10000000000000000001\"");
        std::fs::write(&path, tampered)?;
        assert!(matches!(StandardMerkleTree::load_dump(&path), Err(RewardsError::Dump { .. })));
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn batches_are_written_whole_and_in_order_whatever_the_count() -> io::Result<()> {
        for batch in [1, 3, 7] {
            for count in 0..40 {
                let mut out = Vec::new();
                format_in_batches(&mut out, count, batch, 4, |range, buf| {
                    for k in range {
                        buf.extend_from_slice(format!("{k},").as_bytes());
                    }
                })?;
                let expected: String = (0..count).map(|k| format!("{k},")).collect();
                assert_eq!(String::from_utf8_lossy(&out), expected, "batch {batch}, count {count}");
            }
        }
        Ok(())
    }

    #[test]
    fn a_write_error_stops_the_dump_and_is_returned() {
        /// Accepts `left` bytes, then fails.
        struct Full {
            left: usize,
        }
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.left == 0 {
                    return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
                }
                let n = buf.len().min(self.left);
                self.left -= n;
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let fill = |range: Range<usize>, buf: &mut Vec<u8>| buf.extend(range.map(|_| b'x'));
        let err = format_in_batches(&mut Full { left: 10 }, 100, 4, 1, fill).expect_err("the disk is full");
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    }

    #[test]
    fn a_dump_holds_every_node_and_value_in_order() -> Result<(), Box<dyn std::error::Error>> {
        let values: Vec<_> = (0..300u64)
            .map(|k| (Address::left_padding_from(&k.to_be_bytes()), Snm::from_wei(U256::from(k) << 70)))
            .collect();
        let tree = StandardMerkleTree::build(values)?;
        let mut bytes = Vec::new();
        tree.write_dump(&mut bytes)?;
        assert!(bytes.ends_with(b"\n]}\n"));
        let parsed: serde_json::Value = serde_json::from_slice(&bytes)?;
        // alloy's own formatting of every node, and of every value with its leaf's position.
        let nodes: Vec<String> = tree.nodes().iter().map(|node| format!("{node}")).collect();
        assert_eq!(parsed["tree"], serde_json::json!(nodes));
        let values: Vec<serde_json::Value> = tree
            .values()
            .iter()
            .map(|(account, amount)| {
                let at = tree.position(*account).map(|k| tree.tree_index[k]);
                serde_json::json!({"value": [account.to_checksum(None), amount.wei().to_string()], "treeIndex": at})
            })
            .collect();
        assert_eq!(parsed["values"], serde_json::json!(values));
        Ok(())
    }
}
