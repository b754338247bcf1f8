//! Meta values and the mail log, in the companion list ("<list title> Meta").
//!
//! A meta value is an item titled `meta:<key>` with its value in `Value`. SharePoint has no
//! unique constraint, so creating a key is settled after the fact: whoever created the item
//! with the lowest id owns the key, and a creator that lost deletes its own item again.
//! Replacing and deleting use the item's eTag (`If-Match`). A mail log entry is an item titled
//! `send:<mailbox>` with `SentAt` (indexed) and `Recipients`.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::columns::meta::{AT, KEY, RECIPIENTS, VALUE};
use super::list::{Filter, SpList};
use super::mapping::ts;
use super::{backend, SharePointStore};
use crate::domain::Upn;
use crate::graph::{GraphError, ListItem, RangeFilter};
use crate::store::{AuditEntry, Page, SendLogEntry, StoreError, StoreResult};

/// Attempts of a meta write that keeps losing races.
const ATTEMPTS: usize = 10;

fn key_title(key: &str) -> String {
    format!("meta:{key}")
}

fn item_number(it: &ListItem) -> u64 {
    it.id.parse().unwrap_or(u64::MAX)
}

pub(super) fn value_of(it: &ListItem) -> Option<String> {
    match it.fields.get(VALUE) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => Some(String::new()),
        Some(other) => Some(other.to_string()),
    }
}

/// Items of `key`, oldest first.
pub(super) async fn items(meta: &SpList, key: &str) -> StoreResult<Vec<ListItem>> {
    let mut items = meta
        .scan(
            Filter::Eq(KEY.into(), key_title(key)),
            &[KEY.to_string(), VALUE.to_string()],
        )
        .await
        .map_err(backend)?;
    items.sort_by_key(item_number);
    Ok(items)
}

/// The value of `key`.
pub async fn get(meta: &SpList, key: &str) -> StoreResult<Option<String>> {
    Ok(items(meta, key).await?.first().and_then(value_of))
}

/// Writes `key` whatever its current value.
pub async fn set(meta: &SpList, key: &str, value: &str) -> StoreResult<()> {
    for _ in 0..ATTEMPTS {
        let current = get(meta, key).await?;
        if compare_and_set(meta, key, current.as_deref(), Some(value)).await? {
            return Ok(());
        }
    }
    Err(StoreError::Backend(anyhow::anyhow!(
        "meta value {key} keeps changing; gave up writing it"
    )))
}

/// Replaces `key`'s value if it is `expected` (see [`crate::store::Store::compare_and_set_meta`]).
pub async fn compare_and_set(
    meta: &SpList,
    key: &str,
    expected: Option<&str>,
    new: Option<&str>,
) -> StoreResult<bool> {
    for _ in 0..ATTEMPTS {
        let found = items(meta, key).await?;
        let current = found.first();
        if current.and_then(value_of).as_deref() != expected {
            return Ok(false);
        }
        let result = match (current, new) {
            (None, None) => return Ok(true),
            (None, Some(v)) => return create_key(meta, key, v).await,
            (Some(it), Some(v)) => {
                let mut m = Map::new();
                m.insert(VALUE.into(), json!(v));
                meta.patch(&it.id, m, it.etag.as_deref()).await.map(|_| ())
            }
            (Some(it), None) => meta.delete(&it.id, it.etag.as_deref()).await.map(|_| ()),
        };
        match result {
            Ok(()) => return Ok(true),
            // Changed under us: look again (the value may still be the expected one).
            Err(GraphError::PreconditionFailed | GraphError::NotFound { .. }) => continue,
            Err(e) => return Err(backend(e)),
        }
    }
    Ok(false)
}

/// Replaces the value of the meta item `item_id` if its eTag is still `etag`: `None` when it
/// changed (or is gone), else the new eTag when the answer echoed it.
pub(super) async fn replace(
    meta: &SpList,
    item_id: &str,
    etag: &str,
    value: &str,
) -> StoreResult<Option<Option<String>>> {
    let mut m = Map::new();
    m.insert(VALUE.into(), json!(value));
    match meta.patch(item_id, m, Some(etag)).await {
        Ok(etag) => Ok(Some(etag)),
        Err(GraphError::PreconditionFailed | GraphError::NotFound { .. }) => Ok(None),
        Err(e) => Err(backend(e)),
    }
}

pub(super) async fn create_key(meta: &SpList, key: &str, value: &str) -> StoreResult<bool> {
    let mut m = Map::new();
    m.insert(KEY.into(), json!(key_title(key)));
    m.insert(VALUE.into(), json!(value));
    let mine = meta.create(m).await.map_err(backend)?;
    let all = items(meta, key).await?;
    if all.first().is_some_and(|first| first.id == mine.id) {
        return Ok(true);
    }
    meta.delete(&mine.id, None).await.map_err(backend)?;
    Ok(false)
}

