//! Code shared by the example programs: their command-line options ([`cli`]) and the metered
//! proxy workload a supplier's agent runs for proxy deals ([`proxy`]).

pub mod cli;
pub mod proxy;
