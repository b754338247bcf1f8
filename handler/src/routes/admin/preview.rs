//! The dry run in the portal: `GET /api/admin/preview` (what the next scheduled run would send,
//! by kind and batch, within the sending limits) and `GET /api/admin/preview/email?kind=&upn=`
//! (one email rendered as it would be sent now, with the templates in use). Nothing is stored
//! or sent.

use std::collections::BTreeMap;

use mfa_core::domain::{MailKind, Upn};
use mfa_core::passes::{PassKind, RunRequest};
use serde::Deserialize;
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::respond;
use crate::state::SharedState;

/// A dry run of the scheduled passes.
pub async fn preview(_admin: Principal, state: SharedState) -> Result<Response, warp::Rejection> {
    let Some(runner) = state.runner.clone() else {
        return Err(ApiError::Unavailable("the worker is not available".into()).into());
    };
    let mut passes = PassKind::ORCHESTRATOR.to_vec();
    passes.push(PassKind::Report);
    let report = runner
        .run(RunRequest {
            passes,
            now: None,
            dry_run: true,
            trigger: "preview".into(),
        })
        .await
        .map_err(|e| ApiError::Unexpected(e.context("preview failed")))?;
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_batch: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for pass in &report.passes {
        for (kind, batches) in &pass.planned {
            for (batch, n) in batches {
                *by_kind.entry(kind.clone()).or_default() += n;
                *by_batch
                    .entry(batch.clone())
                    .or_default()
                    .entry(kind.clone())
                    .or_default() += n;
            }
        }
    }
    let notes: Vec<String> = report
        .passes
        .iter()
        .flat_map(|p| p.notes.iter())
        .filter(|n| !n.contains(": would "))
        .take(50)
        .cloned()
        .collect();
    Ok(respond::json(
        StatusCode::OK,
        &json!({
            "total": by_kind.values().sum::<u64>(),
            "byKind": by_kind,
            "byBatch": by_batch,
            "limitedBySending": report.budget_exhausted,
            "notes": notes,
            "generatedAt": state.clock.now(),
        }),
    ))
}

#[derive(Debug, Default, Deserialize)]
struct SampleQuery {
    kind: Option<String>,
    upn: Option<String>,
}

/// One email rendered for one person (or the report).
pub async fn sample(
    raw: String,
    _admin: Principal,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let q: SampleQuery = crate::routes::decode(raw.as_bytes())
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    let kind = match q.kind.as_deref().map(str::trim).unwrap_or("") {
        "invitation" => MailKind::Invitation,
        "reminder" => MailKind::Reminder,
        "escalation" => MailKind::Escalation,
        "report" => MailKind::Report,
        other => {
            return Err(ApiError::BadRequest(format!(
                "kind must be invitation, reminder, escalation or report, got {other:?}"
            ))
            .into())
        }
    };
    let upn = match q.upn.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(u) => Some(Upn::parse(u).map_err(|e| ApiError::BadRequest(format!("upn: {e}")))?),
        None if kind == MailKind::Report => None,
        None => {
            return Err(
                ApiError::BadRequest("upn is needed: the email is about one person".into()).into(),
            )
        }
    };
    let Some(runner) = state.runner.clone() else {
        return Err(ApiError::Unavailable("the worker is not available".into()).into());
    };
    let upn = if kind == MailKind::Report { None } else { upn };
    match runner
        .sample_email(kind, upn.as_ref())
        .await
        .map_err(|e| ApiError::Unexpected(e.context("rendering the sample failed")))?
    {
        Some(sample) => Ok(respond::json(StatusCode::OK, &sample)),
        None => Err(ApiError::NotFound.into()),
    }
}
