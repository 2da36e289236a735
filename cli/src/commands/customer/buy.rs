//! `snm customer buy`: a customer buys compute on any chain the marketplace runs on. It reads the
//! order book from the market's events, takes the cheapest asks that meet the requirements and
//! that the budget pays for (the SDK's `best_ask`, on as many distinct machines as `--count`
//! says), pays each deposit (ERC-20 allowance, or an EIP-2612 permit with `--permit`), quick-buys
//! the asks, and prints each deal: id, worker, master, price, term, deposit and runway. With
//! `--wait-endpoint` it waits for each supplier to announce where its workload serves (a proxy's
//! `ip:port#sha256=<certificate fingerprint>`, which `snm_sdk::proxy_client` pins); with `--dry-run` it only shows what it would take and pay. When nothing fits it
//! says why: how many asks are open, how many meet the requirements, the cheapest against the
//! budget.
//!
//! The book holds the asks placed on chain and, with `--indexer`, the signed asks its relay serves
//! (offers signed off chain, bought with `quickBuySigned` from the customer's free balance in the
//! escrow, the missing part deposited first); the cheapest fitting one wins either way. With
//! `--signed-ask FILE` it buys that one signed ask (`snm supplier ask place --signed --out FILE`),
//! checked against the requirements and the budget first.
//!
//! ```text
//! export SNM_RPC=http://127.0.0.1:8545 SNM_DEPLOYMENT=deployment.json SNM_KEY=0x…
//! snm customer buy --term 2h --budget "200 SNM" --cores 4 --ram 16GiB --net public-ip,incoming \
//!     --image ghcr.io/acme/proxy:1.2 --secret "$(openssl rand -hex 32)" --count 3 --wait-endpoint 2m
//! snm customer buy --term spot --budget "50 SNM" --max-price "0.5 USD/h" --dry-run
//! ```
//!
//! With `--env-file FILE` (and `--secret-file FILE`, `--arg ARG`) the deal carries the hash of
//! that workload configuration instead, and once each deal is open the configuration is signed
//! with the customer's key and delivered to the supplier's agent, which starts the container only
//! with it (see [`crate::workload_delivery`]).
//!
//! The secret never leaves the machine: the deal carries its keccak-256 (`configHash`), which the
//! supplier's proxy checks (see `snm_proxy`). That hash is public, so a secret that cannot hold 128
//! bits of randomness is refused before anything is bought.

use std::{collections::VecDeque, time::Duration};

use alloy::{
    primitives::{Address, B256},
    providers::{DynProvider, Provider},
};
use serde::Serialize;
use snm_sdk::{
    Customer, Error, Funds, OrderBook,
    customer::Runway,
    events::EventCursor,
    market::{AskId, DealId, DealOpened, OpenAsk},
    proxy_client::{ProxyEndpoint, ProxySecret},
    units::{Snm, SnmPerUsd, Term, UsdPerHour, format_duration, parse_duration},
};

use crate::{
    chain::ChainArgs,
    output::Frame,
    purchase::{self, Buyer, Needs, Order, Pick, Plan, PurchaseError},
    signed_ask_file,
    table::{Align, Table},
    units::{self, plural},
};

/// Buys compute: the cheapest asks meeting the requirements within the budget, on distinct
/// machines, and prints the deals.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    chain: ChainArgs,
    /// How long to rent: a fixed term (`2h`, `30m`, `1d12h`) or `spot` (open-ended, paid while the
    /// deposit lasts).
    #[arg(long)]
    term: Term,
    /// The most SNM to pay into each deal, e.g. `200 SNM`. A fixed term's deposit is its whole cost
    /// at the oracle's rate; a spot deal's is the budget (which must cover the market's minimum
    /// runway).
    #[arg(long)]
    budget: Snm,
    #[command(flatten)]
    needs: Needs,
    /// The container image the supplier runs for the deal.
    #[arg(long, required_unless_present = "dry_run")]
    image: Option<String>,
    /// A secret only the customer knows; the deal carries its keccak-256 (`configHash`), so only
    /// the customer can use the workload (a proxy checks it). The hash is public: the secret must
    /// hold 128 bits of randomness (`openssl rand -hex 32`).
    #[arg(long, env = "SNM_SECRET", hide_env_values = true)]
    secret: Option<String>,
    #[command(flatten)]
    config: crate::workload_delivery::ConfigArgs,
    /// How many deals to buy, each on its own machine (many proxies: many IPs).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000))]
    count: u16,
    /// Waits up to this long (`90s`, `5m`) for each supplier to announce the deal's endpoint, and
    /// prints it.
    #[arg(long, value_parser = parse_duration, value_name = "TIMEOUT")]
    wait_endpoint: Option<Duration>,
    /// Pays each deposit with an EIP-2612 permit (one transaction per deal) instead of an
    /// allowance.
    #[arg(long)]
    permit: bool,
    /// Only shows the asks it would take and what it would pay; sends nothing (no key needed).
    #[arg(long)]
    dry_run: bool,
    /// Buys this signed ask (a file `snm supplier ask place --signed --out` wrote) instead of the
    /// book's best; it must meet the requirements and the budget.
    #[arg(long, value_name = "FILE", conflicts_with = "count")]
    signed_ask: Option<std::path::PathBuf>,
}

