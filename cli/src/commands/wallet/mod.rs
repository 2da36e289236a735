//! `snm wallet`: encrypted keystores (Web3 Secret Storage v3, as `cast wallet` and geth write
//! them) in `~/.snm/keystores` or `--keystore-dir`, one file per account named after it.
//!
//! ```text
//! snm wallet new alice                      # asks a password twice
//! snm wallet import bob --private-key-file bob.key --password-file pw.txt
//! snm wallet list
//! snm wallet address alice
//! ```

mod address;
mod import;
mod list;
mod new;

use std::{fmt, path::PathBuf};

use alloy::primitives::Address;
use clap::Subcommand;
use serde::Serialize;

use crate::{
    error::CliError,
    output::Frame,
    wallet::{Keystores, Password},
};

/// `snm wallet`: create, import, list accounts.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Creates an account with a new random key, encrypted with a password.
    New(new::Args),
    /// Imports a private key or a BIP-39 mnemonic from a file into an encrypted keystore.
    Import(import::Args),
    /// Lists the accounts of the keystore directory.
    List(list::Args),
    /// Prints an account's address.
    Address(address::Args),
}

impl Command {
    /// Runs the command.
    pub async fn run(self, frame: Frame) -> Result<(), CliError> {
        match self {
            Self::New(args) => new::run(&args, frame),
            Self::Import(args) => import::run(&args, frame),
            Self::List(args) => list::run(&args, frame),
            Self::Address(args) => address::run(&args, frame),
        }
    }
}

/// Where the keystores are and where a password comes from.
#[derive(Clone, Debug, clap::Args)]
pub struct StoreArgs {
    /// Where the keystores are (default `~/.snm/keystores`).
    #[arg(long, env = "SNM_KEYSTORE_DIR")]
    pub keystore_dir: Option<PathBuf>,
    /// File whose first line is the password (else it is asked on the terminal).
    #[arg(long, env = "SNM_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
}

impl StoreArgs {
    fn stores(&self) -> Result<Keystores, CliError> {
        Ok(Keystores::new(self.keystore_dir.clone())?)
    }

    fn password(&self) -> Password {
        Password { file: self.password_file.clone() }
    }
}

/// An account written or read: its name, address and keystore.
#[derive(Debug, Serialize)]
pub struct AccountReport {
    /// The account's name.
    pub name: String,
    /// Its address.
    pub address: Address,
    /// Its keystore file.
    pub keystore: PathBuf,
}

impl fmt::Display for AccountReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "account {}: {} (keystore {})", self.name, self.address, self.keystore.display())
    }
}
