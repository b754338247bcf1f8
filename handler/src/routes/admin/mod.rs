//! The admin API under `/api/admin/`: [`report`], [`users`], [`export`] and [`run`]. Every route
//! needs admin authentication (see [`crate::auth`]); CORS allows only the portal origin.

pub mod export;
pub mod report;
pub mod run;
pub mod users;

use chrono::{DateTime, Duration, Utc};
use mfa_core::domain::{BatchId, InviteStatus};
use mfa_core::store::{Attention, PeopleFilter};

use crate::error::ApiError;

/// Default of `staleDays`: invited this many days ago without a click needs attention.
pub const DEFAULT_STALE_DAYS: i64 = 3;

/// `staleDays` from the query (1–365, default 3).
pub fn stale_days(query: &str) -> Result<i64, ApiError> {
    match super::param(query, "staleDays") {
        None => Ok(DEFAULT_STALE_DAYS),
        Some(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=365).contains(d))
            .ok_or_else(|| ApiError::BadRequest("staleDays must be a number from 1 to 365".into())),
    }
}

/// The people filter from `search`, `status`, `batchId`, `attention` (and `staleDays`).
pub fn filter(query: &str, now: DateTime<Utc>) -> Result<PeopleFilter, ApiError> {
    let get = |k: &str| super::param(query, k).filter(|v| !v.trim().is_empty());
    let status = get("status")
        .map(|s| s.parse::<InviteStatus>())
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let batch_id = get("batchId")
        .map(|b| BatchId::parse(&b))
        .transpose()
        .map_err(|e| ApiError::BadRequest(format!("batchId: {e}")))?;
    let attention = match get("attention").map(|a| a.to_ascii_lowercase()).as_deref() {
        None => None,
        Some("notclicked") => Some(Attention::NotClicked {
            before: now - Duration::days(stale_days(query)?),
        }),
        Some("clickednotregistered") => Some(Attention::ClickedNotRegistered),
        Some("escalated") => Some(Attention::Escalated),
        Some("errors") => Some(Attention::Errors),
        Some("queued") => Some(Attention::Queued { now }),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "attention must be notClicked, clickedNotRegistered, escalated, errors or queued, got {other:?}"
            )))
        }
    };
    Ok(PeopleFilter {
        search: get("search").map(|s| s.chars().take(200).collect()),
        status,
        batch_id,
        attention,
    })
}
