//! `GET /api/admin/imports` and `GET /api/admin/imports/{id}`: background imports — state, rows
//! written and left, ETA, the outcome, and who started them.
//!
//! Looking is also a nudge: a running import that nobody holds (its instance was recycled) is
//! resumed in the background by the process that answers, instead of waiting for the next timer.

use chrono::{DateTime, Utc};
use mfa_core::store::{Import, ImportState, UpsertSummary};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::respond;
use crate::state::SharedState;

/// One import as the admin API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    /// The import id.
    pub id: Uuid,
    /// `running`, `completed` or `failed`.
    pub state: &'static str,
    /// The upload batch.
    pub batch_id: String,
    /// The upload's correlation id (on every record it wrote).
    pub correlation_id: Uuid,
    /// `keepHistory` or `reset`.
    pub mode: &'static str,
    /// Who uploaded the file.
    pub started_by: String,
    /// When the upload was accepted.
    pub started_at: DateTime<Utc>,
    /// Last progress.
    pub updated_at: DateTime<Utc>,
    /// When it completed or failed.
    pub finished_at: Option<DateTime<Utc>>,
    /// Valid rows in the upload.
    pub rows_total: u64,
    /// Rows written.
    pub rows_written: u64,
    /// Rows left.
    pub rows_left: u64,
    /// Whole percent written.
    pub percent: u64,
    /// When the rows left should be written, at the pace so far.
    pub eta: Option<DateTime<Utc>>,
    /// Seconds until [`Self::eta`].
    pub eta_seconds: Option<i64>,
    /// What the written rows did.
    pub outcome: UpsertSummary,
    /// Chunks written of all.
    pub chunks_done: u32,
    /// Staged chunks.
    pub chunks_total: u32,
    /// The last failure (being retried while running; the reason when failed).
    pub error: Option<String>,
    /// Failed attempts at the current chunk.
    pub attempts: u32,
    /// Running, but no process holds it right now (it is resumed by the next one).
    pub waiting: bool,
    /// The upload asked for invitations at once.
    pub send_now: bool,
}

impl ImportView {
    /// The view of `i` at `now`.
    pub fn new(i: &Import, now: DateTime<Utc>) -> Self {
        let eta = i.eta(now);
        Self {
            id: i.id,
            state: i.state.as_str(),
            batch_id: i.batch.batch_id.to_string(),
            correlation_id: i.batch.correlation_id,
            mode: match i.batch.mode {
                mfa_core::store::UpsertMode::Reset => "reset",
                mfa_core::store::UpsertMode::KeepHistory => "keepHistory",
            },
            started_by: i.started_by.clone(),
            started_at: i.started_at,
            updated_at: i.updated_at,
            finished_at: i.finished_at,
            rows_total: i.rows_total,
            rows_written: i.rows_written,
            rows_left: i.rows_left(),
            percent: (i.rows_written * 100)
                .checked_div(i.rows_total)
                .unwrap_or(100),
            eta,
            eta_seconds: eta.map(|e| (e - now).num_seconds().max(0)),
            outcome: i.outcome,
            chunks_done: i.chunks_done,
            chunks_total: i.chunks_total,
            error: i.error.clone(),
            attempts: i.attempts,
            waiting: i.is_resumable(now),
            send_now: i.send_now,
        }
    }
}

fn nudge(state: &SharedState, imports: &[Import], now: DateTime<Utc>) {
    if imports.iter().any(|i| i.is_resumable(now)) {
        state.imports.resume_in_background();
    }
}

/// Every import, the newest first.
pub async fn list(_admin: Principal, state: SharedState) -> Result<Response, warp::Rejection> {
    let now = state.clock.now();
    let all = state.store.imports().await.map_err(ApiError::from)?;
    nudge(&state, &all, now);
    let views: Vec<ImportView> = all.iter().map(|i| ImportView::new(i, now)).collect();
    let running = all
        .iter()
        .filter(|i| i.state == ImportState::Running)
        .count();
    Ok(respond::json(
        StatusCode::OK,
        &json!({ "imports": views, "running": running, "generatedAt": now }),
    ))
}

/// One import.
pub async fn one(
    id: String,
    _admin: Principal,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let now = state.clock.now();
    let id = Uuid::parse_str(id.trim()).map_err(|_| ApiError::NotFound)?;
    let Some(import) = state.store.get_import(id).await.map_err(ApiError::from)? else {
        return Err(ApiError::NotFound.into());
    };
    nudge(&state, std::slice::from_ref(&import), now);
    Ok(respond::json(
        StatusCode::OK,
        &ImportView::new(&import, now),
    ))
}
