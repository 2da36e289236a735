//! `snm-agent`: the supplier agent. It runs a master's workers, deploys each deal's workload and
//! meters it.
//!
//! A [`SupplierAgent`] keeps the asks of its [`AgentConfig`] open, watches the deals opening on
//! its workers, starts each deal's workload through a [`Runtime`] (the embedded default,
//! [`ProcessRuntime`], runs a command template such as the metered proxy or `docker run …`),
//! announces where it serves, stops it when the deal closes and records the traffic it carried in
//! a usage report for the reward campaign. It also settles its open deals lazily (once
//! `settle_every` of chain time is unsettled), closes fixed-term deals that reached their end, and
//! withdraws the earnings. It reads the order book only when a worker became free, and polls less
//! often while nothing happens: an agent costs the node little.
//!
//! Everything it knows is in its [`AgentState`] file, written before it acts, so an agent that is
//! killed and started again resumes where it was: no deal is missed or served twice (see
//! [`state`]).
//!
//! - [`config`]: the configuration file ([`AgentConfig`]).
//! - [`runtime`]: where workloads run ([`Runtime`], with [`ProcessRuntime`] as the embedded default).
//! - [`state`]: what the agent remembers across restarts ([`AgentState`] in a [`StateStore`]).
//! - [`lock`]: one agent per state file ([`StateLock`]).
//! - [`chain_watch`]: one reader of the deal events for the agents of a process ([`DealFeed`]).
//! - [`deal_usage`]: each deal's figures as `snm supplier usage` shows them.
//!
//! An agent refuses to start rather than take deals it could not serve (a runtime whose program is
//! missing) or run beside another agent on the same state. A deal whose workload cannot be started
//! after [`MAX_START_ATTEMPTS`] is no longer settled and is ended on chain, paid only up to the time
//! it was served. Actions that fail (the node down, a stale rate) are tried again after pauses that
//! double up to the configuration's `retry_max`, with jitter.

mod ask_publishing;
pub mod availability;
mod backoff;
pub mod chain_watch;
pub mod config;
pub mod deal_usage;
mod error;
mod file;
pub mod heads;
mod idle;
pub mod lock;
pub mod own_asks;
pub mod pricing;
pub mod publishing_config;
pub mod runtime;
mod settlement;
pub mod shared_clock;
pub mod signed_ask_publisher;
pub mod state;

use std::{
    collections::HashMap,
    fmt,
    future::Future,
    net::IpAddr,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy::{primitives::Address, providers::Provider};
pub use ask_publishing::AskSigner;
pub use chain_watch::{DealFeed, DealSource};
pub use config::{AgentConfig, AskTemplate, WorkerConfig};
pub use error::{AgentError, ConfigError};
pub use lock::{LockError, StateLock};
pub use runtime::{
    DockerConfig, DockerRuntime, ProcessRuntime, Runtime, RuntimeError, Usage, Workload, WorkloadSpec,
};
use snm_sdk::{
    Error, Supplier,
    events::{BlockRef, EventCursor},
    market::{AskId, CloseReason, DealClosed, DealId},
    orderbook::OrderBook,
    supplier::DealEvent,
    units::{Bytes, Snm, UsdPerHour},
};
pub use state::{AgentState, ChainBinding, DealRecord, StateError, StateStore};

/// Starts of a deal's workload tried before the agent gives up on it: it stops settling the deal
/// and ends it, so that its customer pays nothing for the time it was not served.
pub const MAX_START_ATTEMPTS: u32 = 3;

/// How often the order book is read again while an ask of the configuration is placed and its
/// worker free: to find an ask that expired or was cancelled elsewhere. Between those reads the
/// book is read only when a worker becomes free.
const BOOK_REFRESH: Duration = Duration::from_secs(60);

/// How often the time a workload was last seen running is saved while it runs: after a crash of the
/// agent, at most this much served time is forgotten (forfeited by the supplier, never charged).
const SEEN_RUNNING_SAVE: Duration = Duration::from_secs(60);

use backoff::{Backoff, Retries};
use idle::IdlePause;
use settlement::Settlements;

/// What the agent does that can fail and be tried again later, each with its own pauses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Action {
    Start(DealId),
    Announce(DealId),
    EndUnserved(DealId),
    CloseEnded(DealId),
    Settle(DealId),
    ReadTime,
    ReadBook,
    PlaceAsk(usize),
    Withdraw,
}

impl Action {
    fn deal(self) -> Option<DealId> {
        match self {
            Self::Start(deal)
            | Self::Announce(deal)
            | Self::EndUnserved(deal)
            | Self::CloseEnded(deal)
            | Self::Settle(deal) => Some(deal),
            Self::ReadTime | Self::ReadBook | Self::PlaceAsk(_) | Self::Withdraw => None,
        }
    }
}

