//! One module per role, one file per command (`commands/<role>/<command>.rs`).

pub mod campaign;
pub mod customer;
