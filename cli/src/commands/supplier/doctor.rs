//! `snm supplier doctor`: checks what a supplier's agent needs, one line each, `ok` or `FAIL` with
//! the fix: the RPC endpoint, the chain id against the deployment, contract code at the
//! deployment's addresses, the account and its gas, each worker's link to the master, the
//! workload's program, the agent's state file. It fails (exit 1) when any check fails.

use std::{fmt, path::PathBuf};

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
};
use serde::Serialize;
use snm_agent::AgentConfig;
use snm_sdk::{Deployment, provider};

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Checks a supplier's setup.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The agent's configuration (its workers, workload command and state file are checked).
    #[arg(long)]
    config: Option<PathBuf>,
    /// A worker to check the link of (besides the configuration's).
    #[arg(long)]
    worker: Vec<Address>,
    #[command(flatten)]
    chain: ChainArgs,
}

/// One check.
#[derive(Debug, Serialize)]
pub(super) struct Check {
    /// What was checked.
    check: String,
    /// Whether it passed.
    ok: bool,
    /// What was found.
    detail: String,
    /// What to do when it failed.
    fix: Option<String>,
}

/// Every check, in order.
#[derive(Debug, Serialize)]
struct Report {
    checks: Vec<Check>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            let mark = if check.ok { "ok  " } else { "FAIL" };
            writeln!(f, "{mark}  {:<14} {}", check.check, check.detail)?;
            if let Some(fix) = &check.fix {
                writeln!(f, "      {:<14} fix: {fix}", "")?;
            }
        }
        Ok(())
    }
}

fn pass(check: &str, detail: impl Into<String>) -> Check {
    Check { check: check.to_owned(), ok: true, detail: detail.into(), fix: None }
}

fn fail(check: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check { check: check.to_owned(), ok: false, detail: detail.into(), fix: Some(fix.into()) }
}

/// Runs the checks and prints them; fails when one failed.
pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    let checks = checks(args).await;
    let failed = checks.iter().filter(|check| !check.ok).count();
    frame.emit(&Report { checks })?;
    if failed > 0 {
        return Err(CliError::Check { message: format!("{failed} check(s) failed (fixes above)") });
    }
    Ok(())
}

