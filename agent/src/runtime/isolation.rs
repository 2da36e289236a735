//! Keeps deals' containers off the supplier's own network.
//!
//! The containers join a bridge of their own (its interface named after the network), made with
//! `com.docker.network.bridge.enable_icc=false` so that containers of different deals cannot talk.
//! Two kinds of iptables rules, installed once and checked at every start of the agent:
//!
//! - `INPUT`: a connection the container opens to the machine itself (any of its addresses: the
//!   bridge's gateway, a LAN address, a `169.254.169.254` metadata address, services bound to
//!   `0.0.0.0`) is dropped; replies to connections coming in (the published ports) pass.
//! - `DOCKER-USER` (the chain Docker leaves to the administrator, before its own forwarding
//!   rules): a connection from the bridge to private, shared, link-local or loopback ranges
//!   elsewhere is dropped, so the LAN and cloud metadata endpoints are out of reach; the public
//!   internet stays reachable, and the published ports come in as Docker sets them up.

use std::process::Command;

use super::RuntimeError;

/// Destinations a container must never open a connection to (RFC 1918, shared address space,
/// link-local with cloud metadata, loopback, and the "this network" block).
pub const BLOCKED_RANGES: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "127.0.0.0/8",
    "0.0.0.0/8",
];

/// The rules (chain, then match and target), in the order they must apply.
fn rules(bridge: &str) -> Vec<(&'static str, Vec<String>)> {
    let established = |chain| {
        (chain, vec!["-i", bridge, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"])
    };
    let mut rules = vec![
        established("INPUT"),
        ("INPUT", vec!["-i", bridge, "-j", "DROP"]),
        (
            "DOCKER-USER",
            vec!["-i", bridge, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
        ),
    ];
    for range in BLOCKED_RANGES {
        rules.push(("DOCKER-USER", vec!["-i", bridge, "-d", range, "-j", "DROP"]));
    }
    rules.into_iter().map(|(chain, rule)| (chain, rule.into_iter().map(str::to_owned).collect())).collect()
}

fn iptables(args: &[String]) -> Result<bool, RuntimeError> {
    let output = Command::new("iptables").args(["-w", "5"]).args(args).output().map_err(|source| {
        RuntimeError::Isolation { rule: args.join(" "), reason: format!("cannot run iptables: {source}") }
    })?;
    Ok(output.status.success())
}

/// Installs the rules for the bridge interface `bridge` (each once: a rule already there is
/// left alone). The rules of a chain are inserted at its top, last first, so that they apply in
/// order and before anything else in the chain.
pub fn install(bridge: &str) -> Result<(), RuntimeError> {
    let rules = rules(bridge);
    for chain in ["INPUT", "DOCKER-USER"] {
        let chain_rules: Vec<&Vec<String>> =
            rules.iter().filter(|(c, _)| *c == chain).map(|(_, rule)| rule).collect();
        for rule in chain_rules.iter().rev() {
            let mut check = vec!["-C".to_owned(), chain.to_owned()];
            check.extend(rule.iter().cloned());
            if iptables(&check)? {
                continue;
            }
            let mut insert = vec!["-I".to_owned(), chain.to_owned(), "1".to_owned()];
            insert.extend(rule.iter().cloned());
            if !iptables(&insert)? {
                return Err(RuntimeError::Isolation {
                    rule: insert.join(" "),
                    reason:
                        "iptables refused it (is the agent root, and is Docker's DOCKER-USER chain there?)"
                            .into(),
                });
            }
        }
    }
    Ok(())
}
