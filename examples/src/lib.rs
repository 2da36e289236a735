//! Code shared by the example programs: their command-line options ([`cli`]) and units ([`units`]),
//! aligned tables ([`table`]), the metered proxy workload a supplier's agent runs for proxy deals
//! ([`proxy`]), a customer's purchase ([`purchase`]), a reward campaign's rounds ([`campaign`]) and
//! the main job's story ([`story`]).

pub mod campaign;
pub mod cli;
pub mod proxy;
pub mod purchase;
pub mod story;
pub mod table;
pub mod units;
