//! The main job: the whole Operation A story on an embedded devnet, as `quickstart` runs it.
//!
//! Suppliers join with one worker each, on distinct IPs, and run their agents; a customer buys a
//! proxy from each, cheapest first within a budget; the agents deploy the metered proxy for every
//! deal and announce it; real traffic flows through every proxy; an hour later (the devnet's clock
//! is moved) the terms end, the agents close and settle the deals, stop the proxies and write their
//! usage reports, and withdraw their earnings; the operator computes the Operation A round from the
//! reports (50 SNM per unique IP, $4 per TB at the campaign's rate), publishes it, and every
//! supplier claims. It ends with a table per supplier, the gas of every kind of transaction beside
//! SONM's, and the check that every SNM minted is accounted for.

pub mod buys;
pub mod campaign;
pub mod claims;
pub mod footprint;
pub mod indexer_sidecar;
pub mod ledger;
pub mod leftovers;
pub mod steps;

use std::{
    collections::BTreeMap,
    io::{IsTerminal, Write},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
    transports::http::reqwest::Url,
};
use anyhow::{Context, bail};
use snm_agent::{
    AgentConfig, AgentEvent, AskTemplate, DealFeed, ProcessRuntime, SupplierAgent, WorkerConfig,
    availability::AvailabilityConfig,
    publishing_config::{AskPublishing, PublishMode},
};
use snm_proxy::{agent_command, policy::Cidr, traffic};
use snm_sdk::{
    Customer, Supplier,
    devnet::{Devnet, DevnetConfig},
    gas::{self, GasReport},
    market::{DealId, DealOpened, OpenAsk, Purchase, Requirements},
    orderbook::OrderBook,
    proxy_client::{DealMeters, ProxyEndpoint, ProxySecret},
    rewards::{Round, compute_round_with},
    units::{Bytes, NetFlags, Resources, Snm, Term, UsdPerHour},
};
use tokio::sync::{mpsc, watch};

use self::{
    campaign::{StagedCampaign, Standing},
    ledger::Ledger,
    steps::{StepClock, StepTiming},
};

/// How big the story is.
#[derive(Clone, Debug)]
pub struct StoryConfig {
    /// Suppliers, one worker (one IP) each.
    pub suppliers: usize,
    /// Most traffic sent through one proxy, each way (each proxy gets a different share of it).
    pub traffic_per_proxy: Bytes,
    /// The proxy program the agents run.
    pub proxy: PathBuf,
    /// Where agents keep their state, workloads and reports, and the campaign its round files.
    pub dir: PathBuf,
    /// The `snm-indexer` program to run beside the story ([`indexer_sidecar`]); `None`: none.
    pub indexer: Option<PathBuf>,
    /// The devnet's block time ([`DevnetConfig::block_time`]); `None`: a block per transaction.
    pub block_time: Option<Duration>,
}

/// One supplier's line of the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupplierLine {
    /// Its payout account.
    pub master: Address,
    /// Its worker's IP.
    pub ip: IpAddr,
    /// Traffic its proxy carried, as metered.
    pub bytes: Bytes,
    /// What its deal paid it (withdrawn).
    pub earned: Snm,
    /// Its Operation A reward.
    pub reward: Snm,
    /// What it claimed.
    pub claimed: Snm,
    /// Its admission stage, online time and both counts of its traffic.
    pub campaign: Standing,
}

/// What the story ends with.
#[derive(Debug)]
pub struct Summary {
    /// Per supplier.
    pub suppliers: Vec<SupplierLine>,
    /// The round published.
    pub round: Round,
    /// Gas of every kind of transaction.
    pub gas: GasReport,
    /// Where every SNM is.
    pub ledger: Ledger,
    /// How long it took.
    pub elapsed: Duration,
    /// JSON-RPC requests the story sent to the node (the agents', the customer's, the operator's),
    /// by method.
    pub requests: BTreeMap<String, u64>,
    /// The story's peak resident memory (agents, customer, operator, reward engine; the proxies are
    /// processes of their own).
    pub story_peak_memory: Option<Bytes>,
    /// The node's (anvil's) peak resident memory.
    pub node_peak_memory: Option<Bytes>,
    /// The indexer's address and its `/v1/stats` at the end, when one ran beside the story.
    pub indexer: Option<(String, String)>,
    /// Each step's time and requests.
    pub steps: Vec<StepTiming>,
}

