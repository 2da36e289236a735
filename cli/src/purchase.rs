//! A customer's purchase (`snm customer buy`): requirements and a budget from the
//! command line ([`Needs`], [`Order`]), the asks to take ([`plan`]: the SDK's best offer among
//! placed and signed asks, again and again, on distinct machines), what each deal costs, buying
//! them ([`Buyer`]), and why nothing fits when nothing does ([`NothingFits`], around the SDK's
//! [`Shortfall`]). Signed asks come from an indexer's relay (`--indexer`) or a file
//! (`--signed-ask`); a placed ask is bought with `quickBuy`, a signed one with `quickBuySigned`.

use std::{collections::HashSet, fmt, time::Duration};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use clap::Args;
use snm_sdk::{
    Customer, Error, OrderBook,
    bindings::Market::MarketErrors,
    customer::Runway,
    market::{AskId, DealId, DealOpened, DepositRule, OpenAsk, Purchase, Rate, Requirements, SignedAsk},
    services::SignedAskRefusal,
    shortfall::{Shortfall, budget_seconds},
    units::{Bytes, NetFlags, Resources, Snm, Term, UsdPerSecond, format_duration},
};

use crate::units::plural;

/// What the machine must have: the requirement options of `snm customer buy`.
#[derive(Clone, Debug, Default, Args)]
pub struct Needs {
    /// Least CPU cores.
    #[arg(long)]
    pub cores: Option<u64>,
    /// Least memory, e.g. `16GiB` or `8GB`.
    #[arg(long)]
    pub ram: Option<Bytes>,
    /// Least disk, e.g. `100GB`.
    #[arg(long)]
    pub storage: Option<Bytes>,
    /// Least number of GPUs.
    #[arg(long)]
    pub gpus: Option<u64>,
    /// Least memory per GPU, e.g. `24GiB`.
    #[arg(long)]
    pub gpu_mem: Option<Bytes>,
    /// Least upload bandwidth, in Mbit/s.
    #[arg(long, value_name = "MBIT/S")]
    pub up_mbps: Option<u64>,
    /// Least download bandwidth, in Mbit/s.
    #[arg(long, value_name = "MBIT/S")]
    pub down_mbps: Option<u64>,
    /// Network flags the machine must have, comma-separated: `public-ip`, `incoming`, `outbound`,
    /// `ipv6` (or bits in hex, `0x10`).
    #[arg(long, value_name = "FLAGS")]
    pub net: Option<NetFlags>,
    /// Region the machine must be in (a code such as ISO 3166 numeric: 276 is Germany); any when
    /// not given.
    #[arg(long)]
    pub region: Option<u32>,
    /// Highest price, per hour (`1.2 USD/h`, `$1.2/h`; rounded down per second, so never above
    /// it) or per second (`0.0003 USD/s`).
    #[arg(long, value_parser = UsdPerSecond::parse_rounding_down, value_name = "PRICE")]
    pub max_price: Option<UsdPerSecond>,
}

impl Needs {
    /// These needs as the SDK's requirements for `term`.
    pub fn requirements(&self, term: Term) -> Requirements {
        let resources = Resources::new()
            .cpu_cores(self.cores.unwrap_or(0))
            .ram(self.ram.unwrap_or(Bytes::ZERO))
            .storage(self.storage.unwrap_or(Bytes::ZERO))
            .gpus(self.gpus.unwrap_or(0))
            .gpu_mem(self.gpu_mem.unwrap_or(Bytes::ZERO))
            .net_up_mbps(self.up_mbps.unwrap_or(0))
            .net_down_mbps(self.down_mbps.unwrap_or(0));
        Requirements { max_price: self.max_price, ..Requirements::new(term) }
            .resources(resources)
            .flags(self.net.unwrap_or_default())
            .region(self.region.unwrap_or(0))
    }
}

