//! `snm wallet import NAME --private-key-file F | --mnemonic-file F`: an existing key into an
//! encrypted keystore. The key is read from a file, never from the command line.

use std::path::PathBuf;

use super::{AccountReport, StoreArgs};
use crate::{error::CliError, output::Frame, wallet};

/// Imports a key from a file.
#[derive(Debug, clap::Args)]
#[group(id = "source", required = true, multiple = false)]
pub struct Args {
    /// The account's name (its keystore file's name).
    name: String,
    /// File holding the private key: 64 hex digits, with or without 0x.
    #[arg(long, group = "source")]
    private_key_file: Option<PathBuf>,
    /// File holding a BIP-39 mnemonic (English words).
    #[arg(long, group = "source")]
    mnemonic_file: Option<PathBuf>,
    /// With --mnemonic-file: the index in the derivation path m/44'/60'/0'/0/INDEX.
    #[arg(long, default_value_t = 0, requires = "mnemonic_file")]
    mnemonic_index: u32,
    #[command(flatten)]
    store: StoreArgs,
}

pub(super) fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let stores = args.store.stores()?;
    let path = stores.path(&args.name)?;
    if path.exists() {
        return Err(wallet::WalletError::Exists { name: args.name.clone(), path }.into());
    }
    // The key is checked before a password is asked.
    let signer = match (&args.private_key_file, &args.mnemonic_file) {
        (Some(file), _) => wallet::key_from_file(file)?,
        (None, Some(file)) => wallet::key_from_mnemonic_file(file, args.mnemonic_index)?,
        (None, None) => {
            return Err(CliError::Usage { message: "pass --private-key-file or --mnemonic-file".into() });
        }
    };
    let password = args.store.password().read(&format!("new password for `{}`: ", args.name), true)?;
    let account = stores.create(&args.name, &signer, &password)?;
    Ok(frame.emit(&AccountReport {
        name: account.name,
        address: signer.address(),
        keystore: account.path,
    })?)
}
