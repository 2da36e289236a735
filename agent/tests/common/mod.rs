//! What the agent's test binaries share.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)] // test support code

use alloy::providers::DynProvider;
use snm_sdk::Client;

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