/// What to buy: the requirements (with the term), the most to pay into each deal, how many deals
/// on distinct machines.
#[derive(Clone, Debug)]
pub struct Order {
    /// The requirements and the term.
    pub wanted: Requirements,
    /// The most SNM paid into one deal's deposit.
    pub budget: Snm,
    /// How many deals, each on its own machine.
    pub count: usize,
}

impl Order {
    /// The seconds the budget must pay for: the fixed term, or for spot the market's minimum
    /// runway (what a deposit must cover at opening).
    pub fn budget_seconds(&self, rule: &DepositRule) -> u64 {
        budget_seconds(self.wanted.term, rule)
    }

    /// The deposit of a deal at `price`: for a fixed term, its whole cost at the current rate
    /// (rounded up, so the deposit covers the term unless the rate rises); for spot, the budget
    /// (the deal runs as long as it lasts). `None` on overflow.
    pub fn deposit(&self, price: UsdPerSecond, rule: &DepositRule) -> Option<Snm> {
        match self.wanted.term {
            Term::Spot => Some(self.budget),
            fixed => price.snm_needed_up(fixed.secs(), rule.rate),
        }
    }
}

/// An ask to take and the deposit it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pick {
    /// The ask, placed or signed.
    pub ask: OpenAsk,
    /// What goes into the deal's deposit.
    pub deposit: Snm,
}

impl Pick {
    /// The ask as people read it: `ask 7`, or `the signed ask of worker 0x…`.
    pub fn describe(&self) -> String {
        match &self.ask {
            OpenAsk::Placed(placed) => format!("ask {}", placed.id),
            OpenAsk::Signed(signed) => format!("the signed ask of worker {}", signed.ask.worker),
        }
    }
}

/// The asks a purchase takes, cheapest first, each on its own machine.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The market's deposit rule when the plan was made (rate and minimum runway).
    pub rule: DepositRule,
    /// The asks.
    pub picks: Vec<Pick>,
}

impl Plan {
    /// The deposits of every pick together.
    pub fn total(&self) -> Snm {
        self.picks.iter().map(|pick| pick.deposit).sum()
    }
}

