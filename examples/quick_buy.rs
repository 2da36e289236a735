//! A customer buys two hours of a machine: the cheapest ask with four cores and a public IP that a
//! budget of 200 SNM pays for, in one transaction (the deposit is paid from the wallet with an
//! EIP-2612 permit), then reads how long the deposit lasts. On a devnet of its own, where a
//! supplier offers two machines first. Runs on a single-threaded runtime, as the SDK allows.
//!
//! ```text
//! cargo run -p snm-examples --bin quick_buy
//! ```

use snm_sdk::prelude::*;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let devnet = Devnet::start().await?;

    // Something to buy: a supplier (account 1) offers two machines (accounts 2 and 3).
    let supplier = devnet.supplier(1)?;
    for (machine, price, cores) in [(2, "1.8 USD/h", 16), (3, "0.9 USD/h", 8)] {
        let machine = devnet.client(machine)?;
        supplier.register_worker(&machine).await?;
        let ask =
            Ask::new(supplier.master(), machine.sender(), price.parse::<UsdPerHour>()?.to_per_second()?)
                .resources(Resources::new().cpu_cores(cores).ram(Bytes::from_gib(32)))
                .flags(NetFlags::PUBLIC_IP | NetFlags::INCOMING);
        supplier.market().place_ask(&ask).await?;
    }

    // The customer (account 4): what it needs, and what it may spend.
    let customer = devnet.customer(4)?;
    let wanted =
        Requirements::new("2h".parse()?).resources(Resources::new().cpu_cores(4)).flags(NetFlags::PUBLIC_IP);
    let budget: Snm = "200 SNM".parse()?;
    let book = customer.market().order_book().await?;
    let ask = customer.best_ask(&book, &wanted, budget).await?; // Error::NothingFits says why not
    println!("cheapest fitting ask: {} at {}", ask.id, ask.ask.price.to_per_hour());

    let deal =
        customer.quick_buy(&ask, &Purchase::new(wanted.term, budget, "ghcr.io/acme/proxy:1.2")).await?;
    println!("{deal}");
    println!("{}", customer.runway(deal.id).await?);
    Ok(())
}