/// What `snm --json customer buy` prints: the asks taken (or that would be, with `--dry-run`),
/// the deals bought with their runways, and the endpoints announced.
#[derive(Debug, Default, Serialize)]
pub struct BuyReport {
    /// Whether nothing was bought on purpose (`--dry-run`).
    pub dry_run: bool,
    /// The SNM/USD rate the deposits were computed at.
    pub rate: Option<SnmPerUsd>,
    /// The asks taken, cheapest first.
    pub picks: Vec<PickReport>,
    /// The sum of their deposits.
    pub total_deposit: Snm,
    /// The deals bought.
    pub deals: Vec<BoughtDeal>,
    /// The endpoints announced (with `--wait-endpoint`).
    pub endpoints: Vec<EndpointReport>,
}

/// An ask taken and its deposit.
#[derive(Debug, Serialize)]
pub struct PickReport {
    /// The ask (0 for a signed ask, as in its deal's `DealOpened`).
    pub ask: AskId,
    /// Whether it is a signed ask (bought with `quickBuySigned`).
    pub signed: bool,
    /// Its machine.
    pub worker: Address,
    /// Its supplier.
    pub master: Address,
    /// Its price.
    pub price: UsdPerHour,
    /// The deposit paid into the deal.
    pub deposit: Snm,
}

/// A deal bought and how long its deposit lasts.
#[derive(Debug, Serialize)]
pub struct BoughtDeal {
    /// The deal as opened.
    pub deal: DealOpened,
    /// Its runway.
    pub runway: Runway,
}

/// Where a deal's workload serves.
#[derive(Debug, Serialize)]
pub struct EndpointReport {
    /// The deal.
    pub deal: DealId,
    /// The endpoint as announced.
    pub endpoint: String,
    /// The TLS certificate's SHA-256 it names, if any.
    pub fingerprint: Option<String>,
}

impl std::fmt::Display for BuyReport {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The text was printed as the purchase went.
        Ok(())
    }
}

