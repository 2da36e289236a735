//! Encrypted keystores: one Web3 Secret Storage v3 file per account (the format `cast wallet` and
//! geth use, written and read by alloy's keystore support), named after the account, in
//! `~/.snm/keystores` or `--keystore-dir`. Passwords come from a file or an interactive prompt on
//! the terminal, never from a command-line value.

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
};

use alloy::{
    primitives::Address,
    signers::local::{LocalSignerError, MnemonicBuilder, PrivateKeySigner, coins_bip39::English},
};

/// Why a keystore or a key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// No home directory to hold `~/.snm/keystores`.
    #[error("no home directory for ~/.snm/keystores: pass --keystore-dir or set HOME")]
    NoHome,
    /// An account name that cannot be a file name.
    #[error("account name `{name}` is not usable: use letters, digits, `-`, `_` and `.` (not first)")]
    BadName {
        /// The name given.
        name: String,
    },
    /// An account of that name exists already.
    #[error("account `{name}` exists already ({})", path.display())]
    Exists {
        /// The name.
        name: String,
        /// Its keystore.
        path: PathBuf,
    },
    /// No account of that name.
    #[error("no account `{name}` in {}", dir.display())]
    NotFound {
        /// The name.
        name: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The password does not open the keystore.
    #[error("wrong password for account `{name}` ({})", path.display())]
    WrongPassword {
        /// The account.
        name: String,
        /// Its keystore.
        path: PathBuf,
    },
    /// The keystore cannot be decrypted or is not a keystore.
    #[error("{} is not a usable keystore: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// alloy's error.
        #[source]
        source: LocalSignerError,
    },
    /// A key file that does not hold a private key.
    #[error("{} does not hold a private key (expected 64 hex digits, with or without 0x)", path.display())]
    NotAKey {
        /// The file.
        path: PathBuf,
    },
    /// An environment variable that does not hold a private key.
    #[error("${var} does not hold a private key (expected 64 hex digits, with or without 0x)")]
    NotAKeyInEnv {
        /// The variable.
        var: String,
    },
    /// An environment variable named by `--private-key-env` that is not set.
    #[error("--private-key-env names ${var}, which is not set")]
    KeyEnvUnset {
        /// The variable.
        var: String,
    },
    /// A mnemonic file whose phrase does not give a key.
    #[error("{} does not hold a usable BIP-39 mnemonic: {source}", path.display())]
    BadMnemonic {
        /// The file.
        path: PathBuf,
        /// alloy's error.
        #[source]
        source: LocalSignerError,
    },
    /// A password is needed, there is no terminal to ask it on and no file was given.
    #[error(
        "a password is needed and there is no terminal to ask it on: pass --password-file (or SNM_PASSWORD_FILE)"
    )]
    NoTerminal,
    /// An empty password for a new keystore.
    #[error("the password is empty: a keystore needs one")]
    EmptyPassword,
    /// The two passwords typed differ.
    #[error("the passwords typed differ")]
    PasswordsDiffer,
    /// The keystore could not be written.
    #[error("cannot write the keystore in {}: {source}", dir.display())]
    Write {
        /// The directory.
        dir: PathBuf,
        /// alloy's error.
        #[source]
        source: LocalSignerError,
    },
}

/// Where the password comes from: a file (its first line), else a prompt on the terminal.
#[derive(Clone, Debug, Default)]
pub struct Password {
    /// The password file, if one was given.
    pub file: Option<PathBuf>,
}

impl Password {
    /// The password: the file's first line, or typed on the terminal after `prompt` (twice when
    /// `confirm`, for a new keystore).
    pub fn read(&self, prompt: &str, confirm: bool) -> Result<String, WalletError> {
        let password = match &self.file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| WalletError::Io { path: path.clone(), source })?;
                text.lines().next().unwrap_or_default().to_owned()
            }
            None => {
                if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
                    return Err(WalletError::NoTerminal);
                }
                let typed = crate::prompt::password(prompt).map_err(|_| WalletError::NoTerminal)?;
                if confirm {
                    let again = crate::prompt::password("again: ").map_err(|_| WalletError::NoTerminal)?;
                    if again != typed {
                        return Err(WalletError::PasswordsDiffer);
                    }
                }
                typed
            }
        };
        if confirm && password.is_empty() {
            return Err(WalletError::EmptyPassword);
        }
        Ok(password)
    }
}

/// An account in a keystore directory, as listed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    /// Its name (the file's).
    pub name: String,
    /// Its address, when the keystore says it (snm's and geth's do; some tools' do not).
    pub address: Option<Address>,
    /// Its keystore file.
    pub path: PathBuf,
}

/// A directory of keystores, one file per account, named after it.
#[derive(Clone, Debug)]
pub struct Keystores {
    dir: PathBuf,
}

impl Keystores {
    /// The keystores in `dir`, or in `~/.snm/keystores` when `None`.
    pub fn new(dir: Option<PathBuf>) -> Result<Self, WalletError> {
        let dir = match dir {
            Some(dir) => dir,
            None => std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| PathBuf::from(home).join(".snm").join("keystores"))
                .ok_or(WalletError::NoHome)?,
        };
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The keystore file of `name`.
    pub fn path(&self, name: &str) -> Result<PathBuf, WalletError> {
        let usable = !name.is_empty()
            && !name.starts_with('.')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !usable {
            return Err(WalletError::BadName { name: name.to_owned() });
        }
        Ok(self.dir.join(name))
    }

