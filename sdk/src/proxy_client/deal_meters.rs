//! A customer's own count of each deal's traffic, kept with what names the deal in a campaign (its
//! supplier's payout account, the worker's IP and the deal's opening time): the figures of the
//! customer's signed usage report (sdk/REWARDS.md, "Traffic from both sides"). Saved as JSON, so
//! that `snm customer report` writes the report from what the customer's program counted.

use std::{
    collections::BTreeMap,
    net::IpAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use super::{ByteCounter, Metered, ProxyClientError, ProxyEndpoint, ProxySecret, Tunnel, connect};
use crate::{
    market::{DealId, DealOpened},
    units::Bytes,
};

/// The `format` of a saved traffic file.
pub const TRAFFIC_FORMAT: &str = "snm-customer-traffic-v1";

/// One deal as the customer metered it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeteredDeal {
    /// The deal.
    pub deal: DealId,
    /// Its supplier's payout account (the deal's master).
    pub account: Address,
    /// The worker's IP: the host of the endpoint its supplier announced.
    pub ip: IpAddr,
    /// The deal's opening block time: the supplier's report names the deal by it too.
    pub period_start: u64,
    /// The end of its fixed term; `None` for spot.
    pub end_time: Option<u64>,
    /// Bytes moved through its tunnels, both ways, as counted so far.
    pub bytes: Bytes,
}

#[cfg(feature = "rewards")]
impl MeteredDeal {
    /// The customer's usage record of this deal: its account, IP, bytes counted, and the period from
    /// its opening to `period_end` (the end of its term for a fixed-term deal; never before the
    /// opening).
    pub fn usage_record(&self, period_end: u64) -> crate::rewards::UsageRecord {
        crate::rewards::UsageRecord {
            account: self.account,
            ip: self.ip,
            bytes: self.bytes,
            period: crate::rewards::Period {
                start: self.period_start,
                end: period_end.max(self.period_start),
            },
        }
    }
}

#[derive(Debug)]
struct Entry {
    deal: MeteredDeal,
    counter: ByteCounter,
}

/// The traffic file: every metered deal, in deal order.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrafficFile {
    format: String,
    deals: Vec<MeteredDeal>,
}

/// Why metering a deal, or its traffic file, failed.
#[derive(Debug, thiserror::Error)]
pub enum DealMeterError {
    /// The announced endpoint's host is a name, not an IP: a campaign names workers by IP.
    #[error(
        "deal {deal}'s endpoint host `{host}` is not an IP address: a usage report names the worker's IP"
    )]
    HostNotIp {
        /// The deal.
        deal: DealId,
        /// The endpoint's host.
        host: String,
    },
    /// The deal was not tracked with [`DealMeters::track`] first.
    #[error("deal {0} is not metered: track it (DealMeters::track) before opening its tunnels")]
    NotTracked(DealId),
    /// The tunnel could not be opened.
    #[error("deal {deal}'s tunnel")]
    Tunnel {
        /// The deal.
        deal: DealId,
        /// Why.
        #[source]
        source: ProxyClientError,
    },
    /// The traffic file could not be read or written.
    #[error("traffic file {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The traffic file is not one [`DealMeters::save`] writes.
    #[error("traffic file {}: not a `{TRAFFIC_FORMAT}` file", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The traffic file names another format.
    #[error("traffic file {}: format `{found}`, expected `{TRAFFIC_FORMAT}`", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The format it names.
        found: String,
    },
}

/// The customer's meters, one per deal; clones share them. Tunnels opened with
/// [`DealMeters::connect`] (or wrapped with [`DealMeters::meter`]) add what they move to their
/// deal's count.
#[derive(Clone, Debug, Default)]
pub struct DealMeters {
    deals: Arc<Mutex<BTreeMap<DealId, Entry>>>,
}

