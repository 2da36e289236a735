//! Signed asks (`snm supplier ask place --signed`, `ask publish`, `ask cancel --signed`): an ask
//! signed off chain by the master (EIP-712) for its worker's current ask nonce instead of placed by
//! a transaction, so placing and re-pricing it cost no gas. It goes to the relay of a market data
//! service (`--indexer`, `POST /v1/asks`), which checks it as the market would take it and serves it
//! to customers, and/or to a file (`--out`) for `snm supplier ask publish` or
//! `snm customer buy --signed-ask`. Buying one, cancelling the worker's signed asks (one
//! transaction voids them all) or the worker leaving its master moves the nonce on.
//!
//! ```text
//! snm supplier ask place --signed --worker 0xWORKER --price "1.2 USD/h" --cores 4 --indexer http://127.0.0.1:8680/
//! snm supplier ask place --signed --worker 0xWORKER --price "1.1 USD/h" --out ask.json
//! snm supplier ask publish ask.json --indexer http://127.0.0.1:8680/
//! snm supplier ask cancel --signed --worker 0xWORKER
//! ```

use std::{fmt, path::PathBuf};

use alloy::primitives::Address;
use serde::Serialize;
use snm_sdk::{
    indexer_client::{Relayed, post_signed_ask},
    market::{Ask, SignedAsk},
};

use crate::{chain::ChainArgs, error::CliError, output::Frame, signed_ask_file};

/// Where a signed ask goes, besides the relay of `--indexer`.
#[derive(Debug, Default, clap::Args)]
pub(super) struct SignedOptions {
    /// Signs the ask with the master's key for the worker's current ask nonce instead of placing
    /// it by a transaction (no gas): it is posted to the relay of `--indexer` (SNM_INDEXER) and/or
    /// written to `--out`.
    #[arg(long)]
    pub(super) signed: bool,
    /// Writes the signed ask (JSON) to this file, for `snm supplier ask publish` or
    /// `snm customer buy --signed-ask`.
    #[arg(long, requires = "signed", value_name = "FILE")]
    pub(super) out: Option<PathBuf>,
}

/// What a signed-ask command did.
#[derive(Debug, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
enum Report {
    /// Signed, then posted and/or written.
    Signed {
        ask: Box<SignedAsk>,
        /// The relay's answer, when posted.
        relayed: Option<Relayed>,
        /// The file written, if any.
        out: Option<PathBuf>,
    },
    /// A signed ask file posted to the relay.
    Published { ask: Box<SignedAsk>, relayed: Relayed },
    /// Every signed ask of the worker voided.
    SignedCancelled {
        worker: Address,
        /// The worker's ask nonce now: the next signed ask carries it.
        nonce: u64,
    },
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Signed { ask, relayed, out } => {
                writeln!(f, "{}", signed_line(ask))?;
                if let Some(relayed) = relayed {
                    writeln!(f, "  {}", relayed_line(relayed))?;
                }
                if let Some(out) = out {
                    writeln!(f, "  written to {}", out.display())?;
                }
                Ok(())
            }
            Self::Published { ask, relayed } => {
                writeln!(f, "{}\n  {}", signed_line(ask), relayed_line(relayed))
            }
            Self::SignedCancelled { worker, nonce } => writeln!(
                f,
                "every signed ask of worker {worker} cancelled (its ask nonce is now {nonce}; sign new asks for it)"
            ),
        }
    }
}

fn signed_line(ask: &SignedAsk) -> String {
    format!(
        "signed ask for worker {} at {} (nonce {}, no gas)",
        ask.ask.worker,
        ask.ask.price.to_per_hour(),
        ask.nonce
    )
}

fn relayed_line(relayed: &Relayed) -> &'static str {
    if relayed.replaced {
        "posted to the relay, replacing the worker's previous ask for this nonce"
    } else {
        "posted to the relay"
    }
}

/// The relay's refusal or failure as the command's error.
fn relay_error(error: snm_sdk::indexer_client::IndexerClientError) -> CliError {
    CliError::Relay(Box::new(error))
}

/// `snm supplier ask place --signed`: signs `ask` (its master is the acting account) for the
/// worker's current nonce, writes it to `--out`, posts it to `--indexer`'s relay.
pub(super) async fn place(
    chain: &ChainArgs,
    options: &SignedOptions,
    ask: impl FnOnce(Address, u64) -> Ask,
    frame: Frame,
) -> Result<(), CliError> {
    if chain.indexer.is_none() && options.out.is_none() {
        return Err(CliError::Usage {
            message:
                "where does the signed ask go? give --indexer URL (SNM_INDEXER) to post it to the relay, \
                      or --out FILE to write it"
                    .into(),
        });
    }
    let signer = chain.signer()?;
    let client = chain.connect_with(signer.clone()).await?;
    let now = client.now().await?;
    let signed = client.market().sign_ask(&signer, ask(client.sender(), now)).await?;
    if let Some(out) = &options.out {
        signed_ask_file::write(out, &signed)?;
    }
    let relayed = match &chain.indexer {
        Some(url) => Some(post_signed_ask(url, &signed).await.map_err(relay_error)?),
        None => None,
    };
    Ok(frame.emit(&Report::Signed { ask: Box::new(signed), relayed, out: options.out.clone() })?)
}

/// `snm supplier ask publish FILE`: posts a signed ask file to `--indexer`'s relay.
pub(super) async fn publish(chain: &ChainArgs, file: &std::path::Path, frame: Frame) -> Result<(), CliError> {
    let Some(url) = &chain.indexer else {
        return Err(CliError::Usage {
            message: "publish to which relay? give --indexer URL (SNM_INDEXER)".into(),
        });
    };
    let ask = signed_ask_file::read(file)?;
    let relayed = post_signed_ask(url, &ask).await.map_err(relay_error)?;
    Ok(frame.emit(&Report::Published { ask: Box::new(ask), relayed })?)
}

/// `snm supplier ask cancel --signed --worker W`: one transaction voids every signed ask of `worker`.
pub(super) async fn cancel(chain: &ChainArgs, worker: Address, frame: Frame) -> Result<(), CliError> {
    let client = chain.connect().await?;
    client.market().cancel_signed_asks(worker).await?;
    let nonce = client.market().ask_nonce(worker).await?;
    Ok(frame.emit(&Report::SignedCancelled { worker, nonce })?)
}
