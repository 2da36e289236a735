//! Code shared by the example programs: the metered proxy workload a supplier's agent runs for
//! proxy deals.

pub mod proxy;
