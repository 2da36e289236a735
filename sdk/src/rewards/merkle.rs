//! OpenZeppelin's `StandardMerkleTree` for `(address account, uint256 cumulativeAmount)` leaves,
//! built exactly as `@openzeppelin/merkle-tree` 1.x builds it, so that its `StandardMerkleTree.load`
//! accepts our dumps and the contract's `MerkleProof.verify` accepts our proofs:
//!
//! - leaf = `keccak256(bytes.concat(keccak256(abi.encode(account, amount))))`;
//! - node = `keccak256(min(a, b) ‖ max(a, b))` (sorted pair, bytes compared as big-endian numbers);
//! - leaves are sorted by hash (ascending) and stored at the end of the array in reverse order:
//!   leaf `k` of the sorted list sits at `tree[2n - 2 - k]`; node `i` has children `2i + 1` and
//!   `2i + 2`; the root is `tree[0]`;
//! - a proof lists the siblings from the leaf up to (not including) the root;
//! - a multiproof ([`RewardMultiProof`]) proves several leaves at once, as OpenZeppelin's
//!   `getMultiProof` makes it and `processMultiProof` checks it.
//!
//! Building uses every core (up to the machine's parallelism) for leaf hashing, each tree level
//! and the dump's formatting.

use std::{
    cmp::Reverse,
    collections::VecDeque,
    io::{self, Write},
    num::NonZeroUsize,
    path::Path,
    sync::mpsc,
    thread,
};

use alloy::primitives::{Address, B256, U256, keccak256};
use serde::Deserialize;

use super::error::{Location, MultiProofError, RewardsError};
use crate::units::{Snm, fixed};

/// The leaf encoding written in the dump, as OpenZeppelin names it.
pub const LEAF_ENCODING: [&str; 2] = ["address", "uint256"];

/// The standard leaf of `(account, amount)`: `keccak256(keccak256(abi.encode(account, amount)))`.
pub fn leaf_hash(account: Address, amount: Snm) -> B256 {
    let mut encoded = [0u8; 64];
    encoded[12..32].copy_from_slice(account.as_slice());
    encoded[32..].copy_from_slice(&amount.wei().to_be_bytes::<32>());
    keccak256(keccak256(encoded))
}

/// The standard inner node: the hash of the two children, smaller first.
pub fn node_hash(a: &B256, b: &B256) -> B256 {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let mut pair = [0u8; 64];
    pair[..32].copy_from_slice(low.as_slice());
    pair[32..].copy_from_slice(high.as_slice());
    keccak256(pair)
}

/// Checks a proof the way `MerkleProof.verify` does on chain.
pub fn verify(root: B256, account: Address, amount: Snm, proof: &[B256]) -> bool {
    proof.iter().fold(leaf_hash(account, amount), |node, sibling| node_hash(&node, sibling)) == root
}

/// One account's claim under a tree's root: the account, its cumulative amount and the leaf's
/// proof, as the distributor's `claim` and `claimMany` take them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardClaim {
    /// The account paid (whoever sends the claim).
    pub account: Address,
    /// Its cumulative amount in the leaf.
    pub cumulative: Snm,
    /// The leaf's proof: siblings from the leaf up to the root.
    pub proof: Vec<B256>,
}

/// An OpenZeppelin multiproof of several leaves under one root: what `@openzeppelin/merkle-tree`'s
/// `getMultiProof` returns and the distributor's `claimMultiproof` (like `MerkleProof.multiProofVerify`)
/// takes. A sibling shared by several leaves is sent once, and a node computed from two of them is
/// not sent at all, so the multiproof of a run of neighbouring leaves (a batch of
/// [`StandardMerkleTree::sweep_batches`]) is far shorter than their single proofs.
///
/// The root is computed as OpenZeppelin's `processMultiProof` does: a queue starts with the
/// leaves; each flag is one step that hashes the next queued node with either the next queued node
/// (`true`) or the next hash of `proof` (`false`), and queues the result; the last hash is the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardMultiProof {
    /// Each leaf's account and cumulative amount, in the multiproof's order: descending index in
    /// the tree's node array (the order `claimMultiproof` needs them in).
    pub leaves: Vec<(Address, Snm)>,
    /// The sibling hashes the leaves do not produce themselves, in the order the steps take them.
    pub proof: Vec<B256>,
    /// One flag per hashing step: `true` takes the second node from the queue, `false` from
    /// `proof`.
    pub flags: Vec<bool>,
}

