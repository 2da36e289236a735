//! How the agent offers its asks, as its configuration file says it: through the market data
//! service (`indexer`), as signed asks (`publish = "signed"`, no gas) or as transactions
//! (`publish = "onchain"`), priced by a `[pricing]` policy.
//!
//! ```toml
//! indexer = "http://127.0.0.1:8680/"  # the market data service (snm-indexer); omit: none
//! publish = "signed"                  # default with an indexer; "onchain" places transactions
//!
//! [pricing]                           # omit: each ask's own price
//! policy = "follow"                   # or "fixed"
//! percentile = 50                     # of comparable asks and recent deals, 0 to 100
//! floor = "0.5 USD/h"
//! cap = "2 USD/h"
//! every = "10m"                       # the market is read again at most this often
//! ```

use std::time::Duration;

use alloy::{primitives::U256, transports::http::reqwest::Url};
use serde::{Deserialize, Serialize};
use snm_sdk::units::UsdPerHour;

use crate::pricing::{FollowPolicy, PricingPolicy};

/// Where the agent's asks go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishMode {
    /// Placed on chain by transaction (one per ask and per change of price).
    #[default]
    Onchain,
    /// Signed by the master and posted to the indexer's relay: placing and re-pricing cost no gas.
    Signed,
}

/// The agent's way of offering its asks (`indexer`, `publish`, `[pricing]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AskPublishing {
    /// The market data service (`snm-indexer`): its relay takes signed asks and its API serves
    /// the market's prices; `None`: none.
    pub indexer: Option<Url>,
    /// Signed asks or transactions.
    pub publish: PublishMode,
    /// How each ask is priced.
    pub pricing: PricingPolicy,
}

/// The `[pricing]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPricing {
    policy: Option<String>,
    percentile: Option<i64>,
    floor: Option<String>,
    cap: Option<String>,
    every: Option<String>,
}

/// The shortest `pricing.every`: the market is not read more than once a second.
const MIN_EVERY: Duration = Duration::from_secs(1);

/// Checks `indexer`, `publish` and `[pricing]`; the error names the key and what is expected.
/// `max_price` is the highest price the market accepts; `interval` reads a duration.
pub(crate) fn parse(
    indexer: Option<&str>,
    publish: Option<&str>,
    pricing: Option<RawPricing>,
    max_price: UsdPerHour,
    interval: impl Fn(&str) -> Result<Duration, String>,
) -> Result<AskPublishing, String> {
    let indexer = indexer
        .map(|text| {
            let url: Url = text
                .parse()
                .map_err(|e| format!("`indexer` `{text}` is not a URL ({e}): expected http://host:port/"))?;
            if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
                return Err(format!("`indexer` `{text}`: expected an http:// or https:// URL"));
            }
            // A base without its final slash would lose its last segment when the API's paths join it.
            let mut url = url;
            if !url.path().ends_with('/') {
                url.set_path(&format!("{}/", url.path()));
            }
            Ok(url)
        })
        .transpose()?;
    let publish = match publish {
        None if indexer.is_some() => PublishMode::Signed,
        None | Some("onchain") => PublishMode::Onchain,
        Some("signed") if indexer.is_none() => {
            return Err("`publish` is `signed` but no `indexer` is set: signed asks are posted to the \
                        market data service's relay; set `indexer = \"http://…\"` or `publish = \"onchain\"`"
                .into());
        }
        Some("signed") => PublishMode::Signed,
        Some(other) => return Err(format!("`publish` is `{other}`: expected `signed` or `onchain`")),
    };
    let pricing = parse_pricing(pricing.unwrap_or_default(), max_price, interval)?;
    if matches!(pricing, PricingPolicy::Follow(_)) {
        if indexer.is_none() {
            return Err("`pricing.policy` is `follow` but no `indexer` is set: the market's prices are \
                        read from the market data service"
                .into());
        }
        if publish == PublishMode::Onchain {
            return Err("`pricing.policy` is `follow` with `publish = \"onchain\"`: each change of price \
                        would be a transaction; use `publish = \"signed\"`"
                .into());
        }
    }
    Ok(AskPublishing { indexer, publish, pricing })
}

fn parse_pricing(
    raw: RawPricing,
    max_price: UsdPerHour,
    interval: impl Fn(&str) -> Result<Duration, String>,
) -> Result<PricingPolicy, String> {
    match raw.policy.as_deref() {
        None | Some("fixed") => {
            let extra = [
                ("percentile", raw.percentile.is_some()),
                ("floor", raw.floor.is_some()),
                ("cap", raw.cap.is_some()),
                ("every", raw.every.is_some()),
            ];
            match extra.iter().find(|(_, given)| *given) {
                Some((key, _)) => Err(format!(
                    "`pricing.{key}` applies to `policy = \"follow\"` only (the fixed policy asks each \
                     ask's own `price`)"
                )),
                None => Ok(PricingPolicy::Fixed),
            }
        }
        Some("follow") => {
            let percentile = match raw.percentile {
                None => 50,
                Some(p @ 0..=100) => p as u8,
                Some(p) => return Err(format!("`pricing.percentile` is {p}: expected 0 to 100")),
            };
            let price = |key: &str, text: Option<String>| -> Result<UsdPerHour, String> {
                let text = text.ok_or_else(|| format!("`pricing.{key}` is missing: the follow policy needs a floor and a cap, such as \"0.5 USD/h\""))?;
                let price: UsdPerHour = text.parse().map_err(|e| format!("`pricing.{key}`: {e}"))?;
                if price == UsdPerHour::default() {
                    return Err(format!("`pricing.{key}` is zero: expected above 0 USD/h"));
                }
                if price > max_price {
                    return Err(format!(
                        "`pricing.{key}` {price} is above the market's limit: expected at most {max_price}"
                    ));
                }
                Ok(price)
            };
            let floor = price("floor", raw.floor)?;
            let cap = price("cap", raw.cap)?;
            if floor > cap {
                return Err(format!(
                    "`pricing.floor` {floor} is above `pricing.cap` {cap}: expected floor <= cap"
                ));
            }
            let every = match raw.every {
                None => Duration::from_secs(600),
                Some(text) => interval(&text).map_err(|e| format!("`pricing.every`: {e}"))?,
            };
            if every < MIN_EVERY {
                return Err(format!(
                    "`pricing.every` is {} ms: expected at least 1 s (the market is read at most that often)",
                    every.as_millis()
                ));
            }
            Ok(PricingPolicy::Follow(FollowPolicy { percentile, floor, cap, every }))
        }
        Some(other) => Err(format!("`pricing.policy` is `{other}`: expected `fixed` or `follow`")),
    }
}

/// The highest price per hour the market accepts: `uint80` units of 10^-18 USD per second.
pub(crate) fn max_price(max_scaled_per_second: u128) -> UsdPerHour {
    snm_sdk::units::UsdPerSecond::from_scaled(U256::from(max_scaled_per_second)).to_per_hour()
}
