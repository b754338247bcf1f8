//! `GET /api/resend` (the form) and `POST /api/resend` (field `email`): "Lost your setup link?".
//!
//! The `POST` answer is the same page, with the same timing, whatever the address and whatever
//! happens next: the work is queued to [`ResendQueue`](crate::resend::ResendQueue), which applies
//! the per-address and per-IP limits and re-queues known, unfinished people with a new token.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

use crate::models::ResendForm;
use crate::pages::{Page, Tone};
use crate::resend::ResendRequest;
use crate::state::SharedState;

/// `GET`: the branded form.
pub async fn form(state: SharedState) -> Result<Response, warp::Rejection> {
    let mut page = Page::new(
        StatusCode::OK,
        "resend-form",
        Tone::Info,
        "Request a New Setup Link",
        "Enter your work email address. If you are on the MFA rollout list, we will email you a \
         new personal setup link.",
    );
    page.resend_form = true;
    Ok(state.pages.render(&page))
}

/// `POST`: queues the request and answers with the one confirmation page.
pub async fn submit(
    body: Bytes,
    remote: Option<SocketAddr>,
    headers: HeaderMap,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let email = super::decode::<ResendForm>(&body)
        .ok()
        .and_then(|f| f.email)
        .unwrap_or_default();
    state.resends.submit(ResendRequest {
        email,
        client_ip: client_ip(remote, &headers),
    });
    Ok(state.pages.render(&confirmation()))
}

fn confirmation() -> Page {
    Page::new(
        StatusCode::OK,
        "resend-accepted",
        Tone::Info,
        "Check Your Inbox",
        "If this address is on the MFA rollout list and still needs to set up MFA, a new setup \
         link is on its way. It can take up to 30 minutes to arrive. Links in older emails no \
         longer work once the new one is sent.",
    )
}

/// The client's address: the first `X-Forwarded-For` hop when the request came through the
/// Functions host (which sets it from the TCP peer it saw), else the TCP peer.
pub fn client_ip(remote: Option<SocketAddr>, headers: &HeaderMap) -> Option<String> {
    let via_host = headers.contains_key("x-azure-functions-invocationid");
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let (true, Some(hop)) = (via_host, forwarded) {
        let ip = hop
            .parse::<IpAddr>()
            .ok()
            .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()));
        return Some(ip.map_or_else(|| hop.to_string(), |ip| ip.to_string()));
    }
    remote.map(|r| r.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    #[test]
    fn client_ip_prefers_forwarded_only_behind_the_host() {
        let remote: Option<SocketAddr> = "127.0.0.1:5000".parse().ok();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9:443, 10.0.0.1"),
        );
        assert_eq!(client_ip(remote, &h).as_deref(), Some("127.0.0.1"));
        h.insert(
            "x-azure-functions-invocationid",
            HeaderValue::from_static("x"),
        );
        assert_eq!(client_ip(remote, &h).as_deref(), Some("203.0.113.9"));
    }
}
