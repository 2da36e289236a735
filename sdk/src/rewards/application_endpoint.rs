//! The operator's application endpoint over HTTP: what `POST /v1/applications` answers (an
//! application's receipt, or its refusal with the reason), what `GET /v1/applications` lists, and
//! the client that sends an application there. The server keeps the applications in an
//! [`ApplicationBook`](super::ApplicationBook), which checks and stores each one before it is
//! acknowledged.

use alloy::{primitives::Address, transports::http::reqwest};
use serde::{Deserialize, Serialize};

use super::{admission_error::ApplicationError, application::Application};

/// The path applications are posted to, and listed at.
pub const APPLICATIONS_PATH: &str = "/v1/applications";

/// What the endpoint answers to an accepted application (HTTP 201).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationReceipt {
    /// The campaign's id.
    pub campaign: String,
    /// The master who applied.
    pub master: Address,
    /// How many workers it applied with.
    pub workers: usize,
    /// Its 1-based position in application order (the order `admit --count` follows).
    pub position: usize,
}

/// Why an application was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// The body is not an application (not JSON, or fields missing or unknown).
    Malformed,
    /// The signature is malformed, or by someone other than the master (forged or altered).
    ForgedSignature,
    /// The application is for another campaign.
    WrongCampaign,
    /// The master applied before.
    Duplicate,
    /// An IP is claimed by another account's earlier application.
    IpClaimed,
    /// The application is invalid on its own (no worker, an IP twice or not canonical, the zero
    /// address).
    Invalid,
    /// The operator could not store it (its disk): nothing was stored, send it again later.
    Unavailable,
}

impl RefusalReason {
    /// The reason `error` gives, as the endpoint reports it.
    pub fn of(error: &ApplicationError) -> Self {
        match error {
            ApplicationError::BadSignature { .. } | ApplicationError::NotSignedByMaster { .. } => {
                Self::ForgedSignature
            }
            ApplicationError::WrongCampaign { .. } => Self::WrongCampaign,
            ApplicationError::AlreadyApplied { .. } => Self::Duplicate,
            ApplicationError::IpClaimed { .. } => Self::IpClaimed,
            ApplicationError::Io { .. } | ApplicationError::Sign(_) => Self::Unavailable,
            ApplicationError::Json { .. } => Self::Malformed,
            _ => Self::Invalid,
        }
    }

    /// Whether the application itself is at fault (HTTP 400), rather than the operator (503).
    pub fn is_applicants(self) -> bool {
        self != Self::Unavailable
    }
}

impl std::fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed",
            Self::ForgedSignature => "forged signature",
            Self::WrongCampaign => "wrong campaign",
            Self::Duplicate => "duplicate",
            Self::IpClaimed => "IP claimed",
            Self::Invalid => "invalid",
            Self::Unavailable => "unavailable",
        })
    }
}

/// What the endpoint answers to a refused application (HTTP 400, or 503 when the operator could
/// not store it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationRefusal {
    /// Why, in a word.
    pub reason: RefusalReason,
    /// Why, naming the account, the IP or the owner (the [`ApplicationError`]'s text).
    pub message: String,
}

/// What `GET /v1/applications` lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationList {
    /// The campaign's id.
    pub campaign: String,
    /// Every application accepted, in application order.
    pub applications: Vec<Application>,
}

/// An application endpoint that could not be reached, or refused the application.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The endpoint's URL with the path cannot be formed, or the request failed (connection,
    /// timeout).
    #[error("{url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The application could not be written as JSON.
    #[error("cannot write the application as JSON: {0}")]
    Encode(#[source] serde_json::Error),
    /// The endpoint refused the application, with its reason.
    #[error("{url} refused the application ({reason}): {message}")]
    Refused {
        /// The URL.
        url: String,
        /// Why, in a word.
        reason: RefusalReason,
        /// Why, as the endpoint says it.
        message: String,
    },
    /// The endpoint answered something that is neither a receipt nor a refusal.
    #[error("{url} answered HTTP {status}, not an application endpoint's answer: {body}")]
    Unexpected {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
}

/// The applications URL of an endpoint given as `http://host:port` (with or without a trailing
/// `/`, or already ending in [`APPLICATIONS_PATH`]).
pub fn applications_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with(APPLICATIONS_PATH) { base.to_owned() } else { format!("{base}{APPLICATIONS_PATH}") }
}

/// Sends `application` to the operator's endpoint (`http://host:port`); the receipt says its
/// position, a refusal its reason.
pub async fn submit_application(
    endpoint: &str,
    application: &Application,
) -> Result<ApplicationReceipt, EndpointError> {
    let url = applications_url(endpoint);
    let http = |source| EndpointError::Http { url: url.clone(), source };
    let body = serde_json::to_vec(application).map_err(EndpointError::Encode)?;
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(http)?;
    let status = response.status();
    let body = response.bytes().await.map_err(http)?;
    if status.is_success() {
        if let Ok(receipt) = serde_json::from_slice(&body) {
            return Ok(receipt);
        }
    } else if let Ok(refusal) = serde_json::from_slice::<ApplicationRefusal>(&body) {
        return Err(EndpointError::Refused { url, reason: refusal.reason, message: refusal.message });
    }
    Err(unexpected(url, status.as_u16(), &body))
}

/// The applications the operator's endpoint (`http://host:port`) has accepted, in order.
pub async fn list_applications(endpoint: &str) -> Result<ApplicationList, EndpointError> {
    let url = applications_url(endpoint);
    let http = |source| EndpointError::Http { url: url.clone(), source };
    let response = reqwest::Client::new().get(&url).send().await.map_err(http)?;
    let status = response.status();
    let body = response.bytes().await.map_err(http)?;
    match serde_json::from_slice(&body) {
        Ok(list) if status.is_success() => Ok(list),
        _ => Err(unexpected(url, status.as_u16(), &body)),
    }
}

fn unexpected(url: String, status: u16, body: &[u8]) -> EndpointError {
    let text = String::from_utf8_lossy(body);
    EndpointError::Unexpected { url, status, body: text.chars().take(200).collect() }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    #[test]
    fn the_url_gets_the_path_once() {
        for endpoint in ["http://127.0.0.1:9", "http://127.0.0.1:9/", "http://127.0.0.1:9/v1/applications"] {
            assert_eq!(applications_url(endpoint), "http://127.0.0.1:9/v1/applications");
        }
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let cases = [
            (ApplicationError::NotSignedByMaster { master: a, signer: b }, RefusalReason::ForgedSignature),
            (ApplicationError::AlreadyApplied { master: a, position: 1 }, RefusalReason::Duplicate),
            (ApplicationError::IpClaimed { ip, owner: b }, RefusalReason::IpClaimed),
            (
                ApplicationError::WrongCampaign { expected: "a".into(), found: "b".into() },
                RefusalReason::WrongCampaign,
            ),
            (ApplicationError::IpTwice { ip }, RefusalReason::Invalid),
            (ApplicationError::io("x", std::io::Error::other("disk")), RefusalReason::Unavailable),
        ];
        for (error, reason) in cases {
            assert_eq!(RefusalReason::of(&error), reason, "{error}");
            assert_eq!(reason.is_applicants(), reason != RefusalReason::Unavailable);
        }
    }
}
