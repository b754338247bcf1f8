//! CORS for the admin API and upload: only `MFA_PORTAL_ORIGIN`, never `*`.

use warp::http::header::{self, HeaderValue};
use warp::http::StatusCode;
use warp::reply::Response;

/// Adds the CORS headers to `resp` when `origin` is the configured portal origin.
pub fn apply(allowed: Option<&str>, origin: Option<&str>, mut resp: Response) -> Response {
    let headers = resp.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let (Some(allowed), Some(origin)) = (allowed, origin) {
        if allowed == origin {
            if let Ok(v) = HeaderValue::from_str(origin) {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
                headers.insert(
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static("Content-Disposition"),
                );
            }
        }
    }
    resp
}

/// The answer to a preflight `OPTIONS`: 204, with permission only for the portal origin.
pub fn preflight(allowed: Option<&str>, origin: Option<&str>) -> Response {
    let mut resp = Response::new(Default::default());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let permitted = matches!((allowed, origin), (Some(a), Some(o)) if a == o);
    if permitted {
        let headers = resp.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    apply(allowed, origin, resp)
}
