//! The oracle service: the SNM/USD rate every deal is paid at, its reports and reporters.

use std::time::Duration;

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};

use crate::{
    Client, Error,
    bindings::PriceOracle::{self, PriceOracleInstance},
    error::{Target, from_contract},
    market::Rate,
    units::SnmPerUsd,
};

/// The SNM/USD price oracle (see the [module documentation](crate::services)).
#[derive(Clone, Debug)]
pub struct OracleService<P> {
    client: Client<P>,
    address: Address,
}

impl<P> OracleService<P> {
    /// The oracle of `client`'s deployment.
    pub fn new(client: Client<P>) -> Self {
        let address = client.deployment().oracle;
        Self { client, address }
    }

    /// Its address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The connection it sends through.
    pub fn client(&self) -> &Client<P> {
        &self.client
    }
}

impl<P: Provider + Clone> OracleService<P> {
    /// The oracle's generated binding, for what the service does not cover.
    pub fn contract(&self) -> PriceOracleInstance<&P> {
        PriceOracle::new(self.address, self.client.provider())
    }

    /// The current rate, however old (see [`Rate::is_fresh`]), with its maximum age.
    pub async fn rate(&self) -> Result<Rate, Error> {
        let oracle = self.contract();
        let (latest, max_age) = (oracle.latestRate(), oracle.maxAge());
        let (latest, max_age) =
            tokio::try_join!(latest.call(), max_age.call()).map_err(|e| from_contract(e, Target::Oracle))?;
        Ok(Rate {
            snm_per_usd: SnmPerUsd::from_scaled(latest.snmPerUsd),
            updated_at: latest.updatedAt.saturating_to(),
            max_age: Duration::from_secs(max_age.saturating_to()),
        })
    }

    /// The current rate alone: one call, where [`Self::rate`] also reads its maximum age.
    pub async fn snm_per_usd(&self) -> Result<SnmPerUsd, Error> {
        let latest =
            self.contract().latestRate().call().await.map_err(|e| from_contract(e, Target::Oracle))?;
        Ok(SnmPerUsd::from_scaled(latest.snmPerUsd))
    }

    /// Whether `account` may report rates.
    pub async fn is_reporter(&self, account: Address) -> Result<bool, Error> {
        self.contract().isReporter(account).call().await.map_err(|e| from_contract(e, Target::Oracle))
    }

    /// Reports a new SNM/USD rate (the sender must be a reporter).
    pub async fn report(&self, rate: SnmPerUsd) -> Result<(), Error> {
        let call = PriceOracle::reportCall { snmPerUsd: rate.scaled() };
        self.client.send_to(Target::Oracle, call).await.map(drop)
    }

    /// Allows (or stops) `reporter` to report rates (the owner only).
    pub async fn set_reporter(&self, reporter: Address, allowed: bool) -> Result<(), Error> {
        let call = PriceOracle::setReporterCall { reporter, allowed };
        self.client.send_to(Target::Oracle, call).await.map(drop)
    }

    /// Sets how long a rate stays usable (the owner only).
    pub async fn set_max_age(&self, max_age: Duration) -> Result<(), Error> {
        let call = PriceOracle::setMaxAgeCall { maxAge_: U256::from(max_age.as_secs()) };
        self.client.send_to(Target::Oracle, call).await.map(drop)
    }
}
