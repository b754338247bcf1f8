//! Request and response values, path/OData escaping, and paged collections.

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::error::{GraphError, GraphResult};
use super::throttle::Category;

/// Characters left as they are in a query value or a path segment: RFC 3986 unreserved.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Characters left as they are in a path segment: unreserved plus `@` and `,`, legal in a path
/// segment and how Graph's own URLs spell UPNs and SharePoint site ids.
const SEGMENT: &AsciiSet = &UNRESERVED.remove(b'@').remove(b',');

/// Characters left as they are in a query value: unreserved plus OData punctuation that is safe
/// in a query (`$`, `,`, `/`, `(`, `)`, `*`).
const QUERY: &AsciiSet = &UNRESERVED
    .remove(b'$')
    .remove(b',')
    .remove(b'/')
    .remove(b'(')
    .remove(b')')
    .remove(b'*');

/// Percent-encodes one path segment (an id, a UPN, a site id), so `/`, `?`, `#`, `'` and spaces
/// in it can never change the URL's shape.
pub fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// An OData string literal: single-quoted, inner single quotes doubled.
pub fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A query string (`?k=v&…`) with every key and value percent-encoded; empty for no pairs.
pub fn query(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY),
                utf8_percent_encode(v, QUERY)
            )
        })
        .collect();
    format!("?{}", parts.join("&"))
}

/// One Graph request as the retry core sees it.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    /// HTTP method.
    pub method: Method,
    /// Path from the base URL including version and query (`/v1.0/users/…?$select=…`), or an
    /// absolute `@odata.nextLink` under the base URL.
    pub path: String,
    /// JSON body.
    pub body: Option<serde_json::Value>,
    /// Plain-text body (`Content-Type: text/plain`), used when there is no JSON body.
    pub text_body: Option<String>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Throttling category.
    pub category: Category,
    /// Whether resending after a timeout or 504 is safe (the first attempt may have been
    /// processed). True for GET/PUT/PATCH/DELETE, false for POST unless set.
    pub idempotent: bool,
}

impl GraphRequest {
    /// A request; the category is derived from the path.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let path = path.into();
        let idempotent = method != Method::POST;
        Self {
            category: Category::for_path(&path),
            method,
            path,
            body: None,
            text_body: None,
            headers: Vec::new(),
            idempotent,
        }
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// `POST path` with a JSON body.
    pub fn post(path: impl Into<String>, body: serde_json::Value) -> Self {
        Self::new(Method::POST, path).json(body)
    }

    /// `PATCH path` with a JSON body.
    pub fn patch(path: impl Into<String>, body: serde_json::Value) -> Self {
        Self::new(Method::PATCH, path).json(body)
    }

    /// Sets the JSON body.
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Sets a plain-text body (sent as `Content-Type: text/plain`).
    pub fn text(mut self, body: impl Into<String>) -> Self {
        self.text_body = Some(body.into());
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Overrides the throttling category.
    pub fn category(mut self, category: Category) -> Self {
        self.category = category;
        self
    }

    /// Declares whether a resend after a timeout is safe.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }
}

/// A successful (2xx) response.
#[derive(Debug, Clone)]
pub struct GraphResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Bytes,
}

impl GraphResponse {
    /// Parses the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> GraphResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| GraphError::Decode(e.to_string()))
    }
}

/// One page of a Graph collection.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    /// Where the next page is, if any.
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    /// For delta queries: the link to use next time.
    #[serde(rename = "@odata.deltaLink", default)]
    pub delta_link: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cannot_change_the_path() {
        assert_eq!(segment("a/b?c#d"), "a%2Fb%3Fc%23d");
        assert_eq!(segment("o'neil@contoso.com"), "o%27neil@contoso.com");
        assert_eq!(
            segment("contoso.sharepoint.com,1,2"),
            "contoso.sharepoint.com,1,2"
        );
        assert_eq!(segment("a b%"), "a%20b%25");
        assert_eq!(segment("plain-id_1.2~"), "plain-id_1.2~");
    }

    #[test]
    fn odata_literals_double_quotes() {
        assert_eq!(odata_string("o'neil"), "'o''neil'");
        assert_eq!(
            query(&[("$filter", "fields/Title eq 'a&b=c'")]),
            "?$filter=fields/Title%20eq%20%27a%26b%3Dc%27"
        );
    }
}
