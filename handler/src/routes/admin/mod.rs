//! The admin API under `/api/admin/`: [`report`], [`users`] and one [`person`], [`export`],
//! [`run`], the [`preview`], the campaign [`control`]s, background [`imports`] and the [`audit`]
//! log. Every route
//! needs admin authentication (see [`crate::auth`]); CORS allows only the portal origin.

pub mod audit;
pub mod control;
pub mod export;
pub mod find;
pub mod imports;
pub mod person;
pub mod preview;
pub mod report;
pub mod run;
pub mod users;

use chrono::{DateTime, Duration, Utc};
use mfa_core::domain::{BatchId, InviteStatus};
use mfa_core::store::{Attention, PeopleFilter};

use crate::error::ApiError;
use crate::models::AdminQuery;

/// Default of `staleDays`: invited this many days ago without a click needs attention.
pub const DEFAULT_STALE_DAYS: i64 = 3;

/// The admin query string, typed; a query that does not decode (a key given twice) is a 400.
pub fn query(raw: &str) -> Result<AdminQuery, ApiError> {
    super::decode(raw.as_bytes()).map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))
}

/// `staleDays` from the query (1–365, default 3).
pub fn stale_days(query: &AdminQuery) -> Result<i64, ApiError> {
    match &query.stale_days {
        None => Ok(DEFAULT_STALE_DAYS),
        Some(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=365).contains(d))
            .ok_or_else(|| ApiError::BadRequest("staleDays must be a number from 1 to 365".into())),
    }
}

/// The people filter from `search`, `status`, `batchId`, `attention` (and `staleDays`); empty
/// values count as absent.
pub fn filter(query: &AdminQuery, now: DateTime<Utc>) -> Result<PeopleFilter, ApiError> {
    let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let status = given(&query.status)
        .map(|s| s.parse::<InviteStatus>())
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let batch_id = given(&query.batch_id)
        .map(|b| BatchId::parse(&b))
        .transpose()
        .map_err(|e| ApiError::BadRequest(format!("batchId: {e}")))?;
    let attention = match given(&query.attention)
        .map(|a| a.to_ascii_lowercase())
        .as_deref()
    {
        None => None,
        Some("notclicked") => Some(Attention::NotClicked {
            before: now - Duration::days(stale_days(query)?),
        }),
        Some("clickednotregistered") => Some(Attention::ClickedNotRegistered),
        Some("escalated") => Some(Attention::Escalated),
        Some("errors") => Some(Attention::Errors),
        Some("queued") => Some(Attention::Queued { now }),
        Some("held") => Some(Attention::Held),
        Some("excluded") => Some(Attention::Excluded),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "attention must be notClicked, clickedNotRegistered, escalated, errors, queued, held or excluded, got {other:?}"
            )))
        }
    };
    Ok(PeopleFilter {
        search: given(&query.search).map(|s| s.chars().take(200).collect()),
        status,
        batch_id,
        attention,
    })
}
