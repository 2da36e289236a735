//! `snm campaign serve`: the operator's application endpoint. `POST /v1/applications` takes a
//! signed application (JSON), checks it against the campaign and the applications before it, and
//! stores it in the applications file (synced before the answer, so a restart loses nothing it
//! acknowledged), or refuses it with the reason; `GET /v1/applications` lists them in order.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use axum::{
    Json, Router,
    body::Bytes as Body,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Serialize;
use snm_sdk::rewards::{
    APPLICATIONS_PATH, Application, ApplicationBook, ApplicationError, ApplicationList, ApplicationReceipt,
    ApplicationRefusal, Campaign, RefusalReason,
};
use tokio::sync::Mutex;

use crate::{campaign::CampaignError, error::CliError, output::Frame, units::plural};

/// The campaign, the address, the file.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The campaign file (TOML): applications are for its `id`.
    #[arg(long)]
    campaign: PathBuf,
    /// Where to listen, as IP:PORT (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8650")]
    listen: SocketAddr,
    /// The applications file (JSON lines, created when missing): every stored application is
    /// checked again at start, and each accepted one appended to it.
    #[arg(long)]
    applications: PathBuf,
}

/// The endpoint is up.
#[derive(Debug, Serialize)]
struct Serving {
    campaign: String,
    /// Where applications are posted and listed.
    url: String,
    /// How many are stored already.
    applications: usize,
    file: PathBuf,
}

impl std::fmt::Display for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "serving applications for {} at {} ({} in {} so far); Ctrl-C stops",
            self.campaign,
            self.url,
            plural(self.applications, "application"),
            self.file.display()
        )
    }
}

type Book = Arc<Mutex<ApplicationBook>>;

/// Serves the campaign's application endpoint until SIGTERM or Ctrl-C.
pub(super) async fn run(args: Args, frame: Frame) -> Result<(), CliError> {
    let campaign = Campaign::from_toml_file(&args.campaign).map_err(CampaignError::from)?;
    let path = args.applications.clone();
    let id = campaign.id.clone();
    let book = tokio::task::spawn_blocking(move || ApplicationBook::open(&path, &id))
        .await
        .map_err(|e| CampaignError::Serve(std::io::Error::other(e)))?
        .map_err(CampaignError::from)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| CampaignError::Listen { addr: args.listen, source })?;
    let addr = listener.local_addr().map_err(|source| CampaignError::Listen { addr: args.listen, source })?;
    frame.event(&Serving {
        campaign: campaign.id.clone(),
        url: format!("http://{addr}{APPLICATIONS_PATH}"),
        applications: book.applications().len(),
        file: args.applications,
    })?;
    let router =
        Router::new().route(APPLICATIONS_PATH, get(list).post(submit)).with_state(Arc::new(Mutex::new(book)));
    axum::serve(listener, router)
        .with_graceful_shutdown(crate::signal::stop())
        .await
        .map_err(CampaignError::Serve)?;
    Ok(())
}

async fn list(State(book): State<Book>) -> Json<ApplicationList> {
    let book = book.lock().await;
    Json(ApplicationList { campaign: book.campaign().to_owned(), applications: book.applications().to_vec() })
}

async fn submit(State(book): State<Book>, body: Body) -> Response {
    let application: Application = match serde_json::from_slice(&body) {
        Ok(application) => application,
        Err(e) => return refuse(RefusalReason::Malformed, format!("not an application: {e}")),
    };
    let master = application.master;
    let workers = application.workers.len();
    // One application at a time, in the order the lock is taken: that order is the file's.
    let mut book = book.lock_owned().await;
    let stored = tokio::task::spawn_blocking(move || {
        book.submit(application).map(|()| (book.campaign().to_owned(), book.applications().len()))
    })
    .await;
    match stored {
        Ok(Ok((campaign, position))) => {
            tracing::info!(%master, position, "application accepted");
            (StatusCode::CREATED, Json(ApplicationReceipt { campaign, master, workers, position }))
                .into_response()
        }
        Ok(Err(error)) => {
            tracing::info!(%master, %error, "application refused");
            refusal(&error)
        }
        Err(join) => refuse(RefusalReason::Unavailable, format!("the store failed: {join}")),
    }
}

fn refusal(error: &ApplicationError) -> Response {
    refuse(RefusalReason::of(error), error.to_string())
}

fn refuse(reason: RefusalReason, message: String) -> Response {
    let status =
        if reason.is_applicants() { StatusCode::BAD_REQUEST } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(ApplicationRefusal { reason, message })).into_response()
}
