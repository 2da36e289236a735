//! What a supplier agent remembers across restarts, in one JSON file replaced atomically.
//!
//! The file holds the event cursor (the last market event the agent acted on) and every deal it
//! served, with its workload and metered traffic. A batch of events and the cursor past it are
//! saved together, in one file replaced atomically, before the agent acts on them; acting is
//! idempotent given the state (a deal with a workload is not started again, and the runtime adopts
//! a workload it started just before a crash; a stopped one is not stopped twice), so a restart at
//! any point neither misses nor repeats a deal. The agent's open asks are not kept here: they are
//! read back from the chain's order book, so an ask placed just before a crash is not placed twice.
//!
//! A state belongs to one chain ([`ChainBinding`]: chain id, market, and the hash of the market's
//! deployment block). Next to the cursor it keeps the hashes of the last blocks read, so that a
//! reorganisation while the agent was stopped is still rolled back when it starts again.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs, io,
    net::IpAddr,
    path::{Path, PathBuf},
};

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use super::runtime::Workload;
use snm_sdk::{
    events::{BlockRef, EventCursor, RecentBlocks, StreamPosition},
    market::{DealId, DealOpened},
    rewards::CSV_HEADER,
    units::Bytes,
};

/// Version of the state file's format.
pub const STATE_VERSION: u32 = 1;

/// A deal on one of the agent's workers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealRecord {
    /// The machine.
    pub worker: Address,
    /// The machine's IP, as reported to the campaign.
    pub ip: IpAddr,
    /// Who pays.
    pub customer: Address,
    /// Image from the bid.
    pub image: String,
    /// Configuration hash from the bid.
    pub config_hash: B256,
    /// Unix time the deal opened.
    pub opened_at: u64,
    /// Unix time it closed, once it did.
    pub closed_at: Option<u64>,
    /// End of the fixed term; `None` for spot.
    pub end_time: Option<u64>,
    /// The running (or last) workload; `None` before it started or when it could not start.
    pub workload: Option<Workload>,
    /// Failed attempts to start the workload, and the last reason.
    pub start_failures: u32,
    /// Why the last start failed, if it did.
    pub failure: Option<String>,
    /// The endpoint announced on chain, once it was.
    pub announced: Option<String>,
    /// Bytes of earlier workloads of this deal that died and were started again.
    #[serde(default)]
    pub carried_bytes: u128,
    /// Final traffic in bytes (carried bytes included), once the workload was stopped.
    pub final_bytes: Option<u128>,
    /// Wall-clock Unix time the agent last found the workload running (saved at least once a
    /// minute while it runs, so after a restart it may be up to a minute old).
    #[serde(default)]
    pub seen_running_at: Option<u64>,
    /// Once the agent gave up serving the deal (its workload cannot start): the block time up to
    /// which it was served, the deal's start when it never was. The customer owes nothing after
    /// it: the agent no longer settles the deal, and ends it.
    #[serde(default)]
    pub served_until: Option<u64>,
    /// Its workload crashed as often as the runtime allows and the configuration keeps such deals
    /// open (`close_on_crash = false`): nothing is started for it again, its bytes are kept, and
    /// it waits for its customer or term to close it.
    #[serde(default)]
    pub crashed: bool,
}

impl DealRecord {
    /// The record of a deal that just opened on a worker at `ip`: no workload yet.
    pub fn opened(deal: &DealOpened, ip: IpAddr) -> Self {
        Self {
            worker: deal.worker,
            ip,
            customer: deal.customer,
            image: deal.image.clone(),
            config_hash: deal.config_hash,
            opened_at: deal.start_time,
            closed_at: None,
            end_time: deal.end_time,
            workload: None,
            start_failures: 0,
            failure: None,
            announced: None,
            carried_bytes: 0,
            final_bytes: None,
            seen_running_at: None,
            served_until: None,
            crashed: false,
        }
    }

    /// Whether the deal is still open as far as the agent knows.
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    /// Whether the agent gave up serving the deal (see [`served_until`](Self::served_until)).
    pub fn is_unserved(&self) -> bool {
        self.served_until.is_some()
    }

    /// Final traffic, once the workload was stopped.
    pub fn bytes(&self) -> Option<Bytes> {
        self.final_bytes.map(Bytes::new)
    }
}

