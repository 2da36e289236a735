//! The deployments committed in the repository's `deployments/<chain id>.json`, built into the
//! binary: with no `--deployment`, `snm` uses the one of the node's chain.

use snm_sdk::Deployment;

include!(concat!(env!("OUT_DIR"), "/deployments.rs"));

/// The committed deployment of chain `chain_id`, if there is one (and it parses).
pub fn committed(chain_id: u64) -> Option<Deployment> {
    COMMITTED
        .iter()
        .find(|(id, _)| *id == chain_id)
        .and_then(|(_, text)| serde_json::from_str::<Deployment>(text).ok())
}

/// The chain ids that have a committed deployment.
pub fn chain_ids() -> Vec<u64> {
    COMMITTED.iter().map(|(id, _)| *id).collect()
}
