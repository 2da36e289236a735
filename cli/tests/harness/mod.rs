//! What the `snm` tests share: a devnet whose deployment is written to a file, and `snm` run against
//! it as a person would run it (arguments and `SNM_*` environment).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)] // test support code

pub mod indexer;

use std::{path::PathBuf, process::Stdio};

use alloy::signers::local::PrivateKeySigner;
use snm_sdk::{
    devnet::{Devnet, DevnetConfig},
    units::Snm,
};

/// A devnet, a scratch directory, and the deployment file in it.
pub struct Scene {
    pub devnet: Devnet,
    pub dir: PathBuf,
    pub deployment: PathBuf,
}

impl Scene {
    /// Starts a devnet set up as `config` says and writes its deployment to
    /// `<tmp>/snm-<name>-<pid>/deployment.json`.
    pub async fn start(name: &str, config: DevnetConfig) -> Self {
        let devnet = Devnet::start_with(config).await.unwrap();
        let dir = std::env::temp_dir().join(format!("snm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let deployment = dir.join("deployment.json");
        devnet.deployment().write_file(&deployment).unwrap();
        Self { devnet, dir, deployment }
    }

    /// A path in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs `snm` with the subcommand `command` (`["customer", "buy"]`) and `args`, the devnet's
    /// endpoint and deployment in `SNM_RPC` and `SNM_DEPLOYMENT`, and `key` (if any) in `SNM_KEY`;
    /// no other `SNM_*` variable.
    pub async fn run(&self, subcommand: &[&str], key: Option<&PrivateKeySigner>, args: &[&str]) -> Run {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_snm"));
        command
            .args(subcommand)
            .args(args)
            .env("SNM_RPC", self.devnet.endpoint().as_str())
            .env("SNM_DEPLOYMENT", &self.deployment)
            .env_remove("SNM_KEY")
            .env_remove("SNM_MARKET")
            .env_remove("SNM_DISTRIBUTOR")
            .env_remove("SNM_SECRET")
            .env_remove("SNM_ACCOUNT")
            .env_remove("SNM_PASSWORD_FILE")
            .env_remove("SNM_KEYSTORE_DIR")
            .stdin(Stdio::null());
        if let Some(key) = key {
            command.env("SNM_KEY", key_hex(key));
        }
        let output = command.output().await.unwrap();
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        println!(
            "$ snm {} {}\n{}{}[exit {:?}]",
            subcommand.join(" "),
            args.join(" "),
            run.stdout,
            run.stderr,
            run.code
        );
        run
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a program run printed, and its exit code.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts a successful run; returns its output.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "the program failed:\n{}{}", self.stdout, self.stderr);
        &self.stdout
    }

    /// Asserts a failed run (a non-zero exit code of `snm`'s, no panic); returns its error output.
    pub fn failed(&self) -> &str {
        assert!(
            matches!(self.code, Some(1..=8)),
            "the program should have failed with one of its exit codes:\n{}{}[exit {:?}]",
            self.stdout,
            self.stderr,
            self.code
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        &self.stderr
    }

    /// Asserts a failed run with exit code `code`; returns its error output.
    #[track_caller]
    pub fn failed_with(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "expected exit code {code}:\n{}{}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        &self.stderr
    }
}

/// A private key as `SNM_KEY` takes it: `0x` and 64 hex digits.
pub fn key_hex(key: &PrivateKeySigner) -> String {
    format!("0x{}", alloy::hex::encode(key.to_bytes()))
}

/// Asserts that `text` contains every one of `needles`.
#[track_caller]
pub fn assert_has(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
}

/// An amount as written (`"150 SNM"`, `"50.0123456789 SNM"`).
pub fn snm(text: &str) -> Snm {
    text.parse().unwrap()
}

/// Runs `snm` with `args` and `envs` only as its `SNM_*` environment, `HOME` set to `home` (so that
/// no user's keystores are read), stdin closed.
pub async fn run_snm(home: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_snm"));
    command.args(args).env("HOME", home).stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("SNM_") && name != "SNM_ANVIL" {
            command.env_remove(name);
        }
    }
    command.envs(envs.iter().copied());
    let output = command.output().await.unwrap();
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    println!("$ snm {}\n{}{}[exit {:?}]", args.join(" "), run.stdout, run.stderr, run.code);
    run
}

/// The JSON error document `snm --json` prints on stderr.
#[derive(Debug, serde::Deserialize)]
pub struct ErrorDocument {
    pub error: ErrorBody,
}

/// The body of [`ErrorDocument`].
#[derive(Debug, serde::Deserialize)]
pub struct ErrorBody {
    pub kind: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Run {
    /// The one JSON document on stdout, parsed.
    #[track_caller]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "expected exactly one JSON line on stdout:\n{}", self.stdout);
        serde_json::from_str(lines[0])
            .unwrap_or_else(|e| panic!("not the expected JSON ({e}):\n{}", self.stdout))
    }

    /// The JSON error on stderr, parsed; nothing on stdout.
    #[track_caller]
    pub fn json_error(&self) -> ErrorBody {
        assert!(self.stdout.is_empty(), "nothing on stdout expected:\n{}", self.stdout);
        let document: ErrorDocument = serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("not a JSON error ({e}):\n{}", self.stderr));
        document.error
    }
}

/// A fresh scratch directory `<tmp>/snm-<name>-<pid>`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The pinned `cast`.
pub fn cast() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../toolchain/.bin/cast")
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
