//! The customer's side of a deal's metered proxy (feature `proxy-client`): read the endpoint its
//! supplier announced, make and check the secret, and open tunnels.
//!
//! A proxy serves TLS with a certificate it makes itself; its supplier's agent announces the
//! endpoint as `host:port#sha256=<64 hex digits>`, the SHA-256 of that certificate
//! ([`ProxyEndpoint`]). [`connect`] accepts only that certificate, so the secret it then sends in
//! `Proxy-Authorization` reaches no one else. The bid's `configHash` is the secret's keccak-256,
//! public on chain: the secret must hold at least 128 bits of randomness ([`ProxySecret`]).
//! [`Metered`] counts what a deal's tunnels move ([`ByteCounter`]): the customer's own figure for a
//! campaign that checks traffic from both sides (sdk/REWARDS.md); [`DealMeters`] keeps one count
//! per deal with what names the deal in a campaign, and saves them for the customer's report.
//!
//! ```no_run
//! use snm_sdk::proxy_client::{ProxyEndpoint, ProxySecret, connect};
//! use tokio::io::AsyncWriteExt;
//!
//! # async fn run(announced: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let secret = ProxySecret::generate()?; // its config_hash() goes in the bid
//! let endpoint: ProxyEndpoint = announced.parse()?;
//! let mut tunnel = connect(&endpoint, "198.51.100.1:443", &secret).await?;
//! tunnel.write_all(b"...").await?;
//! # Ok(())
//! # }
//! ```

mod connect;
mod deal_meters;
mod endpoint;
mod metered;
mod pin;
mod secret;

pub use connect::{ProxyClientError, Tunnel, authorization_header, connect};
pub use deal_meters::{DealMeterError, DealMeters, MeteredDeal, TRAFFIC_FORMAT, read_traffic};
pub use endpoint::{CertFingerprint, EndpointError, ProxyEndpoint};
pub use metered::{ByteCounter, Metered};
pub use secret::{ProxySecret, WeakSecret};
