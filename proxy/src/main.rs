//! `snm-proxy`: the metered HTTP CONNECT proxy a supplier's agent starts for each proxy deal (see
//! the library's documentation). It stops on SIGTERM or Ctrl-C, writing its final byte counts.
//!
//! It serves TLS with a self-signed certificate made at start (kept in `--tls-dir` and shown
//! again by the next start there, or `--cert`/`--key` PEM files) and
//! prints the endpoint customers pin (`ip:port#sha256=<certificate fingerprint>`); tunnels reach
//! public addresses only, plus the ranges given with `--allow` (repeatable).
//!
//! ```text
//! snm-proxy --listen 127.0.0.1:0 --stats deal-7.json [--deal 7] [--auth-hash 0x…] \
//!     [--allow 127.0.0.1/32 …] [--cert cert.pem --key key.pem | --tls-dir DIR]
//! ```

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use alloy::primitives::B256;
use snm_proxy::{Proxy, ProxyConfig, policy::DestinationPolicy, tls::TlsSource};
use tokio::sync::watch;

const USAGE: &str = "usage: snm-proxy --listen <ip:port> --stats <file> [--deal <id>] [--auth-hash <0x…32 bytes>] \
     [--allow <cidr>]… [--cert <pem> --key <pem> | --tls-dir <dir>]";

fn parse_args() -> Result<ProxyConfig, String> {
    let mut listen: Option<SocketAddr> = None;
    let mut stats: Option<PathBuf> = None;
    let mut deal = 0u64;
    let mut auth_hash = None;
    let mut allow = Vec::new();
    let (mut cert, mut key, mut tls_dir) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--listen" => {
                let v = value()?;
                listen = Some(v.parse().map_err(|e| format!("--listen `{v}`: {e}"))?);
            }
            "--stats" => stats = Some(PathBuf::from(value()?)),
            "--deal" => {
                let v = value()?;
                deal = v.parse().map_err(|e| format!("--deal `{v}`: {e}"))?;
            }
            "--auth-hash" => {
                let v = value()?;
                auth_hash = Some(v.parse::<B256>().map_err(|e| format!("--auth-hash `{v}`: {e}"))?);
            }
            "--allow" => {
                let v = value()?;
                allow.push(v.parse().map_err(|e| format!("--allow: {e}"))?);
            }
            "--cert" => cert = Some(PathBuf::from(value()?)),
            "--key" => key = Some(PathBuf::from(value()?)),
            "--tls-dir" => tls_dir = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let tls = match (cert, key, tls_dir) {
        (None, None, None) => TlsSource::SelfSigned,
        (None, None, Some(dir)) => TlsSource::Kept { dir },
        (Some(cert), Some(key), None) => TlsSource::Files { cert, key },
        (_, _, Some(_)) => return Err(format!("--tls-dir goes without --cert and --key\n{USAGE}")),
        _ => return Err(format!("--cert and --key go together\n{USAGE}")),
    };
    Ok(ProxyConfig {
        listen: listen.ok_or_else(|| format!("--listen is required\n{USAGE}"))?,
        stats: stats.ok_or_else(|| format!("--stats is required\n{USAGE}"))?,
        deal,
        auth_hash,
        policy: DestinationPolicy::allowing(allow),
        tls,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    // Warnings (why a target was unreachable) to stderr, which the agent keeps in the deal's log.
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).init();
    let config = match parse_args() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let stats_path = config.stats.clone();
    let proxy = match Proxy::bind(config).await {
        Ok(proxy) => proxy,
        Err(error) => {
            eprintln!("snm-proxy: cannot start ({}): {error}", stats_path.display());
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = proxy.local_addr() {
        println!("snm-proxy: listening on {addr}#sha256={}", proxy.fingerprint());
    }
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        stop_signal().await;
        let _ = stop.send(true);
    });
    match proxy.run(stopped).await {
        Ok(stats) => {
            println!("snm-proxy: stopped after {} bytes in {} tunnels", stats.total_bytes(), stats.tunnels);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("snm-proxy: {}: {error}", stats_path.display());
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
async fn stop_signal() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