/// Runs `snm customer buy`.
pub async fn run(args: Args, frame: Frame) -> Result<(), PurchaseError> {
    let mut report = BuyReport { dry_run: args.dry_run, ..BuyReport::default() };
    // Before anything is read or bought: a weak secret would protect nothing.
    let secret = args.secret.map(ProxySecret::new).transpose()?;
    let workload_config = args.config.load().map_err(|e| PurchaseError::Config(Box::new(e)))?;
    let order =
        Order { wanted: args.needs.requirements(args.term), budget: args.budget, count: args.count.into() };
    let client =
        if args.dry_run { args.chain.connect_read_only().await? } else { args.chain.connect().await? };
    let customer = Customer::new(client);
    let (book, plan) = match &args.signed_ask {
        Some(file) => {
            let ask = signed_ask_file::read_checked(file, customer.client())
                .await
                .map_err(|e| PurchaseError::SignedAskFile(Box::new(e)))?;
            // That ask or none: the book stays empty, so a taken ask is not replaced by another.
            let head = customer.client().provider().get_block_number().await.map_err(Error::from)?;
            let book = OrderBook::starting_at(EventCursor::from_block(head + 1));
            (book, purchase::plan_signed(&customer, ask, &order).await?)
        }
        None => {
            let book = args.chain.order_book(customer.client()).await?;
            let plan = purchase::plan(&customer, &book, &order).await?;
            (book, plan)
        }
    };
    report.rate = Some(plan.rule.rate);
    report.total_deposit = plan.total();
    report.picks = plan
        .picks
        .iter()
        .map(|pick| PickReport {
            ask: placed_id(&pick.ask),
            signed: pick.ask.is_signed(),
            worker: pick.ask.worker(),
            master: pick.ask.ask().master,
            price: pick.ask.ask().price.to_per_hour(),
            deposit: pick.deposit,
        })
        .collect();
    if !frame.is_json() {
        print_plan(&order, &plan);
    }
    if args.dry_run {
        frame.say("dry run: nothing bought");
        return emit(frame, &report);
    }

    let (now, rate) = tokio::try_join!(customer.client().now(), customer.oracle().rate())?;
    if !rate.is_fresh(now) {
        return Err(PurchaseError::StaleRate(rate));
    }
    let (account, needed) = (customer.sender(), plan.total());
    let mut available = customer.token().balance(account).await?;
    // A signed ask is paid from the free balance in the escrow first.
    if plan.picks.iter().any(|pick| pick.ask.is_signed()) {
        let free = customer.escrow().free_balance(account).await?;
        available = available.checked_add(free).unwrap_or(available);
    }
    if available < needed {
        return Err(
            Error::InsufficientFunds { account, funds: Funds::TokenBalance, available, needed }.into()
        );
    }
    // One unlock of the key for both uses (a keystore asks its password once).
    let signer = if args.permit || workload_config.is_some() { Some(args.chain.signer()?) } else { None };
    let permit = if args.permit { signer.clone() } else { None };
    let image = args.image.unwrap_or_default();
    let hash = match &workload_config {
        Some(config) => config.hash(),
        None => secret.as_ref().map_or(B256::ZERO, ProxySecret::config_hash),
    };

    let mut bought: Vec<DealOpened> = Vec::new();
    let mut queue: VecDeque<Pick> = plan.picks.into();
    let mut buyer = Buyer {
        customer: &customer,
        book,
        order: &order,
        rule: plan.rule,
        machines: queue.iter().map(|pick| pick.ask.worker()).collect(),
        image,
        config_hash: hash,
        permit,
        frame,
    };
    while let Some(pick) = queue.pop_front() {
        let remaining: Snm = std::iter::once(pick.deposit).chain(queue.iter().map(|p| p.deposit)).sum();
        match buyer.buy(pick, remaining).await {
            Ok(Some(deal)) => {
                bought.push(deal.clone());
                let runway = customer.runway(deal.id).await.map_err(|e| stopped(&bought, &order, e))?;
                if !frame.is_json() {
                    print!("{}", purchase::deal_text(&deal, &runway));
                }
                report.deals.push(BoughtDeal { deal, runway });
            }
            Ok(None) if args.signed_ask.is_some() => {
                return Err(stopped(
                    &bought,
                    &order,
                    "the signed ask was taken or cancelled meanwhile (its worker's ask nonce moved on)",
                ));
            }
            Ok(None) => {
                return Err(stopped(
                    &bought,
                    &order,
                    "no other machine fits the requirements and the budget",
                ));
            }
            Err(error) => return Err(stopped(&bought, &order, error)),
        }
    }
    let deposits: Snm = bought.iter().map(|deal| deal.deposit).sum();
    frame.say(format_args!("bought {} for {} in deposits", plural(bought.len(), "deal"), deposits));

    if let (Some(config), Some(signer)) = (&workload_config, &signer) {
        let ids: Vec<DealId> = bought.iter().map(|deal| deal.id).collect();
        let timeout = args.wait_endpoint.unwrap_or(crate::workload_delivery::DEFAULT_DELIVERY_WAIT);
        crate::workload_delivery::deliver_all(&customer, &ids, config, signer, timeout, frame)
            .await
            .map_err(|e| PurchaseError::Config(Box::new(e)))?;
    }
    if let Some(timeout) = args.wait_endpoint {
        report.endpoints = wait_for_endpoints(&customer, &bought, timeout, frame).await?;
    }
    emit(frame, &report)
}

/// The report as one JSON document with `--json` (the text was printed as the purchase went).
fn emit(frame: Frame, report: &BuyReport) -> Result<(), PurchaseError> {
    if frame.is_json() {
        frame.emit(report)?;
    }
    Ok(())
}

