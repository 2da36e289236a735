//! The agent follows its chain: after a reorganisation takes back a deal it served and the deal id
//! goes to another customer's deal, it stops and meters the phantom, serves the real deal and sees
//! its close; it refuses a node of another chain, or a state file of a chain that was reset, with
//! what to do, and a failed start leaves no state behind; one that withdraws closes an ended term
//! with its payout in the same transaction.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod common;

use common::Dir;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{B256, U256},
    providers::{DynProvider, Provider},
};
use snm_agent::{
    AgentConfig, AgentError, AgentEvent, AgentState, ChainBinding, ProcessRuntime, StateError, StateStore,
    SupplierAgent,
};
use snm_sdk::{
    Client, Customer, Deployment, Supplier,
    devnet::{Devnet, DevnetConfig},
    events::{BlockRef, EventCursor},
    market::{DealId, DealOpened, PlacedAsk, Purchase},
    rewards::CSV_HEADER,
    units::{Bytes, Snm, Term},
};

/// The bytes the test workload reports as carried.
const CARRIED: u64 = 1234;

/// An agent configuration whose workload reports [`CARRIED`] bytes and runs until stopped.
fn config(dir: &Path, worker: &Client<DynProvider>) -> AgentConfig {
    let script = format!("echo '{{\"bytes\": {CARRIED}}}' > {{stats}}; exec sleep 600");
    let command = ["/bin/sh".to_owned(), "-c".to_owned(), script];
    let text = common::agent_toml(worker, &command, "50ms");
    AgentConfig::from_toml(&text, dir).unwrap()
}

type Agent = SupplierAgent<DynProvider, ProcessRuntime>;

async fn start(supplier: Supplier<DynProvider>, config: AgentConfig) -> Result<Agent, AgentError> {
    let runtime = ProcessRuntime::new(config.command.clone(), config.workload_dir.clone()).unwrap();
    Ok(SupplierAgent::start(supplier, config, runtime).await?.0)
}