impl RewardMultiProof {
    /// The accounts proven, in the multiproof's order.
    pub fn accounts(&self) -> impl Iterator<Item = Address> + '_ {
        self.leaves.iter().map(|(account, _)| *account)
    }

    /// The number of leaves proven.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether no leaf is proven (never true for a multiproof the tree made).
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The root this multiproof leads to, computed exactly as OpenZeppelin's `processMultiProof`
    /// (JS) does, with its checks: at least one leaf, leaves plus proof hashes one more than the
    /// flags, and every step finding the node its flag asks for.
    pub fn compute_root(&self) -> Result<B256, MultiProofError> {
        let (leaves, proof, flags) = (self.leaves.len(), self.proof.len(), self.flags.len());
        if leaves == 0 {
            return Err(MultiProofError::NoLeaves);
        }
        if leaves + proof != flags + 1 {
            return Err(MultiProofError::LengthMismatch { leaves, proof, flags });
        }
        let mut queue: VecDeque<B256> =
            self.leaves.iter().map(|(account, amount)| leaf_hash(*account, *amount)).collect();
        let mut siblings = self.proof.iter();
        for (step, &flag) in self.flags.iter().enumerate() {
            let exhausted = |wanted| MultiProofError::Exhausted { step, wanted };
            let a = queue.pop_front().ok_or(exhausted("computed node"))?;
            let b = if flag {
                queue.pop_front().ok_or(exhausted("computed node"))?
            } else {
                *siblings.next().ok_or(exhausted("proof hash"))?
            };
            queue.push_back(node_hash(&a, &b));
        }
        // With the lengths checked, exactly one node is left: the last one computed, or the single
        // leaf when there was no step.
        queue.pop_back().ok_or(MultiProofError::NoLeaves)
    }

    /// Whether the multiproof leads to `root` (a malformed one does not).
    pub fn verify(&self, root: B256) -> bool {
        self.compute_root() == Ok(root)
    }
}

/// A built tree: every node, and each value's position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandardMerkleTree {
    /// Every node, root first (OpenZeppelin's array layout).
    tree: Vec<B256>,
    /// The leaves' values, sorted by account.
    values: Vec<(Address, Snm)>,
    /// For `values[k]`, its index in `tree`.
    tree_index: Vec<usize>,
}

/// How many threads to use for `len` independent items.
fn workers(len: usize) -> usize {
    if len < 8192 { 1 } else { thread::available_parallelism().map_or(1, |n| n.get()).min(len) }
}

/// Sorts leaves by hash: halves sorted on two threads, then merged.
fn par_sort(mut leaves: Vec<(B256, usize)>) -> Vec<(B256, usize)> {
    if workers(leaves.len()) < 2 {
        leaves.sort_unstable_by_key(|a| a.0);
        return leaves;
    }
    let mid = leaves.len() / 2;
    let (left, right) = leaves.split_at_mut(mid);
    thread::scope(|scope| {
        scope.spawn(|| left.sort_unstable_by_key(|a| a.0));
        right.sort_unstable_by_key(|a| a.0);
    });
    let (left, right) = leaves.split_at(mid);
    let mut merged = Vec::with_capacity(leaves.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if left[i].0 <= right[j].0 {
            merged.push(left[i]);
            i += 1;
        } else {
            merged.push(right[j]);
            j += 1;
        }
    }
    merged.extend_from_slice(&left[i..]);
    merged.extend_from_slice(&right[j..]);
    merged
}

/// Runs `f(first_index, chunk)` over `slice` split into one chunk per worker.
fn par_chunks<T: Send>(slice: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    let threads = workers(slice.len());
    if threads <= 1 {
        f(0, slice);
        return;
    }
    let size = slice.len().div_ceil(threads);
    thread::scope(|scope| {
        for (k, chunk) in slice.chunks_mut(size).enumerate() {
            let f = &f;
            scope.spawn(move || f(k * size, chunk));
        }
    });
}