/// Most suppliers a story runs: each needs a loopback IP, a proxy process and about a dozen open
/// files.
pub const MAX_SUPPLIERS: usize = 1_000;

/// The proxies' price: supplier `i` asks 0.36 + 0.018 (i mod 200) USD an hour (a whole number of
/// 5 * 10^-6 USD per second, so exact per second; at most 3.942 USD an hour, so that an hour of
/// any of them fits the customer's budget of 500 SNM per proxy).
fn price(i: usize) -> UsdPerHour {
    let thousandths = 360 + 18 * (i % 200) as u64;
    UsdPerHour::from_scaled(U256::from(thousandths) * U256::from(10u64.pow(15)))
}

/// The worker IP of supplier `i`: 127.0.0.11 … 127.0.0.254, then 127.0.1.1 … 127.0.1.254 and on
/// (every loopback address reaches this machine on Linux, so each proxy really serves on its own
/// IP; host parts 0 and 255, which look like network and broadcast addresses, are skipped).
fn worker_ip(i: usize) -> IpAddr {
    let k = 10 + i as u32;
    let (third, fourth) = (k / 254, k % 254 + 1);
    IpAddr::V4(Ipv4Addr::new(127, 0, third as u8, fourth as u8))
}

/// How long the story waits for all the agents to do one thing: a minute, and more for many
/// suppliers (their transactions queue on one node).
fn wait_limit(suppliers: usize) -> Duration {
    Duration::from_secs(60).max(Duration::from_millis(300) * suppliers as u32)
}

const TERM: Duration = Duration::from_secs(3_600);

/// Suppliers setting up at the same time.
const JOINING_AT_ONCE: usize = 16;
/// How often each agent runs a round while busy (its pause grows while idle).
const AGENT_POLL_EVERY: Duration = Duration::from_millis(200);