/// Appends a mail log entry, stamped when its request leaves (after any wait for RUs); returns
/// that time.
pub async fn log_send(store: &SharePointStore, e: &SendLogEntry) -> StoreResult<DateTime<Utc>> {
    let mut m = Map::new();
    m.insert(KEY.into(), json!(format!("send:{}", e.mailbox)));
    m.insert(RECIPIENTS.into(), json!(e.recipients));
    let (_, at) = store
        .meta
        .create_stamped(m, AT, e.at)
        .await
        .map_err(backend)?;
    Ok(at)
}

/// Deletes at most `max` entries older than `before` (one read of at most `max`, then deletes
/// 20 per `$batch`); returns how many it deleted. An entry someone else deleted meanwhile counts.
pub async fn prune_sends(
    store: &SharePointStore,
    before: DateTime<Utc>,
    max: usize,
) -> StoreResult<u64> {
    let old = store
        .meta
        .first(
            Filter::Range(RangeFilter {
                column: AT.into(),
                lt: Some(ts(before)),
                ..RangeFilter::default()
            }),
            &[KEY.to_string()],
            u32::try_from(max).unwrap_or(u32::MAX),
        )
        .await
        .map_err(backend)?;
    let deletes = old
        .iter()
        .map(|it| (store.meta.delete_request(&it.id), super::list::RU_WRITE))
        .collect::<Vec<_>>();
    let n = deletes.len() as u64;
    for r in store.meta.batch(deletes).await {
        match r {
            Ok(_) | Err(GraphError::NotFound { .. }) => {}
            Err(e) => return Err(backend(e)),
        }
    }
    Ok(n)
}

/// Entries at or after `since`, oldest first (older ones are left to [`prune_sends`]).
pub async fn sends_since(
    store: &SharePointStore,
    since: DateTime<Utc>,
) -> StoreResult<Vec<SendLogEntry>> {
    let select = [KEY.to_string(), AT.to_string(), RECIPIENTS.to_string()];
    let items = store
        .meta
        .scan(
            Filter::Range(RangeFilter {
                column: AT.into(),
                ge: Some(ts(since)),
                ..RangeFilter::default()
            }),
            &select,
        )
        .await
        .map_err(backend)?;
    let mut out: Vec<(DateTime<Utc>, u64, SendLogEntry)> = items
        .iter()
        .filter_map(|it| {
            let title = it.fields.get(KEY)?.as_str()?;
            let mailbox = Upn::parse(title.strip_prefix("send:")?).ok()?;
            let at = DateTime::parse_from_rfc3339(it.fields.get(AT)?.as_str()?)
                .ok()?
                .to_utc();
            let recipients = it
                .fields
                .get(RECIPIENTS)
                .and_then(Value::as_f64)
                .map_or(1, |n| n.max(0.0) as u32);
            Some((
                at,
                item_number(it),
                SendLogEntry {
                    mailbox,
                    at,
                    recipients,
                },
            ))
        })
        .collect();
    out.sort_by_key(|(at, id, _)| (*at, *id));
    Ok(out.into_iter().map(|(_, _, e)| e).collect())
}

/// The key of audit log items (their entry is the JSON in `Value`; no `SentAt`, so the mail
/// log's pruning never touches them).
const AUDIT_KEY: &str = "audit";

/// Appends an audit log entry: one item, never changed afterwards.
pub async fn append_audit(store: &SharePointStore, e: &AuditEntry) -> StoreResult<()> {
    let mut m = Map::new();
    m.insert(KEY.into(), json!(AUDIT_KEY));
    let value = serde_json::to_string(e).map_err(|e| StoreError::Backend(e.into()))?;
    m.insert(VALUE.into(), json!(value));
    store.meta.create(m).await.map_err(backend)?;
    Ok(())
}

/// One page of the audit log, newest first (the log is read whole: admin actions are few).
pub async fn audit(
    store: &SharePointStore,
    target: Option<&str>,
    page: u64,
    page_size: u64,
) -> StoreResult<Page<AuditEntry>> {
    let mut items = store
        .meta
        .scan(
            Filter::Eq(KEY.into(), AUDIT_KEY.into()),
            &[KEY.to_string(), VALUE.to_string()],
        )
        .await
        .map_err(backend)?;
    items.sort_by_key(|it| std::cmp::Reverse(item_number(it)));
    let entries: Vec<AuditEntry> = items
        .iter()
        .filter_map(|it| serde_json::from_str(&value_of(it)?).ok())
        .filter(|e: &AuditEntry| target.is_none_or(|t| e.target.as_deref() == Some(t)))
        .collect();
    let total = entries.len() as u64;
    let start = usize::try_from(page.saturating_mul(page_size)).unwrap_or(usize::MAX);
    let items = entries
        .into_iter()
        .skip(start)
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .collect();
    Ok(Page {
        items,
        total,
        page,
        page_size,
    })
}
