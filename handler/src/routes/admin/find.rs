//! `POST /api/admin/find-people` `{"below": "beyond-phone", "groupId": "…", "commit": false,
//! "batchId": "…", "hold": false}`: everyone in the tenant (or in one group) below a strength,
//! from the registration report, without guests and disabled accounts. Without `commit` it is a
//! preview (counts and the first people; nothing stored); with `commit: true` the people are
//! added as one upload batch (held when `hold`).

use bytes::Bytes;
use mfa_core::domain::{BatchId, NewPerson, Source, TargetStrength};
use mfa_core::graph::GraphError;
use mfa_core::store::{UploadBatch, UpsertMode};
use serde::Deserialize;
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::audit;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::respond;
use crate::state::SharedState;

/// People listed in a preview.
const SAMPLE: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Body {
    below: String,
    #[serde(default)]
    group_id: Option<String>,
    #[serde(default)]
    commit: bool,
    #[serde(default)]
    batch_id: Option<String>,
    #[serde(default)]
    hold: bool,
}

/// Finds (and with `commit`, adds) the people below a strength.
pub async fn find_people(
    admin: Principal,
    body: Bytes,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let b: Body = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "expected {{\"below\": \"any|beyond-phone|phishing-resistant\", \"groupId\": \"…\", \"commit\": false}}: {e}"
        ))
    })?;
    let below =
        TargetStrength::parse(&b.below).map_err(|e| ApiError::BadRequest(format!("below: {e}")))?;
    let group = b
        .group_id
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_string);
    if group
        .as_deref()
        .is_some_and(|g| uuid::Uuid::parse_str(g).is_err())
    {
        return Err(ApiError::BadRequest("groupId must be a group's object id".into()).into());
    }
    let now = state.clock.now();
    let batch_id = match b
        .batch_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(id) => {
            BatchId::parse(id).map_err(|e| ApiError::BadRequest(format!("batchId: {e}")))?
        }
        None => BatchId::parse(&format!(
            "below-{}-{}",
            below.as_str(),
            now.format("%Y-%m-%d")
        ))
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("default batch id: {e}")))?,
    };
    let Some(runner) = state.runner.clone() else {
        return Err(ApiError::Unavailable("the worker is not available".into()).into());
    };
    let found = runner
        .find_people(below, group.clone())
        .await
        .map_err(|e| match e.downcast_ref::<GraphError>() {
            Some(GraphError::NotFound { .. }) => {
                ApiError::BadRequest("no such group in Entra ID".into())
            }
            _ => ApiError::Unexpected(e.context("finding people failed")),
        })?;
    let mut answer = json!({
        "below": below.as_str(),
        "groupId": group,
        "examined": found.examined,
        "guests": found.guests,
        "disabled": found.disabled,
        "byStrength": found.by_strength,
        "count": found.below.len(),
        "source": found.source,
        "complete": found.complete,
        "sample": found.below.iter().take(SAMPLE).map(|u| u.as_str()).collect::<Vec<_>>(),
        "committed": false,
    });
    if !b.commit {
        return Ok(respond::json(StatusCode::OK, &answer));
    }
    if found.below.is_empty() {
        return Err(ApiError::Conflict(format!("nobody is below {below}: nothing to add")).into());
    }
    let batch = UploadBatch {
        batch_id: batch_id.clone(),
        source: Source::Manual,
        correlation_id: uuid::Uuid::new_v4(),
        now,
        mode: UpsertMode::KeepHistory,
        hold: b.hold,
        target: None,
    };
    let people: Vec<NewPerson> = found.below.iter().cloned().map(NewPerson::new).collect();
    let summary = state
        .store
        .upsert_people(&batch, people)
        .await
        .map_err(ApiError::from)?;
    audit::record(
        &state,
        &admin,
        "find-people",
        Some(batch_id.to_string()),
        Some(format!(
            "below {below}{}: {} found, {} new, {} already tracked{}",
            group
                .as_deref()
                .map(|g| format!(" in group {g}"))
                .unwrap_or_default(),
            found.below.len(),
            summary.inserted,
            summary.unchanged + summary.requeued + summary.reset,
            if b.hold { "; held until released" } else { "" }
        )),
    )
    .await;
    answer["committed"] = json!(true);
    answer["batchId"] = json!(batch_id);
    answer["hold"] = json!(b.hold);
    answer["inserted"] = json!(summary.inserted);
    answer["requeued"] = json!(summary.requeued);
    answer["unchanged"] = json!(summary.unchanged);
    Ok(respond::json(StatusCode::OK, &answer))
}