/// Runs the story, printing its progress, and returns its summary.
pub async fn run(config: &StoryConfig) -> anyhow::Result<Summary> {
    let started = Instant::now();
    if config.suppliers == 0 || config.suppliers > MAX_SUPPLIERS {
        bail!("between 1 and {MAX_SUPPLIERS} suppliers, not {}", config.suppliers);
    }
    let open_files_limit = footprint::raise_open_files(config.suppliers)?;
    let _ = std::fs::remove_dir_all(&config.dir);
    let mut clock = StepClock::new();
    std::fs::create_dir_all(&config.dir).with_context(|| config.dir.display().to_string())?;
    // Whatever ends the story, no proxy of its agents outlives it.
    let _leftovers = leftovers::LeftoverWorkloads::under(&config.dir);

    clock
        .step(1, "devnet: anvil with the SNM token, the price oracle, the market and the reward distributor");
    let devnet = Arc::new(
        Devnet::start_with(DevnetConfig {
            accounts: 1,
            block_time: config.block_time,
            ..DevnetConfig::default()
        })
        .await?,
    );
    clock.count_with(devnet.requests().clone());
    let operator = devnet.operator()?;
    let d = devnet.deployment();
    println!("      chain {} at {}", devnet.chain_id(), devnet.endpoint());
    println!("      market {}  distributor {}", d.market, d.distributor.unwrap_or_default());
    let rate = operator.oracle().rate().await?.snm_per_usd;
    println!("      oracle rate {rate}");
    let indexer = match &config.indexer {
        Some(program) => Some(indexer_sidecar::IndexerSidecar::start(program, &devnet, &config.dir).await?),
        None => None,
    };
    if let Some(indexer) = &indexer {
        println!("      market data service (snm-indexer) at {}", indexer.url());
    }

    clock.step(
        2,
        &format!(
            "{} suppliers join, each with a worker on its own IP, and start their agents",
            config.suppliers
        ),
    );
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (stop, stopped) = watch::channel(false);
    // Suppliers join a few at a time: each waits for its own transactions, and the node mines them
    // side by side.
    let joining = Arc::new(tokio::sync::Semaphore::new(JOINING_AT_ONCE));
    // The agents of this process read their deals through one feed: one log query per round for
    // all of them, not one each.
    let feed = DealFeed::new(operator.market().clone(), AGENT_POLL_EVERY);
    // With the market data service, the agents sign their asks and post them to its relay (no
    // gas); one still places its ask on chain, so that both cycles are measured side by side.
    let relay = match &indexer {
        Some(indexer) => Some(indexer.url().parse::<Url>().context("the indexer's address")?),
        None => None,
    };
    let mut joins = tokio::task::JoinSet::new();
    for i in 0..config.suppliers {
        let (devnet, joining, agent_config, feed) =
            (devnet.clone(), joining.clone(), config.clone(), feed.clone());
        let relay = relay.clone().filter(|_| i != ON_CHAIN_SUPPLIER);
        joins.spawn(async move {
            let _turn = joining.acquire_owned().await?;
            let master = devnet.new_account(Snm::ZERO).await?;
            let worker = devnet.new_account(Snm::ZERO).await?;
            devnet.connect(&worker).market().request_worker(master.address()).await?;
            let agent_config = agent_config_of(&agent_config, i, worker.address(), relay)?;
            let supplier = Supplier::new(devnet.connect(&master));
            let runtime =
                ProcessRuntime::new(agent_config.command.clone(), agent_config.workload_dir.clone())?;
            let (agent, _) = SupplierAgent::start_in(supplier.clone(), agent_config, runtime, &feed).await?;
            let agent = agent.with_ask_signer(Arc::new(master.clone()))?;
            anyhow::Ok((i, supplier, agent, master, worker.address()))
        });
    }
    let mut joined = Vec::with_capacity(config.suppliers);
    while let Some(result) = joins.join_next().await {
        joined.push(result.context("a supplier's setup task failed")??);
    }
    joined.sort_by_key(|(i, ..)| *i);
    // Operation A's way in: every supplier applies, the operator admits most of them now and the
    // rest later (step 4).
    let mut staged = StagedCampaign::open(&config.dir.join("campaign"))?;
    for (i, _, _, master, worker) in &joined {
        staged.apply(master, *worker, worker_ip(*i)).await?;
    }
    let later = campaign::second_stage(config.suppliers);
    let first = config.suppliers - later;
    // The chain's clock may run ahead of the wall's, never behind: deals open after this.
    let now = campaign::unix_now().min(operator.client().now().await?);
    staged.admit(1, first, now)?;
    println!(
        "      {} applications signed and accepted; stage 1 admits {first} from {now} (min_online {} s)",
        staged.applications(),
        campaign::MIN_ONLINE.secs()
    );
    let mut suppliers = Vec::with_capacity(config.suppliers);
    let mut agents = Vec::with_capacity(config.suppliers);
    for (i, supplier, mut agent, _, _) in joined {
        let (tx, mut stop) = (events_tx.clone(), stopped.clone());
        agents.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            };
            agent.run(shutdown, |event| drop(tx.send((i, event.clone())))).await;
        }));
        suppliers.push((supplier, worker_ip(i)));
    }
    let mut progress = Progress { backlog: Vec::new(), limit: wait_limit(config.suppliers) };
    progress
        .wait(&mut events, "asks on the order book", config.suppliers, |e| {
            matches!(e, AgentEvent::AskPlaced { .. } | AgentEvent::AskPublished { .. })
        })
        .await?;

    clock.step(
        3,
        &format!(
            "a customer buys {first} proxies with a public IP from admitted suppliers, cheapest first, an hour each"
        ),
    );
    let budget_per_proxy = Snm::from_whole(500);
    let funds = Snm::from_whole(500 * config.suppliers as u64);
    let customer_key = devnet.new_account(funds).await?;
    let customer = Customer::new(devnet.connect(&customer_key));
    customer.token().approve_market(funds).await?;
    // With the market data service, the customer reads the book (placed and signed asks) from it,
    // once it indexed the block of the last ask placed (else that ask may be missing).
    if let Some(sidecar) = &indexer {
        sidecar.stats_after(devnet.block_number().await?).await?;
    }
    let mut book = match &relay {
        Some(indexer) => OrderBook::from_indexer(indexer).await?,
        None => customer.market().order_book().await?,
    };
    // The operator, also the customer, buys only from admitted suppliers.
    let not_admitted: Vec<_> = book
        .asks()
        .filter(|placed| staged.admission().get(placed.ask.master).is_none())
        .map(|placed| placed.id)
        .collect();
    for id in not_admitted {
        book.remove_ask(id);
    }
    let not_admitted: Vec<_> = book
        .signed_asks()
        .filter(|signed| staged.admission().get(signed.ask.master).is_none())
        .map(|signed| signed.ask.worker)
        .collect();
    for worker in not_admitted {
        book.remove_signed_asks_of(worker);
    }
    let wanted = Requirements::new(Term::Fixed(TERM))
        .resources(Resources::new().cpu_milli_cores(500))
        .flags(NetFlags::PUBLIC_IP | NetFlags::INCOMING);
    // The customer's secret opens every proxy it buys; its keccak is public on chain, so it is
    // random (256 bits), not chosen.
    let secret = ProxySecret::generate().context("no system randomness for the proxy secret")?;
    let mut picks = Vec::new();
    loop {
        // Placed or signed, whichever is cheapest.
        let ask = match customer.best_offer(&book, &wanted, budget_per_proxy).await {
            Ok(ask) => ask,
            Err(snm_sdk::Error::NothingFits(_)) => break,
            Err(error) => return Err(error.into()),
        };
        let how = match &ask {
            OpenAsk::Placed(placed) => {
                book.remove_ask(placed.id);
                "placed"
            }
            OpenAsk::Signed(signed) => {
                book.remove_signed_asks_of(signed.ask.worker);
                "signed"
            }
        };
        let price = ask.ask().price;
        let deposit = price.snm_needed_up(TERM.as_secs(), rate).context("the deposit overflows")?;
        let purchase =
            Purchase::new(Term::Fixed(TERM), deposit, "snm/proxy:1").config_hash(secret.config_hash());
        picks.push((ask, purchase, how, price));
    }
    let shown: Vec<_> = picks.iter().map(|(_, _, how, price)| (*how, price.to_per_hour())).collect();
    let picks = picks.into_iter().map(|(ask, purchase, _, _)| (ask, purchase)).collect();
    let opened: Vec<DealOpened> = buys::buy_all(&customer, picks, buys::BUYS_AT_ONCE).await?;
    for (deal, (how, price)) in opened.iter().zip(shown) {
        println!(
            "      deal {:>3}: worker {} at {price} for {} ({how} ask)",
            deal.id, deal.worker, deal.deposit
        );
    }
    let deals: Vec<DealId> = opened.iter().map(|deal| deal.id).collect();
    if deals.len() != first {
        bail!("bought {} proxies of {first}", deals.len());
    }

    clock.step(4, "the agents see the deals, start a metered proxy for each and announce its endpoint");
    progress
        .wait(&mut events, "endpoints announced", deals.len(), |e| {
            matches!(e, AgentEvent::EndpointAnnounced { .. })
        })
        .await?;
    let mut endpoints = Vec::with_capacity(deals.len());
    // The customer counts every deal's bytes itself, for its own usage report.
    let meters = DealMeters::new();
    for deal in &opened {
        let endpoint = customer.market().wait_for_endpoint(deal.id, Duration::from_secs(30)).await?;
        let endpoint: ProxyEndpoint =
            endpoint.parse().with_context(|| format!("deal {}'s endpoint", deal.id))?;
        meters.track(deal, &endpoint)?;
        endpoints.push((deal.id, endpoint));
    }
    let now = campaign::unix_now();
    let admitted = staged.admit(2, later, now)?;
    println!(
        "      stage 2 admits {} more suppliers from {now}, with a delay: online, never bought",
        admitted.len()
    );

    clock.step(5, "traffic flows through every proxy to a server and back, checked byte for byte");
    let echo = traffic::EchoServer::start().await.context("echo server")?;
    let sent = send_traffic(&endpoints, echo.addr(), &secret, &meters, config.traffic_per_proxy).await?;
    // At 1,000 suppliers the story holds most of its descriptors here (two per tunnel, the
    // agents' connections): a shortage shows as accept errors, which the echo server went on after.
    println!(
        "      open files at the traffic's end: {} (limit {}); echo server accept errors: {}",
        footprint::open_files().map_or("unknown".into(), |n| n.to_string()),
        open_files_limit,
        echo.accept_errors()
    );
    println!(
        "      {} sent through {} proxies ({} crossed them)",
        Bytes::new(u128::from(sent)),
        endpoints.len(),
        Bytes::new(2 * u128::from(sent))
    );

    clock.step(
        6,
        "half an hour later the agents settle the running deals; at the hour the terms end and they close them",
    );
    devnet.advance_time(TERM / 2).await?;
    progress
        .wait(&mut events, "deals settled", deals.len(), |e| matches!(e, AgentEvent::Settled { .. }))
        .await?;
    devnet.advance_time(TERM / 2).await?;
    progress
        .wait(&mut events, "deals finished and metered", deals.len(), |e| {
            matches!(e, AgentEvent::DealFinished { .. })
        })
        .await?;
    wait_for_withdrawals(&suppliers, wait_limit(config.suppliers)).await?;
    let availability: Vec<PathBuf> =
        (0..config.suppliers).map(|i| supplier_dir(config, i).join("availability.jsonl")).collect();
    staged.wait_until_online(&availability, wait_limit(config.suppliers)).await?;
    let _ = stop.send(true);
    for agent in agents {
        agent.await.context("an agent stopped abnormally")?;
    }
    let mut earned = Vec::with_capacity(suppliers.len());
    for (supplier, _) in &suppliers {
        earned.push(supplier.token().balance(supplier.master()).await?);
    }

    clock.step(
        7,
        "Operation A: 50 SNM per admitted IP online + $4 per TB on the smaller of the agents' and the customer's counts",
    );
    let rules = campaign::rules(rate)?;
    // The suppliers bought from reported their deals; the others have no usage to report.
    let reports: Vec<PathBuf> = (0..first).map(|i| supplier_dir(config, i).join("usage.csv")).collect();
    let customer_report = config.dir.join("campaign").join("customer-usage.csv");
    campaign::write_customer_report_of(&meters, &customer_key, &customer_report).await?;
    let inputs = staged.inputs(reports.clone(), availability, customer_report);
    // The engine blocks (it reads every report, hashes the tree and writes the files): on a
    // blocking thread, so the runtime's workers stay free for the devnet's and proxies' tasks.
    let out = config.dir.join("rewards");
    let (round, files) = tokio::task::spawn_blocking(move || {
        let round = compute_round_with(&rules, None, &inputs)?;
        let files = round.write(&out)?;
        anyhow::Ok((round, files))
    })
    .await
    .context("the reward engine's thread")??;
    println!(
        "      round {}: {} accounts, total {}, root {}",
        round.number(),
        round.accounts().len(),
        round.total(),
        round.root()
    );
    println!(
        "      {} deals counted by both sides, {} differing by more than 5 %; {} record groups not admitted",
        meters.deals().len(),
        round.discrepancies().len(),
        round.exclusions().len()
    );
    println!("      proofs in {} (OpenZeppelin standard-v1)", files.merkle.display());
    let distributor = operator.distributor()?;
    distributor.fund(round.round_total()).await?;
    let status = distributor.publish_round(&round, &format!("file://{}", files.merkle.display())).await?;
    println!("      published: root {} accepted, {} funded", status.root, status.funded);

    clock.step(8, "every supplier claims its reward");
    let mut standings = campaign::standings(&round, &reports, &meters)?;
    let masters: Vec<Supplier<DynProvider>> =
        suppliers.iter().map(|(supplier, _)| supplier.clone()).collect();
    let claimed = claims::claim_all(&masters, &round, claims::CLAIMS_AT_ONCE).await?;
    let mut lines = Vec::with_capacity(suppliers.len());
    for (((supplier, ip), earned), claim) in suppliers.iter().zip(earned).zip(claimed) {
        let master = supplier.master();
        let campaign = standings.remove(&master).unwrap_or_default();
        lines.push(SupplierLine {
            master,
            ip: *ip,
            bytes: claim.bytes,
            earned,
            reward: claim.reward,
            claimed: claim.paid,
            campaign,
        });
    }
    let steps = clock.finish().to_vec();

    let reading = Instant::now();
    let latest = devnet.provider().get_block_number().await?;
    let gas = gas::scan(devnet.provider(), d, 0, latest).await?;
    let ledger = Ledger::read(operator.client()).await?;
    println!(
        "      receipts of {latest} blocks and the ledger read in {:.1} s",
        reading.elapsed().as_secs_f64()
    );
    let indexer = match indexer {
        Some(indexer) => Some((indexer.url().to_owned(), indexer.stats_after(latest).await?)),
        None => None,
    };
    Ok(Summary {
        suppliers: lines,
        round,
        gas,
        ledger,
        elapsed: started.elapsed(),
        requests: devnet.requests().by_method(),
        story_peak_memory: footprint::own_peak_memory(),
        node_peak_memory: footprint::peak_memory_of(devnet.anvil_pid()),
        indexer,
        steps,
    })
}

