//! `snm-indexer`: follows a marketplace deployment into SQLite or PostgreSQL and serves it over
//! HTTP (`/v1` JSON, `/v1/openapi.json`, the web page at `/`).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Parser;
use snm_indexer::{Database, Indexer, IndexerConfig, api};
use snm_sdk::{Deployment, events::default_confirmations, provider::connect_http_reader};

/// The SNM market data service: `snm-indexer --rpc URL --deployment FILE` follows the chain and
/// serves it; `snm-indexer register-round` adds a reward round's claims.
#[derive(Debug, Parser)]
#[command(name = "snm-indexer", version, subcommand_negates_reqs = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The node's JSON-RPC URL.
    #[arg(long, env = "SNM_RPC_URL", required = true)]
    rpc: Option<alloy::transports::http::reqwest::Url>,
    /// The deployment file (addresses, start block, chain id).
    #[arg(long, env = "SNM_DEPLOYMENT", required = true)]
    deployment: Option<PathBuf>,
    /// Where to store the index: `sqlite://FILE` (created when missing) or `postgres://…`.
    #[arg(long, env = "SNM_INDEXER_DATABASE", default_value = "sqlite://snm.db", global = true)]
    database: String,
    /// Address of the HTTP service.
    #[arg(long, default_value = "127.0.0.1:8680")]
    listen: SocketAddr,
    /// Blocks a block must have on top of it before it is applied (default: 0 on a devnet, 3
    /// elsewhere).
    #[arg(long)]
    confirmations: Option<u64>,
    /// Milliseconds between polls of the node when up to date.
    #[arg(long, default_value_t = 1000)]
    poll_interval_ms: u64,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Registers a reward round's claims (each account's cumulative amount and proof) from its
    /// OpenZeppelin `standard-v1` dump, for `GET /v1/claims/{account}`.
    RegisterRound {
        /// The round's number on the distributor.
        #[arg(long)]
        round: u64,
        /// The dump (`round-<N>.merkle.json`).
        dump: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Some(Command::RegisterRound { round, dump }) = &args.command {
        let db = Database::connect(&args.database)
            .await
            .with_context(|| format!("cannot open {}", args.database))?;
        let (tree, accounts) = snm_indexer::rounds::register_dump(&db, *round, dump).await?;
        println!("registered round {round}: {accounts} accounts, root {}", tree.root());
        db.close().await;
        return Ok(());
    }
    let (Some(rpc), Some(deployment)) = (args.rpc.clone(), args.deployment.clone()) else {
        anyhow::bail!("--rpc and --deployment are required to follow the chain");
    };
    let deployment = Deployment::from_file(&deployment)?;
    let provider = connect_http_reader(rpc.clone());
    let chain_id = alloy::providers::Provider::get_chain_id(&provider)
        .await
        .with_context(|| format!("cannot reach the node at {rpc}"))?;
    deployment.verify(&provider).await.context("the deployment does not match the node")?;
    let db =
        Database::connect(&args.database).await.with_context(|| format!("cannot open {}", args.database))?;
    let mut config =
        IndexerConfig::new(deployment, args.confirmations.unwrap_or(default_confirmations(chain_id)));
    config.poll_interval = Duration::from_millis(args.poll_interval_ms);
    let market = config.deployment.market;
    let indexer = Indexer::new(provider.clone(), db.clone(), config).await?;
    let relay = api::Relay::new(provider, chain_id, market);
    // Signed asks whose nonce moved on or that expired are dropped about once per poll.
    tokio::spawn(relay.clone().run(db.clone(), Duration::from_millis(args.poll_interval_ms)));
    let state = api::AppState { db: db.clone(), health: indexer.health(), relay: Some(relay) };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    println!("snm-indexer: serving http://{address}/ (API http://{address}/v1, database {})", args.database);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(async move {
        let mut stopped = stopped;
        indexer.run(async move { while stopped.changed().await.is_ok() && !*stopped.borrow() {} }).await
    });
    let server = axum::serve(listener, api::router(state)).with_graceful_shutdown(shutdown_signal());
    tokio::select! {
        served = server => served.context("the HTTP service failed")?,
        followed = follower => {
            // The follower only ends on a database failure: stop serving stale data.
            followed.context("the follower panicked")?.context("ingestion stopped")?;
        }
    }
    let _ = stop.send(true);
    db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut terminate) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = interrupt.await;
}
