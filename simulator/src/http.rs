//! Transport-neutral request and response types. The warp server and the `$batch` handler both
//! turn their input into a [`SimRequest`] and route it through the same handlers.

use bytes::Bytes;
use serde_json::Value;
use std::collections::HashMap;

/// One request as the route handlers see it.
#[derive(Debug, Clone)]
pub struct SimRequest {
    /// Upper-case HTTP method, e.g. `GET`.
    pub method: String,
    /// Path without the query string, e.g. `/v1.0/users/abc`.
    pub path: String,
    /// Raw query string without the leading `?` (may be empty).
    pub query: String,
    /// Headers with lower-case names.
    pub headers: HashMap<String, String>,
    /// Raw body.
    pub body: Bytes,
}

impl SimRequest {
    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Decoded query parameters in order.
    pub fn params(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// A query parameter by name, accepting it with or without the OData `$` prefix.
    pub fn param(&self, name: &str) -> Option<String> {
        let bare = name.trim_start_matches('$');
        self.params()
            .into_iter()
            .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case(bare))
            .map(|(_, v)| v)
    }

    /// Path segments after the leading slash, percent-decoded.
    pub fn segments(&self) -> Vec<String> {
        self.path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_else(|| s.to_string())
            })
            .collect()
    }

    /// The body parsed as JSON (`Value::Null` when empty).
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
    }
}

/// Response body kinds.
#[derive(Debug, Clone)]
pub enum SimBody {
    /// No body (e.g. 202, 204).
    Empty,
    /// A JSON document.
    Json(Value),
    /// An HTML page (control API only).
    Html(String),
    /// Abort the connection instead of answering (fault injection).
    CloseConnection,
}

/// One response as the route handlers produce it.
#[derive(Debug, Clone)]
pub struct SimResponse {
    /// HTTP status code.
    pub status: u16,
    /// Extra headers (name, value).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: SimBody,
}

impl SimResponse {
    /// A JSON response.
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: SimBody::Json(body),
        }
    }

    /// A response without body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: SimBody::Empty,
        }
    }

    /// An HTML response.
    pub fn html(body: String) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: SimBody::Html(body),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
