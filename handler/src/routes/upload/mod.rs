//! `POST /api/upload-users` (admin): add people to the campaign.
//!
//! Accepts a raw CSV body (`Content-Type: text/csv`; `?batchId=`, `?sendNow=true`, `?mode=reset`),
//! JSON rows for manual entry (`{"people": [...], "batchId": ..., "sendNow": ...}` or a bare
//! array), and the old portal's `{"csv": "<text>", "batchId": "..."}`. All-or-nothing: any invalid
//! row refuses the whole upload with a per-row report (nothing stored, no import started).
//!
//! A valid upload is a background import ([`mfa_core::imports`]): its rows are staged, then
//! written chunk by chunk for up to `MFA_IMPORT_REQUEST_SECONDS`. All written: `200` with the
//! final counts. Otherwise `202` with the import id and the counts so far, and the rest is
//! written in the background (`GET /api/admin/imports/{id}`). The same rows uploaded while
//! their import runs: `409`.

pub mod parse;

use std::time::Instant;

use bytes::Bytes;
use mfa_core::domain::{BatchId, Source, TargetStrength};
use mfa_core::imports::{NewImport, Started};
use mfa_core::store::{ImportState, UploadBatch, UpsertMode};
use serde_json::{json, Value};
use warp::http::StatusCode;
use warp::reply::Response;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::models::UploadQuery;
use crate::respond;
use crate::state::SharedState;
use parse::{InvalidRows, Parsed, Rejected};

/// Upload options from the query string or the JSON body (the query wins).
#[derive(Debug, Default)]
struct Options {
    batch_id: Option<String>,
    send_now: Option<bool>,
    hold: Option<bool>,
    target: Option<String>,
    /// A JSON `hold` that is not a yes or no: refused (a typo must never send a held wave).
    hold_error: Option<String>,
    mode: Option<String>,
    invalid_rows: Option<String>,
}

/// `hold=`: `true`/`false` (and `1`/`0`, `yes`/`no`); anything else is refused, so a typo
/// never sends a wave that was meant to be held.
fn flag(s: &str) -> Result<bool, ApiError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        other => Err(ApiError::BadRequest(format!(
            "hold must be true or false, got {other:?}"
        ))),
    }
}

fn truthy(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on"
    )
}

impl Options {
    /// What to do with invalid rows (`invalidRows`: `refuse`, the default, or `skip`).
    fn invalid(&self) -> Result<InvalidRows, ApiError> {
        InvalidRows::parse(self.invalid_rows.as_deref().unwrap_or("")).map_err(ApiError::BadRequest)
    }

    fn from_query(query: &str) -> Result<Self, ApiError> {
        let q: UploadQuery = super::decode(query.as_bytes())
            .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
        Ok(Self {
            batch_id: q.batch_id,
            send_now: q.send_now.map(|s| truthy(&s)),
            hold: q.hold.as_deref().map(flag).transpose()?,
            hold_error: None,
            target: q.target,
            mode: q.mode,
            invalid_rows: q.invalid_rows,
        })
    }

