//! The HTTP service: `/v1` JSON (described by `/v1/openapi.json`) and the web page at `/`.

mod page;
mod params;
mod signed_asks;

use axum::{
    Json, Router,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
pub use params::{ApiError, MAX_LIMIT, Params};
pub use signed_asks::{Relay, RelayError};

use crate::{Database, Health};

/// The OpenAPI description served at `/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route the router serves, as written in [`OPENAPI`] (`{name}` for path parameters).
pub const ROUTES: [&str; 11] = [
    "/v1/asks",
    "/v1/bids",
    "/v1/deals",
    "/v1/deals/{id}",
    "/v1/suppliers/{master}",
    "/v1/stats",
    "/v1/campaigns/{id}/rounds",
    "/v1/claims/{account}",
    "/v1/health",
    "/v1/openapi.json",
    "/",
];

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub db: Database,
    /// The follower's health.
    pub health: Health,
    /// The relay of signed asks (`POST /v1/asks`); `None`: not relayed.
    pub relay: Option<Relay>,
}

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn params(query: Pairs) -> Result<Params, ApiError> {
    let Query(pairs) = query.map_err(|rejection| ApiError::bad("query", rejection.body_text()))?;
    Params::new(pairs)
}

/// The router of the whole service.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(ROUTES[0], get(asks).post(signed_asks::post))
        .route(ROUTES[1], get(bids))
        .route(ROUTES[2], get(deals))
        .route(ROUTES[3], get(deal))
        .route(ROUTES[4], get(supplier))
        .route(ROUTES[5], get(stats))
        .route(ROUTES[6], get(rounds))
        .route(ROUTES[7], get(claim))
        .route(ROUTES[8], get(health))
        .route(ROUTES[9], get(openapi))
        .route(ROUTES[10], get(page::page))
        .fallback(|| async { ApiError::not_found("no such route; see /v1/openapi.json") })
        .with_state(state)
}

async fn asks(State(state): State<AppState>, query: Pairs) -> Result<Response, ApiError> {
    let mut params = params(query)?;
    let (filter, after) = params::ask_filter(&mut params)?;
    let limit = params.limit(100)?;
    params.finish()?;
    let mut page = state.db.asks(&filter, after.as_ref(), limit).await?;
    if after.is_none() {
        let now = match filter.now {
            Some(now) => now,
            None => state.db.indexed_block().await?.and_then(|(_, time)| time).unwrap_or(0),
        };
        page.signed_asks = state.db.signed_asks(&filter, now, limit).await?;
    }
    Ok(Json(page).into_response())
}

async fn bids(State(state): State<AppState>, query: Pairs) -> Result<Response, ApiError> {
    let mut params = params(query)?;
    let customer = params.address("customer")?;
    let after = params.get::<u64>("after", "the `next` of a previous page")?;
    let limit = params.limit(100)?;
    params.finish()?;
    Ok(Json(state.db.bids(customer, after, limit).await?).into_response())
}

async fn deals(State(state): State<AppState>, query: Pairs) -> Result<Response, ApiError> {
    let mut params = params(query)?;
    let customer = params.address("customer")?;
    let master = params.address("master")?;
    let status: Option<String> = params.get("status", "`open` or `closed`")?;
    if let Some(status) = &status
        && status != "open"
        && status != "closed"
    {
        return Err(ApiError::bad("status", format!("`status` is `{status}`; expected `open` or `closed`")));
    }
    let limit = params.limit(100)?;
    params.finish()?;
    Ok(Json(state.db.deals(customer, master, status.as_deref(), limit).await?).into_response())
}

fn path_value<T: std::str::FromStr>(name: &str, value: &str, expected: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| ApiError::bad(name, format!("`{name}` is `{value}`; expected {expected}")))
}

async fn deal(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Pairs,
) -> Result<Response, ApiError> {
    params(query)?.finish()?;
    let id: u64 = path_value("id", &id, "a deal id (a whole number)")?;
    match state.db.deal(id).await? {
        Some(deal) => Ok(Json(deal).into_response()),
        None => Err(ApiError::not_found(format!("no deal {id}"))),
    }
}

async fn supplier(
    State(state): State<AppState>,
    Path(master): Path<String>,
    query: Pairs,
) -> Result<Response, ApiError> {
    params(query)?.finish()?;
    let master = path_value("master", &master, "an address (0x and 40 hexadecimal digits)")?;
    Ok(Json(state.db.supplier(master).await?).into_response())
}

async fn stats(State(state): State<AppState>, query: Pairs) -> Result<Response, ApiError> {
    params(query)?.finish()?;
    Ok(Json(state.db.stats().await?).into_response())
}

async fn rounds(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Pairs,
) -> Result<Response, ApiError> {
    params(query)?.finish()?;
    // One distributor is one campaign: its id is 0 (or the distributor's address).
    if id != "0" {
        return Err(ApiError::not_found(format!(
            "no campaign `{id}`; this indexer follows campaign 0 (its distributor)"
        )));
    }
    Ok(Json(state.db.rounds().await?).into_response())
}

async fn claim(
    State(state): State<AppState>,
    Path(account): Path<String>,
    query: Pairs,
) -> Result<Response, ApiError> {
    params(query)?.finish()?;
    let account = path_value("account", &account, "an address (0x and 40 hexadecimal digits)")?;
    match state.db.claim(account).await? {
        Some(claim) => Ok(Json(claim).into_response()),
        None => Err(ApiError::not_found(format!("no registered round entitles {account}"))),
    }
}

async fn health(State(state): State<AppState>) -> Response {
    let mut view = state.health.view();
    if let Err(error) = state.db.indexed_block().await {
        view.status = "database_unreachable".into();
        view.last_error = Some(error.to_string());
    }
    Json(view).into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
