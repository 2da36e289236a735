//! `snm wallet`: keystores that `cast wallet` reads and writes, passwords from a file or typed on a
//! terminal (a pseudo-terminal made by `script`), and the keys that are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod harness;

use std::{path::Path, process::Stdio, time::Duration};

use alloy::primitives::Address;
use harness::{cast, run_snm as snm, scratch};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What `snm --json wallet new|import|address` prints.
#[derive(Debug, Deserialize)]
struct AccountReport {
    name: String,
    address: Address,
    keystore: std::path::PathBuf,
}

#[derive(Debug, Deserialize)]
struct ListReport {
    accounts: Vec<Listed>,
}

#[derive(Debug, Deserialize)]
struct Listed {
    name: String,
    address: Option<Address>,
}

const KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const KEY_ADDRESS: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    path.display().to_string()
}

async fn cast_wallet(args: &[&str]) -> String {
    let output = tokio::process::Command::new(cast()).args(args).output().await.unwrap();
    assert!(output.status.success(), "cast {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[tokio::test]
async fn keystores_are_shared_with_cast_both_ways() {
    let dir = scratch("wallet-cast");
    let stores = dir.join("keystores");
    let stores_arg = stores.display().to_string();
    let password = write(&dir.join("password"), "correct horse battery staple\n");

    // snm writes, cast reads.
    let created = snm(
        &dir,
        &["--json", "wallet", "new", "alice", "--keystore-dir", &stores_arg, "--password-file", &password],
        &[],
    )
    .await;
    created.ok();
    let alice: AccountReport = created.json();
    assert_eq!(alice.name, "alice");
    let read_by_cast = cast_wallet(&[
        "wallet",
        "address",
        "--keystore",
        &alice.keystore.display().to_string(),
        "--password",
        "correct horse battery staple",
    ])
    .await;
    assert_eq!(read_by_cast.parse::<Address>().unwrap(), alice.address);

    // cast writes, snm reads (its keystore may not carry the address: snm then decrypts it).
    cast_wallet(&[
        "wallet",
        "import",
        "bob",
        "--private-key",
        KEY,
        "--unsafe-password",
        "hunter2",
        "--keystore-dir",
        &stores_arg,
    ])
    .await;
    let bob_password = write(&dir.join("bob-password"), "hunter2");
    let bob = snm(
        &dir,
        &["--json", "wallet", "address", "bob", "--password-file", &bob_password],
        &[("SNM_KEYSTORE_DIR", &stores_arg)],
    )
    .await;
    bob.ok();
    assert_eq!(bob.json::<AccountReport>().address, KEY_ADDRESS.parse::<Address>().unwrap());

    // A wrong password: exit 7, named account, no key.
    let wrong = write(&dir.join("wrong"), "hunter3");
    let refused = snm(
        &dir,
        &["--json", "wallet", "address", "bob", "--password-file", &wrong],
        &[("SNM_KEYSTORE_DIR", &stores_arg)],
    )
    .await;
    refused.failed_with(7);
    let error = refused.json_error();
    assert_eq!(error.kind, "wallet");
    assert!(error.message.contains("wrong password for account `bob`"), "{}", error.message);

    // Both listed, by name.
    let listed = snm(&dir, &["--json", "wallet", "list", "--keystore-dir", &stores_arg], &[]).await;
    listed.ok();
    let names: Vec<String> = listed.json::<ListReport>().accounts.into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["alice", "bob"]);
    let text = snm(&dir, &["wallet", "list", "--keystore-dir", &stores_arg], &[]).await;
    harness::assert_has(text.ok(), &["name", "alice", &alice.address.to_string()]);

    // The default directory is ~/.snm/keystores.
    let home_new = snm(&dir, &["--json", "wallet", "new", "carol", "--password-file", &password], &[]).await;
    home_new.ok();
    assert_eq!(home_new.json::<AccountReport>().keystore, dir.join(".snm/keystores/carol"));
    let listed = snm(&dir, &["--json", "wallet", "list"], &[]).await.json::<ListReport>();
    assert_eq!(listed.accounts.len(), 1);
    assert!(listed.accounts[0].address.is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn keys_and_mnemonics_are_imported_from_files_and_bad_ones_refused() {
    let dir = scratch("wallet-import");
    let password = write(&dir.join("password"), "pw-for-import");
    let key_file = write(&dir.join("key"), &format!("0x{KEY}\n"));
    let imported = snm(
        &dir,
        &[
            "--json",
            "wallet",
            "import",
            "dev1",
            "--private-key-file",
            &key_file,
            "--password-file",
            &password,
        ],
        &[],
    )
    .await;
    imported.ok();
    assert_eq!(imported.json::<AccountReport>().address, KEY_ADDRESS.parse::<Address>().unwrap());

    // anvil's well-known mnemonic: index 1 is the same account.
    let phrase = write(&dir.join("phrase"), "test test test test test test test test test test test junk\n");
    let from_phrase = snm(
        &dir,
        &[
            "--json",
            "wallet",
            "import",
            "dev1b",
            "--mnemonic-file",
            &phrase,
            "--mnemonic-index",
            "1",
            "--password-file",
            &password,
        ],
        &[],
    )
    .await;
    from_phrase.ok();
    assert_eq!(from_phrase.json::<AccountReport>().address, KEY_ADDRESS.parse::<Address>().unwrap());

    // Not a key: named file, exit 7, nothing written.
    let not_key = write(&dir.join("not-a-key"), "this is not a key\n");
    let refused = snm(
        &dir,
        &["wallet", "import", "bad", "--private-key-file", &not_key, "--password-file", &password],
        &[],
    )
    .await;
    harness::assert_has(refused.failed_with(7), &["not-a-key does not hold a private key", "64 hex digits"]);
    assert!(!refused.stderr.contains("this is not a key"), "the file's content is never echoed");
    assert!(!dir.join(".snm/keystores/bad").exists());

    // A taken name, a name that is a path: usage errors.
    let taken = snm(
        &dir,
        &["wallet", "import", "dev1", "--private-key-file", &key_file, "--password-file", &password],
        &[],
    )
    .await;
    harness::assert_has(taken.failed_with(2), &["account `dev1` exists already"]);
    let path_name = snm(&dir, &["wallet", "new", "../escape", "--password-file", &password], &[]).await;
    harness::assert_has(path_name.failed_with(2), &["account name `../escape` is not usable"]);

    // No password file and no terminal: said, not hung.
    let no_tty = snm(&dir, &["wallet", "new", "tty-less"], &[]).await;
    harness::assert_has(no_tty.failed_with(7), &["no terminal", "--password-file"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `snm args` on a pseudo-terminal (`script`), answering each prompt that contains a key of
/// `answers` in turn; returns everything the terminal showed.
async fn on_terminal(home: &Path, args: &str, answers: &[(&str, &str)]) -> (String, bool) {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_snm"));
    let mut child = tokio::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("HOME", home)
        .env_remove("SNM_PASSWORD_FILE")
        .env_remove("SNM_KEYSTORE_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut shown = String::new();
    let mut buffer = [0u8; 1024];
    for (prompt, answer) in answers {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !shown.contains(prompt) {
            let read = tokio::time::timeout_at(deadline, stdout.read(&mut buffer))
                .await
                .unwrap_or_else(|_| panic!("no prompt {prompt:?}; the terminal showed:\n{shown}"))
                .unwrap();
            assert!(read > 0, "the terminal closed before the prompt {prompt:?}:\n{shown}");
            shown.push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
        // What comes after this prompt is looked for from here on.
        shown = shown.replacen(prompt, "<answered>", 1);
        stdin.write_all(format!("{answer}\n").as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
    }
    let mut rest = String::new();
    tokio::time::timeout(Duration::from_secs(60), stdout.read_to_string(&mut rest)).await.unwrap().unwrap();
    shown.push_str(&rest);
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await.unwrap().unwrap();
    (shown, status.success())
}

#[tokio::test]
async fn the_password_is_asked_on_the_terminal_twice_and_not_echoed() {
    let dir = scratch("wallet-prompt");
    let (shown, ok) = on_terminal(
        &dir,
        "wallet new dana",
        &[("new password for `dana`", "typed-secret-1"), ("again", "typed-secret-1")],
    )
    .await;
    assert!(ok, "{shown}");
    assert!(!shown.contains("typed-secret-1"), "the password was echoed:\n{shown}");
    assert!(shown.contains("account dana: 0x"), "{shown}");
    let keystore = dir.join(".snm/keystores/dana");
    // cast opens it with the typed password.
    let address = cast_wallet(&[
        "wallet",
        "address",
        "--keystore",
        &keystore.display().to_string(),
        "--password",
        "typed-secret-1",
    ])
    .await;
    assert!(shown.contains(&address.to_lowercase()) || shown.contains(&address), "{shown}\n{address}");

    // Two different passwords: refused, nothing written.
    let (shown, ok) =
        on_terminal(&dir, "wallet new erin", &[("new password for `erin`", "one"), ("again", "two")]).await;
    assert!(!ok);
    assert!(shown.contains("the passwords typed differ"), "{shown}");
    assert!(!dir.join(".snm/keystores/erin").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