    fn fill_from(&mut self, obj: &serde_json::Map<String, Value>) {
        if self.batch_id.is_none() {
            self.batch_id = obj
                .get("batchId")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        if self.send_now.is_none() {
            self.send_now = obj.get("sendNow").and_then(|v| match v {
                Value::Bool(b) => Some(*b),
                Value::String(s) => Some(truthy(s)),
                _ => None,
            });
        }
        if self.hold.is_none() {
            self.hold_error = match obj.get("hold") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => {
                    self.hold = Some(*b);
                    None
                }
                Some(Value::String(s)) => match flag(s) {
                    Ok(b) => {
                        self.hold = Some(b);
                        None
                    }
                    Err(e) => Some(e.to_string()),
                },
                Some(other) => Some(format!("hold must be true or false, got {other}")),
            };
        }
        if self.target.is_none() {
            self.target = obj
                .get("target")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        if self.mode.is_none() {
            self.mode = obj.get("mode").and_then(Value::as_str).map(str::to_string);
        }
        if self.invalid_rows.is_none() {
            self.invalid_rows = obj
                .get("invalidRows")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
    }
}

/// Handles one upload.
pub async fn upload(
    query: String,
    content_type: Option<String>,
    principal: Principal,
    body: Bytes,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let started_at = Instant::now();
    let max_rows = state.settings.core.upload_max_rows;
    let mut options = Options::from_query(&query)?;
    let ct = content_type.unwrap_or_default().to_ascii_lowercase();
    let looks_json = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[');
    let is_json = ct.contains("json") || (ct.is_empty() && looks_json);
    let is_csv = ct.is_empty()
        || [
            "text/csv",
            "application/csv",
            "text/plain",
            "application/vnd.ms-excel",
        ]
        .iter()
        .any(|t| ct.starts_with(t));
    let (parsed, source) = if is_json {
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
        match value {
            Value::Array(items) => (
                parse::rows(&items, max_rows, options.invalid()?),
                Source::Manual,
            ),
            Value::Object(obj) => {
                options.fill_from(&obj);
                if let Some(text) = obj.get("csv").and_then(Value::as_str) {
                    (
                        parse::csv(text.as_bytes(), max_rows, options.invalid()?),
                        Source::CsvUpload,
                    )
                } else if let Some(items) = ["people", "users", "rows"]
                    .iter()
                    .find_map(|k| obj.get(*k).and_then(Value::as_array))
                {
                    (
                        parse::rows(items, max_rows, options.invalid()?),
                        Source::Manual,
                    )
                } else {
                    return Err(ApiError::BadRequest(
                        "expected {\"people\": [...]}, a JSON array of rows, or {\"csv\": \"...\"}"
                            .into(),
                    )
                    .into());
                }
            }
            _ => return Err(ApiError::BadRequest("expected a JSON object or array".into()).into()),
        }
    } else if is_csv {
        (
            parse::csv(&body, max_rows, options.invalid()?),
            Source::CsvUpload,
        )
    } else {
        return Err(
            ApiError::UnsupportedMediaType("send text/csv or application/json".into()).into(),
        );
    };
    if let Some(e) = options.hold_error.take() {
        return Err(ApiError::BadRequest(e).into());
    }
    let target = options
        .target
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(TargetStrength::parse)
        .transpose()
        .map_err(|e| ApiError::BadRequest(format!("target: {e}")))?;
    let now = state.clock.now();
    let batch_id = match options.batch_id.as_deref() {
        Some(b) => BatchId::parse(b).map_err(|e| ApiError::BadRequest(format!("batchId: {e}")))?,
        None => BatchId::default_for(now),
    };
    let mode = match options
        .mode
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") | Some("keephistory") | Some("keep") => UpsertMode::KeepHistory,
        Some("reset") => UpsertMode::Reset,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "mode must be keepHistory or reset, got {other:?}"
            ))
            .into())
        }
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(rejected) => return Ok(refused(rejected, started_at)),
    };
    let Parsed {
        people,
        skipped,
        skipped_rows,
        skipped_empty,
        ignored_columns,
    } = parsed;
    let rows = people.len();
    let batch = UploadBatch {
        batch_id: batch_id.clone(),
        source,
        correlation_id: uuid::Uuid::new_v4(),
        now,
        mode,
        hold: options.hold.unwrap_or(false),
        target,
    };
    let correlation_id = batch.correlation_id;
    let held = batch.hold;
    // A held upload never starts invitations: it waits for its release.
    let send_now_asked = options.send_now.unwrap_or(false) && !held;
    let new = NewImport {
        batch,
        people,
        started_by: principal.name.clone(),
        send_now: send_now_asked,
    };
    let started = state
        .imports
        .importer()
        .start(new, state.settings.import_request_budget)
        .await
        .map_err(ApiError::from)?;
    let import = match started {
        Started::Duplicate(id) => return Ok(duplicate(id, started_at)),
        Started::Completed(import) | Started::Running(import) => import,
    };
    if import.state == ImportState::Failed {
        tracing::error!(admin = %principal.name, import = %import.id, error = ?import.error, "upload failed");
        return Err(ApiError::Unexpected(anyhow::anyhow!(
            "upload {} failed: {}",
            import.id,
            import.error.as_deref().unwrap_or("unknown")
        ))
        .into());
    }
    let running = import.state == ImportState::Running;
    tracing::info!(admin = %principal.name, batch = %batch_id, %correlation_id, import = %import.id,
        rows, skipped_rows, written = import.rows_written, running, outcome = ?import.outcome, "upload stored");
    if running {
        state.imports.continue_in_background(import.clone());
    }
    crate::audit::record(
        &state,
        &principal,
        "upload",
        Some(batch_id.to_string()),
        Some(format!(
            "{rows} rows{}: {} new, {} re-queued, {} reset, {} unchanged{}{}",
            if running { " (import running)" } else { "" },
            import.outcome.inserted,
            import.outcome.requeued,
            import.outcome.reset,
            import.outcome.unchanged,
            if skipped_rows > 0 {
                format!(", {skipped_rows} invalid rows skipped")
            } else {
                String::new()
            },
            if held { "; held until released" } else { "" }
        )),
    )
    .await;
    // Only rows already written have a record, so only they can be invited now; an import
    // that asked for sendNow starts the pass again when it completes.
    let send_now = if held {
        "held: nobody is emailed until the batch is released"
    } else if send_now_asked && import.rows_written > 0 {
        start_invitations(&state)
    } else if send_now_asked {
        "after the import"
    } else {
        "not requested"
    };
    let warnings: Vec<String> = if ignored_columns.is_empty() {
        Vec::new()
    } else {
        vec![format!("ignored columns: {}", ignored_columns.join(", "))]
    };
    let summary = import.outcome;
    let mut answer = json!({
        "ok": true,
        "importId": import.id,
        "batchId": batch_id,
        "correlationId": correlation_id,
        "rows": rows,
        "skippedEmptyRows": skipped_empty,
        // With invalidRows=skip: the rows left out and why (the first ones listed).
        "skippedRows": skipped_rows,
        "skipped": skipped,
        "inserted": summary.inserted,
        "requeued": summary.requeued,
        "reset": summary.reset,
        "unchanged": summary.unchanged,
        "mode": if mode == UpsertMode::Reset { "reset" } else { "keepHistory" },
        "hold": held,
        "target": target.map(|t| t.as_str()),
        "sendNow": send_now,
        "ignoredColumns": ignored_columns,
        "warnings": warnings,
        "elapsedMs": started_at.elapsed().as_millis() as u64,
    });
    if !running {
        return Ok(respond::json(StatusCode::OK, &answer));
    }
    // The rest is written in the background: 202 with the counts so far.
    let status_url = format!("/api/admin/imports/{}", import.id);
    answer["state"] = json!("running");
    answer["rowsWritten"] = json!(import.rows_written);
    answer["rowsLeft"] = json!(import.rows_left());
    answer["statusUrl"] = json!(status_url);
    let mut resp = respond::json(StatusCode::ACCEPTED, &answer);
    if let Ok(v) = warp::http::HeaderValue::from_str(&status_url) {
        resp.headers_mut().insert(warp::http::header::LOCATION, v);
    }
    Ok(resp)
}

/// 409: the same rows are being imported already; nothing was staged.
fn duplicate(running: uuid::Uuid, started: Instant) -> Response {
    respond::json(
        StatusCode::CONFLICT,
        &json!({
            "ok": false,
            "error": format!(
                "the same rows are being imported already (import {running}); nothing was stored. \
                 Wait for it to finish: GET /api/admin/imports/{running} shows its progress"
            ),
            "importId": running,
            "elapsedMs": started.elapsed().as_millis() as u64,
        }),
    )
}

fn refused(rejected: Rejected, started: Instant) -> Response {
    respond::json(
        StatusCode::BAD_REQUEST,
        &json!({
            "ok": false,
            "error": "the upload was refused and nothing was stored; fix the rows listed and upload again",
            "rows": rejected.rows,
            "errorCount": rejected.total,
            "truncated": rejected.total > rejected.problems.len(),
            "errors": rejected.problems,
            "elapsedMs": started.elapsed().as_millis() as u64,
        }),
    )
}

/// Starts the invitation pass in the background (the upload answer does not wait for it).
fn start_invitations(state: &SharedState) -> &'static str {
    if crate::routes::admin::control::start_invitations(state) {
        "started"
    } else {
        "worker not available"
    }
}
