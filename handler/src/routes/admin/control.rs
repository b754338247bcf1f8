//! The campaign's controls: `GET /api/admin/campaign` (paused?, releases, today's invitations),
//! `POST /api/admin/campaign/pause` and `/resume`, and `POST /api/admin/batches/{id}/release`
//! (`{"at": "<RFC 3339>", "perDay": 5000}`, both optional: now, all at once).

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use mfa_core::control::{self, Release};
use mfa_core::domain::BatchId;
use mfa_core::passes::{PassKind, PassRunner, RunRequest};
use mfa_core::store::{Attention, PeopleFilter};
use serde::Deserialize;
use serde_json::{json, Value};
use warp::http::StatusCode;
use warp::reply::Response;

use crate::audit;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::respond;
use crate::state::SharedState;

/// The controls as the portal shows them.
pub async fn campaign(_admin: Principal, state: SharedState) -> Result<Response, warp::Rejection> {
    let now = state.clock.now();
    let c = control::load(state.store.as_ref())
        .await
        .map_err(ApiError::from)?;
    let invites = control::invites_today(state.store.as_ref())
        .await
        .map_err(ApiError::from)?;
    Ok(respond::json(
        StatusCode::OK,
        &view(&c, &state, invites.on(now), now),
    ))
}

fn view(
    c: &control::CampaignControl,
    state: &SharedState,
    invites_today: u64,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "paused": c.is_paused(),
        "pausedSince": c.paused.as_ref().map(|p| p.since),
        "pausedBy": c.paused.as_ref().map(|p| p.by.clone()),
        "pauses": c.pauses,
        "releases": c.releases,
        "invitesPerDay": state.settings.core.campaign.invites_per_day,
        "invitesToday": invites_today,
        "generatedAt": now,
    })
}

/// Pauses the campaign: no email of any kind leaves until it is resumed.
pub async fn pause(admin: Principal, state: SharedState) -> Result<Response, warp::Rejection> {
    let now = state.clock.now();
    let (changed, c) = control::update(state.store.as_ref(), |c| {
        c.pause(&admin.name, now).then_some(())
    })
    .await
    .map_err(ApiError::from)?;
    if changed.is_none() {
        return Err(ApiError::Conflict("the campaign is already paused".into()).into());
    }
    audit::record(&state, &admin, "campaign.pause", None, None).await;
    let today = invites_today(&state, now).await?;
    Ok(respond::json(StatusCode::OK, &view(&c, &state, today, now)))
}

/// Resumes the campaign. Due times move by the pause, so nobody gets a burst of late emails.
pub async fn resume(admin: Principal, state: SharedState) -> Result<Response, warp::Rejection> {
    let now = state.clock.now();
    let (changed, c) = control::update(state.store.as_ref(), |c| c.resume(now).then_some(()))
        .await
        .map_err(ApiError::from)?;
    if changed.is_none() {
        return Err(ApiError::Conflict("the campaign is not paused".into()).into());
    }
    let paused_for = c.pauses.last().map(|p| p.to - p.from).unwrap_or_default();
    audit::record(
        &state,
        &admin,
        "campaign.resume",
        None,
        Some(format!("paused for {} minutes", paused_for.num_minutes())),
    )
    .await;
    let today = invites_today(&state, now).await?;
    Ok(respond::json(StatusCode::OK, &view(&c, &state, today, now)))
}

async fn invites_today(state: &SharedState, now: DateTime<Utc>) -> Result<u64, ApiError> {
    Ok(control::invites_today(state.store.as_ref())
        .await
        .map_err(ApiError::from)?
        .on(now))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReleaseBody {
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    per_day: Option<u32>,
}

/// Releases a held upload: now or at `at`, optionally at most `perDay` people a day.
pub async fn release(
    batch: String,
    admin: Principal,
    body: Bytes,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let now = state.clock.now();
    let batch_id =
        BatchId::parse(&batch).map_err(|e| ApiError::BadRequest(format!("batch id: {e}")))?;
    let parsed: ReleaseBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReleaseBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!(
                "expected {{\"at\": \"2027-01-10T08:00:00Z\", \"perDay\": 5000}} (both optional): {e}"
            ))
        })?
    };
    let at = match parsed
        .at
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => now,
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map_err(|e| {
                ApiError::BadRequest(format!(
                    "at must be a time with its offset, like 2027-01-10T08:00:00Z: {e}"
                ))
            })?
            .to_utc()
            .max(now),
    };
    if parsed.per_day == Some(0) {
        return Err(ApiError::BadRequest("perDay must be at least 1".into()).into());
    }
    let held = state
        .store
        .list(
            &PeopleFilter {
                batch_id: Some(batch_id.clone()),
                attention: Some(Attention::Held),
                ..PeopleFilter::default()
            },
            0,
            1,
        )
        .await
        .map_err(ApiError::from)?
        .total;
    if held == 0 {
        return Err(ApiError::Conflict(format!(
            "nobody in batch {batch_id} is held (unknown batch, or already released)"
        ))
        .into());
    }
    let release = Release {
        at,
        per_day: parsed.per_day,
        by: admin.name.clone(),
        released: 0,
        day: None,
        released_that_day: 0,
        done: false,
    };
    let key = batch_id.to_string();
    control::update(state.store.as_ref(), |c| {
        let mut r = release.clone();
        // Changing a release keeps its progress: the people released so far, and today's count
        // against the daily cap.
        if let Some(old) = c.releases.get(&key) {
            r.released = old.released;
            r.day = old.day;
            r.released_that_day = old.released_that_day;
        }
        c.releases.insert(key.clone(), r);
        Some(())
    })
    .await
    .map_err(ApiError::from)?;
    let detail = format!(
        "{held} held; from {}{}",
        at.to_rfc3339(),
        parsed
            .per_day
            .map(|n| format!(", at most {n} a day"))
            .unwrap_or_default()
    );
    audit::record(
        &state,
        &admin,
        "batch.release",
        Some(key.clone()),
        Some(detail),
    )
    .await;
    // Released now: invitations start at once rather than at the next scheduled run.
    let started = at <= now && start_invitations(&state);
    Ok(respond::json(
        StatusCode::OK,
        &json!({
            "ok": true,
            "batchId": key,
            "held": held,
            "at": at,
            "perDay": parsed.per_day,
            "invitationsStarted": started,
        }),
    ))
}

/// Starts the invitation pass in the background (the answer does not wait for it). Returns
/// whether the worker is there to do it.
pub fn start_invitations(state: &SharedState) -> bool {
    start_invitation_pass(state.runner.as_ref(), "admin")
}

/// Starts the invitation pass with `runner` in the background, marked as started by `trigger`
/// (an admin action, an upload, an import that finished). The one way the handler starts it.
pub fn start_invitation_pass(runner: Option<&Arc<dyn PassRunner>>, trigger: &str) -> bool {
    let Some(runner) = runner.cloned() else {
        tracing::warn!(
            trigger,
            "invitations requested but the worker is not available"
        );
        return false;
    };
    let trigger = trigger.to_string();
    tokio::spawn(async move {
        let request = RunRequest {
            passes: vec![PassKind::Invitation],
            now: None,
            dry_run: false,
            trigger: trigger.clone(),
        };
        if let Err(e) = runner.run(request).await {
            tracing::warn!(error = %format!("{e:#}"), %trigger, "the invitation pass did not run");
        }
    });
    true
}
