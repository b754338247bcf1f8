//! `GET /api/admin/report[?staleDays=3]`: the campaign summary (including the directory
//! passes' counts), the pilot scope, who needs attention, and how registrations are detected
//! (the check pass's last mode and what reconciliation found, through
//! [`PassRunner::state`](mfa_core::passes::PassRunner::state)).

use mfa_core::passes::PassState;
use mfa_core::store::{Attention, PeopleFilter};
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::respond;
use crate::state::SharedState;

/// The summary plus needing-attention counts.
pub async fn report(
    query: String,
    _admin: Principal,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let now = state.clock.now();
    let days = super::stale_days(&super::query(&query)?)?;
    let summary = state.store.summary(now).await.map_err(ApiError::from)?;
    let count = |attention: Attention| {
        let store = state.store.clone();
        async move {
            let filter = PeopleFilter {
                attention: Some(attention),
                ..PeopleFilter::default()
            };
            store.list(&filter, 0, 1).await.map(|p| p.total)
        }
    };
    let not_clicked = count(Attention::NotClicked {
        before: now - chrono::Duration::days(days),
    })
    .await
    .map_err(ApiError::from)?;
    let clicked_not_registered = count(Attention::ClickedNotRegistered)
        .await
        .map_err(ApiError::from)?;
    let escalated = count(Attention::Escalated).await.map_err(ApiError::from)?;
    let errors = count(Attention::Errors).await.map_err(ApiError::from)?;
    let queued = count(Attention::Queued { now })
        .await
        .map_err(ApiError::from)?;
    // How registrations are detected and the pilot scope, as the worker last recorded them;
    // nothing to show without a worker.
    let passes = match &state.runner {
        Some(runner) => runner.state().await.map_err(ApiError::Unexpected)?,
        None => PassState::default(),
    };
    let uploaded = summary.funnel.uploaded;
    let active = summary.funnel.active;
    let percent_complete = if uploaded == 0 {
        0.0
    } else {
        (active as f64 * 1000.0 / uploaded as f64).round() / 10.0
    };
    Ok(respond::json(
        StatusCode::OK,
        &json!({
            "generatedAt": now,
            "percentComplete": percent_complete,
            "summary": summary,
            "pilot": passes.pilot,
            "registrationCampaign": passes.registration_campaign,
            "tenantStrength": passes.tenant_strength,
            "needingAttention": {
                "staleDays": days,
                "notClicked": not_clicked,
                "clickedNotRegistered": clicked_not_registered,
                "escalated": escalated,
                "errors": errors,
                "queued": queued,
            },
            "detection": {
                "mode": passes.detection_mode,
                "reconciliation": passes.reconciliation,
            },
        }),
    ))
}