impl StandardMerkleTree {
    /// Builds the tree of `(account, cumulative amount)` values. The values may come in any
    /// order; they are kept sorted by account. Fails on no values or a repeated account.
    pub fn build(mut values: Vec<(Address, Snm)>) -> Result<Self, RewardsError> {
        if values.is_empty() {
            return Err(RewardsError::NothingToDistribute);
        }
        values.sort_unstable_by_key(|(account, _)| *account);
        if let Some(pair) = values.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(RewardsError::DuplicateAccount(pair[0].0));
        }
        let n = values.len();
        // (leaf hash, value index), hashed in parallel then sorted by hash.
        let mut leaves: Vec<(B256, usize)> = vec![(B256::ZERO, 0); n];
        par_chunks(&mut leaves, |first, chunk| {
            for (offset, slot) in chunk.iter_mut().enumerate() {
                let (account, amount) = values[first + offset];
                *slot = (leaf_hash(account, amount), first + offset);
            }
        });
        let leaves = par_sort(leaves);

        let len = 2 * n - 1;
        let mut tree = vec![B256::ZERO; len];
        let mut tree_index = vec![0usize; n];
        for (k, (hash, value)) in leaves.into_iter().enumerate() {
            tree[len - 1 - k] = hash;
            tree_index[value] = len - 1 - k;
        }
        // Inner nodes 0..n-1, one depth at a time from the deepest: the nodes of depth d are
        // indices [2^d - 1, 2^(d+1) - 1) and their children all lie at or after 2^(d+1) - 1.
        if n > 1 {
            let deepest = usize::BITS - 1 - (n - 1).leading_zeros(); // depth of node n - 2
            for depth in (0..=deepest).rev() {
                let lo = (1usize << depth) - 1;
                let split = (1usize << (depth + 1)) - 1;
                let hi = split.min(n - 1);
                let (head, tail) = tree.split_at_mut(split);
                let tail = &*tail;
                par_chunks(&mut head[lo..hi], |first, chunk| {
                    for (offset, node) in chunk.iter_mut().enumerate() {
                        let i = lo + first + offset;
                        *node = node_hash(&tail[2 * i + 1 - split], &tail[2 * i + 2 - split]);
                    }
                });
            }
        }
        Ok(Self { tree, values, tree_index })
    }

    /// The root: what the distributor is given.
    pub fn root(&self) -> B256 {
        self.tree[0]
    }

    /// The number of leaves.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the tree has no leaves (never true for a built tree).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The leaves' values, sorted by account.
    pub fn values(&self) -> &[(Address, Snm)] {
        &self.values
    }

    /// Every node in OpenZeppelin's array order (root first).
    pub fn nodes(&self) -> &[B256] {
        &self.tree
    }

    /// The cumulative amount of `account`, if it has a leaf.
    pub fn amount(&self, account: Address) -> Option<Snm> {
        self.position(account).map(|k| self.values[k].1)
    }

    fn position(&self, account: Address) -> Option<usize> {
        self.values.binary_search_by_key(&account, |(a, _)| *a).ok()
    }

    /// The proof for `account`'s leaf (siblings from the leaf up), or `None` when the account
    /// has no leaf.
    pub fn proof(&self, account: Address) -> Option<Vec<B256>> {
        self.position(account).map(|k| self.proof_at(k))
    }

    /// `account`'s claim (cumulative amount and proof), or `None` when it has no leaf.
    pub fn claim(&self, account: Address) -> Option<RewardClaim> {
        self.position(account).map(|k| self.claim_at(k))
    }

    /// Every leaf's claim, in the order of [`Self::values`] (by account).
    pub fn claims(&self) -> impl Iterator<Item = RewardClaim> + '_ {
        (0..self.values.len()).map(|k| self.claim_at(k))
    }

    fn claim_at(&self, k: usize) -> RewardClaim {
        let (account, cumulative) = self.values[k];
        RewardClaim { account, cumulative, proof: self.proof_at(k) }
    }

    /// The proof for `values()[k]`. Panics-free: an index out of range gives an empty proof.
    pub fn proof_at(&self, k: usize) -> Vec<B256> {
        let mut proof = Vec::with_capacity(usize::BITS as usize - self.tree.len().leading_zeros() as usize);
        self.proof_into(k, &mut proof);
        proof
    }

    /// Writes the proof for `values()[k]` into `proof` (cleared first), to reuse one buffer.
    pub fn proof_into(&self, k: usize, proof: &mut Vec<B256>) {
        proof.clear();
        let Some(&start) = self.tree_index.get(k) else { return };
        let mut i = start;
        while i > 0 {
            let sibling = if i % 2 == 1 { i + 1 } else { i - 1 };
            proof.push(self.tree[sibling]);
            i = (i - 1) / 2;
        }
    }

    /// The multiproof of `accounts`' leaves (in any order; the multiproof orders them), as
    /// OpenZeppelin's `getMultiProof` gives it. Fails on no account, an account without a leaf, or
    /// an account given twice.
    pub fn multi_proof(&self, accounts: &[Address]) -> Result<RewardMultiProof, MultiProofError> {
        let chosen = self.positions(accounts.iter().copied())?;
        self.multi_proof_of(chosen, |k| MultiProofError::DuplicateAccount(self.values[k].0))
    }

    /// The multiproof of the leaves of `values()[k]` for each `k` of `indexes` (in any order), as
    /// OpenZeppelin's `getMultiProof` gives it for value indexes. Fails on no index, an index out
    /// of range, or an index given twice.
    pub fn multi_proof_at(&self, indexes: &[usize]) -> Result<RewardMultiProof, MultiProofError> {
        if let Some(&index) = indexes.iter().find(|&&k| k >= self.values.len()) {
            return Err(MultiProofError::IndexOutOfRange { index, leaves: self.values.len() });
        }
        self.multi_proof_of(indexes.to_vec(), MultiProofError::DuplicateIndex)
    }

    /// OpenZeppelin's `getMultiProof` (`@openzeppelin/merkle-tree`'s core) for the values at
    /// `chosen` (in range), with `duplicate(k)` the error for a value given twice.
    fn multi_proof_of(
        &self,
        chosen: Vec<usize>,
        duplicate: impl Fn(usize) -> MultiProofError,
    ) -> Result<RewardMultiProof, MultiProofError> {
        if chosen.is_empty() {
            return Err(MultiProofError::NoLeaves);
        }
        let leaves = self.in_proof_order(chosen, duplicate)?;
        // The nodes known so far, in the order their parents are computed: a node whose sibling is
        // next in line is hashed with it (flag `true`), any other with its sibling from the tree
        // (flag `false`, sibling sent); either way the parent joins the line, until the root.
        let mut line: VecDeque<usize> = leaves.iter().map(|(node, _)| *node).collect();
        let (mut proof, mut flags) = (Vec::new(), Vec::new());
        while let Some(node) = line.pop_front().filter(|node| *node > 0) {
            let sibling = if node % 2 == 1 { node + 1 } else { node - 1 };
            if line.front() == Some(&sibling) {
                flags.push(true);
                line.pop_front();
            } else {
                flags.push(false);
                proof.push(self.tree[sibling]);
            }
            line.push_back((node - 1) / 2);
        }
        let leaves = leaves.into_iter().map(|(_, k)| self.values[k]).collect();
        Ok(RewardMultiProof { leaves, proof, flags })
    }

    /// `accounts` in the order a sweep pays them, cut into batches of up to `batch`: by descending
    /// index in the node array (the multiproof's own order), so that each batch is a run of
    /// neighbouring leaves whose multiproof shares all but a few siblings (the tree sorts leaves by
    /// hash, so an account's neighbours are arbitrary accounts, but neighbours all the same). No
    /// account gives no batch. Fails on an account without a leaf or given twice.
    pub fn sweep_batches(
        &self,
        accounts: impl IntoIterator<Item = Address>,
        batch: NonZeroUsize,
    ) -> Result<Vec<Vec<Address>>, MultiProofError> {
        // The multiproof's own order, so that each batch is already in it.
        let duplicate = |k: usize| MultiProofError::DuplicateAccount(self.values[k].0);
        let order = self.in_proof_order(self.positions(accounts)?, duplicate)?;
        let accounts: Vec<Address> = order.iter().map(|&(_, k)| self.values[k].0).collect();
        Ok(accounts.chunks(batch.get()).map(<[Address]>::to_vec).collect())
    }

    /// The value index of each of `accounts`, in their order; fails on the first without a leaf.
    fn positions(&self, accounts: impl IntoIterator<Item = Address>) -> Result<Vec<usize>, MultiProofError> {
        accounts
            .into_iter()
            .map(|account| self.position(account).ok_or(MultiProofError::UnknownAccount(account)))
            .collect()
    }

    /// `(tree index, value index)` of each value index of `chosen` (in range), by descending tree
    /// index: the order of a multiproof's leaves (OpenZeppelin's `getMultiProof` sorts them so),
    /// with `duplicate(k)` the error for a value given twice.
    fn in_proof_order(
        &self,
        chosen: Vec<usize>,
        duplicate: impl Fn(usize) -> MultiProofError,
    ) -> Result<Vec<(usize, usize)>, MultiProofError> {
        let mut leaves: Vec<(usize, usize)> = chosen.into_iter().map(|k| (self.tree_index[k], k)).collect();
        leaves.sort_unstable_by_key(|(node, _)| Reverse(*node));
        match leaves.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            Some(pair) => Err(duplicate(pair[0].1)),
            None => Ok(leaves),
        }
    }

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
                slot[..3].copy_from_slice(b"\"0x");
                hex_into(&mut slot[3..67], node.as_slice());
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
    /// must have exactly one value.
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