/// Runs rounds until `done` holds for the agent and what it did so far (30 s at most).
async fn run_until(
    agent: &mut Agent,
    seen: &mut Vec<AgentEvent>,
    done: impl Fn(&Agent, &[AgentEvent]) -> bool,
) {
    let start = Instant::now();
    while !done(agent, seen) {
        assert!(start.elapsed() < Duration::from_secs(30), "the agent never got there: {seen:#?}");
        seen.extend(agent.step().await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn buy(customer: &Customer<DynProvider>, ask: &PlacedAsk) -> DealOpened {
    let purchase = Purchase::new(Term::Spot, "100 SNM".parse().unwrap(), "snm/proxy:1");
    customer.quick_buy(ask, &purchase).await.unwrap()
}

async fn customer(devnet: &Devnet) -> Customer<DynProvider> {
    let customer =
        Customer::new(devnet.connect(&devnet.new_account("1000 SNM".parse().unwrap()).await.unwrap()));
    customer.token().approve_market("1000 SNM".parse().unwrap()).await.unwrap();
    customer
}

#[tokio::test]
async fn after_a_reorganisation_the_agent_drops_the_phantom_deal_and_serves_the_real_one() {
    let dir = Dir::new("agent-reorg");
    let devnet = Devnet::start_with(DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await.unwrap();
    let master = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let (first, second) = (customer(&devnet).await, customer(&devnet).await);
    worker.market().request_worker(master.sender()).await.unwrap();
    let mut agent = start(Supplier::new(master.clone()), config(&dir.0, &worker)).await.unwrap();
    let mut seen = Vec::new();
    run_until(&mut agent, &mut seen, |_, seen| {
        seen.iter().any(|e| matches!(e, AgentEvent::AskPlaced { .. }))
    })
    .await;
    let book = first.market().order_book().await.unwrap();
    let ask = book.asks().find(|a| a.ask.master == master.sender()).unwrap().clone();

    // The first customer's deal is served, then the chain goes back before it.
    let snapshot: U256 = devnet.provider().raw_request("evm_snapshot".into(), ()).await.unwrap();
    let phantom = buy(&first, &ask).await;
    let serving = |deal: DealId, customer| {
        move |agent: &Agent, _: &[AgentEvent]| {
            agent.state().deals.get(&deal).is_some_and(|r| r.customer == customer && r.workload.is_some())
        }
    };
    run_until(&mut agent, &mut seen, serving(phantom.id, first.sender())).await;
    let reverted: bool = devnet.provider().raw_request("evm_revert".into(), (snapshot,)).await.unwrap();
    assert!(reverted);

    // The second customer buys the same ask: the same deal id.
    let real = buy(&second, &ask).await;
    assert_eq!(real.id, phantom.id);
    let from = seen.len();
    run_until(&mut agent, &mut seen, serving(real.id, second.sender())).await;
    let vanished = AgentEvent::DealVanished {
        deal: phantom.id,
        customer: first.sender(),
        bytes: Bytes::new(CARRIED.into()),
    };
    assert!(seen[from..].contains(&vanished), "{seen:#?}");
    assert_eq!(
        seen.iter().filter(|e| matches!(e, AgentEvent::WorkloadStarted { .. })).count(),
        2,
        "{seen:#?}"
    );
    assert!(!seen.iter().any(|e| matches!(e, AgentEvent::Retrying { .. })), "{seen:#?}");

    // Its close is seen: the workload is stopped and metered; both deals are in the report.
    let closed = second.market().close_deal(real.id, false).await.unwrap();
    run_until(&mut agent, &mut seen, |agent, _| {
        agent.state().deals.get(&real.id).is_some_and(|r| r.final_bytes.is_some())
    })
    .await;
    let report = std::fs::read_to_string(dir.0.join("usage.csv")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], CSV_HEADER);
    assert_eq!(lines.len(), 3, "{report}");
    let real_line =
        format!("{},127.0.0.1,{CARRIED},{},{}", master.sender(), real.start_time, closed.settled_until);
    assert!(lines.contains(&real_line.as_str()), "{report}");
    assert!(lines.iter().any(|l| l.contains(&format!(",{CARRIED},{},", phantom.start_time))), "{report}");
    let saved = StateStore::new(dir.0.join("state.json")).load(devnet.deployment().market, master.sender());
    assert_eq!(saved.unwrap().unwrap().orphaned.len(), 1);
}

#[tokio::test]
async fn the_agent_refuses_another_chain_or_a_reset_one_and_a_failed_start_leaves_no_state() {
    let dir = Dir::new("agent-chain");
    let devnet = Devnet::start_with(DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await.unwrap();
    let master = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    worker.market().request_worker(master.sender()).await.unwrap();
    let state = dir.0.join("state.json");

    // A deployment file of chain 99 on this chain 31337: refused, and nothing is written.
    let other = Deployment { chain_id: Some(99), ..*devnet.deployment() };
    let wrong = Client::new(devnet.provider().clone(), other, master.sender());
    let error = start(Supplier::new(wrong), config(&dir.0, &worker)).await.unwrap_err();
    assert!(
        matches!(error, AgentError::Sdk(snm_sdk::Error::WrongChain { expected: 99, found: 31337 })),
        "{error}"
    );
    assert!(!state.exists(), "a failed start leaves no state");

    // A state of this chain id whose deployment block has another hash: the chain was reset.
    let store = StateStore::new(&state);
    let deployment = devnet.deployment();
    let block = devnet.provider().get_block_by_number(deployment.start_block.into()).await.unwrap().unwrap();
    let here = ChainBinding {
        chain_id: 31337,
        deployment_block: BlockRef { number: block.header.number, hash: block.header.hash },
    };
    let mut old = AgentState::new(deployment.market, master.sender(), deployment.start_block);
    old.chain = Some(ChainBinding {
        deployment_block: BlockRef { hash: B256::repeat_byte(7), ..here.deployment_block },
        ..here
    });
    store.save(&old).unwrap();
    let error = start(Supplier::new(master.clone()), config(&dir.0, &worker)).await.unwrap_err();
    assert!(
        matches!(&error, AgentError::State(StateError::OtherChain { bound, now, .. }) if *now == here && Some(*bound) == old.chain),
        "{error}"
    );
    assert!(error.to_string().contains("move") && error.to_string().contains("state.json"), "{error}");

    // A state of this chain that read past the head: the node was reset or is behind.
    let head = devnet.block_number().await.unwrap();
    let mut ahead = AgentState::new(deployment.market, master.sender(), deployment.start_block);
    ahead.chain = Some(here);
    ahead.cursor = EventCursor { block: head + 50, log_index: Some(0) };
    store.save(&ahead).unwrap();
    let error = start(Supplier::new(master.clone()), config(&dir.0, &worker)).await.unwrap_err();
    assert!(
        matches!(error, AgentError::State(StateError::AheadOfChain { block, .. }) if block == head + 50),
        "{error}"
    );

    // Without the stale state the agent starts, and binds its state to this chain.
    std::fs::remove_file(&state).unwrap();
    let mut agent = start(Supplier::new(master.clone()), config(&dir.0, &worker)).await.unwrap();
    assert_eq!(agent.state().chain, Some(here));
    agent.step().await.unwrap();
}

#[tokio::test]
async fn an_agent_that_withdraws_closes_an_ended_term_with_its_payout_in_the_same_transaction() {
    let dir = Dir::new("agent-close-and-withdraw");
    let devnet = Devnet::start_with(DevnetConfig { accounts: 2, ..DevnetConfig::default() }).await.unwrap();
    let master = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
    let customer = customer(&devnet).await;
    worker.market().request_worker(master.sender()).await.unwrap();
    let script = format!("echo '{{\"bytes\": {CARRIED}}}' > {{stats}}; exec sleep 600");
    let command = ["/bin/sh".to_owned(), "-c".to_owned(), script];
    // A threshold above the deal's pay: only the close pays it out.
    let text = common::agent_toml(&worker, &command, "50ms")
        .replace("settle_every = \"1h\"\n", "settle_every = \"1h\"\nwithdraw_at = \"100 SNM\"\n");
    let config = AgentConfig::from_toml(&text, &dir.0).unwrap();
    let mut agent = start(Supplier::new(master.clone()), config).await.unwrap();
    let mut seen = Vec::new();
    run_until(&mut agent, &mut seen, |_, seen| {
        seen.iter().any(|e| matches!(e, AgentEvent::AskPlaced { .. }))
    })
    .await;
    let book = customer.market().order_book().await.unwrap();
    let ask = book.asks().find(|a| a.ask.master == master.sender()).unwrap().clone();
    let term = Term::Fixed(Duration::from_secs(3600));
    let purchase = Purchase::new(term, "100 SNM".parse().unwrap(), "snm/proxy:1");
    let deal = customer.quick_buy(&ask, &purchase).await.unwrap();
    run_until(&mut agent, &mut seen, |agent, _| {
        agent.state().deals.get(&deal.id).is_some_and(|r| r.workload.is_some())
    })
    .await;

    devnet.advance_time(Duration::from_secs(3601)).await.unwrap();
    run_until(&mut agent, &mut seen, |_, seen| {
        seen.iter().any(|e| matches!(e, AgentEvent::ClosedDeal { deal: d, .. } if *d == deal.id))
    })
    .await;
    let paid: Vec<Snm> = seen
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Withdrawn { amount } => Some(*amount),
            _ => None,
        })
        .collect();
    // 0.9 USD/h for the hour at the devnet's 100 SNM/USD, less the protocol fee, if any.
    let balance = master.token().balance(master.sender()).await.unwrap();
    assert_eq!(paid, [balance], "one payout, by the close: {seen:#?}");
    assert!(balance > Snm::ZERO && balance <= Snm::from_whole(90), "{balance}");
    assert_eq!(master.escrow().earnings(master.sender()).await.unwrap(), Snm::ZERO);
    // `closeDealAndWithdraw` clears the deal's storage (a plain close keeps it).
    let record = customer.market().deal(deal.id).await.unwrap();
    assert!(record.is_none(), "closed with the payout, its storage cleared: {record:?}");
}
