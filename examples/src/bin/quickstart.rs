//! The main job (`make demo`): starts the embedded devnet, deploys the marketplace's contracts and
//! shows the funded accounts.

use snm_sdk::{Error, devnet::Devnet};

#[tokio::main]
async fn main() -> Result<(), Error> {
    println!("starting the embedded devnet (anvil) and deploying the SNM token ...");
    let devnet = Devnet::start().await?;
    println!("chain {} at {}", devnet.chain_id(), devnet.endpoint());
    println!("SNM token at {}", devnet.token());
    println!();
    println!("{:<44} {:>24}", "account", "SNM");
    for (index, account) in devnet.accounts().into_iter().enumerate() {
        let role = if index == 0 { " (operator)" } else { "" };
        println!("{:<44} {:>24}", format!("{account}{role}"), devnet.snm_balance(account).await?.to_string());
    }
    Ok(())
}
