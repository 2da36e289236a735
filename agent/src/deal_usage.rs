//! [`DealUsage`]: each deal's figures as a supplier reads them (`snm supplier usage`): bytes in and
//! out, how long it ran, its container and state, from the agent's state file and its runtime's
//! meters, without asking the agent (it may be stopped) or the chain.
//!
//! Bytes in and out are the container's (received and sent over its interfaces) when a
//! [`DockerRuntime`](crate::DockerRuntime) ran it; a process workload reports one figure.

use std::path::Path;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use snm_sdk::{market::DealId, units::Bytes};

use crate::{
    runtime::Meter,
    state::{AgentState, DealRecord},
};

/// Where a deal is, as the agent last recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DealStage {
    /// Open; the workload has not started yet (or is being started again).
    Starting,
    /// Open; the agent waits for the customer's configuration.
    AwaitingConfig,
    /// Open; the workload runs.
    Running,
    /// Open; the workload could not start or kept crashing: the agent gave it up and ends the deal.
    GivenUp,
    /// Open; the workload crashed as often as allowed and the configuration keeps the deal open
    /// (`close_on_crash = false`): nothing runs, the bytes it carried are kept.
    Crashed,
    /// Closed; the workload was stopped and metered.
    Closed,
}

impl std::fmt::Display for DealStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Starting => "starting",
            Self::AwaitingConfig => "awaiting config",
            Self::Running => "running",
            Self::GivenUp => "given up",
            Self::Crashed => "crashed",
            Self::Closed => "closed",
        })
    }
}

/// One deal's figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealUsage {
    /// The deal.
    pub deal: DealId,
    /// The machine.
    pub worker: Address,
    /// Who pays.
    pub customer: Address,
    /// The image from the bid.
    pub image: String,
    /// Where it is.
    pub stage: DealStage,
    /// Unix time it opened (block time).
    pub opened_at: u64,
    /// Unix time it closed, once it did.
    pub closed_at: Option<u64>,
    /// Seconds from its opening to its close (or to `now` while it is open).
    pub runtime_seconds: u64,
    /// All the traffic counted, both directions.
    pub bytes: Bytes,
    /// Bytes the container received, when its runtime counts directions.
    pub bytes_in: Option<Bytes>,
    /// Bytes the container sent, when its runtime counts directions.
    pub bytes_out: Option<Bytes>,
    /// The container's id, for a Docker workload.
    pub container: Option<String>,
    /// The endpoint announced on chain, if any.
    pub endpoint: Option<String>,
    /// Why its workload last failed to start, if it did.
    pub failure: Option<String>,
}

/// The figures of every deal in `state` (orphaned deals left out), reading the meters under
/// `workload_dir`; `now` is the Unix time open deals' runtimes run to.
pub fn deal_usage(state: &AgentState, workload_dir: &Path, now: u64) -> Vec<DealUsage> {
    state.deals.iter().map(|(deal, record)| usage_of(*deal, record, workload_dir, now)).collect()
}

fn usage_of(deal: DealId, record: &DealRecord, workload_dir: &Path, now: u64) -> DealUsage {
    let meter = Meter::load(&Meter::path(workload_dir, deal), deal).ok().flatten();
    // A workload that died (a crashed one too) had its meter's bytes moved to `carried_bytes`:
    // with none recorded, the meter counts only when nothing was carried (a container started by
    // an agent stopped before it recorded it).
    let live = match (&record.workload, &meter) {
        (Some(_), Some(meter)) => meter.total().get(),
        (None, Some(meter)) if record.carried_bytes == 0 => meter.total().get(),
        (Some(workload), None) => process_bytes(&workload.stats),
        (None, _) => 0,
    };
    let bytes = record.final_bytes.unwrap_or_else(|| record.carried_bytes.saturating_add(live));
    let (bytes_in, bytes_out) = meter.as_ref().map(Meter::by_direction).unzip();
    let stage = if record.closed_at.is_some() {
        DealStage::Closed
    } else if record.served_until.is_some() {
        DealStage::GivenUp
    } else if record.crashed {
        DealStage::Crashed
    } else if record.workload.is_some() {
        DealStage::Running
    } else if record.announced.as_deref().is_some_and(snm_sdk::workload_config::is_config_endpoint) {
        DealStage::AwaitingConfig
    } else {
        DealStage::Starting
    };
    let until = record.closed_at.unwrap_or(now);
    DealUsage {
        deal,
        worker: record.worker,
        customer: record.customer,
        image: record.image.clone(),
        stage,
        opened_at: record.opened_at,
        closed_at: record.closed_at,
        runtime_seconds: until.saturating_sub(record.opened_at),
        bytes: Bytes::new(bytes),
        bytes_in,
        bytes_out,
        container: record
            .workload
            .as_ref()
            .and_then(|w| w.container.clone())
            .or_else(|| meter.map(|m| m.container)),
        endpoint: record.announced.clone(),
        failure: record.failure.clone(),
    }
}

