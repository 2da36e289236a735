//! The agent's pricing policy (the supplier side of what SONM's Optimus did): a fixed price, or
//! one that follows the market: a percentile of the prices of comparable asks (placed and signed,
//! other masters' only) and of recent deals, read from the market data service (`snm-indexer`),
//! kept within a floor and a cap, and decided again at most every so often. With signed asks a
//! new price costs no gas, so following the market is free.

use std::time::{Duration, Instant};

use alloy::{
    primitives::Address,
    transports::http::reqwest::{self, Url},
};
use serde::{Deserialize, Serialize};
use snm_sdk::{
    market::{PlacedAsk, SignedAsk},
    units::{UsdPerHour, UsdPerSecond},
};

use crate::config::AskTemplate;

/// How the agent prices its asks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum PricingPolicy {
    /// The price written in each ask (`[[ask]] price`).
    #[default]
    Fixed,
    /// Follow the market ([`FollowPolicy`]).
    Follow(FollowPolicy),
}

/// A price following the market: the `percentile` of comparable prices, within `floor` and `cap`,
/// decided again at most every `every`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowPolicy {
    /// Which percentile of the market's prices (0 to 100; 50: the median).
    pub percentile: u8,
    /// The lowest price asked.
    pub floor: UsdPerHour,
    /// The highest price asked.
    pub cap: UsdPerHour,
    /// The shortest time between two readings of the market.
    pub every: Duration,
}

/// Why the market's prices could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PricingError {
    /// The URL cannot take the API's paths.
    #[error("`{url}` cannot be the indexer's base URL")]
    Url {
        /// The URL given.
        url: Box<Url>,
        /// The parser's error.
        #[source]
        source: url::ParseError,
    },
    /// The request failed or the answer was not the expected JSON.
    #[error("reading the market's prices from {url} failed")]
    Http {
        /// The URL requested.
        url: Box<Url>,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
}

impl FollowPolicy {
    /// The price for a market of `prices` (any order): their `percentile` (nearest rank), within
    /// the floor and the cap; the floor when the market is empty (nothing to follow).
    pub fn price(&self, prices: &[UsdPerSecond]) -> UsdPerSecond {
        let floor = self.floor.to_per_second_up();
        let cap = self.cap.to_per_second_down().max(floor);
        let mut sorted = prices.to_vec();
        sorted.sort_unstable();
        let rank = (usize::from(self.percentile.min(100)) * sorted.len()).div_ceil(100);
        let market = sorted.get(rank.saturating_sub(1)).copied().unwrap_or(floor);
        market.clamp(floor, cap)
    }
}

#[derive(Deserialize)]
struct AskPage {
    asks: Vec<PlacedAsk>,
    #[serde(default)]
    signed_asks: Vec<SignedAsk>,
}

#[derive(Deserialize)]
struct DealPrice {
    price: UsdPerSecond,
}

/// Prices the asks of one agent: reads the market at most every [`FollowPolicy::every`].
#[derive(Debug)]
pub struct Pricer {
    policy: PricingPolicy,
    indexer: Option<Url>,
    client: reqwest::Client,
    /// When the market was last read, and the price decided then.
    last: Option<(Instant, UsdPerSecond)>,
}

impl Pricer {
    /// A pricer with `policy`, reading the market from the indexer at `indexer` (needed by
    /// [`PricingPolicy::Follow`]; without it, the follow policy keeps each ask's own price).
    pub fn new(policy: PricingPolicy, indexer: Option<Url>) -> Self {
        Self { policy, indexer, client: reqwest::Client::new(), last: None }
    }

    /// The policy.
    pub fn policy(&self) -> PricingPolicy {
        self.policy
    }

    /// The price of `template`'s ask by `master`: its own under [`PricingPolicy::Fixed`]; else the
    /// price decided from the market, read again when [`FollowPolicy::every`] has passed since
    /// the last reading (the comparable asks: at least the template's resources and flags, in its
    /// region, of other masters; and the newest deals).
    pub async fn price(
        &mut self,
        template: &AskTemplate,
        master: Address,
    ) -> Result<UsdPerSecond, PricingError> {
        let (PricingPolicy::Follow(follow), Some(indexer)) = (self.policy, &self.indexer) else {
            return Ok(template.price.to_per_second_up());
        };
        if let Some((at, price)) = self.last
            && at.elapsed() < follow.every
        {
            return Ok(price);
        }
        let prices = self.market_prices(indexer, template, master).await?;
        let price = follow.price(&prices);
        self.last = Some((Instant::now(), price));
        Ok(price)
    }

    async fn market_prices(
        &self,
        indexer: &Url,
        template: &AskTemplate,
        master: Address,
    ) -> Result<Vec<UsdPerSecond>, PricingError> {
        let join = |path: &str| {
            indexer.join(path).map_err(|source| PricingError::Url { url: Box::new(indexer.clone()), source })
        };
        let mut asks = join("v1/asks")?;
        let r = &template.resources;
        asks.query_pairs_mut()
            .append_pair("cpu_cores", &(r.cpu_milli_cores as f64 / 1000.0).to_string())
            .append_pair("ram", &r.ram_bytes.to_string())
            .append_pair("region", &template.region.to_string())
            .append_pair("limit", "1000");
        let page: AskPage = self.get(asks).await?;
        let mut deals = join("v1/deals")?;
        deals.query_pairs_mut().append_pair("limit", "100");
        let deals: Vec<DealPrice> = self.get(deals).await?;
        let others = page
            .asks
            .iter()
            .map(|placed| &placed.ask)
            .chain(page.signed_asks.iter().map(|signed| &signed.ask))
            .filter(|ask| ask.master != master && ask.flags.contains(template.flags))
            .map(|ask| ask.price);
        Ok(others.chain(deals.iter().map(|deal| deal.price)).collect())
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, PricingError> {
        let http = |source| PricingError::Http { url: Box::new(url.clone()), source };
        self.client
            .get(url.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(http)?
            .json()
            .await
            .map_err(http)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_hour(text: &str) -> UsdPerHour {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn the_follow_price_is_the_percentile_within_floor_and_cap() {
        let follow = FollowPolicy {
            percentile: 50,
            floor: per_hour("1 USD/h"),
            cap: per_hour("3 USD/h"),
            every: Duration::ZERO,
        };
        let prices = |list: &[&str]| list.iter().map(|p| per_hour(p).to_per_second_up()).collect::<Vec<_>>();
        assert_eq!(
            follow.price(&prices(&["2.5 USD/h", "1.5 USD/h", "2 USD/h"])),
            per_hour("2 USD/h").to_per_second_up()
        );
        assert_eq!(follow.price(&prices(&["5 USD/h", "6 USD/h"])), per_hour("3 USD/h").to_per_second_down());
        assert_eq!(follow.price(&prices(&["0.2 USD/h"])), per_hour("1 USD/h").to_per_second_up());
        assert_eq!(follow.price(&[]), per_hour("1 USD/h").to_per_second_up());
        let top = FollowPolicy { percentile: 100, ..follow };
        assert_eq!(
            top.price(&prices(&["1.2 USD/h", "2.8 USD/h", "1.5 USD/h"])),
            per_hour("2.8 USD/h").to_per_second_up()
        );
    }
}
