//! `GET /api/admin/users?page=&pageSize=&search=&status=&batchId=&attention=`: one page of
//! people (zero-based `page`, `pageSize` 1–1000, default 50), every column in camelCase.

use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::models::RecordView;
use crate::respond;
use crate::state::SharedState;

/// Largest page size.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// One page of people matching the filter.
pub async fn users(
    query: String,
    _admin: Principal,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let now = state.clock.now();
    let query = super::query(&query)?;
    let filter = super::filter(&query, now)?;
    let number = |k: &str, v: &Option<String>, default: u64| -> Result<u64, ApiError> {
        match v {
            None => Ok(default),
            Some(s) => s
                .trim()
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("{k} must be a whole number"))),
        }
    };
    let page = number("page", &query.page, 0)?;
    let page_size = number("pageSize", &query.page_size, 50)?;
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(ApiError::BadRequest(format!("pageSize must be 1 to {MAX_PAGE_SIZE}")).into());
    }
    if page > 10_000_000 {
        return Err(ApiError::BadRequest("page is too large".into()).into());
    }
    let found = state
        .store
        .list(&filter, page, page_size)
        .await
        .map_err(ApiError::from)?;
    let items: Vec<RecordView> = found.items.iter().map(RecordView::from).collect();
    Ok(respond::json(
        StatusCode::OK,
        &json!({
            "items": items,
            "total": found.total,
            "page": found.page,
            "pageSize": found.page_size,
            "generatedAt": now,
        }),
    ))
}