/// The agent's memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// The market this state belongs to (a state file is refused for another market).
    pub market: Address,
    /// The master it serves.
    pub master: Address,
    /// Last market event acted on.
    pub cursor: EventCursor,
    /// Deals served, by id.
    pub deals: BTreeMap<DealId, DealRecord>,
    /// The chain the state belongs to; `None` in a state written before it was recorded (bound
    /// at the next start).
    #[serde(default)]
    pub chain: Option<ChainBinding>,
    /// Hashes of the last blocks read up to the cursor, to detect a reorganisation.
    #[serde(default)]
    pub recent: RecentBlocks,
    /// Deals served whose opening a reorganisation took back: their workload was stopped and
    /// metered; kept for the usage report only.
    #[serde(default)]
    pub orphaned: Vec<DealRecord>,
}

/// The chain a state belongs to: a state of another chain, or of the same chain id after the node
/// was reset, is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBinding {
    /// The chain id.
    pub chain_id: u64,
    /// The market's deployment block: its hash changes when the chain is started afresh.
    pub deployment_block: BlockRef,
}

impl AgentState {
    /// A fresh state that starts reading events at `from_block`.
    pub fn new(market: Address, master: Address, from_block: u64) -> Self {
        Self {
            version: STATE_VERSION,
            market,
            master,
            cursor: EventCursor::from_block(from_block),
            deals: BTreeMap::new(),
            chain: None,
            recent: RecentBlocks::default(),
            orphaned: Vec::new(),
        }
    }

    /// Where the agent's event reading resumes: the cursor and the hashes of the blocks read.
    pub fn position(&self) -> StreamPosition {
        StreamPosition { cursor: self.cursor, recent: self.recent.clone() }
    }

    /// Checks that the state belongs to the chain `now` whose head is `head`, binding a state that
    /// names no chain yet.
    pub fn bind(&mut self, now: ChainBinding, head: u64, path: &Path) -> Result<(), StateError> {
        match self.chain {
            Some(bound) if bound != now => {
                return Err(StateError::OtherChain { path: path.to_owned(), bound, now });
            }
            _ => self.chain = Some(now),
        }
        let delivered = match self.cursor.log_index {
            Some(_) => self.cursor.block,
            None => self.cursor.block.saturating_sub(1),
        };
        let read = self.recent.newest().map_or(delivered, |b| b.number.max(delivered));
        if read > head {
            return Err(StateError::AheadOfChain { path: path.to_owned(), block: read, head });
        }
        Ok(())
    }

    /// The open deal on `worker`, if any.
    pub fn open_deal_on(&self, worker: Address) -> Option<(DealId, &DealRecord)> {
        self.deals.iter().find(|(_, d)| d.worker == worker && d.is_open()).map(|(id, d)| (*id, d))
    }

    /// The usage report of every finished deal, in the reward engine's CSV format: one line per
    /// deal with the master as account, the worker's IP, the metered bytes and the deal's period.
    pub fn usage_csv(&self) -> String {
        let mut csv = format!("{CSV_HEADER}\n");
        for record in self.deals.values().chain(&self.orphaned) {
            if let (Some(closed_at), Some(bytes)) = (record.closed_at, record.bytes()) {
                let end = closed_at.max(record.opened_at);
                // Writing to a String cannot fail.
                let _ = writeln!(
                    csv,
                    "{},{},{},{},{}",
                    self.master,
                    record.ip,
                    bytes.get(),
                    record.opened_at,
                    end
                );
            }
        }
        csv
    }
}

/// Errors of the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read or written.
    #[error("agent state {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The state belongs to another chain, or to this chain id before the node was reset.
    #[error(
        "agent state {path} belongs to chain {} (deployment block {} with hash {}), but the node serves chain {} \
         whose block {} has hash {}: the chain was reset or this is another chain. Its deals are not on this \
         chain: move {path} away (keep its usage report if it has one) and start the agent again",
        bound.chain_id, bound.deployment_block.number, bound.deployment_block.hash,
        now.chain_id, now.deployment_block.number, now.deployment_block.hash
    )]
    OtherChain {
        /// The file.
        path: PathBuf,
        /// The chain it names.
        bound: ChainBinding,
        /// The chain the node serves.
        now: ChainBinding,
    },
    /// The state read blocks the node does not have (a node reset, or a node still syncing).
    #[error(
        "agent state {path} has read up to block {block} but the node's head is block {head}: the node was \
         reset or is behind. Wait for it to sync, or if the chain was started afresh move {path} away and start \
         the agent again"
    )]
    AheadOfChain {
        /// The file.
        path: PathBuf,
        /// The last block the state read.
        block: u64,
        /// The node's head.
        head: u64,
    },
    /// The file is not a valid state.
    #[error("agent state {path} is not valid: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// The state file.