/// The purchase stopped for `reason` after buying `bought`.
fn stopped(bought: &[DealOpened], order: &Order, reason: impl ToString) -> PurchaseError {
    PurchaseError::Interrupted {
        bought: bought.iter().map(|deal| deal.id).collect(),
        wanted: order.count,
        reason: reason.to_string(),
    }
}

fn print_plan(order: &Order, plan: &Plan) {
    let term = match order.wanted.term {
        Term::Spot => {
            let runway = format_duration(Duration::from_secs(order.budget_seconds(&plan.rule)));
            format!("spot (a deposit covers at least the minimum runway, {runway})")
        }
        term => format!("for {term}"),
    };
    println!(
        "{}, {term}, up to {} each, at {}:",
        plural(order.count, "machine"),
        order.budget,
        plan.rule.rate
    );
    let mut table = Table::new(&[
        ("ask", Align::Right),
        ("worker", Align::Left),
        ("master", Align::Left),
        ("cores", Align::Right),
        ("RAM", Align::Right),
        ("net", Align::Left),
        ("region", Align::Right),
        ("price", Align::Right),
        ("deposit", Align::Right),
    ]);
    for pick in &plan.picks {
        let ask = pick.ask.ask();
        table.row([
            if pick.ask.is_signed() { "signed".to_owned() } else { placed_id(&pick.ask).to_string() },
            ask.worker.to_string(),
            ask.master.to_string(),
            units::cores_text(ask.resources.cpu_milli_cores),
            units::size_text(ask.resources.ram_bytes),
            ask.flags.list().to_string(),
            if ask.region == 0 { "any".to_owned() } else { ask.region.to_string() },
            ask.price.to_per_hour().to_string(),
            pick.deposit.to_string(),
        ]);
    }
    print!("{table}");
    println!("total deposit {}", plan.total());
}

/// A placed ask's id; 0 for a signed ask (the id its deal's `DealOpened` carries).
fn placed_id(ask: &OpenAsk) -> AskId {
    match ask {
        OpenAsk::Placed(placed) => placed.id,
        OpenAsk::Signed(_) => AskId(0),
    }
}

/// Waits for every deal's endpoint at once, printing each as it comes.
async fn wait_for_endpoints(
    customer: &Customer<DynProvider>,
    deals: &[DealOpened],
    timeout: Duration,
    frame: Frame,
) -> Result<Vec<EndpointReport>, PurchaseError> {
    let spinner =
        frame.spinner(format!("waiting up to {} for the suppliers' endpoints", format_duration(timeout)));
    if spinner.is_none() {
        frame
            .say(format_args!("waiting up to {} for the suppliers' endpoints ...", format_duration(timeout)));
    }
    let mut endpoints = Vec::new();
    let mut waits = tokio::task::JoinSet::new();
    for deal in deals {
        let (customer, id) = (customer.clone(), deal.id);
        waits.spawn(async move { (id, customer.market().wait_for_endpoint(id, timeout).await) });
    }
    let mut missing: Vec<DealId> = Vec::new();
    while let Some(joined) = waits.join_next().await {
        let (id, endpoint) = joined.map_err(PurchaseError::Task)?;
        match endpoint {
            Ok(endpoint) => {
                let fingerprint =
                    endpoint.parse::<ProxyEndpoint>().ok().map(|proxy| proxy.fingerprint().to_string());
                if let Some(bar) = &spinner {
                    bar.suspend(|| ());
                }
                match &fingerprint {
                    Some(fingerprint) => frame.say(format_args!(
                        "deal {id} serves at {endpoint}\n  TLS certificate sha256 {fingerprint} (snm_sdk::proxy_client pins it)"
                    )),
                    None => frame.say(format_args!("deal {id} serves at {endpoint} (it names no TLS certificate to pin)")),
                }
                endpoints.push(EndpointReport { deal: id, endpoint, fingerprint });
            }
            Err(Error::Timeout { .. }) => missing.push(id),
            Err(error) => return Err(error.into()),
        }
    }
    if let Some(bar) = &spinner {
        bar.finish_and_clear();
    }
    if missing.is_empty() {
        endpoints.sort_by_key(|e| e.deal);
        return Ok(endpoints);
    }
    missing.sort();
    Err(PurchaseError::NoEndpoint { deals: missing, waited: timeout })
}
