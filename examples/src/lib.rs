//! Code shared by the example programs: their command-line options ([`cli`]), the metered proxy
//! workload a supplier's agent runs for proxy deals ([`proxy`]), and the main job's story
//! ([`story`]).

pub mod cli;
pub mod proxy;
pub mod story;