/// Something the agent did or saw, for its log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentEvent {
    /// The agent confirmed a worker that had asked to join its master.
    WorkerConfirmed(Address),
    /// An ask of the configuration was placed.
    AskPlaced {
        /// Its id.
        ask: AskId,
        /// The worker offered.
        worker: Address,
        /// Its price.
        price: UsdPerHour,
    },
    /// An ask of the configuration was signed by the master and posted to the market data
    /// service's relay (`publish = "signed"`): a new price, or the worker's nonce moved on. No gas.
    AskPublished {
        /// The worker offered.
        worker: Address,
        /// Its price.
        price: UsdPerHour,
        /// The worker's ask nonce it was signed for.
        nonce: u64,
    },
    /// A deal opened on one of the workers.
    DealOpened {
        /// The deal.
        deal: DealId,
        /// The machine.
        worker: Address,
        /// Who pays.
        customer: Address,
        /// The image to run.
        image: String,
    },
    /// A deal opened on a worker of this master that the configuration does not list: the agent
    /// cannot run it.
    UnknownWorker {
        /// The deal.
        deal: DealId,
        /// The worker.
        worker: Address,
    },
    /// A deal's workload runs (started now, or found running after a restart).
    WorkloadStarted {
        /// The deal.
        deal: DealId,
        /// Its process.
        pid: u32,
        /// Where it serves, if it said.
        endpoint: Option<String>,
    },
    /// A deal's workload could not start.
    WorkloadFailed {
        /// The deal.
        deal: DealId,
        /// Why.
        reason: String,
        /// Attempts so far.
        attempts: u32,
    },
    /// A deal's workload stopped by itself while the deal runs; it is started again.
    WorkloadDied {
        /// The deal.
        deal: DealId,
        /// Traffic it had carried (kept for the usage report).
        bytes: Bytes,
    },
    /// A deal's workload crashed as often as the runtime allows and the configuration keeps the
    /// deal open (`close_on_crash = false`): nothing is started for it again until it closes.
    WorkloadCrashed {
        /// The deal.
        deal: DealId,
        /// How often its workload exited by itself.
        exits: u32,
        /// Its last exit code.
        exit_code: i64,
    },
    /// The workload's endpoint was announced on chain.
    EndpointAnnounced {
        /// The deal.
        deal: DealId,
        /// Where it serves.
        endpoint: String,
    },
    /// The agent gave up serving a deal whose workload could not start: it no longer settles it,
    /// and ends it on chain, paid only up to `served_until`.
    GaveUp {
        /// The deal.
        deal: DealId,
        /// Block time up to which it was served (the deal's start when it never was).
        served_until: u64,
    },
    /// The agent closed a deal: a fixed term that ended, or one it cannot serve.
    ClosedDeal {
        /// The deal.
        deal: DealId,
        /// Why it closed.
        reason: CloseReason,
    },
    /// A deal closed and its workload was stopped; its traffic is in the usage report.
    DealFinished {
        /// The deal.
        deal: DealId,
        /// Traffic its workload carried.
        bytes: Bytes,
    },
    /// A deal was settled.
    Settled {
        /// The deal.
        deal: DealId,
        /// Paid from its deposit (fee included).
        amount: Snm,
    },
    /// Earnings were withdrawn to the master.
    Withdrawn {
        /// How much.
        amount: Snm,
    },
    /// The chain reorganised: what the agent read from the blocks after `to_block` was checked
    /// against the chain again.
    Reorganised {
        /// The newest block still on the chain.
        to_block: u64,
    },
    /// A deal the agent served is no longer on the chain as it was (a reorganisation took its
    /// opening back; its id may now name another customer's deal): its workload was stopped and
    /// metered, and it is no longer settled.
    DealVanished {
        /// The deal id.
        deal: DealId,
        /// The customer it was served to.
        customer: Address,
        /// Traffic its workload carried (kept in the usage report).
        bytes: Bytes,
    },
    /// Something failed and will be tried again (the chain unreachable, a stale rate, ...).
    Retrying {
        /// What the agent was doing.
        doing: String,
        /// The error.
        error: String,
        /// The pause before the next try (longer after each failure in a row).
        retry_in: Duration,
    },
}

impl fmt::Display for AgentEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WorkerConfirmed(worker) => write!(f, "confirmed worker {worker}"),
            Self::AskPlaced { ask, worker, price } => {
                write!(f, "ask {ask} placed for worker {worker} at {price}")
            }
            Self::AskPublished { worker, price, nonce } => {
                write!(f, "signed ask published for worker {worker} at {price} (nonce {nonce})")
            }
            Self::DealOpened { deal, worker, customer, image } => {
                write!(f, "deal {deal} opened on worker {worker} for {customer}, image `{image}`")
            }
            Self::UnknownWorker { deal, worker } => {
                write!(f, "deal {deal} is on worker {worker}, which the configuration does not list")
            }
            Self::WorkloadStarted { deal, pid, endpoint } => {
                write!(f, "deal {deal}: workload running (pid {pid})")?;
                match endpoint {
                    Some(endpoint) => write!(f, " on {endpoint}"),
                    None => Ok(()),
                }
            }
            Self::WorkloadFailed { deal, reason, attempts } => {
                write!(f, "deal {deal}: workload failed to start (attempt {attempts}): {reason}")
            }
            Self::WorkloadDied { deal, bytes } => {
                write!(f, "deal {deal}: workload stopped by itself after {bytes}; starting it again")
            }
            Self::WorkloadCrashed { deal, exits, exit_code } => write!(
                f,
                "deal {deal}: crashed, the workload exited {exits} times (last exit code {exit_code}); \
                 not started again, the deal stays open"
            ),
            Self::EndpointAnnounced { deal, endpoint } => write!(f, "deal {deal}: announced {endpoint}"),
            Self::GaveUp { deal, served_until } => write!(
                f,
                "deal {deal}: the workload cannot start; no longer settled, ending it as served until \
                 block time {served_until}"
            ),
            Self::ClosedDeal { deal, reason } => write!(f, "deal {deal}: closed ({reason:?})"),
            Self::DealFinished { deal, bytes } => write!(f, "deal {deal}: finished, {bytes} carried"),
            Self::Settled { deal, amount } => write!(f, "deal {deal}: settled {amount}"),
            Self::Withdrawn { amount } => write!(f, "withdrew {amount} of earnings"),
            Self::Reorganised { to_block } => {
                write!(f, "the chain reorganised: events after block {to_block} were checked again")
            }
            Self::DealVanished { deal, customer, bytes } => write!(
                f,
                "deal {deal} of {customer} was taken back by a reorganisation: workload stopped after {bytes}"
            ),
            Self::Retrying { doing, error, retry_in } => {
                write!(f, "{doing} failed, will retry in {:.1} s: {error}", retry_in.as_secs_f64())
            }
        }
    }
}

