//! `GET /`: the host polls it every 25 ms until the handler answers; any response counts.

use warp::http::StatusCode;
use warp::reply::Response;

use crate::respond;

/// Always 200 at once: readiness must not depend on the store or Graph.
pub async fn ready() -> Result<Response, warp::Rejection> {
    Ok(respond::json(
        StatusCode::OK,
        &serde_json::json!({ "status": "ok", "service": "mfa-onboarding handler" }),
    ))
}
