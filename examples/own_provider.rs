//! An integrator brings its own alloy provider and its own key (here a fresh local key; a
//! keystore, a hardware wallet or a remote signer plug in the same way) and adds to it what the
//! SDK's recommended provider has: read retries in the transport, a fee cap among the fillers,
//! and the nonce layer around the whole (see `snm_sdk::provider`). Then any role client works over
//! it. On a devnet of its own, which funds the new key.
//!
//! ```text
//! cargo run -p snm-examples --bin own_provider
//! ```

use alloy::{
    network::TransactionBuilder,
    primitives::U256,
    providers::{Provider, ProviderBuilder, ProviderLayer},
    rpc::{client::ClientBuilder, types::TransactionRequest},
    signers::local::PrivateKeySigner,
};
use snm_sdk::{
    prelude::*,
    provider::{FeeCapFiller, NonceLayer, RetryReadsLayer},
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let devnet = Devnet::start().await?;

    // A key of one's own, given gas money and SNM by the devnet's operator.
    let signer = PrivateKeySigner::random();
    let me = signer.address();
    let gas_money =
        TransactionRequest::default().with_to(me).with_value(U256::from(10u64).pow(U256::from(18)));
    devnet.provider().send_transaction(gas_money).await?.get_receipt().await?;
    devnet.operator()?.token().transfer(me, "500 SNM".parse()?).await?;

    // The provider: our own builder, with the SDK's three pieces.
    let max_fee_per_gas_cap = Some(100_000_000_000); // never more than 100 gwei
    let transport = ClientBuilder::default().layer(RetryReadsLayer::default()).http(devnet.endpoint());
    let signing = ProviderBuilder::new()
        .filler(FeeCapFiller::new(max_fee_per_gas_cap))
        .wallet(signer)
        .connect_client(transport);
    let provider = NonceLayer::new().sending_as(me).layer(signing);

    let options = TxOptions { max_fee_per_gas_cap, ..TxOptions::default() };
    let customer = Customer::new(Client::new(provider, *devnet.deployment(), me).with_options(options));
    let free = customer.deposit("120 SNM".parse()?).await?;
    println!("{me} deposited; free balance in the market {free}");
    println!("wallet holds {}", customer.token().balance(me).await?);
    Ok(())
}