/// Why a purchase failed.
#[derive(Debug, thiserror::Error)]
pub enum PurchaseError {
    /// The SDK's error (chain, contracts, funds, arguments).
    #[error(transparent)]
    Sdk(#[from] Error),
    /// The command line's chain options cannot be used.
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    /// The secret given is too weak to protect a proxy whose `configHash` is public.
    #[error(transparent)]
    WeakSecret(#[from] snm_sdk::proxy_client::WeakSecret),
    /// Fewer machines fit than wanted; nothing was bought.
    #[error("{0}")]
    NothingFits(Box<NothingFits>),
    /// A purchase failed, possibly after others were bought.
    #[error("{}", interrupted(bought, *wanted, reason))]
    Interrupted {
        /// The deals bought.
        bought: Vec<DealId>,
        /// How many were wanted.
        wanted: usize,
        /// What stopped the purchase.
        reason: String,
    },
    /// The signed ask file (`--signed-ask`) cannot be used; nothing was sent.
    #[error(transparent)]
    SignedAskFile(Box<crate::signed_ask_file::SignedAskFileError>),
    /// The signed ask given (`--signed-ask`) does not meet the requirements or the budget; nothing
    /// was sent.
    #[error("{0}")]
    SignedAskUnfit(String),
    /// The oracle's rate is too old for any deal to open.
    #[error(
        "the oracle's rate ({}) was reported at block time {}, more than {} ago: no deal opens until the \
         operator reports a new one",
        .0.snm_per_usd,
        .0.updated_at,
        format_duration(.0.max_age)
    )]
    StaleRate(Rate),
    /// A task waiting for the chain stopped abnormally (a bug: it panicked).
    #[error("waiting for an endpoint: {0}")]
    Task(#[source] tokio::task::JoinError),
    /// The output could not be written.
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    /// The workload configuration could not be read or delivered.
    #[error(transparent)]
    Config(Box<crate::workload_delivery::DeliveryError>),
    /// Some suppliers announced no endpoint in time (the deals are bought and running).
    #[error("no endpoint announced within {} for deal {}", format_duration(*waited), ids(deals))]
    NoEndpoint {
        /// The deals without an endpoint.
        deals: Vec<DealId>,
        /// How long was waited.
        waited: Duration,
    },
}

fn interrupted(bought: &[DealId], wanted: usize, reason: &str) -> String {
    match bought {
        [] => reason.to_owned(),
        _ => format!("bought {} of {wanted} deals (deal {}), then: {reason}", bought.len(), ids(bought)),
    }
}

fn ids(deals: &[DealId]) -> String {
    deals.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The asks `order` takes: the SDK's [`best_offer`](Customer::best_offer) (the cheapest ask,
/// placed or signed, meeting the requirements that the budget pays for), again and again, each time
/// leaving out the machine already picked, until `order.count` machines are found.
/// [`PurchaseError::NothingFits`] explains a shortfall (signed asks counted too).
pub async fn plan<P: Provider + Clone>(
    customer: &Customer<P>,
    book: &OrderBook,
    order: &Order,
) -> Result<Plan, PurchaseError> {
    let (rule, now) = tokio::try_join!(customer.market().deposit_rule(), customer.client().now())?;
    let picks = pick(customer, book, order, order.count, &HashSet::new(), &rule).await?;
    if picks.len() < order.count {
        let wanted = Requirements {
            customer: Some(order.wanted.customer.unwrap_or(customer.sender())),
            ..order.wanted.clone()
        };
        // The deal opens in a later block, as the SDK's best ask assumes.
        let shortfall = Shortfall::explain(book, &wanted, order.budget, &rule, now + 1);
        let nothing = NothingFits { wanted: order.count, found: picks.len(), shortfall };
        return Err(PurchaseError::NothingFits(Box::new(nothing)));
    }
    Ok(Plan { rule, picks })
}

/// Up to `count` asks for `order` on distinct machines, none of them in `exclude` (workers):
/// cheapest first (see [`plan`]).
pub async fn pick<P: Provider + Clone>(
    customer: &Customer<P>,
    book: &OrderBook,
    order: &Order,
    count: usize,
    exclude: &HashSet<Address>,
    rule: &DepositRule,
) -> Result<Vec<Pick>, Error> {
    let mut book = book.clone();
    let mut machines = exclude.clone();
    let mut picks = Vec::new();
    while picks.len() < count {
        let taken: Vec<AskId> = book
            .asks()
            .filter(|placed| machines.contains(&placed.ask.worker))
            .map(|placed| placed.id)
            .collect();
        for id in taken {
            book.remove_ask(id);
        }
        for worker in &machines {
            book.remove_signed_asks_of(*worker);
        }
        let ask = match customer.best_offer(&book, &order.wanted, order.budget).await {
            Ok(ask) => ask,
            Err(Error::NothingFits(_)) => break,
            Err(error) => return Err(error),
        };
        // The best ask's cost fits the budget, so its deposit cannot overflow; the budget is the
        // most a deal of the order pays anyway.
        let deposit = order.deposit(ask.ask().price, rule).unwrap_or(order.budget);
        machines.insert(ask.worker());
        picks.push(Pick { ask, deposit });
    }
    Ok(picks)
}

/// The plan of `snm customer buy --signed-ask FILE`: that one signed ask, checked against the
/// order's requirements and budget as [`plan`] checks the book's asks (nothing is sent when it
/// fails them).
pub async fn plan_signed<P: Provider + Clone>(
    customer: &Customer<P>,
    ask: SignedAsk,
    order: &Order,
) -> Result<Plan, PurchaseError> {
    let (rule, now) = tokio::try_join!(customer.market().deposit_rule(), customer.client().now())?;
    let wanted = Requirements {
        customer: Some(order.wanted.customer.unwrap_or(customer.sender())),
        ..order.wanted.clone()
    };
    // The deal opens in a later block, as the SDK's best ask assumes.
    if let Err(reason) = wanted.check(&ask.ask, now + 1) {
        return Err(PurchaseError::SignedAskUnfit(format!(
            "the signed ask of worker {} does not meet the requirements: it is {reason}",
            ask.ask.worker
        )));
    }
    let seconds = order.budget_seconds(&rule);
    let cost = ask.ask.price.snm_needed_up(seconds, rule.rate);
    let deposit = match (order.deposit(ask.ask.price, &rule), cost) {
        (Some(deposit), Some(cost)) if cost <= order.budget => deposit,
        _ => {
            let cost = cost.map_or_else(|| "more than 2^256 wei".to_owned(), |c| c.to_string());
            return Err(PurchaseError::SignedAskUnfit(format!(
                "the signed ask of worker {} at {} costs {cost} for {}, above the budget of {}",
                ask.ask.worker,
                ask.ask.price.to_per_hour(),
                format_duration(Duration::from_secs(seconds)),
                order.budget
            )));
        }
    };
    Ok(Plan { rule, picks: vec![Pick { ask: OpenAsk::Signed(ask), deposit }] })
}

/// Buys picks one at a time, replacing an ask taken meanwhile (by another customer, or cancelled or
/// expired) by the next best machine. Prints what it does besides buying: an approval, a replaced
/// ask.
pub struct Buyer<'a, P> {
    /// Who buys.
    pub customer: &'a Customer<P>,
    /// The order book the picks came from; synced again when an ask is gone.
    pub book: OrderBook,
    /// What to buy.
    pub order: &'a Order,
    /// The deposit rule the picks were priced with.
    pub rule: DepositRule,
    /// The machines (workers) picked so far: a replacement is another one.
    pub machines: HashSet<Address>,
    /// The container image each deal runs.
    pub image: String,
    /// The keccak-256 of the workload's configuration (see `snm_sdk::proxy_client::ProxySecret::config_hash`).
    pub config_hash: B256,
    /// Pays deposits with EIP-2612 permits signed by this key instead of an allowance.
    pub permit: Option<PrivateKeySigner>,
    /// How progress is told (nothing on stdout with `--json`).
    pub frame: crate::output::Frame,
}

impl<P: Provider + Clone> Buyer<'_, P> {
    /// Buys `pick` (approving `remaining`, the deposits still to pay, when the allowance falls
    /// short); when its ask is gone meanwhile, the next best machine instead, up to
    /// [`Buyer::REPLACEMENTS`] times. `None` when no other machine fits.
    pub async fn buy(&mut self, mut pick: Pick, remaining: Snm) -> Result<Option<DealOpened>, Error> {
        let mut replaced = 0;
        loop {
            let (me, market) = (self.customer.sender(), self.customer.market().address());
            if self.permit.is_none() && self.customer.token().allowance(me, market).await? < pick.deposit {
                let amount = remaining.max(pick.deposit);
                self.customer.token().approve_market(amount).await?;
                self.frame.say(format_args!("approved the market to take {amount}"));
            }
            match self.quick_buy(&pick).await {
                Ok(deal) => return Ok(Some(deal)),
                Err(error) if ask_gone(&error) && replaced < Self::REPLACEMENTS => {
                    replaced += 1;
                    self.frame.say(format_args!(
                        "{} was taken or withdrawn meanwhile: picking another",
                        pick.describe()
                    ));
                    self.customer.market().sync(&mut self.book).await?;
                    match &pick.ask {
                        OpenAsk::Placed(placed) => {
                            self.book.remove_ask(placed.id);
                        }
                        // Its nonce moved on: every ask signed for that worker so far is void.
                        OpenAsk::Signed(signed) => {
                            self.book.remove_signed_asks_of(signed.ask.worker);
                        }
                    }
                    self.machines.remove(&pick.ask.worker());
                    let picked =
                        self::pick(self.customer, &self.book, self.order, 1, &self.machines, &self.rule);
                    let Some(next) = picked.await?.into_iter().next() else { return Ok(None) };
                    self.machines.insert(next.ask.worker());
                    pick = next;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Takes `pick` for the order's term running the image with the configuration hash. A placed
    /// ask: with an EIP-2612 permit when the buyer has a key for it (one transaction), else from the
    /// allowance the market already has. A signed ask: from the buyer's free balance in the escrow,
    /// the missing part deposited first (by permit, or from the allowance).
    async fn quick_buy(&self, pick: &Pick) -> Result<DealOpened, Error> {
        let purchase =
            Purchase::new(self.order.wanted.term, pick.deposit, &self.image).config_hash(self.config_hash);
        let market = self.customer.market();
        match (&pick.ask, &self.permit) {
            (OpenAsk::Placed(placed), Some(signer)) => {
                market.quick_buy_with_permit(signer, placed, &purchase).await
            }
            (OpenAsk::Placed(placed), None) => market.quick_buy(placed, &purchase).await,
            (OpenAsk::Signed(signed), permit) => {
                let escrow = self.customer.escrow();
                let free = escrow.free_balance(self.customer.sender()).await?;
                if let Some(missing) = pick.deposit.checked_sub(free).filter(|m| *m > Snm::ZERO) {
                    match permit {
                        Some(signer) => escrow.deposit_with_permit(signer, missing).await?,
                        None => escrow.deposit(missing).await?,
                    };
                }
                market.quick_buy_signed(signed, &purchase).await
            }
        }
    }
}

impl<P: Provider + Clone> fmt::Debug for Buyer<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buyer")
            .field("buyer", &self.customer.sender())
            .field("order", self.order)
            .field("machines", &self.machines)
            .field("image", &self.image)
            .field("permit", &self.permit.is_some())
            .finish_non_exhaustive()
    }
}

impl<P> Buyer<'_, P> {
    /// How many times one purchase replaces an ask gone meanwhile before giving up.
    pub const REPLACEMENTS: usize = 3;
}

/// Whether a purchase failed because the ask is no longer there as seen (taken by someone else,
/// cancelled, or expired meanwhile; a signed ask's nonce moved on): another ask may do.
pub fn ask_gone(error: &Error) -> bool {
    matches!(error.as_market(), Some(MarketErrors::OrderMismatch(_) | MarketErrors::OrderExpired(_)))
        || matches!(error, Error::SignedAskRefused(SignedAskRefusal::StaleAskNonce(_)))
}

/// Fewer machines than wanted fit: how many, and the SDK's diagnosis of the order book for the
/// requirements and the budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NothingFits {
    /// Machines wanted.
    pub wanted: usize,
    /// Machines found within the budget.
    pub found: usize,
    /// Why: the order book seen through the requirements, then the budget.
    pub shortfall: Shortfall,
}