/// Waits until every agent withdrew its master's earnings (they do after each settlement round).
async fn wait_for_withdrawals(
    suppliers: &[(Supplier<DynProvider>, IpAddr)],
    limit: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    // Only those not withdrawn yet are read again: N reads a round at 1,000 suppliers loaded the
    // node while the last agents closed.
    let mut waiting: Vec<&Supplier<DynProvider>> = suppliers.iter().map(|(supplier, _)| supplier).collect();
    loop {
        let mut still = Vec::with_capacity(waiting.len());
        for supplier in waiting {
            if supplier.escrow().earnings(supplier.master()).await? > Snm::ZERO {
                still.push(supplier);
            }
        }
        waiting = still;
        let left = waiting.len();
        if left == 0 {
            println!("      earnings withdrawn by every agent");
            return Ok(());
        }
        if start.elapsed() > limit {
            bail!("{left} agents did not withdraw their earnings within {:?}", start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Sends a different amount through each proxy, all at once; returns the bytes sent (one way).
async fn send_traffic(
    endpoints: &[(DealId, ProxyEndpoint)],
    target: SocketAddr,
    secret: &ProxySecret,
    meters: &DealMeters,
    most: Bytes,
) -> anyhow::Result<u64> {
    let most = u64::try_from(most.get()).unwrap_or(u64::MAX);
    let mut tasks = tokio::task::JoinSet::new();
    let mut total = 0;
    for (k, (deal, proxy)) in endpoints.iter().enumerate() {
        // Shares from 40 % to 100 % of the most, so the suppliers' traffic differs.
        let bytes = most / 100 * (40 + (k as u64 * 37) % 61);
        total += bytes;
        let (deal, proxy, secret, meters) = (*deal, proxy.clone(), secret.clone(), meters.clone());
        tasks.spawn(async move {
            let tunnel = meters.connect(deal, &proxy, &target.to_string(), &secret).await?;
            traffic::round_trip(tunnel, bytes)
                .await
                .with_context(|| format!("traffic through deal {deal}'s proxy {proxy}"))
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.context("a traffic task failed")??;
    }
    Ok(total)
}

fn supplier_dir(config: &StoryConfig, i: usize) -> PathBuf {
    config.dir.join(format!("supplier-{:02}", i + 1))
}

/// The supplier whose agent places its ask on chain when the others sign theirs: the demo then
/// measures both cycles (it is bought at stage 1 whenever there are two suppliers or more).
const ON_CHAIN_SUPPLIER: usize = 1;

/// Supplier `i`'s agent configuration; with `relay` (the market data service), its asks are signed
/// and posted there instead of placed on chain.
fn agent_config_of(
    config: &StoryConfig,
    i: usize,
    worker: Address,
    relay: Option<Url>,
) -> anyhow::Result<AgentConfig> {
    let dir = supplier_dir(config, i);
    let ip = worker_ip(i);
    Ok(AgentConfig {
        state: dir.join("state.json"),
        usage_report: Some(dir.join("usage.csv")),
        availability: Some(AvailabilityConfig {
            path: dir.join("availability.jsonl"),
            period: campaign::AVAILABILITY_PERIOD,
        }),
        poll_every: AGENT_POLL_EVERY,
        // Settled once half an hour in (the story moves the clock), then closed at the hour.
        settle_every: Duration::from_secs(600),
        // Above a half hour's pay (about 18 SNM): the mid-deal settlement is not withdrawn on its
        // own, the close at the hour pays everything out (`closeDealAndWithdraw`).
        withdraw_at: Some(Snm::from_whole(100)),
        retry_max: Duration::from_secs(5),
        confirmations: None,
        // The customers' target is an echo server on 127.0.0.1, which a proxy refuses unless
        // allowed.
        command: agent_command(
            &config.proxy.display().to_string(),
            &[Cidr::new(Ipv4Addr::LOCALHOST.into(), 32).context("range")?],
        ),
        docker: None,
        workload_dir: dir.join("workloads"),
        workers: vec![WorkerConfig { address: worker, ip }],
        asks: vec![AskTemplate {
            worker,
            price: price(i),
            resources: Resources::new()
                .cpu_milli_cores(1_000)
                .ram(Bytes::from_mib(512))
                .net_up_mbps(100)
                .net_down_mbps(100),
            flags: NetFlags::PUBLIC_IP | NetFlags::INCOMING,
            region: 0,
            min_duration: Duration::from_secs(60),
            max_duration: Some(Duration::from_secs(86_400)),
        }],
        publishing: AskPublishing {
            publish: if relay.is_some() { PublishMode::Signed } else { PublishMode::Onchain },
            indexer: relay,
            ..AskPublishing::default()
        },
    })
}

/// Counts the agents' events and waits for enough of one kind.
#[derive(Debug)]
struct Progress {
    backlog: Vec<AgentEvent>,
    /// Longest wait for one kind.
    limit: Duration,
}

impl Progress {
    async fn wait(
        &mut self,
        events: &mut mpsc::UnboundedReceiver<(usize, AgentEvent)>,
        what: &'static str,
        want: usize,
        counts: impl Fn(&AgentEvent) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.limit;
        // Events that came during earlier waits count too (an agent may be quicker than the story).
        let mut have = self.backlog.iter().filter(|e| counts(e)).count();
        let live = std::io::stdout().is_terminal();
        loop {
            if live || have >= want {
                print!("\r      {what}: {have}/{want}");
                let _ = std::io::stdout().flush();
            }
            if have >= want {
                println!();
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, events.recv()).await {
                Ok(Some((i, event))) => {
                    if let AgentEvent::WorkloadFailed { .. } | AgentEvent::Retrying { .. } = &event {
                        println!("\r      supplier {}: {event}", i + 1);
                    }
                    if counts(&event) {
                        have += 1;
                    }
                    self.backlog.push(event);
                }
                Ok(None) | Err(_) => {
                    println!();
                    bail!("timed out after {:?} waiting for {what} ({have} of {want})", self.limit);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_suppliers_get_distinct_loopback_ips_without_host_parts_0_or_255() {
        assert_eq!(worker_ip(0), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11)));
        assert_eq!(worker_ip(243), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 254)));
        assert_eq!(worker_ip(244), IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1)));
        assert_eq!(worker_ip(MAX_SUPPLIERS - 1), IpAddr::V4(Ipv4Addr::new(127, 0, 3, 248)));
        let ips: std::collections::HashSet<IpAddr> = (0..MAX_SUPPLIERS).map(worker_ip).collect();
        assert_eq!(ips.len(), MAX_SUPPLIERS);
        assert!(ips.iter().all(|ip| matches!(ip, IpAddr::V4(v4) if !matches!(v4.octets()[3], 0 | 255))));
    }

    #[test]
    fn every_suppliers_hour_fits_the_customers_budget() {
        let rate = snm_sdk::units::SnmPerUsd::from_whole(100);
        for i in 0..MAX_SUPPLIERS {
            let per_second = price(i).to_per_second().unwrap_or_else(|e| panic!("price {i}: {e}"));
            let hour = per_second
                .snm_needed_up(TERM.as_secs(), rate)
                .unwrap_or_else(|| panic!("price {i} overflows"));
            assert!(hour <= Snm::from_whole(500), "supplier {i}: {hour}");
        }
    }
}
