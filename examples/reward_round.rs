//! A campaign operator pays one round of "Operation A": 50 SNM for each unique IP that took part
//! and $4 per TB of traffic, at the campaign's SNM/USD rate. It computes the round from two
//! suppliers' usage reports (the engine runs on a blocking thread: it reads files and hashes),
//! funds the distributor, publishes the root, and each supplier claims its reward. On a devnet of
//! its own.
//!
//! ```text
//! cargo run -p snm-examples --bin reward_round
//! ```

use snm_sdk::{
    prelude::*,
    rewards::{Campaign, compute_round},
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let devnet = Devnet::start().await?;
    let operator = devnet.operator()?;
    let (alice, bob) = (devnet.supplier(1)?, devnet.supplier(2)?);

    // The suppliers' agents write what their machines carried: account, IP, bytes, period.
    let dir = std::env::temp_dir().join(format!("snm-reward-round-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let report = dir.join("week-1.csv");
    std::fs::write(
        &report,
        format!(
            "account,ip,bytes,period_start,period_end\n\
             {alice},203.0.113.7,1500000000000,1700000000,1700604800\n\
             {alice},203.0.113.8,250000000000,1700000000,1700604800\n\
             {bob},198.51.100.20,3000000000000,1700000000,1700604800\n",
            alice = alice.master(),
            bob = bob.master(),
        ),
    )?;

    let campaign = Campaign::operation_a(operator.oracle().snm_per_usd().await?);
    let round = tokio::task::spawn_blocking(move || compute_round(&campaign, None, &[report])).await??;
    let files = round.write(&dir)?;
    println!("round {}: total {}, root {}", round.number(), round.total(), round.root());

    let distributor = operator.distributor()?;
    distributor.fund(round.round_total()).await?;
    let status = distributor.publish_round(&round, &format!("file://{}", files.merkle.display())).await?;
    println!("{status}");

    for supplier in [&alice, &bob] {
        let paid = supplier.distributor()?.claim_from_dump(supplier.master(), &files.merkle).await?;
        println!("{} claimed {}", supplier.master(), paid.paid_to(supplier.master()));
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