/// A supplier's agent: see the [module](self) documentation.
#[derive(Debug)]
pub struct SupplierAgent<P, R> {
    supplier: Supplier<P>,
    config: AgentConfig,
    runtime: R,
    store: StateStore,
    state: AgentState,
    watch: DealSource<P>,
    /// The chain's time shared with the other agents of the feed, if it has one.
    clock: Option<shared_clock::SharedClock>,
    book: OrderBook,
    /// Reads `book` with the node filtering by master (only this master's logs come back).
    own_asks: own_asks::OwnAsksReader,
    /// Which asks' workers were free when the book was last read, and when.
    book_read: Option<(Vec<bool>, Instant)>,
    /// The pushed blocks the agent's feed follows (over WebSocket), if it has one.
    heads: Option<heads::ChainHeads>,
    /// The subscription's session and latest block when the book was last read.
    book_read_head: Option<(u64, Option<u64>)>,
    settlements: Settlements,
    /// Earnings may have grown (a settlement, a close) since they were last read.
    withdraw_pending: bool,
    idle: IdlePause,
    report_written: bool,
    retries: Retries<Action>,
    /// Pauses after rounds that failed as a whole (the node unreachable).
    rounds: Backoff,
    /// Wall-clock time each running workload was last seen running (saved every
    /// [`SEEN_RUNNING_SAVE`], and when it is found dead).
    seen_running: HashMap<DealId, u64>,
    availability: Option<availability::AvailabilityLog>,
    /// The asks signed and posted to the relay instead of placed (`publish = "signed"`).
    signed_asks: Option<ask_publishing::SignedAsks>,
    _lock: StateLock,
}

impl<P: Provider + Clone, R: Runtime> SupplierAgent<P, R> {
    /// Starts the agent of `supplier`'s master: takes the state file's lock (refused while another
    /// agent holds it), checks that the runtime can start workloads at all, loads its state (or
    /// starts a new one reading the market's events from its deployment block), and checks that
    /// every configured worker is linked to the master, confirming those that asked to join.
    /// Returns the agent and what it did.
    pub async fn start(
        supplier: Supplier<P>,
        config: AgentConfig,
        runtime: R,
    ) -> Result<(Self, Vec<AgentEvent>), AgentError> {
        Self::start_with(supplier, config, runtime, None).await
    }

    /// [`start`](Self::start) for one of several agents of a process: it reads its deals from
    /// `feed`, which asks the node once for all of them (see [`chain_watch`]).
    pub async fn start_in(
        supplier: Supplier<P>,
        config: AgentConfig,
        runtime: R,
        feed: &DealFeed<P>,
    ) -> Result<(Self, Vec<AgentEvent>), AgentError> {
        Self::start_with(supplier, config, runtime, Some(feed)).await
    }

    async fn start_with(
        supplier: Supplier<P>,
        config: AgentConfig,
        runtime: R,
        feed: Option<&DealFeed<P>>,
    ) -> Result<(Self, Vec<AgentEvent>), AgentError> {
        let lock = StateLock::acquire(&config.state)?;
        // Before anything reaches the chain: an agent that could serve no deal places no ask.
        runtime.check()?;
        let master = supplier.master();
        let deployment = *supplier.client().deployment();
        let market = deployment.market;
        let store = StateStore::new(&config.state);
        let chain = check_chain(&supplier, store.path()).await?;
        let mut state = store
            .load(market, master)?
            .unwrap_or_else(|| AgentState::new(market, master, deployment.start_block));
        state.bind(chain.binding, chain.head, store.path())?;
        let mut events = Vec::new();
        for worker in &config.workers {
            if supplier.market().master_of(worker.address).await? == Some(master) {
                continue;
            }
            if supplier.market().pending_master_of(worker.address).await? != Some(master) {
                return Err(AgentError::WorkerNotLinked { worker: worker.address, master });
            }
            supplier.market().confirm_worker(worker.address).await?;
            events.push(AgentEvent::WorkerConfirmed(worker.address));
        }
        // Nothing is saved before the start succeeded: a failed start leaves no state to refuse
        // the next one; the state is saved with the first events read.
        let watch = match feed {
            Some(feed) => feed.subscribe(&supplier, state.position()).await,
            None => DealSource::Own(Box::new(supplier.watch_deals_at(state.position()))),
        };
        // Its own asks only: an agent's memory does not grow with the market's.
        let start = EventCursor::from_block(supplier.client().deployment().start_block);
        let book = OrderBook::of_master(start, master);
        let own_asks = own_asks::OwnAsksReader::new(master, config.asks.iter().map(|ask| ask.worker));
        let availability = config.availability.clone().map(|c| availability::AvailabilityLog::new(c, master));
        let signed_asks = ask_publishing::SignedAsks::of(&config)?;
        let agent = Self {
            signed_asks,
            availability,
            retries: Retries::new(config.poll_every, config.retry_max),
            rounds: Backoff::new(config.poll_every, config.retry_max),
            idle: IdlePause::new(config.poll_every),
            supplier,
            config,
            runtime,
            store,
            state,
            watch,
            clock: feed.map(DealFeed::clock),
            heads: feed.and_then(DealFeed::heads),
            book_read_head: None,
            book,
            own_asks,
            book_read: None,
            settlements: Settlements::default(),
            withdraw_pending: true,
            report_written: false,
            seen_running: HashMap::new(),
            _lock: lock,
        };
        Ok((agent, events))
    }

