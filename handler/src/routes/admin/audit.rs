//! `GET /api/admin/audit[?page=&pageSize=&target=&format=csv]`: the admin audit log, newest
//! first (JSON pages, or every entry as CSV). There is no way to change or delete an entry
//! through the API: the routes are `GET` only.

use mfa_core::store::{AuditEntry, MAX_PAGE};
use serde::Deserialize;
use serde_json::json;
use warp::http::header::{self, HeaderValue};
use warp::http::StatusCode;
use warp::reply::Response;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::models::Cell;
use crate::respond;
use crate::state::SharedState;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Query {
    page: Option<String>,
    page_size: Option<String>,
    target: Option<String>,
    format: Option<String>,
}

/// The CSV columns.
#[derive(Debug, serde::Serialize)]
struct Row {
    #[serde(rename = "At")]
    at: Cell,
    #[serde(rename = "Actor")]
    actor: Cell,
    #[serde(rename = "Origin")]
    origin: Cell,
    #[serde(rename = "Action")]
    action: Cell,
    #[serde(rename = "Target")]
    target: Cell,
    #[serde(rename = "Detail")]
    detail: Cell,
    #[serde(rename = "Id")]
    id: Cell,
}

impl From<&AuditEntry> for Row {
    fn from(e: &AuditEntry) -> Self {
        Self {
            at: Cell::new(e.at.to_rfc3339()),
            actor: Cell::new(e.actor.clone()),
            origin: Cell::new(e.origin.clone().unwrap_or_default()),
            action: Cell::new(e.action.clone()),
            target: Cell::new(e.target.clone().unwrap_or_default()),
            detail: Cell::new(e.detail.clone().unwrap_or_default()),
            id: Cell::new(e.id.to_string()),
        }
    }
}

fn number(name: &str, v: &Option<String>, default: u64) -> Result<u64, ApiError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("{name} must be a whole number"))),
    }
}

/// One page of the log, or all of it as CSV.
pub async fn audit(
    raw: String,
    _admin: Principal,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let q: Query = crate::routes::decode(raw.as_bytes())
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    let target = q
        .target
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    match q.format.as_deref().map(str::trim) {
        None | Some("" | "json") => {}
        Some("csv") => return csv(&state, target.as_deref()).await,
        Some(other) => {
            return Err(
                ApiError::BadRequest(format!("format must be json or csv, got {other:?}")).into(),
            )
        }
    }
    let page = number("page", &q.page, 0)?;
    let page_size = number("pageSize", &q.page_size, 50)?;
    if !(1..=1000).contains(&page_size) {
        return Err(ApiError::BadRequest("pageSize must be 1 to 1000".into()).into());
    }
    if page > 10_000_000 {
        return Err(ApiError::BadRequest("page is too large".into()).into());
    }
    let found = state
        .store
        .audit(target.as_deref(), page, page_size)
        .await
        .map_err(ApiError::from)?;
    Ok(respond::json(
        StatusCode::OK,
        &json!({
            "items": found.items,
            "total": found.total,
            "page": found.page,
            "pageSize": found.page_size,
            "generatedAt": state.clock.now(),
        }),
    ))
}

async fn csv(state: &SharedState, target: Option<&str>) -> Result<Response, warp::Rejection> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut page = 0;
    let mut rows = 0usize;
    loop {
        let found = state
            .store
            .audit(target, page, MAX_PAGE as u64)
            .await
            .map_err(ApiError::from)?;
        rows += found.items.len();
        for e in &found.items {
            writer
                .serialize(Row::from(e))
                .map_err(|e| ApiError::Unexpected(e.into()))?;
        }
        if found.items.len() < MAX_PAGE {
            break;
        }
        page += 1;
    }
    // (Serialising the first row writes the header; an empty log still gets one.)
    if rows == 0 {
        writer
            .write_record(["At", "Actor", "Origin", "Action", "Target", "Detail", "Id"])
            .map_err(|e| ApiError::Unexpected(e.into()))?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("{e}")))?;
    let mut resp = Response::new(body.into());
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let name = format!(
        "mfa-audit-{}.csv",
        state.clock.now().date_naive().format("%Y-%m-%d")
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
