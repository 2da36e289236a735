//! Query strings read strictly: every parameter known, every value checked, and a 400 naming the
//! parameter otherwise.

use std::{collections::HashMap, str::FromStr};

use alloy::primitives::Address;
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use snm_sdk::units::{Bytes, NetFlags, Resources, Term, UsdPerSecond};

use crate::db::{AskFilter, PageAfter};

/// Most rows one page returns.
pub const MAX_LIMIT: usize = 1000;

/// A refused request: 400 (or 404, 500, 503) with `{"error": …, "parameter": …}`.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    /// What is wrong.
    error: String,
    /// The parameter at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<String>,
}

impl ApiError {
    /// A bad value of `parameter`.
    pub fn bad(parameter: &str, error: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error: error.into(), parameter: Some(parameter.to_owned()) }
    }

    /// Nothing at this path.
    pub fn not_found(error: impl Into<String>) -> Self {
        Self { status: StatusCode::NOT_FOUND, error: error.into(), parameter: None }
    }

    /// A service it depends on (the node) failed.
    pub fn unavailable(error: &dyn std::error::Error) -> Self {
        tracing::warn!(%error, "request failed");
        Self { status: StatusCode::SERVICE_UNAVAILABLE, error: error.to_string(), parameter: None }
    }

    /// The database failed.
    pub fn internal(error: &crate::IndexerError) -> Self {
        tracing::error!(%error, "request failed");
        Self { status: StatusCode::SERVICE_UNAVAILABLE, error: error.to_string(), parameter: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}

impl From<crate::IndexerError> for ApiError {
    fn from(error: crate::IndexerError) -> Self {
        Self::internal(&error)
    }
}

/// The parameters of one request, consumed as they are read; [`Params::finish`] refuses the rest.
#[derive(Debug)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// The pairs of a query string; a parameter given twice is refused.
    pub fn new(pairs: Vec<(String, String)>) -> Result<Self, ApiError> {
        let mut map = HashMap::new();
        for (key, value) in pairs {
            if map.contains_key(&key) {
                return Err(ApiError::bad(&key, format!("`{key}` is given more than once")));
            }
            map.insert(key, value);
        }
        Ok(Self(map))
    }

    /// Parameter `name` parsed as `T`, described as `expected` in the error.
    pub fn get<T: FromStr>(&mut self, name: &str, expected: &str) -> Result<Option<T>, ApiError> {
        match self.0.remove(name) {
            None => Ok(None),
            Some(value) => value
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad(name, format!("`{name}` is `{value}`; expected {expected}"))),
        }
    }

    /// A page size: 1 to [`MAX_LIMIT`], `default` when absent.
    pub fn limit(&mut self, default: usize) -> Result<usize, ApiError> {
        let expected = format!("a whole number from 1 to {MAX_LIMIT}");
        match self.get::<u64>("limit", &expected)? {
            None => Ok(default),
            Some(limit @ 1..=1000) => Ok(limit as usize),
            Some(limit) => Err(ApiError::bad("limit", format!("`limit` is {limit}; expected {expected}"))),
        }
    }

    /// An address parameter.
    pub fn address(&mut self, name: &str) -> Result<Option<Address>, ApiError> {
        self.get(name, "an address (0x and 40 hexadecimal digits)")
    }

    /// Refuses any parameter not read.
    pub fn finish(self) -> Result<(), ApiError> {
        let mut unknown: Vec<&String> = self.0.keys().collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(name) => Err(ApiError::bad(name, format!("unknown parameter `{name}`"))),
        }
    }
}

fn bytes(params: &mut Params, name: &str) -> Result<u64, ApiError> {
    let value: Option<Bytes> = params.get(name, "a size such as `32GiB` or a number of bytes")?;
    Ok(value.map_or(0, |b| u64::try_from(b.get()).unwrap_or(u64::MAX)))
}

/// The filter of `GET /v1/asks` and the page position.
pub(super) fn ask_filter(params: &mut Params) -> Result<(AskFilter, Option<PageAfter>), ApiError> {
    let whole = "a whole number";
    let cpu: Option<f64> = params.get("cpu_cores", "a number of cores such as `4` or `0.5`")?;
    let cpu_milli = match cpu {
        Some(cores) if (0.0..=1e12).contains(&cores) => (cores * 1000.0).ceil() as u64,
        Some(cores) => {
            return Err(ApiError::bad("cpu_cores", format!("`cpu_cores` is {cores}; expected 0 or more")));
        }
        None => 0,
    };
    let resources = Resources {
        cpu_milli_cores: cpu_milli,
        ram_bytes: bytes(params, "ram")?,
        storage_bytes: bytes(params, "storage")?,
        gpu_count: params.get("gpu_count", whole)?.unwrap_or(0),
        gpu_mem_bytes: bytes(params, "gpu_mem")?,
        net_up_bps: params.get("net_up_bps", whole)?.unwrap_or(0),
        net_down_bps: params.get("net_down_bps", whole)?.unwrap_or(0),
    };
    let flags: Option<NetFlags> = params.get("flags", "flags such as `PUBLIC_IP | INCOMING`")?;
    let max_price = match params.0.remove("max_price") {
        None => None,
        Some(text) => {
            let with_unit = if text.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
                format!("{} USD/h", text.trim())
            } else {
                text.clone()
            };
            Some(UsdPerSecond::parse_rounding_down(&with_unit).map_err(|_| {
                ApiError::bad(
                    "max_price",
                    format!(
                        "`max_price` is `{text}`; expected a price such as `0.9` (USD/h) or `0.00025 USD/s`"
                    ),
                )
            })?)
        }
    };
    let filter = AskFilter {
        resources,
        flags: flags.unwrap_or_else(NetFlags::empty),
        region: params.get("region", "a region code (a whole number)")?.unwrap_or(0),
        max_price,
        master: params.address("master")?,
        term: params.get::<Term>("term", "`spot` or a term such as `2h`")?,
        customer: params.address("customer")?,
        now: params.get("now", "a block time (seconds since 1970)")?,
    };
    let after = match params.0.remove("after") {
        None => None,
        Some(token) => Some(PageAfter::parse(&token).ok_or_else(|| {
            ApiError::bad("after", format!("`after` is `{token}`; expected the `next` of a previous page"))
        })?),
    };
    Ok((filter, after))
}