/// Two lowercase hex digits for every byte value.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [DIGITS[i >> 4], DIGITS[i & 15]];
        i += 1;
    }
    table
};

/// Writes the lowercase hex digits of `bytes` into `out` (twice as long).
fn hex_into(out: &mut [u8], bytes: &[u8]) {
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
    }
}

/// Waits for a scoped thread, passing its panic on.
fn join<T>(handle: thread::ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Formats items `0..count` in batches on every core, with `fill(range, buffer)` appending a
/// batch, while a writer thread writes the finished batches in order.
fn par_format<W: Write + Send>(
    out: &mut W,
    count: usize,
    bytes_per_item: usize,
    fill: impl Fn(std::ops::Range<usize>, &mut Vec<u8>) + Sync,
) -> io::Result<()> {
    const BATCH: usize = 1 << 15;
    let threads = workers(count);
    thread::scope(|scope| {
        let (to_writer, batches) = mpsc::sync_channel::<Vec<u8>>(2 * threads);
        let (recycle, spare) = mpsc::channel::<Vec<u8>>();
        let writer = scope.spawn(move || -> io::Result<()> {
            for batch in batches {
                out.write_all(&batch)?;
                let _ = recycle.send(batch);
            }
            Ok(())
        });
        let fill = &fill;
        let mut start = 0;
        while start < count {
            let mut buffers: Vec<Vec<u8>> = (0..threads)
                .map(|_| spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH * bytes_per_item)))
                .collect();
            thread::scope(|inner| {
                let mut handles = Vec::with_capacity(threads);
                for (t, buf) in buffers.iter_mut().enumerate() {
                    buf.clear();
                    let from = (start + t * BATCH).min(count);
                    let range = from..(from + BATCH).min(count);
                    if t + 1 == threads {
                        fill(range, buf);
                    } else {
                        handles.push(inner.spawn(move || fill(range, buf)));
                    }
                }
                handles.into_iter().for_each(join);
            });
            for buf in buffers {
                if to_writer.send(buf).is_err() {
                    break; // the writer failed; its error is returned below
                }
            }
            start += threads * BATCH;
        }
        drop(to_writer);
        join(writer)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(k: u8) -> Address {
        Address::repeat_byte(k)
    }

    #[test]
    fn every_proof_verifies_for_every_size() -> Result<(), RewardsError> {
        for n in 1..=33u8 {
            let values: Vec<_> = (1..=n).map(|k| (account(k), Snm::from_whole(u64::from(k)))).collect();
            let tree = StandardMerkleTree::build(values.clone())?;
            assert_eq!(tree.len(), usize::from(n));
            for (a, amount) in &values {
                let proof = tree.proof(*a).expect("has a leaf");
                assert!(verify(tree.root(), *a, *amount, &proof), "n={n} account={a}");
                assert!(!verify(tree.root(), *a, Snm::from_whole(1000), &proof));
            }
            assert_eq!(tree.proof(account(200)), None);
        }
        Ok(())
    }

    #[test]
    fn matches_the_layout_by_hand() -> Result<(), RewardsError> {
        let values = vec![(account(1), Snm::from_whole(1)), (account(2), Snm::from_whole(2))];
        let tree = StandardMerkleTree::build(values.clone())?;
        let mut leaves: Vec<B256> = values.iter().map(|(a, s)| leaf_hash(*a, *s)).collect();
        leaves.sort();
        assert_eq!(tree.nodes(), &[node_hash(&leaves[0], &leaves[1]), leaves[1], leaves[0]]);
        let single = StandardMerkleTree::build(vec![(account(7), Snm::from_whole(7))])?;
        assert_eq!(single.root(), leaf_hash(account(7), Snm::from_whole(7)));
        assert_eq!(single.proof(account(7)), Some(vec![]));
        Ok(())
    }

    #[test]
    fn rejects_empty_and_duplicates() {
        assert!(matches!(StandardMerkleTree::build(vec![]), Err(RewardsError::NothingToDistribute)));
        let dup = vec![(account(1), Snm::ZERO), (account(1), Snm::from_whole(1))];
        assert!(matches!(StandardMerkleTree::build(dup), Err(RewardsError::DuplicateAccount(_))));
    }

    #[test]
    fn parallel_build_matches_serial_definition() -> Result<(), RewardsError> {
        // Large enough to use several threads; compare against a direct serial build.
        let values: Vec<_> = (0..20_001u64)
            .map(|k| (Address::left_padding_from(&k.to_be_bytes()), Snm::from_wei(U256::from(k * 7 + 1))))
            .collect();
        let tree = StandardMerkleTree::build(values.clone())?;
        let mut leaves: Vec<B256> = values.iter().map(|(a, s)| leaf_hash(*a, *s)).collect();
        leaves.sort();
        let n = leaves.len();
        let mut serial = vec![B256::ZERO; 2 * n - 1];
        for (k, leaf) in leaves.iter().enumerate() {
            serial[2 * n - 2 - k] = *leaf;
        }
        for i in (0..n - 1).rev() {
            serial[i] = node_hash(&serial[2 * i + 1], &serial[2 * i + 2]);
        }
        assert_eq!(tree.nodes(), &serial[..]);
        Ok(())
    }

    /// `n` leaves of distinct accounts 1..=n.
    fn tree_of(n: u8) -> Result<StandardMerkleTree, RewardsError> {
        StandardMerkleTree::build((1..=n).map(|k| (account(k), Snm::from_whole(u64::from(k)))).collect())
    }

    #[test]
    fn every_multiproof_verifies_for_every_size() -> Result<(), RewardsError> {
        for n in 1..=33u8 {
            let tree = tree_of(n)?;
            let all: Vec<usize> = (0..tree.len()).collect();
            let mut subsets = vec![all.clone(), vec![0], vec![tree.len() - 1]];
            subsets
                .extend((0..tree.len()).map(|k| vec![k, (k * 7 + 3) % tree.len()]).filter(|s| s[0] != s[1]));
            subsets.push(all.iter().copied().filter(|k| k % 3 != 1).collect());
            for subset in subsets {
                let multiproof = tree.multi_proof_at(&subset)?;
                assert!(multiproof.verify(tree.root()), "n={n} subset={subset:?}");
                assert_eq!(multiproof.len(), subset.len());
                assert_eq!(multiproof.leaves.len() + multiproof.proof.len(), multiproof.flags.len() + 1);
                // Leaves come by descending tree index, whatever order they were asked in.
                let order: Vec<usize> = multiproof
                    .accounts()
                    .map(|a| tree.position(a).map_or(usize::MAX, |k| tree.tree_index[k]))
                    .collect();
                assert!(order.windows(2).all(|pair| pair[0] > pair[1]), "n={n} {order:?}");
                let mut wrong = multiproof.clone();
                wrong.leaves[0].1 = Snm::from_whole(1000);
                assert!(!wrong.verify(tree.root()));
            }
            // Every leaf: nothing to send, every step hashes two computed nodes.
            let whole = tree.multi_proof_at(&all)?;
            assert!(whole.proof.is_empty() && whole.flags.iter().all(|flag| *flag), "n={n}");
        }
        Ok(())
    }

    #[test]
    fn a_single_leaf_multiproof_is_its_proof() -> Result<(), RewardsError> {
        let tree = tree_of(11)?;
        for (k, (who, amount)) in tree.values().iter().enumerate() {
            let multiproof = tree.multi_proof(&[*who])?;
            assert_eq!(multiproof.leaves, vec![(*who, *amount)]);
            assert_eq!(multiproof.proof, tree.proof_at(k));
            assert_eq!(multiproof.flags, vec![false; multiproof.proof.len()]);
            assert_eq!(multiproof, tree.multi_proof_at(&[k])?);
        }
        let single = tree_of(1)?.multi_proof(&[account(1)])?;
        assert_eq!((single.proof.len(), single.flags.len()), (0, 0));
        assert_eq!(single.compute_root()?, leaf_hash(account(1), Snm::from_whole(1)));
        Ok(())
    }

    #[test]
    fn multiproof_refusals_name_the_problem() -> Result<(), RewardsError> {
        let tree = tree_of(5)?;
        assert_eq!(tree.multi_proof(&[]), Err(MultiProofError::NoLeaves));
        assert_eq!(tree.multi_proof_at(&[]), Err(MultiProofError::NoLeaves));
        assert_eq!(
            tree.multi_proof(&[account(1), account(9)]),
            Err(MultiProofError::UnknownAccount(account(9)))
        );
        assert_eq!(
            tree.multi_proof(&[account(2), account(1), account(2)]),
            Err(MultiProofError::DuplicateAccount(account(2)))
        );
        assert_eq!(
            tree.multi_proof_at(&[0, 5]),
            Err(MultiProofError::IndexOutOfRange { index: 5, leaves: 5 })
        );
        assert_eq!(tree.multi_proof_at(&[3, 0, 3]), Err(MultiProofError::DuplicateIndex(3)));
        let message = MultiProofError::DuplicateAccount(account(2)).to_string();
        assert!(message.contains(&account(2).to_string()) && message.contains("twice"), "{message}");

        // Malformed multiproofs do not compute a root, as OpenZeppelin's processMultiProof refuses them.
        let good = tree.multi_proof(&[account(1), account(4)])?;
        let mut extra_flag = good.clone();
        extra_flag.flags.push(false);
        assert!(matches!(extra_flag.compute_root(), Err(MultiProofError::LengthMismatch { .. })));
        let mut no_leaves = good.clone();
        no_leaves.leaves.clear();
        assert_eq!(no_leaves.compute_root(), Err(MultiProofError::NoLeaves));
        // Flags all `true` with the proof's length unchanged: the line of nodes runs dry.
        let mut wrong_flags = good.clone();
        assert!(wrong_flags.flags.len() >= 2 && wrong_flags.flags.contains(&false), "{good:?}");
        wrong_flags.flags = vec![true; wrong_flags.flags.len()];
        assert!(matches!(wrong_flags.compute_root(), Err(MultiProofError::Exhausted { step: 1, .. })));
        let mut tampered = good.clone();
        tampered.proof[0] = B256::repeat_byte(0xab);
        assert!(good.verify(tree.root()) && !tampered.verify(tree.root()));
        Ok(())
    }

    #[test]
    fn sweep_batches_are_runs_in_tree_order() -> Result<(), RewardsError> {
        let tree = tree_of(23)?;
        let accounts: Vec<Address> = tree.values().iter().map(|(a, _)| *a).collect();
        let batch = NonZeroUsize::new(5).ok_or(RewardsError::NothingToDistribute)?;
        let batches = tree.sweep_batches(accounts.iter().copied(), batch)?;
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![5, 5, 5, 5, 3]);
        // Concatenated, the batches walk the leaves from the last node to the first.
        let walked: Vec<usize> = batches.concat().iter().filter_map(|a| tree.position(*a)).collect();
        let expected: Vec<usize> = (tree.len() - 1..tree.nodes().len()).rev().collect();
        assert_eq!(walked.iter().map(|k| tree.tree_index[*k]).collect::<Vec<_>>(), expected);
        for run in &batches {
            let multiproof = tree.multi_proof(run)?;
            assert!(multiproof.verify(tree.root()));
            assert_eq!(
                multiproof.accounts().collect::<Vec<_>>(),
                *run,
                "a batch is already in multiproof order"
            );
        }
        assert_eq!(tree.sweep_batches([], batch)?, Vec::<Vec<Address>>::new());
        assert_eq!(
            tree.sweep_batches([account(99)], batch),
            Err(MultiProofError::UnknownAccount(account(99)))
        );
        assert_eq!(
            tree.sweep_batches([account(3), account(3)], batch),
            Err(MultiProofError::DuplicateAccount(account(3)))
        );
        Ok(())
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
}
