//! `POST /api/admin/run` `{"passes": ["invitation", ...], "dryRun": false}`: run passes now.
//! 202 with the run report; 503 when the worker is not available.

use bytes::Bytes;
use mfa_core::passes::{PassKind, RunRequest};
use serde::Deserialize;
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::respond;
use crate::state::SharedState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    #[serde(default)]
    passes: Vec<String>,
    #[serde(default)]
    dry_run: bool,
}

/// Runs the requested passes (the orchestrator's passes when none are named).
pub async fn run(
    admin: Principal,
    body: Bytes,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let parsed: Body = if body.iter().all(u8::is_ascii_whitespace) {
        Body {
            passes: Vec::new(),
            dry_run: false,
        }
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!(
                "expected {{\"passes\": [\"invitation\", ...]}}: {e}"
            ))
        })?
    };
    let mut passes = parsed
        .passes
        .iter()
        .map(|p| p.parse::<PassKind>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if passes.is_empty() {
        passes = PassKind::ORCHESTRATOR.to_vec();
    }
    let Some(runner) = state.runner.clone() else {
        return Err(ApiError::Unavailable("the worker is not available".into()).into());
    };
    let names: Vec<&str> = passes.iter().map(|p| p.as_str()).collect();
    crate::audit::record(
        &state,
        &admin,
        if parsed.dry_run { "run.dry" } else { "run" },
        None,
        Some(names.join(", ")),
    )
    .await;
    let report = runner
        .run(RunRequest {
            passes,
            now: None,
            dry_run: parsed.dry_run,
            trigger: "admin".into(),
        })
        .await
        .map_err(|e| match e.downcast_ref::<mfa_core::passes::RunBusy>() {
            Some(busy) => ApiError::Conflict(busy.to_string()),
            None => ApiError::Unexpected(e.context("admin run failed")),
        })?;
    Ok(respond::json(
        StatusCode::ACCEPTED,
        &json!({ "ok": true, "report": report }),
    ))
}
