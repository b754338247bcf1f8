//! `GET /api/track-open?token=…`: the invisible pixel in every email.
//!
//! Always `200 image/gif`, whatever the token, and never waits for the store: a valid token is
//! handed to the [`OpenTracker`](crate::opens::OpenTracker) buffer, which stamps
//! `EmailOpenedDate` (first open only) in coalesced writes.

use mfa_core::domain::TrackingToken;
use warp::http::header::{self, HeaderValue};
use warp::reply::Response;

use crate::models::TokenParams;
use crate::state::SharedState;

/// A 43-byte transparent 1×1 GIF.
pub const PIXEL: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Notes the open (if `counted` and the token parses) and returns the pixel.
pub async fn track_open(
    counted: bool,
    query: String,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let token = super::decode::<TokenParams>(query.as_bytes())
        .ok()
        .and_then(|p| p.token)
        .and_then(|t| TrackingToken::parse(t.trim()).ok());
    if let (true, Some(token)) = (counted, token) {
        state.opens.record(token);
    }
    Ok(pixel())
}

/// The pixel response with no-cache headers.
pub fn pixel() -> Response {
    let mut resp = Response::new(PIXEL.to_vec().into());
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate, private"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::EXPIRES, HeaderValue::from_static("0"));
    resp
}
