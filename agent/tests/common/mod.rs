//! What the agent's test binaries share.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)] // test support code

use std::path::{Path, PathBuf};

use alloy::{primitives::Address, providers::DynProvider, signers::local::PrivateKeySigner};
use snm_sdk::{Client, Supplier, devnet::Devnet, units::Snm};

/// A test's own folder under the temporary directory, emptied when made and removed when dropped.
pub struct Dir(pub PathBuf);

impl Dir {
    /// `snm-<name>-<pid>` under the temporary directory, empty.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("snm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An agent configuration in TOML: one worker on 127.0.0.1 with one ask, workloads run by
/// `command`, the state and usage report in the configuration's folder.
pub fn agent_toml(worker: &Client<DynProvider>, command: &[String], poll_every: &str) -> String {
    format!(
        r#"state = "state.json"
usage_report = "usage.csv"
poll_every = "{poll_every}"
settle_every = "1h"
[runtime]
command = {command}
dir = "workloads"
[[worker]]
address = "{worker}"
ip = "127.0.0.1"
[[ask]]
worker = "{worker}"
price = "0.9 USD/h"
cpu_milli_cores = 1000
flags = "PUBLIC_IP | INCOMING"
"#,
        // A JSON array of strings is a TOML array too.
        command = serde_json::to_string(command).unwrap(),
        worker = worker.sender(),
    )
}

/// A supplier with one worker, both without SNM; the test binaries add what they offer.
pub struct Seller {
    /// The master's key.
    pub key: PrivateKeySigner,
    /// The master.
    pub supplier: Supplier<DynProvider>,
    /// Its confirmed worker.
    pub worker: Address,
}

impl Seller {
    /// A new master on `devnet` with a new worker linked to it.
    pub async fn new(devnet: &Devnet) -> Self {
        let key = devnet.new_account(Snm::ZERO).await.unwrap();
        let supplier = Supplier::new(devnet.connect(&key));
        let worker = devnet.connect(&devnet.new_account(Snm::ZERO).await.unwrap());
        supplier.register_worker(&worker).await.unwrap();
        Self { key, supplier, worker: worker.sender() }
    }
}

/// A workload program in `dir`: it writes its stats file (its first argument) with an endpoint,
/// then runs until killed.
pub fn workload_program(dir: &Path) -> PathBuf {
    let program = dir.join("workload.sh");
    std::fs::write(
        &program,
        "#!/bin/sh\necho '{\"bytes\": 0, \"listen\": \"127.0.0.1:9\"}' > \"$1\"\nexec sleep 600\n",
    )
    .unwrap();
    std::fs::set_permissions(&program, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    program
}
