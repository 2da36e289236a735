//! `snm agent run --config FILE`: runs `snm-agent` (installed next to `snm`, or on `PATH`) as the
//! account given to `snm` (`--account` and its password, or `--private-key-env`). The key reaches
//! the agent in its environment (`SNM_KEY`), never on its command line, where other users could
//! read it. Without `--json` the agent replaces this process; with `--json` each line it prints
//! becomes a JSON line `{"event": …}` and SIGTERM or Ctrl-C stops it.

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::Stdio,
};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{chain::ChainArgs, error::CliError, output::Frame};

/// Runs the supplier agent.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The agent's configuration file (TOML, see `snm_agent::config`).
    #[arg(long)]
    config: PathBuf,
    /// How deep a block must be before the agent reads its events (default: the configuration's).
    #[arg(long)]
    confirmations: Option<u64>,
    #[command(flatten)]
    chain: ChainArgs,
}

/// A line the agent printed.
#[derive(Debug, Serialize)]
struct AgentEvent {
    event: String,
}

impl std::fmt::Display for AgentEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.event)
    }
}

/// The `snm-agent` program: next to this one, else on `PATH`.
fn agent_program() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("snm-agent")))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("snm-agent"))
}

pub(super) async fn run(args: &Args, frame: Frame) -> Result<(), CliError> {
    if !args.config.is_file() {
        return Err(CliError::NotFound {
            what: format!("no agent configuration at {}", args.config.display()),
        });
    }
    let signer = args.chain.signer()?;
    // The deployment as snm resolved it (a file, or the committed one), checked against the node.
    let client = args.chain.connect_read_only().await?;
    let deployment_file = match &args.chain.deployment {
        Some(path) => path.clone(),
        None => {
            let path = std::env::temp_dir().join(format!("snm-agent-deployment-{}.json", std::process::id()));
            client.deployment().write_file(&path).map_err(|e| CliError::Sdk(e.into()))?;
            path
        }
    };
    let mut command = std::process::Command::new(agent_program());
    command
        .arg("--rpc")
        .arg(&args.chain.rpc)
        .arg("--deployment")
        .arg(&deployment_file)
        .env("SNM_KEY", format!("0x{}", alloy::hex::encode(signer.to_bytes())))
        .env_remove("SNM_MARKET");
    if let Some(confirmations) = args.confirmations {
        command.arg("--confirmations").arg(confirmations.to_string());
    }
    command.arg("run").arg("--config").arg(&args.config);
    if !frame.is_json() {
        let error = command.exec();
        return Err(spawn_error(&agent_program(), error));
    }
    follow_as_json(command, frame).await
}

async fn follow_as_json(command: std::process::Command, frame: Frame) -> Result<(), CliError> {
    let program = agent_program();
    let mut child = tokio::process::Command::from(command)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| spawn_error(&program, error))?;
    let stdout =
        child.stdout.take().ok_or_else(|| CliError::Check { message: "the agent has no output".into() })?;
    let mut lines = BufReader::new(stdout).lines();
    let stop = crate::signal::stop();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            line = lines.next_line() => match line.map_err(|error| CliError::Output(error.into()))? {
                Some(event) => frame.event(&AgentEvent { event })?,
                None => break,
            },
            () = &mut stop => {
                if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
                }
                while let Ok(Some(event)) = lines.next_line().await {
                    frame.event(&AgentEvent { event })?;
                }
                break;
            }
        }
    }
    let status = child.wait().await.map_err(|error| spawn_error(&program, error))?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError::Check { message: format!("the agent stopped: {status}") })
    }
}

fn spawn_error(program: &Path, source: std::io::Error) -> CliError {
    CliError::File { path: program.to_owned(), source }
}