impl DealMeters {
    /// No deal metered yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<DealId, Entry>> {
        // A panic while holding the lock leaves the map whole (every change is one insert).
        self.deals.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Meters the deal `opened` served at `endpoint`; returns its counter (the same one when the
    /// deal is tracked already).
    pub fn track(
        &self,
        opened: &DealOpened,
        endpoint: &ProxyEndpoint,
    ) -> Result<ByteCounter, DealMeterError> {
        let ip: IpAddr = endpoint
            .host()
            .parse()
            .map_err(|_| DealMeterError::HostNotIp { deal: opened.id, host: endpoint.host().to_owned() })?;
        let mut deals = self.lock();
        let entry = deals.entry(opened.id).or_insert_with(|| Entry {
            deal: MeteredDeal {
                deal: opened.id,
                account: opened.master,
                ip,
                period_start: opened.start_time,
                end_time: opened.end_time,
                bytes: Bytes::ZERO,
            },
            counter: ByteCounter::new(),
        });
        Ok(entry.counter.clone())
    }

    /// Wraps a stream of `deal` so that it counts into the deal's meter.
    pub fn meter<S>(&self, deal: DealId, stream: S) -> Result<Metered<S>, DealMeterError> {
        let counter =
            self.lock().get(&deal).map(|e| e.counter.clone()).ok_or(DealMeterError::NotTracked(deal))?;
        Ok(Metered::new(stream, counter))
    }

    /// Opens a tunnel to `target` through `deal`'s proxy at `endpoint` ([`connect`]), metered.
    pub async fn connect(
        &self,
        deal: DealId,
        endpoint: &ProxyEndpoint,
        target: &str,
        secret: &ProxySecret,
    ) -> Result<Metered<Tunnel>, DealMeterError> {
        // Checked before connecting, so that no untracked traffic flows.
        let counter =
            self.lock().get(&deal).map(|e| e.counter.clone()).ok_or(DealMeterError::NotTracked(deal))?;
        let tunnel = connect(endpoint, target, secret)
            .await
            .map_err(|source| DealMeterError::Tunnel { deal, source })?;
        Ok(Metered::new(tunnel, counter))
    }

    /// Every metered deal with its count now, in deal order.
    pub fn deals(&self) -> Vec<MeteredDeal> {
        self.lock().values().map(|e| MeteredDeal { bytes: e.counter.bytes(), ..e.deal.clone() }).collect()
    }

    /// Writes every deal and its count now to `path` (JSON, `snm-customer-traffic-v1`).
    pub fn save(&self, path: &Path) -> Result<(), DealMeterError> {
        let file = TrafficFile { format: TRAFFIC_FORMAT.to_owned(), deals: self.deals() };
        let io = |source| DealMeterError::Io { path: path.to_owned(), source };
        let text = serde_json::to_vec_pretty(&file).map_err(|e| io(std::io::Error::other(e)))?;
        std::fs::write(path, text).map_err(io)
    }

    /// The meters saved in `path`, counting on from their figures.
    pub fn load(path: &Path) -> Result<Self, DealMeterError> {
        let deals = read_traffic(path)?;
        let meters = Self::new();
        {
            let mut map = meters.lock();
            for deal in deals {
                let counter = ByteCounter::starting_at(deal.bytes);
                map.insert(deal.deal, Entry { deal: MeteredDeal { bytes: Bytes::ZERO, ..deal }, counter });
            }
        }
        Ok(meters)
    }
}

/// The deals of a traffic file written by [`DealMeters::save`].
pub fn read_traffic(path: &Path) -> Result<Vec<MeteredDeal>, DealMeterError> {
    let text = std::fs::read(path).map_err(|source| DealMeterError::Io { path: path.to_owned(), source })?;
    let file: TrafficFile = serde_json::from_slice(&text)
        .map_err(|source| DealMeterError::Malformed { path: path.to_owned(), source })?;
    if file.format != TRAFFIC_FORMAT {
        return Err(DealMeterError::Format { path: path.to_owned(), found: file.format });
    }
    Ok(file.deals)
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{B256, U256};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::{market::AskId, proxy_client::CertFingerprint, units::UsdPerSecond};

    fn opened(id: u64, host: &str) -> (DealOpened, ProxyEndpoint) {
        let opened = DealOpened {
            id: DealId::from_word(U256::from(id)),
            customer: Address::repeat_byte(1),
            master: Address::repeat_byte(2),
            worker: Address::repeat_byte(3),
            ask: AskId::from_word(U256::from(7)),
            bid: None,
            price: UsdPerSecond::ZERO,
            deposit: crate::units::Snm::ZERO,
            start_time: 1_767_225_600,
            end_time: Some(1_767_229_200),
            image: "snm/proxy:1".to_owned(),
            config_hash: B256::ZERO,
        };
        let endpoint = ProxyEndpoint::new(format!("{host}:4000"), CertFingerprint::of(b"cert"))
            .unwrap_or_else(|e| panic!("{e}"));
        (opened, endpoint)
    }

    #[tokio::test]
    async fn each_deal_counts_its_tunnels_and_the_counts_survive_a_save()
    -> Result<(), Box<dyn std::error::Error>> {
        let meters = DealMeters::new();
        let (first, at_first) = opened(4, "127.0.0.11");
        let (second, at_second) = opened(5, "[::1]");
        meters.track(&first, &at_first)?;
        meters.track(&second, &at_second)?;
        let (near, mut far) = tokio::io::duplex(64);
        let mut tunnel = meters.meter(first.id, near)?;
        tunnel.write_all(b"0123456789").await?;
        let mut got = [0u8; 10];
        far.read_exact(&mut got).await?;
        far.write_all(b"abc").await?;
        tunnel.read_exact(&mut got[..3]).await?;
        let (other, _keep) = tokio::io::duplex(64);
        meters.meter(second.id, other)?.write_all(b"xy").await?;

        let deals = meters.deals();
        let figures: Vec<_> = deals.iter().map(|d| (d.ip.to_string(), d.bytes, d.period_start)).collect();
        assert_eq!(
            figures,
            vec![
                ("127.0.0.11".to_owned(), Bytes::new(13), 1_767_225_600),
                ("::1".to_owned(), Bytes::new(2), 1_767_225_600)
            ]
        );
        let path = std::env::temp_dir().join(format!("snm-traffic-{}.json", std::process::id()));
        meters.save(&path)?;
        let loaded = DealMeters::load(&path)?;
        assert_eq!(loaded.deals(), deals);
        loaded.meter(first.id, tokio::io::duplex(8).0)?.write_all(b"z").await?;
        assert_eq!(loaded.deals()[0].bytes, Bytes::new(14));
        std::fs::remove_file(&path)?;
        Ok(())
    }

    #[test]
    fn a_host_name_or_an_untracked_deal_is_refused() {
        let meters = DealMeters::new();
        let (deal, _) = opened(4, "127.0.0.11");
        let named = ProxyEndpoint::new("proxy.example:4000", CertFingerprint::of(b"c"))
            .unwrap_or_else(|e| panic!("{e}"));
        let err = meters.track(&deal, &named).map(drop).unwrap_err().to_string();
        assert_eq!(
            err,
            "deal 4's endpoint host `proxy.example` is not an IP address: a usage report names the worker's IP"
        );
        assert!(matches!(meters.meter(deal.id, ()), Err(DealMeterError::NotTracked(id)) if id == deal.id));
    }
}