    /// What the agent knows.
    pub fn state(&self) -> &AgentState {
        &self.state
    }

    /// One round of work: reads new deal events, starts and stops workloads, announces endpoints,
    /// ends the deals it cannot serve, closes ended terms, keeps the asks open, settles when due,
    /// withdraws, and rewrites the usage report. Failures of single actions are returned as
    /// [`AgentEvent::Retrying`] and tried again after a pause (doubling with each failure in a row,
    /// up to `retry_max`); an error is returned only when the chain's events or the state file
    /// cannot be read or written.
    pub async fn step(&mut self) -> Result<Vec<AgentEvent>, AgentError> {
        let mut out = Vec::new();
        self.read_deal_events(&mut out).await?;
        let finished = self.reconcile_workloads(&mut out).await?;
        let now = self.chain_time(&mut out).await;
        self.close_ended_terms(now, &mut out).await;
        match self.signed_asks {
            Some(_) => self.publish_signed_asks(&mut out).await?,
            None => self.keep_asks_open(&mut out).await,
        }
        self.settle_when_due(now, &mut out).await;
        self.withdraw_when_due(&mut out).await;
        if finished || !self.report_written {
            self.write_usage_report()?;
        }
        self.record_availability().await?;
        Ok(out)
    }

    /// Runs [`step`](Self::step) every `poll_every` until `shutdown` completes, passing what
    /// happens to `log`; after rounds that found nothing to do the pause doubles, up to 8 times
    /// `poll_every`, and the next round that does something brings it back. A round that fails as a whole (the node unreachable) is tried again after
    /// a pause that doubles with each failure in a row, up to `retry_max`, with jitter. Workloads
    /// keep running after the agent stops (as containers do); the next agent adopts them.
    pub async fn run(&mut self, shutdown: impl Future<Output = ()>, mut log: impl FnMut(&AgentEvent)) {
        tokio::pin!(shutdown);
        loop {
            let pause = match self.step().await {
                Ok(events) => {
                    events.iter().for_each(&mut log);
                    self.rounds.reset();
                    self.idle.after(!events.is_empty())
                }
                Err(error) => {
                    let retry_in = self.rounds.fail();
                    log(&AgentEvent::Retrying {
                        doing: "a round".into(),
                        error: error.to_string(),
                        retry_in,
                    });
                    retry_in
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    async fn read_deal_events(&mut self, out: &mut Vec<AgentEvent>) -> Result<(), AgentError> {
        let batch = self.watch.poll().await?;
        if batch.events.is_empty() && batch.rollback.is_none() {
            return Ok(());
        }
        if let Some(rollback) = batch.rollback {
            self.roll_back(rollback.to_block, out).await?;
        }
        for event in batch.events {
            match event.event {
                DealEvent::Opened(opened) => {
                    if self.state.deals.contains_key(&opened.id) {
                        continue;
                    }
                    let Some(worker) = self.config.worker(opened.worker) else {
                        out.push(AgentEvent::UnknownWorker { deal: opened.id, worker: opened.worker });
                        continue;
                    };
                    self.state.deals.insert(opened.id, DealRecord::opened(&opened, worker.ip));
                    out.push(AgentEvent::DealOpened {
                        deal: opened.id,
                        worker: opened.worker,
                        customer: opened.customer,
                        image: opened.image,
                    });
                }
                DealEvent::Closed(closed) => {
                    if let Some(record) = self.state.deals.get_mut(&closed.id)
                        && record.closed_at.is_none()
                    {
                        record.closed_at = Some(closed.settled_until.max(record.opened_at));
                    }
                }
            }
        }
        // The events and the cursor past them are saved together, before acting on them.
        let position = self.watch.position();
        self.state.cursor = position.cursor;
        self.state.recent = position.recent;
        self.store.save(&self.state)?;
        Ok(())
    }

    /// After a reorganisation that took back the blocks after `to_block`: every deal not closed
    /// yet is checked against the market. A deal gone, or now someone else's (its id reused), has
    /// its workload stopped and metered (the usage stays in the report) and is forgotten, so that
    /// the deal now under its id is served when its `DealOpened` comes again. A close that was
    /// taken back is undone while the workload still runs.
    async fn roll_back(&mut self, to_block: u64, out: &mut Vec<AgentEvent>) -> Result<(), AgentError> {
        let master = self.supplier.master();
        let ids: Vec<DealId> =
            self.state.deals.iter().filter(|(_, r)| r.final_bytes.is_none()).map(|(id, _)| *id).collect();
        for deal in ids {
            let Some(record) = self.state.deals.get(&deal).cloned() else { continue };
            let on_chain = self.supplier.market().deal(deal).await?;
            let same = on_chain.as_ref().is_some_and(|d| {
                (d.master, d.customer, d.worker, d.end_time)
                    == (master, record.customer, record.worker, record.end_time)
            });
            if same {
                if record.closed_at.is_some() && on_chain.as_ref().is_some_and(|d| d.is_active()) {
                    self.update(deal, |r| r.closed_at = None)?;
                }
                continue;
            }
            let bytes = match &record.workload {
                Some(workload) => self.runtime.stop(workload).await?.bytes,
                None => Bytes::ZERO,
            };
            let total = bytes.get().saturating_add(record.carried_bytes);
            let now = self.supplier.client().now().await?;
            if let Some(mut orphan) = self.state.deals.remove(&deal) {
                orphan.final_bytes = Some(total);
                orphan.closed_at = Some(orphan.closed_at.unwrap_or(now).max(orphan.opened_at));
                self.state.orphaned.push(orphan);
            }
            self.store.save(&self.state)?;
            self.report_written = false;
            out.push(AgentEvent::DealVanished { deal, customer: record.customer, bytes: Bytes::new(total) });
        }
        out.push(AgentEvent::Reorganised { to_block });
        Ok(())
    }

    /// Starts the workloads of open deals, restarts those that died, announces endpoints, gives up
    /// the deals whose workload cannot start, and stops the workloads of closed deals. Returns
    /// whether a deal finished.
    async fn reconcile_workloads(&mut self, out: &mut Vec<AgentEvent>) -> Result<bool, AgentError> {
        let mut finished = false;
        let ids: Vec<DealId> = self.state.deals.keys().copied().collect();
        for deal in ids {
            let Some(record) = self.state.deals.get(&deal).cloned() else { continue };
            if record.final_bytes.is_some() {
                continue;
            }
            if !record.is_open() {
                let bytes = match &record.workload {
                    Some(workload) => self.runtime.stop(workload).await?.bytes,
                    None => Bytes::ZERO,
                };
                let total = bytes.get().saturating_add(record.carried_bytes);
                self.update(deal, |r| r.final_bytes = Some(total))?;
                self.seen_running.remove(&deal);
                self.settlements.forget(deal);
                self.withdraw_pending = true;
                self.retries.retain(|action| action.deal() != Some(deal));
                out.push(AgentEvent::DealFinished { deal, bytes: Bytes::new(total) });
                finished = true;
                continue;
            }
            if let Some(served_until) = record.served_until {
                self.end_unserved(deal, served_until, out).await;
                continue;
            }
            if record.crashed {
                continue;
            }
            let mut workload = record.workload.clone();
            if let Some(running) = &workload {
                if self.runtime.is_running(running).await {
                    self.seen_running_now(deal, &record)?;
                } else {
                    let bytes = self.runtime.usage(running).await.map(|u| u.bytes).unwrap_or(Bytes::ZERO);
                    let seen = self.seen_running.remove(&deal).or(record.seen_running_at);
                    self.update(deal, |r| {
                        r.carried_bytes = r.carried_bytes.saturating_add(bytes.get());
                        r.workload = None;
                        r.announced = None;
                        r.seen_running_at = seen;
                    })?;
                    out.push(AgentEvent::WorkloadDied { deal, bytes });
                    workload = None;
                }
            }
            if workload.is_none() {
                workload = self.start_workload(deal, &record, out).await?;
            }
            if workload.is_none() {
                let failures = self.state.deals.get(&deal).map_or(0, |r| r.start_failures);
                if failures >= MAX_START_ATTEMPTS {
                    self.give_up(deal, out).await?;
                }
                continue;
            }
            if let Some(endpoint) = workload.as_ref().and_then(|w| w.endpoint.as_deref()) {
                self.announce(deal, public_endpoint(endpoint, record.ip), out).await?;
            }
        }
        Ok(finished)
    }

    /// Announces where the deal is served (or where its configuration is awaited) unless it is
    /// announced already or its pause after a failure is not over.
    async fn announce(
        &mut self,
        deal: DealId,
        endpoint: String,
        out: &mut Vec<AgentEvent>,
    ) -> Result<(), AgentError> {
        let announced = self.state.deals.get(&deal).and_then(|r| r.announced.clone());
        if announced.as_deref() == Some(endpoint.as_str()) || !self.retries.due(&Action::Announce(deal)) {
            return Ok(());
        }
        match self.supplier.market().announce_endpoint(deal, &endpoint).await {
            Ok(()) => {
                self.retries.succeed(&Action::Announce(deal));
                self.update(deal, |r| r.announced = Some(endpoint.clone()))?;
                out.push(AgentEvent::EndpointAnnounced { deal, endpoint });
            }
            Err(error) => out.push(self.retrying(
                Action::Announce(deal),
                format!("announcing deal {deal}'s endpoint"),
                &error,
            )),
        }
        Ok(())
    }

    /// Notes that the deal's workload runs now; saves it when the saved time is
    /// [`SEEN_RUNNING_SAVE`] old.
    fn seen_running_now(&mut self, deal: DealId, record: &DealRecord) -> Result<(), AgentError> {
        let now = unix_now();
        self.seen_running.insert(deal, now);
        if record.seen_running_at.is_none_or(|saved| now.saturating_sub(saved) >= SEEN_RUNNING_SAVE.as_secs())
        {
            self.update(deal, |r| r.seen_running_at = Some(now))?;
        }
        Ok(())
    }

    async fn start_workload(
        &mut self,
        deal: DealId,
        record: &DealRecord,
        out: &mut Vec<AgentEvent>,
    ) -> Result<Option<Workload>, AgentError> {
        if record.start_failures >= MAX_START_ATTEMPTS || !self.retries.due(&Action::Start(deal)) {
            return Ok(None);
        }
        let spec = WorkloadSpec {
            deal_id: deal,
            image: record.image.clone(),
            config_hash: record.config_hash,
            customer: record.customer,
            master: self.supplier.master(),
            worker: record.worker,
            ip: record.ip,
            resources: self.config.resources_of(record.worker),
        };
        match self.runtime.start(&spec).await {
            Ok(workload) => {
                self.retries.succeed(&Action::Start(deal));
                let now = unix_now();
                self.seen_running.insert(deal, now);
                self.update(deal, |r| {
                    r.workload = Some(workload.clone());
                    r.failure = None;
                    r.seen_running_at = Some(now);
                })?;
                out.push(AgentEvent::WorkloadStarted {
                    deal,
                    pid: workload.pid,
                    endpoint: workload.endpoint.clone(),
                });
                Ok(Some(workload))
            }
            // Waiting on the customer is no failure: the agent announces where the
            // configuration goes, and tries again at each round.
            Err(RuntimeError::ConfigPending { url, .. }) => {
                self.announce(deal, url, out).await?;
                Ok(None)
            }
            // Crashed as often as allowed, and the configuration keeps the deal open: reported
            // once, then left alone until it closes.
            Err(error @ RuntimeError::CrashLoop { close_deal: false, .. }) => {
                let RuntimeError::CrashLoop { exits, exit_code, .. } = error else { return Ok(None) };
                self.retries.retain(|action| *action != Action::Start(deal));
                let reason = error.to_string();
                self.update(deal, |r| {
                    r.crashed = true;
                    r.failure = Some(reason.clone());
                })?;
                out.push(AgentEvent::WorkloadCrashed { deal, exits, exit_code });
                Ok(None)
            }
            Err(error) => {
                // The next start waits a pause that doubles, so that a passing cause (a port in
                // use) has a chance to go before the agent gives up.
                self.retries.fail(Action::Start(deal));
                // A container that crashed as often as the runtime allows will not start again:
                // the deal is given up now, not after more attempts.
                let attempts = match error {
                    RuntimeError::CrashLoop { .. } => MAX_START_ATTEMPTS.max(record.start_failures + 1),
                    _ => record.start_failures + 1,
                };
                let reason = error.to_string();
                self.update(deal, |r| {
                    r.start_failures = attempts;
                    r.failure = Some(reason.clone());
                })?;
                out.push(AgentEvent::WorkloadFailed { deal, reason, attempts });
                Ok(None)
            }
        }
    }

    /// Gives up a deal whose workload cannot start: records the time up to which it was served
    /// (from then on it is not settled), then ends it on chain.
    async fn give_up(&mut self, deal: DealId, out: &mut Vec<AgentEvent>) -> Result<(), AgentError> {
        let Some(record) = self.state.deals.get(&deal) else { return Ok(()) };
        // Never seen running: served not at all, so nothing after its start (or its last
        // settlement) is owed. The wall clock of the last sighting stands for block time: on a
        // chain running ahead of it the supplier forfeits the difference, never the customer.
        let served_until = record.seen_running_at.map_or(record.opened_at, |seen| seen.max(record.opened_at));
        self.update(deal, |r| r.served_until = Some(served_until))?;
        self.retries.retain(|action| *action != Action::Settle(deal) && *action != Action::Start(deal));
        out.push(AgentEvent::GaveUp { deal, served_until });
        self.end_unserved(deal, served_until, out).await;
        Ok(())
    }

    /// Ends a deal the agent cannot serve, when its pause after an earlier failure is over.
    async fn end_unserved(&mut self, deal: DealId, served_until: u64, out: &mut Vec<AgentEvent>) {
        let action = Action::EndUnserved(deal);
        if !self.retries.due(&action) {
            return;
        }
        match self.close_unserved(deal, served_until).await {
            Ok(closed) => {
                self.retries.succeed(&action);
                self.withdraw_pending = true;
                out.push(AgentEvent::ClosedDeal { deal, reason: closed.reason });
            }
            Err(error) => out.push(self.retrying(action, format!("ending unserved deal {deal}"), &error)),
        }
    }

    /// The one call that ends an unserved deal on chain: the market's early end for the supplier
    /// (`endDealUnserved`), which pays the unsettled seconds up to `served_until` only and refunds
    /// the rest of the deposit, fixed terms included. `served_until` is capped by the chain's time,
    /// which the market requires (a clock behind the wall clock's must not make it refuse).
    async fn close_unserved(&self, deal: DealId, served_until: u64) -> Result<DealClosed, Error> {
        let now = self.supplier.client().now().await?;
        self.supplier.market().end_unserved(deal, served_until.min(now)).await
    }

    /// The chain's time, read once per round while a deal is open (for the closes and settlements
    /// that depend on it); `None` with no open deal, or when the read failed (tried again after
    /// its pause).
    async fn chain_time(&mut self, out: &mut Vec<AgentEvent>) -> Option<u64> {
        let any_open = self.state.deals.values().any(|r| r.is_open() && !r.is_unserved());
        if !any_open || !self.retries.due(&Action::ReadTime) {
            return None;
        }
        let read = match &self.clock {
            Some(clock) => clock.now(self.supplier.client()).await,
            None => self.supplier.client().now().await,
        };
        match read {
            Ok(now) => {
                self.retries.succeed(&Action::ReadTime);
                Some(now)
            }
            Err(error) => {
                out.push(self.retrying(Action::ReadTime, "reading the chain's time".into(), &error));
                None
            }
        }
    }

    /// Closes the fixed-term deals whose end has passed at chain time `now` (their workloads stop
    /// when the close arrives as an event).
    async fn close_ended_terms(&mut self, now: Option<u64>, out: &mut Vec<AgentEvent>) {
        let Some(now) = now else { return };
        let ended: Vec<DealId> = self
            .state
            .deals
            .iter()
            .filter(|(_, r)| r.is_open() && !r.is_unserved() && r.end_time.is_some())
            .map(|(id, _)| *id)
            .filter(|id| self.retries.due(&Action::CloseEnded(*id)))
            .collect();
        for deal in ended {
            let end = self.state.deals.get(&deal).and_then(|r| r.end_time).unwrap_or(u64::MAX);
            if now < end {
                continue;
            }
            // An agent that withdraws (`withdraw_at`) is paid out by the close itself: one
            // transaction instead of a close and a withdrawal (65,431 gas instead of about
            // 100,000, see docs/GAS.md), whatever the threshold, as the payout costs little more.
            let closing = match self.config.withdraw_at {
                Some(_) => self
                    .supplier
                    .market()
                    .close_deal_and_withdraw(deal, self.supplier.master())
                    .await
                    .map(|done| (done.closed, Some(done.paid_out))),
                None => self.supplier.market().close_deal(deal, false).await.map(|closed| (closed, None)),
            };
            match closing {
                Ok((closed, paid_out)) => {
                    self.retries.succeed(&Action::CloseEnded(deal));
                    out.push(AgentEvent::ClosedDeal { deal, reason: closed.reason });
                    match paid_out {
                        Some(amount) if amount > Snm::ZERO => out.push(AgentEvent::Withdrawn { amount }),
                        Some(_) => {}
                        None => self.withdraw_pending = true,
                    }
                }
                Err(error) => out.push(self.retrying(
                    Action::CloseEnded(deal),
                    format!("closing ended deal {deal}"),
                    &error,
                )),
            }
        }
    }

    /// Places each configured ask that is not open on the chain's order book, unless its worker
    /// is busy with a deal.
    async fn keep_asks_open(&mut self, out: &mut Vec<AgentEvent>) {
        if self.config.asks.is_empty() || !self.retries.due(&Action::ReadBook) {
            return;
        }
        // The book is read when a worker became free (its ask was taken by the deal that just
        // ended), and every BOOK_REFRESH while one is free; not every round: with its asks placed
        // and known, an agent has nothing to learn from it. Following pushed blocks, the refresh
        // also waits for a block since the last read: the book cannot change without one.
        let free: Vec<bool> =
            self.config.asks.iter().map(|t| self.state.open_deal_on(t.worker).is_none()).collect();
        let head = self
            .heads
            .as_ref()
            .map(heads::ChainHeads::state)
            .filter(|state| state.live)
            .map(|state| (state.session, state.latest.map(|head| head.number)));
        let moved = head.is_none() || head != self.book_read_head;
        let stale = match &self.book_read {
            None => true,
            Some((was_free, at)) => {
                free.iter().zip(was_free).any(|(now, then)| *now && !*then)
                    || (free.iter().any(|f| *f) && at.elapsed() >= BOOK_REFRESH && moved)
            }
        };
        if !stale {
            self.book_read = self.book_read.take().map(|(_, at)| (free, at));
            return;
        }
        if let Err(error) = self.own_asks.sync(self.supplier.market(), &mut self.book).await {
            return out.push(self.retrying(Action::ReadBook, "reading the order book".into(), &error));
        }
        self.retries.succeed(&Action::ReadBook);
        self.book_read = Some((free, Instant::now()));
        self.book_read_head = head;
        let master = self.supplier.master();
        for (index, template) in self.config.asks.clone().into_iter().enumerate() {
            if self.state.open_deal_on(template.worker).is_some()
                || !self.retries.due(&Action::PlaceAsk(index))
            {
                continue;
            }
            let ask = match template.ask(master) {
                Ok(ask) => ask,
                Err(error) => {
                    return out.push(self.retrying(
                        Action::PlaceAsk(index),
                        "building an ask".into(),
                        &error,
                    ));
                }
            };
            if self.book.asks().any(|placed| placed.ask == ask) {
                continue;
            }
            match self.supplier.market().place_ask(&ask).await {
                Ok(placed) => {
                    self.retries.succeed(&Action::PlaceAsk(index));
                    // Known at once, so the next template for the same terms is not placed twice.
                    self.book.insert_ask(placed.clone());
                    out.push(AgentEvent::AskPlaced {
                        ask: placed.id,
                        worker: template.worker,
                        price: template.price,
                    });
                }
                Err(error) => out.push(self.retrying(
                    Action::PlaceAsk(index),
                    format!("placing an ask for worker {}", template.worker),
                    &error,
                )),
            }
        }
    }

    /// Settles the open deals (not those given up: their customer owes nothing more) that have
    /// `settle_every` of chain time unsettled at `now` (see [`settlement`]), a deal whose
    /// settlement failed again once its pause is over.
    async fn settle_when_due(&mut self, now: Option<u64>, out: &mut Vec<AgentEvent>) {
        let Some(now) = now else { return };
        let every = self.config.settle_every.as_secs();
        let due: Vec<DealId> = self
            .state
            .deals
            .iter()
            // A fixed term that ended is settled by its close, not before it.
            .filter(|(_, r)| r.is_open() && !r.is_unserved() && r.end_time.is_none_or(|end| now < end))
            .filter(|(id, r)| self.settlements.due(**id, r, now, every))
            .map(|(id, _)| *id)
            .filter(|id| self.retries.due(&Action::Settle(*id)))
            .collect();
        for deal in due {
            match self.supplier.market().settle(deal).await {
                Ok(settled) => {
                    self.retries.succeed(&Action::Settle(deal));
                    self.withdraw_pending = true;
                    match settled {
                        Some(settled) => {
                            self.settlements.settled(deal, settled.settled_until);
                            out.push(AgentEvent::Settled { deal, amount: settled.amount });
                        }
                        None => self.settlements.settled(deal, now),
                    }
                }
                Err(error) => {
                    out.push(self.retrying(Action::Settle(deal), format!("settling deal {deal}"), &error))
                }
            }
        }
    }

    /// Withdraws the earnings once they reach the configuration's `withdraw_at`, reading them only
    /// when they may have grown (after a settlement or a close; at start) or a withdrawal failed.
    async fn withdraw_when_due(&mut self, out: &mut Vec<AgentEvent>) {
        let Some(threshold) = self.config.withdraw_at else { return };
        if !self.withdraw_pending || !self.retries.due(&Action::Withdraw) {
            return;
        }
        match self.supplier.escrow().earnings(self.supplier.master()).await {
            Ok(earnings) if earnings >= threshold && earnings > Snm::ZERO => {
                match self.supplier.escrow().withdraw_earnings(earnings).await {
                    Ok(_) => {
                        self.retries.succeed(&Action::Withdraw);
                        self.withdraw_pending = false;
                        out.push(AgentEvent::Withdrawn { amount: earnings })
                    }
                    Err(error) => {
                        out.push(self.retrying(Action::Withdraw, "withdrawing earnings".into(), &error))
                    }
                }
            }
            Ok(_) => {
                self.retries.succeed(&Action::Withdraw);
                self.withdraw_pending = false;
            }
            Err(error) => out.push(self.retrying(Action::Withdraw, "reading earnings".into(), &error)),
        }
    }

    fn write_usage_report(&mut self) -> Result<(), AgentError> {
        if let Some(path) = &self.config.usage_report {
            file::write_atomically(path, self.state.usage_csv().as_bytes())
                .map_err(|source| StateError::Io { path: path.clone(), source })?;
        }
        self.report_written = true;
        Ok(())
    }

    /// Notes each worker's state (a running deal, an open ask, or neither) in the availability log.
    async fn record_availability(&mut self) -> Result<(), AgentError> {
        let Some(log) = &mut self.availability else { return Ok(()) };
        let now = unix_now();
        let mut records = Vec::new();
        for worker in &self.config.workers {
            let deals: Vec<&DealRecord> =
                self.state.deals.values().filter(|d| d.worker == worker.address && d.is_open()).collect();
            let running = deals.iter().any(|d| d.workload.is_some());
            let mut bytes = 0u128;
            for deal in &deals {
                // A workload that cannot say its usage now counts nothing this period, not an error.
                let live = match &deal.workload {
                    Some(workload) => self.runtime.usage(workload).await.map_or(0, |u| u.bytes.get()),
                    None => 0,
                };
                bytes = bytes.saturating_add(live).saturating_add(deal.carried_bytes);
            }
            let state = if running {
                snm_sdk::rewards::WorkerState::Deal
            } else if self.book.asks().any(|placed| placed.ask.worker == worker.address)
                || self.signed_asks.as_ref().is_some_and(|s| s.offers(&self.config.asks, worker.address))
            {
                snm_sdk::rewards::WorkerState::Ask
            } else {
                snm_sdk::rewards::WorkerState::Idle
            };
            records.extend(log.observe(now, worker.address, worker.ip, state, bytes));
        }
        log.append(&records).map_err(|source| StateError::Io { path: log.path().to_owned(), source })?;
        Ok(())
    }

    /// Changes a deal's record and saves the state.
    fn update(&mut self, deal: DealId, change: impl FnOnce(&mut DealRecord)) -> Result<(), AgentError> {
        if let Some(record) = self.state.deals.get_mut(&deal) {
            change(record);
        }
        Ok(self.store.save(&self.state)?)
    }

    /// Records that `action` failed: it waits its pause before it is tried again.
    fn retrying(&mut self, action: Action, doing: String, error: &Error) -> AgentEvent {
        let retry_in = self.retries.fail(action);
        AgentEvent::Retrying { doing, error: error.to_string(), retry_in }
    }
}

/// Wall-clock Unix time, seconds.
fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The chain the agent runs on, checked against its deployment.
struct ChainCheck {
    binding: ChainBinding,
    head: u64,
}

/// Checks that the node serves the deployment's chain and that its contracts are there, and reads
/// the deployment block's hash that binds the state to this chain.
async fn check_chain<P: Provider + Clone>(
    supplier: &Supplier<P>,
    state: &std::path::Path,
) -> Result<ChainCheck, AgentError> {
    let client = supplier.client();
    let deployment = client.deployment();
    deployment.verify(client.provider()).await?;
    let provider = client.provider();
    let chain_id = provider.get_chain_id().await.map_err(Error::from)?;
    let head = provider.get_block_number().await.map_err(Error::from)?;
    let block = provider.get_block_by_number(deployment.start_block.into()).await.map_err(Error::from)?;
    let Some(block) = block else {
        let path = state.to_owned();
        return Err(StateError::AheadOfChain { path, block: deployment.start_block, head }.into());
    };
    let deployment_block = BlockRef { number: block.header.number, hash: block.header.hash };
    Ok(ChainCheck { binding: ChainBinding { chain_id, deployment_block }, head })
}

/// The endpoint customers use: the workload's address, with an unspecified host (a workload
/// listening on every interface) replaced by the worker's public IP, and the certificate
/// fingerprint it names (`#sha256=…`) kept.
fn public_endpoint(endpoint: &str, ip: IpAddr) -> String {
    let (listen, fragment) = endpoint.find('#').map_or((endpoint, ""), |at| endpoint.split_at(at));
    match listen.parse::<std::net::SocketAddr>() {
        Ok(addr) if addr.ip().is_unspecified() => {
            format!("{}{fragment}", std::net::SocketAddr::new(ip, addr.port()))
        }
        _ => endpoint.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_hosts_become_the_worker_ip() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(public_endpoint("0.0.0.0:3128", ip), "203.0.113.7:3128");
        assert_eq!(public_endpoint("[::]:3128", ip), "203.0.113.7:3128");
        assert_eq!(public_endpoint("127.0.0.9:3128", ip), "127.0.0.9:3128");
        assert_eq!(public_endpoint("proxy.example:3128", ip), "proxy.example:3128");
        let pin = "#sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(public_endpoint(&format!("0.0.0.0:3128{pin}"), ip), format!("203.0.113.7:3128{pin}"));
        assert_eq!(public_endpoint(&format!("127.0.0.9:3128{pin}"), ip), format!("127.0.0.9:3128{pin}"));
    }
}