async fn checks(args: &Args) -> Vec<Check> {
    let mut checks = Vec::new();
    let Ok(url) = args.chain.url() else {
        checks.push(fail("rpc", format!("`{}` is not a URL", args.chain.rpc), "pass --rpc http://HOST:PORT"));
        return checks;
    };
    let reader = provider::connect_http_reader(url);
    let chain_id = match reader.get_chain_id().await {
        Ok(id) => {
            checks.push(pass("rpc", format!("{} answers, chain {id}", args.chain.rpc)));
            id
        }
        Err(error) => {
            checks.push(fail(
                "rpc",
                format!("{}: {error}", args.chain.rpc),
                "start the node or pass the right --rpc",
            ));
            return checks;
        }
    };
    let deployment = match args.chain.deployment(&reader).await {
        Ok(deployment) => deployment,
        Err(error) => {
            checks.push(fail("deployment", error.to_string(), "pass --deployment FILE of this chain"));
            return checks;
        }
    };
    match deployment.chain_id {
        Some(expected) if expected != chain_id => checks.push(fail(
            "chain id",
            format!("the deployment is of chain {expected}, the node serves {chain_id}"),
            "pass the deployment file of this chain, or the RPC of its chain",
        )),
        _ => checks.push(pass("chain id", format!("{chain_id} matches the deployment"))),
    }
    checks.extend(code_checks(&reader, &deployment).await);

    let account = match args.chain.reader() {
        Ok(address) if address != Address::ZERO => {
            checks.push(pass("account", format!("master {address}")));
            Some(address)
        }
        Ok(_) => {
            checks.push(fail(
                "account",
                "no account given",
                "pass --account NAME (snm wallet new NAME creates one)",
            ));
            None
        }
        Err(error) => {
            checks.push(fail("account", error.to_string(), "check --account and --password-file"));
            None
        }
    };
    if let Some(master) = account {
        match reader.get_balance(master).await {
            Ok(balance) if balance > U256::ZERO => checks.push(pass("gas", format!("{balance} wei for gas"))),
            Ok(_) => checks.push(fail(
                "gas",
                format!("{master} has no ether for gas"),
                format!("send ether to {master}"),
            )),
            Err(error) => checks.push(fail("gas", error.to_string(), "check the node")),
        }
    }

    let config = match &args.config {
        Some(path) => match AgentConfig::from_file(path) {
            Ok(config) => {
                checks.push(pass("config", format!("{} reads", path.display())));
                Some(config)
            }
            Err(error) => {
                checks.push(fail(
                    "config",
                    error.to_string(),
                    "fix the configuration file (see agent/config/agent.toml)",
                ));
                None
            }
        },
        None => None,
    };
    let mut workers = args.worker.clone();
    if let Some(config) = &config {
        workers.extend(config.workers.iter().map(|worker| worker.address));
    }
    if let Some(master) = account {
        let client = snm_sdk::Client::new(reader.clone(), deployment, master);
        let market = client.market();
        for worker in workers {
            let link = tokio::try_join!(market.master_of(worker), market.pending_master_of(worker));
            checks.push(match link {
                Ok((Some(m), _)) if m == master => pass("worker", format!("{worker} belongs to {master}")),
                Ok((Some(other), _)) => fail(
                    "worker",
                    format!("{worker} belongs to another master, {other}"),
                    format!("{other} removes it: snm supplier worker remove {worker}"),
                ),
                Ok((None, Some(pending))) if pending == master => fail(
                    "worker",
                    format!("{worker} asked to join, not confirmed"),
                    format!("snm supplier worker confirm {worker} --account <master>"),
                ),
                Ok(_) => fail(
                    "worker",
                    format!("{worker} is not linked to {master}"),
                    format!(
                        "on the machine: snm supplier worker request --master {master} --account <worker>"
                    ),
                ),
                Err(error) => fail("worker", error.to_string(), "check the node"),
            });
        }
    }
    if let Some(config) = &config {
        checks.push(runtime_check(config));
        checks.push(if config.state.exists() {
            pass("agent state", format!("{} (the agent resumes from it)", config.state.display()))
        } else {
            pass("agent state", format!("none yet at {} (the agent starts fresh)", config.state.display()))
        });
    }
    checks
}

async fn code_checks(reader: &DynProvider, deployment: &Deployment) -> Vec<Check> {
    let mut contracts =
        vec![("token", deployment.token), ("oracle", deployment.oracle), ("market", deployment.market)];
    if let Some(distributor) = deployment.distributor {
        contracts.push(("distributor", distributor));
    }
    let mut checks = Vec::new();
    for (name, address) in contracts {
        let label = format!("{name} code");
        checks.push(match reader.get_code_at(address).await {
            Ok(code) if !code.is_empty() => pass(&label, format!("at {address}")),
            Ok(_) => {
                fail(&label, format!("no contract at {address}"), "pass the deployment file of this chain")
            }
            Err(error) => fail(&label, error.to_string(), "check the node"),
        });
    }
    checks
}

fn runtime_check(config: &AgentConfig) -> Check {
    let Some(program) = config.command.first() else {
        return fail(
            "runtime",
            "the configuration names no workload command",
            "set `command` in the configuration",
        );
    };
    let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(program)));
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(program)).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = std::iter::once(PathBuf::from(program))
        .filter(|p| p.components().count() > 1)
        .chain(beside)
        .chain(on_path)
        .find(|candidate| candidate.is_file());
    match found {
        Some(path) => pass("runtime", format!("{program} found at {}", path.display())),
        None => fail(
            "runtime",
            format!("{program} is not installed"),
            format!("install {program} (or fix `command`)"),
        ),
    }
}
