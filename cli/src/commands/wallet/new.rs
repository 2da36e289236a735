//! `snm wallet new NAME`: a new random key, encrypted with a password typed twice (or read from
//! `--password-file`).

use alloy::signers::local::PrivateKeySigner;

use super::{AccountReport, StoreArgs};
use crate::{error::CliError, output::Frame};

/// Creates an account with a new random key.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The account's name (its keystore file's name).
    name: String,
    #[command(flatten)]
    store: StoreArgs,
}

pub(super) fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let stores = args.store.stores()?;
    // Refuse a bad or taken name before asking for a password.
    let path = stores.path(&args.name)?;
    if path.exists() {
        return Err(crate::wallet::WalletError::Exists { name: args.name.clone(), path }.into());
    }
    let password = args.store.password().read(&format!("new password for `{}`: ", args.name), true)?;
    let account = stores.create(&args.name, &PrivateKeySigner::random(), &password)?;
    Ok(frame.emit(&AccountReport {
        name: account.name,
        address: account.address.unwrap_or_default(),
        keystore: account.path,
    })?)
}
