//! Graph error bodies: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.

use crate::http::{SimRequest, SimResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// A Graph error to be rendered with the request's ids and the simulated date.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct GraphError {
    /// HTTP status.
    pub status: u16,
    /// Graph error code, e.g. `Request_ResourceNotFound`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Extra response headers (e.g. `Retry-After`).
    pub headers: Vec<(String, String)>,
}

impl GraphError {
    /// Any error.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// Directory object not found (users, groups, managers).
    pub fn resource_not_found(id: &str) -> Self {
        Self::new(
            404,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    /// Generic 404 for other resources (SharePoint, methods).
    pub fn item_not_found(message: impl Into<String>) -> Self {
        Self::new(404, "itemNotFound", message)
    }

    /// Directory 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "Request_BadRequest", message)
    }

    /// Generic OData/SharePoint 400.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(400, "invalidRequest", message)
    }

    /// No route matched.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(
            400,
            "BadRequest",
            format!("Resource not found for the segment in '{method} {path}'."),
        )
    }

    /// Missing consent.
    pub fn denied() -> Self {
        Self::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    /// Throttled: 429 (or `status`) with `Retry-After`.
    pub fn throttled(status: u16, code: &str, retry_after_secs: u64, message: &str) -> Self {
        let mut e = Self::new(status, code, message);
        e.headers
            .push(("Retry-After".to_string(), retry_after_secs.to_string()));
        e
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Renders the documented error body.
    pub fn to_response(
        &self,
        now: DateTime<Utc>,
        request_id: &str,
        client_request_id: &str,
    ) -> SimResponse {
        let mut r = SimResponse::json(
            self.status,
            json!({"error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": now.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                }
            }}),
        );
        r.headers.extend(self.headers.iter().cloned());
        r
    }
}

/// The request body as JSON; malformed JSON is the 400 `invalid` makes of "Invalid JSON: …"
/// (each service has its own error code for it).
pub(crate) fn json_body(
    req: &SimRequest,
    invalid: impl FnOnce(String) -> GraphError,
) -> Result<Value, GraphError> {
    req.json()
        .map_err(|e| invalid(format!("Invalid JSON: {e}")))
}

/// Result type of route handlers.
pub type GraphResult = Result<SimResponse, GraphError>;
