//! One module per role, one file per command (`commands/<role>/<command>.rs`).

pub mod agent;
pub mod campaign;
pub mod customer;
pub mod deploy;
pub mod devnet;
pub mod market;
pub mod oracle;
pub mod supplier;
pub mod wallet;