impl fmt::Display for NothingFits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shortfall;
        writeln!(
            f,
            "nothing fits: {} within the budget, {} wanted",
            plural(self.found, "machine"),
            self.wanted
        )?;
        writeln!(f, "  open asks                  {}", s.open_asks)?;
        if !s.left_out.is_empty() {
            let reasons: Vec<String> =
                s.left_out.iter().map(|l| format!("{} {}", l.asks, l.reason)).collect();
            writeln!(f, "  left out                   {}", reasons.join(", "))?;
        }
        writeln!(
            f,
            "  meeting the requirements   {} on {}",
            plural(s.fitting, "ask"),
            plural(s.fitting_machines, "machine")
        )?;
        write!(
            f,
            "  budget                     {} pays {} for {} at {}",
            s.budget,
            s.affordable(),
            s.paid_for(),
            s.rate
        )?;
        if let Some(cheapest) = s.cheapest
            && let Some(cost) = cheapest.cost
        {
            write!(f, "\n  cheapest meeting them      {cheapest}: {cost} for {}", s.paid_for())?;
            if cost > s.budget {
                write!(f, ", above the budget")?;
            }
        }
        Ok(())
    }
}

/// A deal bought, as lines of aligned `label  value`, for the program's output.
pub fn deal_text(deal: &DealOpened, runway: &Runway) -> String {
    let term = match deal.end_time {
        Some(end) => format!(
            "{}, until block time {end}",
            format_duration(Duration::from_secs(end.saturating_sub(deal.start_time)))
        ),
        None => "spot (runs while the deposit lasts)".to_owned(),
    };
    let lasts = format_duration(runway.lasts);
    let runway = match (deal.end_time, runway.covers_term) {
        (Some(_), true) => format!("{lasts}, covers the term"),
        (Some(_), false) => format!("{lasts}, short of the term: top up"),
        (None, _) => format!("{lasts} at the current rate"),
    };
    let mut lines = vec![
        ("ask", deal.ask.to_string()),
        ("worker", deal.worker.to_string()),
        ("master", deal.master.to_string()),
        ("price", format!("{} ({})", deal.price.to_per_hour(), deal.price)),
        ("term", term),
        ("deposit", deal.deposit.to_string()),
        ("runway", runway),
        ("image", deal.image.clone()),
    ];
    if deal.config_hash != B256::ZERO {
        lines.push(("config", format!("{} (keccak256 of the workload configuration)", deal.config_hash)));
    }
    let mut text = format!("deal {}\n", deal.id);
    for (label, value) in lines {
        text.push_str(&format!("  {label:<9}{value}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use snm_sdk::units::UsdPerHour;

    use super::*;

    #[derive(Debug, Parser)]
    struct Options {
        #[command(flatten)]
        needs: Needs,
    }

    #[test]
    fn needs_read_sizes_flags_and_prices_as_people_type_them() -> Result<(), Box<dyn std::error::Error>> {
        let options = Options::try_parse_from([
            "snm",
            "--ram",
            "16GiB",
            "--storage",
            "500 gb",
            "--gpu-mem",
            "1.5 TB",
            "--net",
            "public-ip,incoming",
            "--max-price",
            "$1/h",
        ])?;
        let needs = options.needs;
        assert_eq!(
            (needs.ram, needs.storage, needs.gpu_mem),
            (Some(Bytes::from_gib(16)), Some(Bytes::from_gb(500)), Some(Bytes::new(1_500_000_000_000)))
        );
        assert_eq!(needs.net, Some(NetFlags::PUBLIC_IP | NetFlags::INCOMING));
        // $1/h is not a whole number of 10^-18 USD per second: a maximum rounds down.
        assert_eq!(needs.max_price, Some(UsdPerHour::from_whole(1).to_per_second_down()));
        let options = Options::try_parse_from(["snm", "--ram", "4096", "--net", "PUBLIC_IP | 0x100"])?;
        assert_eq!(options.needs.ram, Some(Bytes::new(4096)));
        assert_eq!(options.needs.net, Some(NetFlags::PUBLIC_IP | NetFlags::from_bits_retain(0x100)));
        let options = Options::try_parse_from(["snm", "--max-price", "0.00025 USD/s"])?;
        assert_eq!(options.needs.max_price, Some("0.9 USD/h".parse::<UsdPerHour>()?.to_per_second()?));
        for [option, bad] in [
            ["--ram", "1.5GiB"],
            ["--ram", "16 GB/s"],
            ["--storage", "-1GB"],
            ["--net", "public"],
            ["--net", "public-ip,"],
            ["--net", "0xzz"],
            ["--max-price", "1 USD"],
        ] {
            let argument = format!("{option}={bad}");
            let error = Options::try_parse_from(["snm", &argument]).map(drop).unwrap_err().to_string();
            assert!(error.contains(&format!("cannot parse `{bad}`")), "{option} {bad}: {error}");
        }
        Ok(())
    }
}
