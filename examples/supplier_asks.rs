//! A supplier's day: it links a machine to its payout account, offers it, sees a customer rent
//! it, says where the workload serves, is paid for the time used, and withdraws its earnings. On a
//! devnet of its own (whose clock it moves forward instead of waiting).
//!
//! ```text
//! cargo run -p snm-examples --bin supplier_asks
//! ```

use std::time::Duration;

use snm_sdk::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let devnet = Devnet::start().await?;
    let supplier = devnet.supplier(1)?;
    let machine = devnet.client(2)?;

    // The machine's key asks to join the payout account, which confirms it.
    supplier.register_worker(&machine).await?;
    for worker in supplier.market().workers_of(supplier.master()).await? {
        println!("worker {worker} belongs to {}", supplier.master());
    }

    // An offer open to fixed terms of one hour to a day, and to spot deals.
    let price = "0.72 USD/h".parse::<UsdPerHour>()?.to_per_second()?;
    let offer = Ask::new(supplier.master(), machine.sender(), price)
        .resources(Resources::new().cpu_cores(4).ram(Bytes::from_gib(16)).net_up_mbps(1_000))
        .flags(NetFlags::PUBLIC_IP | NetFlags::INCOMING)
        .durations(Duration::from_secs(3_600), None);
    let placed = supplier.market().place_ask(&offer).await?;
    println!("ask {} placed at {}", placed.id, price.to_per_hour());

    // Watch the machine's deals from now on; a customer (account 3) rents it, spot.
    let mut deals = supplier.watch_deals(EventCursor::from_block(devnet.block_number().await?));
    let customer = devnet.customer(3)?;
    customer
        .quick_buy(&placed, &Purchase::new(Term::Spot, "300 SNM".parse()?, "ghcr.io/acme/proxy:1.2"))
        .await?;
    let DealEvent::Opened(deal) = deals.next().await?.event else {
        return Err("the first event of a new ask's machine is its deal opening".into());
    };
    println!("{deal}");
    // Where the workload serves; a TLS workload such as snm-proxy adds its certificate's SHA-256,
    // which the customer's client pins (snm_sdk::proxy_client::ProxyEndpoint).
    let endpoint = "203.0.113.7:3128#sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    supplier.market().announce_endpoint(deal.id, endpoint).await?;

    // Ninety minutes later the supplier settles what was used, closes the spot deal and is paid.
    devnet.advance_time(Duration::from_secs(90 * 60)).await?;
    if let Some(settled) = supplier.market().settle(deal.id).await? {
        println!("{settled}");
    }
    let closed = supplier.market().close_deal(deal.id, false).await?;
    println!("{closed}");
    let DealEvent::Closed(seen) = deals.next().await?.event else {
        return Err("the deal's next event is its closing".into());
    };
    assert_eq!(seen.id, deal.id);
    let withdrawn = supplier.escrow().withdraw_all_earnings().await?;
    println!("withdrew {withdrawn}; wallet holds {}", supplier.token().balance(supplier.master()).await?);
    Ok(())
}
