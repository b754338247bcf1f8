//! `GET /api/admin/export[?search=&status=&batchId=&attention=]`: every matching record as CSV.
//!
//! Streamed: a task reads the store in chunks ([`Store::export`](mfa_core::store::Store::export))
//! and writes CSV into a small bounded channel that the response body drains, so memory stays
//! flat for any number of people. Each record is serialised as one [`ExportRow`], whose fields
//! are the columns (the old list's names); formula-like cells are neutralised
//! ([`crate::models::neutralise`]).
//!
//! `TrackingToken` is left empty unless `includeTokens=true`: a token is a working personal link
//! (anyone holding the file could click for everyone), and reports do not need it. The column
//! stays, so sheets built on the old export keep their layout.

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use warp::http::header::{self, HeaderValue};
use warp::reply::Response;

use crate::auth::Principal;
use crate::models::ExportRow;
use crate::state::SharedState;

/// Bytes buffered before a chunk is sent.
const CHUNK: usize = 64 * 1024;

/// `mfa-report[-batch]-YYYY-MM-DD.csv`, with the batch id reduced to safe characters.
pub fn file_name(batch: Option<&str>, day: chrono::NaiveDate) -> String {
    let batch = batch
        .map(|b| {
            let safe: String = b
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            format!("-{safe}")
        })
        .unwrap_or_default();
    format!("mfa-report{batch}-{}.csv", day.format("%Y-%m-%d"))
}

/// Streams the CSV.
pub async fn export(
    query: String,
    admin: Principal,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let now = state.clock.now();
    let query = super::query(&query)?;
    let filter = super::filter(&query, now)?;
    let include_tokens = match query.include_tokens.as_deref().map(str::trim) {
        None | Some("" | "false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(crate::error::ApiError::BadRequest(format!(
                "includeTokens must be true or false, got {other:?}"
            ))
            .into())
        }
    };
    if include_tokens {
        // Anyone holding the file can act on every person's link: say who asked.
        tracing::warn!(admin = %admin.name, "export with personal link tokens (includeTokens=true)");
        crate::audit::record(
            &state,
            &admin,
            "export.tokens",
            filter.batch_id.as_ref().map(ToString::to_string),
            Some("export with personal link tokens (includeTokens=true)".into()),
        )
        .await;
    }
    let name = file_name(
        filter.batch_id.as_ref().map(|b| b.as_str()),
        now.date_naive(),
    );
    tracing::info!(admin = %admin.name, file = %name, "export requested");
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let store = state.store.clone();
    tokio::spawn(async move {
        // The header first (also when no one matches), then one serialised `ExportRow` per
        // record.
        let mut writer = chunk_writer();
        if let Err(e) = ExportRow::header().and_then(|h| writer.write_record(&h)) {
            tracing::error!(error = %e, "export header failed");
            return;
        }
        let mut rows = store.export(filter);
        let mut count = 0u64;
        while let Some(item) = rows.next().await {
            let written = match item {
                Ok(rec) => {
                    let mut row = ExportRow::from(&rec);
                    if !include_tokens {
                        row.tracking_token = Default::default();
                    }
                    writer.serialize(row).map_err(std::io::Error::other)
                }
                Err(e) => Err(std::io::Error::other(e)),
            };
            if let Err(e) = written {
                tracing::error!(error = ?e, rows = count, "export failed part-way; the download is cut short");
                let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                return;
            }
            count += 1;
            if writer.get_ref().len() >= CHUNK && !send(&mut writer, &tx).await {
                return;
            }
        }
        send(&mut writer, &tx).await;
        tracing::info!(rows = count, "export finished");
    });
    let body = warp::hyper::Body::wrap_stream(ReceiverStream::new(rx));
    let mut resp = Response::new(body);
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// A writer for one chunk. It writes no header of its own: the export writes the header once,
/// and every chunk after the first would otherwise start with another.
fn chunk_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::with_capacity(CHUNK * 2))
}

/// Sends what the writer holds and starts a new chunk; false when the client went away.
async fn send(
    writer: &mut csv::Writer<Vec<u8>>,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> bool {
    let full = std::mem::replace(writer, chunk_writer());
    let Ok(chunk) = full.into_inner() else {
        return false;
    };
    if chunk.is_empty() {
        return true;
    }
    tx.send(Ok(Bytes::from(chunk))).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_the_old_portal() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 4).unwrap_or_default();
        assert_eq!(file_name(None, day), "mfa-report-2026-03-04.csv");
        assert_eq!(
            file_name(Some("wave 1:a"), day),
            "mfa-report-wave-1-a-2026-03-04.csv"
        );
    }
}
