//! Response helpers. Every response leaves with the security headers ([`finalize`]); pages and
//! JSON set their own content type and caching.

use serde::Serialize;
use warp::http::header::{self, HeaderName, HeaderValue};
use warp::http::StatusCode;
use warp::reply::Response;

/// The content security policy of responses that are not pages: nothing may load.
pub const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// A JSON response, never cached.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    let body = match serde_json::to_vec(value) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "serialising a response failed");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "something went wrong");
        }
    };
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    set(
        &mut resp,
        header::CONTENT_TYPE,
        "application/json; charset=utf-8",
    );
    set(&mut resp, header::CACHE_CONTROL, "no-store");
    resp
}

/// A short plain-text response.
pub fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut resp = Response::new(text.into());
    *resp.status_mut() = status;
    set(&mut resp, header::CONTENT_TYPE, "text/plain; charset=utf-8");
    resp
}

/// An HTML page whose scripts must carry `nonce`.
pub fn html(status: StatusCode, body: String, nonce: &str) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    set(&mut resp, header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(&mut resp, header::CACHE_CONTROL, "no-store");
    let csp = format!(
        "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; \
         script-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// Sets a header from a static value.
pub fn set(resp: &mut Response, name: HeaderName, value: &'static str) {
    resp.headers_mut()
        .insert(name, HeaderValue::from_static(value));
}

/// Adds the headers every response carries, unless the handler chose its own value.
pub fn finalize(mut resp: Response) -> Response {
    let defaults: [(HeaderName, &'static str); 6] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, API_CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ),
    ];
    let headers = resp.headers_mut();
    for (name, value) in defaults {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    resp
}
