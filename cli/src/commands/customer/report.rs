//! `snm customer report --traffic FILE [--deal ID]... --out FILE`: the customer's own usage report
//! for a campaign that checks traffic from both sides. The bytes come from the traffic file the
//! SDK's `DealMeters` saved while the customer's program moved traffic through its deals; each
//! deal is checked on chain (it exists, this account bought it, from the supplier the file names),
//! and the report is written in the reward engine's CSV format, one record per deal, and signed
//! with the account's key into `FILE.sig` (sdk/REWARDS.md, "Traffic from both sides").

use std::{fmt, path::PathBuf};

use serde::Serialize;
use snm_sdk::{
    market::DealId,
    proxy_client::read_traffic,
    rewards::{UsageRecord, signature_path, write_customer_report},
    units::Bytes,
};

use crate::{
    chain::ChainArgs,
    error::{CliError, ReportError},
    output::Frame,
};

/// Writes the customer's signed usage report.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The traffic file the customer's program saved (`DealMeters::save`).
    #[arg(long)]
    traffic: PathBuf,
    /// A deal to report; once per deal (every deal of the traffic file by default).
    #[arg(long = "deal")]
    deals: Vec<u64>,
    /// The report to write (CSV); its signature goes beside it, in FILE.sig.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Serialize)]
struct Written {
    report: PathBuf,
    signature: PathBuf,
    signer: alloy::primitives::Address,
    deals: Vec<DealLine>,
}

#[derive(Debug, Serialize)]
struct DealLine {
    deal: DealId,
    account: alloy::primitives::Address,
    ip: std::net::IpAddr,
    bytes: Bytes,
    period_start: u64,
    period_end: u64,
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.deals {
            writeln!(
                f,
                "deal {}: {} B on {} of {}, {} to {}",
                d.deal,
                d.bytes.get(),
                d.ip,
                d.account,
                d.period_start,
                d.period_end
            )?;
        }
        writeln!(
            f,
            "{} written, signed by {} in {}",
            self.report.display(),
            self.signer,
            self.signature.display()
        )
    }
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let metered = read_traffic(&args.traffic).map_err(ReportError::from)?;
    let chosen: Vec<_> = if args.deals.is_empty() {
        metered
    } else {
        let mut chosen = Vec::with_capacity(args.deals.len());
        for id in &args.deals {
            let deal = metered.iter().find(|d| d.deal == DealId(*id)).ok_or_else(|| CliError::NotFound {
                what: format!("deal {id} is not in the traffic file {}", args.traffic.display()),
            })?;
            chosen.push(deal.clone());
        }
        chosen
    };
    if chosen.is_empty() {
        return Err(CliError::Usage {
            message: format!("the traffic file {} meters no deal: nothing to report", args.traffic.display()),
        });
    }
    let signer = args.chain.signer()?;
    let client = args.chain.connect_with(signer.clone()).await?;
    let mut lines = Vec::with_capacity(chosen.len());
    for metered in &chosen {
        let deal =
            client.market().deal(metered.deal).await?.ok_or(snm_sdk::Error::DealNotFound(metered.deal))?;
        if deal.customer != signer.address() {
            return Err(CliError::Usage {
                message: format!(
                    "deal {} was bought by {}, not by {}: a customer reports its own deals",
                    metered.deal,
                    deal.customer,
                    signer.address()
                ),
            });
        }
        if deal.master != metered.account {
            return Err(CliError::Usage {
                message: format!(
                    "deal {}'s supplier is {} on chain, {} in the traffic file {}",
                    metered.deal,
                    deal.master,
                    metered.account,
                    args.traffic.display()
                ),
            });
        }
        // A fixed-term deal's period is its term; a spot deal's runs to what was paid for.
        let record = metered.usage_record(deal.end_time.unwrap_or(deal.settled_until));
        lines.push(DealLine {
            deal: metered.deal,
            account: record.account,
            ip: record.ip,
            bytes: record.bytes,
            period_start: record.period.start,
            period_end: record.period.end,
        });
    }
    let records: Vec<UsageRecord> =
        chosen.iter().zip(&lines).map(|(metered, line)| metered.usage_record(line.period_end)).collect();
    write_customer_report(&signer, &args.out, &records).await.map_err(ReportError::from)?;
    Ok(frame.emit(&Written {
        report: args.out.clone(),
        signature: signature_path(&args.out),
        signer: signer.address(),
        deals: lines,
    })?)
}