    /// Encrypts `signer`'s key with `password` into a new keystore named `name`; refuses to
    /// overwrite one.
    pub fn create(
        &self,
        name: &str,
        signer: &PrivateKeySigner,
        password: &str,
    ) -> Result<Account, WalletError> {
        let path = self.path(name)?;
        if path.exists() {
            return Err(WalletError::Exists { name: name.to_owned(), path });
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|source| WalletError::Io { path: self.dir.clone(), source })?;
        restrict(&self.dir, 0o700)?;
        PrivateKeySigner::encrypt_keystore(
            &self.dir,
            &mut rand::thread_rng(),
            signer.to_bytes(),
            password,
            Some(name),
        )
        .map_err(|source| WalletError::Write { dir: self.dir.clone(), source })?;
        // geth and cast write the address beside the ciphertext, so that listing needs no password.
        add_address(&path, signer.address())?;
        restrict(&path, 0o600)?;
        Ok(Account { name: name.to_owned(), address: Some(signer.address()), path })
    }

    /// Every account in the directory (files that are keystores), by name.
    pub fn list(&self) -> Result<Vec<Account>, WalletError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(WalletError::Io { path: self.dir.clone(), source }),
        };
        let mut accounts = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| WalletError::Io { path: self.dir.clone(), source })?;
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
            if let Some(keystore) = read_keystore(&path) {
                accounts.push(Account { name, address: address_of(&keystore), path });
            }
        }
        accounts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(accounts)
    }

    /// The account `name`, without decrypting it.
    pub fn account(&self, name: &str) -> Result<Account, WalletError> {
        let path = self.path(name)?;
        let keystore = read_keystore(&path)
            .ok_or_else(|| WalletError::NotFound { name: name.to_owned(), dir: self.dir.clone() })?;
        Ok(Account { name: name.to_owned(), address: address_of(&keystore), path })
    }

    /// Decrypts the account `name` with `password`.
    pub fn unlock(&self, name: &str, password: &str) -> Result<PrivateKeySigner, WalletError> {
        let account = self.account(name)?;
        PrivateKeySigner::decrypt_keystore(&account.path, password).map_err(|source| match source {
            LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::MacMismatch) => {
                WalletError::WrongPassword { name: name.to_owned(), path: account.path.clone() }
            }
            source => WalletError::Unreadable { path: account.path.clone(), source },
        })
    }
}

/// The key in a file: 64 hex digits, with or without `0x`, surrounding blanks ignored. The file's
/// content is never repeated in an error.
pub fn key_from_file(path: &Path) -> Result<PrivateKeySigner, WalletError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| WalletError::Io { path: path.to_owned(), source })?;
    parse_key(&text).ok_or_else(|| WalletError::NotAKey { path: path.to_owned() })
}

/// The key in environment variable `var`.
pub fn key_from_env(var: &str) -> Result<PrivateKeySigner, WalletError> {
    let text = std::env::var(var).map_err(|_| WalletError::KeyEnvUnset { var: var.to_owned() })?;
    parse_key(&text).ok_or_else(|| WalletError::NotAKeyInEnv { var: var.to_owned() })
}

/// The key at `index` of the BIP-39 phrase in a file (English words, path `m/44'/60'/0'/0/index`).
pub fn key_from_mnemonic_file(path: &Path, index: u32) -> Result<PrivateKeySigner, WalletError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| WalletError::Io { path: path.to_owned(), source })?;
    let phrase = text.split_whitespace().collect::<Vec<_>>().join(" ");
    MnemonicBuilder::<English>::default()
        .phrase(phrase)
        .index(index)
        .and_then(|builder| builder.build())
        .map_err(|source| WalletError::BadMnemonic { path: path.to_owned(), source })
}

fn parse_key(text: &str) -> Option<PrivateKeySigner> {
    let hex = text.trim();
    let digits = hex.strip_prefix("0x").unwrap_or(hex);
    if digits.len() != 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    digits.parse().ok()
}

fn read_keystore(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let crypto = value.get("crypto").or_else(|| value.get("Crypto"))?;
    crypto.get("ciphertext")?;
    Some(value)
}

fn address_of(keystore: &serde_json::Value) -> Option<Address> {
    let text = keystore.get("address")?.as_str()?;
    let digits = text.strip_prefix("0x").unwrap_or(text);
    format!("0x{digits}").parse().ok()
}

fn add_address(path: &Path, address: Address) -> Result<(), WalletError> {
    let io = |source| WalletError::Io { path: path.to_owned(), source };
    let text = std::fs::read_to_string(path).map_err(io)?;
    let mut value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    if let Some(object) = value.as_object_mut() {
        object.insert("address".to_owned(), alloy::hex::encode(address).into());
    }
    std::fs::write(path, value.to_string()).map_err(io)
}

fn restrict(path: &Path, mode: u32) -> Result<(), WalletError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|source| WalletError::Io { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_64_hex_digits() {
        let key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        assert!(parse_key(key).is_some());
        assert!(parse_key(&format!(" 0x{key}\n")).is_some());
        assert!(parse_key(&key[1..]).is_none());
        assert!(parse_key("hello world").is_none());
    }

    #[test]
    fn account_names_are_plain_file_names() {
        let stores = Keystores { dir: PathBuf::from("/tmp/x") };
        assert!(stores.path("alice-1.main").is_ok());
        for bad in ["", "../alice", ".hidden", "a/b", "a b"] {
            assert!(matches!(stores.path(bad), Err(WalletError::BadName { .. })), "{bad}");
        }
    }
}
