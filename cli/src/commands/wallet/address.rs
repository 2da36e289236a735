//! `snm wallet address NAME`: an account's address, from its keystore (decrypted only when the
//! keystore does not say it).

use super::{AccountReport, StoreArgs};
use crate::{error::CliError, output::Frame};

/// Prints an account's address.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The account's name.
    name: String,
    #[command(flatten)]
    store: StoreArgs,
}

pub(super) fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let stores = args.store.stores()?;
    let account = stores.account(&args.name)?;
    let address = match account.address {
        Some(address) => address,
        None => {
            let password =
                args.store.password().read(&format!("password of account `{}`: ", args.name), false)?;
            stores.unlock(&args.name, &password)?.address()
        }
    };
    Ok(frame.emit(&AccountReport { name: account.name, address, keystore: account.path })?)
}
