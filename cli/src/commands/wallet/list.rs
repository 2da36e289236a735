//! `snm wallet list`: the accounts of the keystore directory, with their addresses when the
//! keystore says them.

use std::fmt;

use serde::Serialize;

use super::StoreArgs;
use crate::{
    error::CliError,
    output::Frame,
    table::{Align, Table},
    wallet::Account,
};

/// Lists the accounts.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreArgs,
}

/// The accounts of a keystore directory.
#[derive(Debug, Serialize)]
struct Report {
    dir: std::path::PathBuf,
    accounts: Vec<Account>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.accounts.is_empty() {
            return writeln!(f, "no account in {} (create one: snm wallet new NAME)", self.dir.display());
        }
        let mut table = Table::new(&[("name", Align::Left), ("address", Align::Left)]);
        for account in &self.accounts {
            let address =
                account.address.map_or_else(|| "(ask: snm wallet address)".to_owned(), |a| a.to_string());
            table.row([account.name.clone(), address]);
        }
        write!(f, "{table}")
    }
}

pub(super) fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let stores = args.store.stores()?;
    let accounts = stores.list()?;
    Ok(frame.emit(&Report { dir: stores.dir().to_owned(), accounts })?)
}