/// The bytes a process workload's stats file reports (`bytes`, `bytes_up`, `bytes_down`), 0 when
/// it cannot be read.
fn process_bytes(stats: &Path) -> u128 {
    let Ok(text) = std::fs::read(stats) else { return 0 };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&text) else { return 0 };
    ["bytes", "bytes_up", "bytes_down"]
        .iter()
        .filter_map(|key| value.get(key).and_then(serde_json::Value::as_u64))
        .map(u128::from)
        .sum()
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use snm_sdk::market::DealOpened;

    use super::*;

    fn opened(id: u64) -> DealRecord {
        let deal = DealOpened {
            id: DealId(id),
            master: Address::repeat_byte(1),
            customer: Address::repeat_byte(2),
            worker: Address::repeat_byte(3),
            ask: snm_sdk::market::AskId(1),
            bid: None,
            price: snm_sdk::units::UsdPerSecond::ZERO,
            deposit: snm_sdk::units::Snm::ZERO,
            start_time: 1_000,
            end_time: None,
            image: "img".into(),
            config_hash: alloy::primitives::B256::ZERO,
        };
        DealRecord::opened(&deal, IpAddr::from([127, 0, 0, 1]))
    }

    #[test]
    fn a_closed_docker_deal_shows_its_final_bytes_by_direction_and_an_open_one_its_meter() {
        let dir = std::env::temp_dir().join(format!("snm-deal-usage-{}", std::process::id()));
        let mut state = AgentState::new(Address::ZERO, Address::ZERO, 0);
        let mut closed = opened(1);
        (closed.closed_at, closed.final_bytes) = (Some(1_090), Some(300));
        state.deals.insert(DealId(1), closed);
        state.deals.insert(DealId(2), opened(2));
        let mut meter = Meter::new("c1");
        meter.sample(200, 100);
        meter.save(&Meter::path(&dir, DealId(1)), DealId(1)).unwrap();
        let mut meter = Meter::new("c2");
        meter.sample(5, 7);
        meter.save(&Meter::path(&dir, DealId(2)), DealId(2)).unwrap();

        let mut crashed = opened(3);
        (crashed.crashed, crashed.carried_bytes) = (true, 40);
        state.deals.insert(DealId(3), crashed);
        let mut meter = Meter::new("c3");
        meter.sample(30, 10);
        meter.exited(Some("t".into()), Some(3));
        meter.save(&Meter::path(&dir, DealId(3)), DealId(3)).unwrap();

        let usage = deal_usage(&state, &dir, 1_500);
        assert_eq!(usage.len(), 3);
        assert_eq!((usage[2].stage, usage[2].bytes), (DealStage::Crashed, Bytes::new(40)), "counted once");
        assert_eq!(
            (usage[0].stage, usage[0].runtime_seconds, usage[0].bytes),
            (DealStage::Closed, 90, Bytes::new(300))
        );
        assert_eq!((usage[0].bytes_in, usage[0].bytes_out), (Some(Bytes::new(200)), Some(Bytes::new(100))));
        assert_eq!(usage[0].container.as_deref(), Some("c1"));
        assert_eq!(
            (usage[1].stage, usage[1].runtime_seconds, usage[1].bytes),
            (DealStage::Starting, 500, Bytes::new(12))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
