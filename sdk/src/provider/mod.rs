//! The provider the SDK recommends: alloy's provider stack with what the marketplace's
//! transactions need, so that the clients, the raw bindings and any other code sending through it
//! get the same nonces, fee cap and retries.
//!
//! [`connect_http`] builds it for a URL and a wallet:
//!
//! - its transport repeats reads after a transport failure ([`RetryReadsLayer`]), so every read
//!   survives a node restarting or a stale pooled connection, and never repeats a send that may
//!   have arrived;
//! - its fillers are alloy's recommended ones (gas, fees, chain id), then [`FeeCapFiller`]
//!   ([`TxOptions::max_fee_per_gas_cap`]), then the wallet's, which signs;
//! - outside the fillers, [`NonceLayer`] gives each account's transactions consecutive nonces,
//!   one send at a time per account, and tells the clients which nonce each got (which lets them
//!   replace a stuck transaction, see [`crate::tx`]).
//!
//! ```no_run
//! use alloy::signers::local::PrivateKeySigner;
//! use snm_sdk::{Client, Deployment, provider, tx::TxOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let deployment = Deployment::from_file("deployment.json".as_ref())?;
//! let signer: PrivateKeySigner = std::env::var("SNM_KEY")?.parse()?;
//! let sender = signer.address();
//! let options = TxOptions { max_fee_per_gas_cap: Some(50_000_000_000), ..TxOptions::default() };
//! let provider = provider::connect_http("http://127.0.0.1:8545".parse()?, signer, &options);
//! let client = Client::new(provider, deployment, sender).with_options(options);
//! # Ok(())
//! # }
//! ```
//!
//! ## Bringing your own provider
//!
//! The clients work over any alloy [`Provider`] that can send for their account. To keep what the
//! recommended one gives, add to yours:
//!
//! 1. [`RetryReadsLayer`] to the transport, outermost: `ClientBuilder::default()
//!    .layer(RetryReadsLayer::default())` (your own tower layers after it) `.http(url)`. Without
//!    it, a transport failure reaches the caller at once.
//! 2. [`FeeCapFiller`] among the fillers, if you want a cap for every transaction: `ProviderBuilder::new()
//!    .filler(FeeCapFiller::new(cap)).wallet(signer)`. The clients hold their own transactions
//!    under [`TxOptions::max_fee_per_gas_cap`] either way.
//! 3. [`NonceLayer`] around the finished provider (not through `ProviderBuilder::layer`, which
//!    puts it under the fillers, where the nonce is already set): `NonceLayer::new()
//!    .sending_as(signer.address()).layer(provider)`. Without it, nonces come from the provider's
//!    own nonce filler (alloy's default caches them: a refused send leaves a gap it does not see,
//!    and concurrent senders on other providers collide), and the clients read each
//!    transaction's nonce back from the node, one more request per transaction.
//!
//! Over WebSocket (feature `ws`), `connect_ws` builds the same provider, which can also
//! subscribe (`eth_subscribe`) to what the node pushes.
//!
//! [`connect_client`] does all three over an [`RpcClient`] of your own (say, with a metering
//! tower layer), when it has [`RetryReadsLayer`] outermost.

mod counting;
mod fee_cap;
pub(crate) mod nonce;
mod retry;
#[cfg(feature = "ws")]
mod ws;

use alloy::{
    network::{Ethereum, EthereumWallet, NetworkWallet},
    providers::{DynProvider, Provider, ProviderBuilder, ProviderLayer},
    rpc::client::{ClientBuilder, RpcClient},
    transports::http::reqwest::Url,
};

#[cfg(feature = "ws")]
pub use self::ws::{WsError, connect_ws, counted_ws_client, is_ws, ws_client, ws_subscription_client};
pub use self::{
    counting::{Counted, RequestCounter},
    fee_cap::FeeCapFiller,
    nonce::{NonceLayer, NonceProvider},
    retry::{RetryReads, RetryReadsLayer, is_read},
};
use crate::tx::TxOptions;

/// The recommended provider for the node at `url`, signing with `wallet` (a signer, or an
/// [`EthereumWallet`] holding several; its default signer sends what names no `from`), with the
/// fee cap of `options` and its nonces remembered for `options`' receipt timeout (see the module
/// documentation).
pub fn connect_http(url: Url, wallet: impl Into<EthereumWallet>, options: &TxOptions) -> DynProvider {
    connect_client(http_client(url), wallet, options, &NonceLayer::remember_for(options.receipt_timeout))
}

/// [`http_client`] with `counter` under the retries, so that every request sent to the node, a
/// repetition included, is counted.
pub fn counted_http_client(url: Url, counter: &RequestCounter) -> RpcClient {
    ClientBuilder::default().layer(RetryReadsLayer::default()).layer(counter.clone()).http(url)
}

/// A provider for reads only, at `url`: it cannot send, and retries reads as [`connect_http`]'s.
pub fn connect_http_reader(url: Url) -> DynProvider {
    ProviderBuilder::new().connect_client(http_client(url)).erased()
}

/// The JSON-RPC client over HTTP that [`connect_http`] uses: reads retried
/// ([`RetryReadsLayer::default`]).
pub fn http_client(url: Url) -> RpcClient {
    ClientBuilder::default().layer(RetryReadsLayer::default()).http(url)
}

/// The recommended provider over `client` (which should retry reads: [`http_client`], or a
/// [`ClientBuilder`] with [`RetryReadsLayer`] outermost), signing with `wallet`, with the fee
/// cap of `options` and the nonces of `nonces`: providers given clones of one [`NonceLayer`]
/// share what it remembers, as they should when they send for the same accounts.
pub fn connect_client(
    client: RpcClient,
    wallet: impl Into<EthereumWallet>,
    options: &TxOptions,
    nonces: &NonceLayer,
) -> DynProvider {
    let wallet = wallet.into();
    let sender = NetworkWallet::<Ethereum>::default_signer_address(&wallet);
    let signing = ProviderBuilder::new()
        .filler(FeeCapFiller::new(options.max_fee_per_gas_cap))
        .wallet(wallet)
        .connect_client(client);
    nonces.sending_as(sender).layer(signing).erased()
}