#[derive(Clone, Debug)]
pub struct StateStore {
    path: PathBuf,
}

impl StateStore {
    /// A store at `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the state, `None` when there is no file yet. A state of another market or master, or
    /// of an unknown version, is an error rather than silently replaced.
    pub fn load(&self, market: Address, master: Address) -> Result<Option<AgentState>, StateError> {
        let text = match fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.io(source)),
        };
        let state: AgentState = serde_json::from_slice(&text).map_err(|e| self.invalid(e.to_string()))?;
        if state.version != STATE_VERSION {
            return Err(self.invalid(format!("version {} (this agent reads {STATE_VERSION})", state.version)));
        }
        if (state.market, state.master) != (market, master) {
            return Err(self.invalid(format!(
                "it belongs to market {} and master {}, not market {market} and master {master}",
                state.market, state.master
            )));
        }
        Ok(Some(state))
    }

    /// Saves the state durably: a temporary file, flushed to disk, renamed over the old one.
    pub fn save(&self, state: &AgentState) -> Result<(), StateError> {
        let json = serde_json::to_vec_pretty(state).map_err(|e| self.invalid(e.to_string()))?;
        crate::file::write_atomically(&self.path, &json).map_err(|e| self.io(e))
    }

    fn io(&self, source: io::Error) -> StateError {
        StateError::Io { path: self.path.clone(), source }
    }

    fn invalid(&self, reason: String) -> StateError {
        StateError::Invalid { path: self.path.clone(), reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(worker: u8, closed: Option<u64>, bytes: Option<u128>) -> DealRecord {
        DealRecord {
            worker: Address::repeat_byte(worker),
            ip: format!("10.0.0.{worker}").parse().unwrap(),
            customer: Address::repeat_byte(9),
            image: "proxy".into(),
            config_hash: B256::ZERO,
            opened_at: 1_000,
            closed_at: closed,
            end_time: None,
            workload: None,
            start_failures: 0,
            failure: None,
            announced: None,
            carried_bytes: 0,
            final_bytes: bytes,
            seen_running_at: None,
            served_until: None,
            crashed: false,
        }
    }

    #[test]
    fn saves_and_loads_and_refuses_another_market() {
        let dir = std::env::temp_dir().join(format!("snm-agent-state-{}", std::process::id()));
        let store = StateStore::new(dir.join("state.json"));
        let (market, master) = (Address::repeat_byte(1), Address::repeat_byte(2));
        assert_eq!(store.load(market, master).unwrap(), None);

        let mut state = AgentState::new(market, master, 7);
        state.deals.insert(DealId(5), record(3, None, None));
        store.save(&state).unwrap();
        assert_eq!(store.load(market, master).unwrap(), Some(state));

        let error = store.load(Address::repeat_byte(8), master).unwrap_err();
        assert!(error.to_string().contains("belongs to market"), "{error}");
        fs::write(store.path(), b"{").unwrap();
        assert!(matches!(store.load(market, master), Err(StateError::Invalid { .. })));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn usage_report_lists_finished_deals_only() {
        let mut state = AgentState::new(Address::ZERO, Address::repeat_byte(2), 0);
        state.deals.insert(DealId(1), record(3, Some(4_600), Some(1_500)));
        state.deals.insert(DealId(2), record(4, None, None));
        let csv = state.usage_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines, [CSV_HEADER, &format!("{},10.0.0.3,1500,1000,4600", Address::repeat_byte(2))]);
        assert_eq!(state.open_deal_on(Address::repeat_byte(4)).map(|(id, _)| id), Some(DealId(2)));
        assert_eq!(state.open_deal_on(Address::repeat_byte(3)), None);
    }
}
