//! Writes. Every change to an existing item carries the eTag it was decided on (`If-Match`) and
//! bumps `RowVersion`; a 412 means someone else wrote first: the item is re-read and the
//! decision taken again, and a record is never overwritten blindly.

use crate::store::{new_record, reupload};
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::columns::f;
use super::list::{batch_items, RU_WRITE};
use super::mapping::{self, ts, Row};
use super::{backend, queries, Known, SharePointStore};
use crate::domain::{NewPerson, OnboardingRecord, TrackingToken, Upn};
use crate::graph::{BatchResponse, GraphError, GraphResult};
use crate::store::{DueQuery, Lease, StoreError, StoreResult, UploadBatch, UpsertSummary};

/// Attempts at a write whose `If-Match` failed while the record itself was unchanged.
const ATTEMPTS: usize = 3;
/// Above this many people an upload reads the whole list instead of one lookup each.
const LOOKUP_LIMIT: usize = 100;

fn echoed_etag(resp: &BatchResponse) -> Option<String> {
    resp.body
        .get("@odata.etag")
        .and_then(Value::as_str)
        .map(str::to_string)
}

impl SharePointStore {
    /// What this process wrote: the eTag for the next write, and the due snapshot's row.
    fn remember(&self, rec: &OnboardingRecord, item_id: &str, etag: Option<String>) {
        let mut snapshots = self.snapshots.lock();
        match &etag {
            // Without an eTag the row could not be claimed safely: the next read brings it back.
            None => snapshots.due.remove(rec.upn.as_str()),
            Some(tag) => snapshots.due.put(Row {
                record: rec.clone(),
                item_id: item_id.to_string(),
                etag: Some(tag.clone()),
                has_token: true,
                legacy_status: None,
                has_version: true,
            }),
        }
        drop(snapshots);
        self.known.lock().insert(
            rec.upn.as_str().to_string(),
            Known {
                item_id: item_id.to_string(),
                etag,
                version: rec.version,
            },
        );
    }

    /// A row gone (deleted, or not found when written).
    pub(super) fn forget(&self, upn: &str) {
        self.snapshots.lock().due.remove(upn);
        self.known.lock().remove(upn);
    }

    async fn reread(&self, item_id: &str) -> StoreResult<Option<Row>> {
        let item = self
            .people
            .get(item_id, &self.select_all())
            .await
            .map_err(backend)?;
        Ok(item.and_then(|it| self.rows(vec![it]).into_iter().next()))
    }
}

/// Compare-and-set write of `rec` (see [`crate::store::Store::update`]).
pub async fn update(
    store: &SharePointStore,
    rec: &OnboardingRecord,
) -> StoreResult<OnboardingRecord> {
    let conflict = || StoreError::Conflict {
        upn: rec.upn.clone(),
        expected: rec.version,
    };
    let known = store.known.lock().get(rec.upn.as_str()).cloned();
    let (item_id, mut etag) = match known {
        Some(k) if k.version == rec.version && k.etag.is_some() => (k.item_id, k.etag),
        _ => {
            let row = queries::get_one(store, f::TITLE, rec.upn.as_str())
                .await?
                .ok_or_else(|| StoreError::NotFound(rec.upn.clone()))?;
            if row.record.version != rec.version {
                return Err(conflict());
            }
            (row.item_id, row.etag)
        }
    };
    let mut next = rec.clone();
    next.version = rec.version + 1;
    for _ in 0..ATTEMPTS {
        match store
            .people
            .patch(&item_id, mapping::write_fields(&next), etag.as_deref())
            .await
        {
            Ok(new_etag) => {
                store.remember(&next, &item_id, new_etag);
                return Ok(next);
            }
            Err(GraphError::PreconditionFailed) => {
                let fresh = store
                    .reread(&item_id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(rec.upn.clone()))?;
                // Written by the product since our read, or edited by hand: decide again.
                if fresh.record.version != rec.version || fresh.etag != etag {
                    return Err(conflict());
                }
                // The item is exactly as we read it (a spurious 412): try again.
                etag = fresh.etag;
            }
            Err(GraphError::NotFound { .. }) => {
                store.forget(rec.upn.as_str());
                return Err(StoreError::NotFound(rec.upn.clone()));
            }
            Err(e) => return Err(backend(e)),
        }
    }
    Err(conflict())
}

/// What an upload does to one known row, or `None` to leave it alone.
fn decide(
    row: &Row,
    person: &NewPerson,
    batch: &UploadBatch,
    summary: &mut UpsertSummary,
) -> StoreResult<Option<OnboardingRecord>> {
    let mut rec = row.record.clone();
    let changed = reupload(&mut rec, person, batch, summary)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    // A row without a token (adopted, never written by us) is written to get one.
    if !changed && row.has_token {
        return Ok(None);
    }
    rec.updated_at = batch.now;
    rec.version += 1;
    Ok(Some(rec))
}

async fn existing_rows(
    store: &SharePointStore,
    people: &[NewPerson],
) -> StoreResult<HashMap<String, Row>> {
    if people.len() <= LOOKUP_LIMIT {
        let upns: Vec<_> = people.iter().map(|p| p.upn.clone()).collect();
        return queries::get_many(store, &upns).await;
    }
    Ok(queries::all_rows(store)
        .await?
        .into_iter()
        .map(|r| (r.record.upn.as_str().to_string(), r))
        .collect())
}

/// Adds uploaded people: everything is validated and decided first, then new people are
/// created 20 per `$batch` and known people updated with `If-Match` (a 412 re-reads and
/// decides again). If a create fails, the items this upload created are deleted again and
/// the upload fails; updates already applied stay (they are what a retry would do again).
pub async fn upsert_people(
    store: &SharePointStore,
    batch: &UploadBatch,
    people: Vec<NewPerson>,
) -> StoreResult<UpsertSummary> {
    let mut seen = HashSet::with_capacity(people.len());
    if let Some(dup) = people.iter().find(|p| !seen.insert(p.upn.clone())) {
        return Err(StoreError::Invalid(format!(
            "{} appears more than once in the upload",
            dup.upn
        )));
    }
    let existing = existing_rows(store, &people).await?;
    upsert_with(store, batch, people, &existing).await
}

/// How long an import's read of the list is reused for its later chunks.
const SNAPSHOT_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// One chunk of a background import: decided from one read of the list per import, process and
/// [`SNAPSHOT_TTL`] (a chunk of the one-chunk import of a few people looks them up one by one),
/// as `upsert_people` decides a whole upload from one read. The read is dropped after the last
/// chunk and after any failure (so a retried chunk sees what the failed attempt left).
pub async fn import_chunk(
    store: &SharePointStore,
    batch: &UploadBatch,
    people: Vec<NewPerson>,
    last: bool,
) -> StoreResult<UpsertSummary> {
    let now = store.now();
    let cached = {
        let snap = store.import_rows.lock();
        snap.as_ref()
            .filter(|s| s.correlation == batch.correlation_id && now - s.taken < SNAPSHOT_TTL)
            // A chunk written again in this process: the read does not show what it wrote.
            .filter(|s| !people.iter().any(|p| s.written.contains(p.upn.as_str())))
            .map(|s| std::sync::Arc::clone(&s.rows))
    };
    let existing: HashMap<String, Row> = match cached {
        None if people.len() <= LOOKUP_LIMIT => existing_rows(store, &people).await?,
        found => {
            let rows = match found {
                Some(rows) => rows,
                None => {
                    let rows: HashMap<String, Row> = queries::all_rows(store)
                        .await?
                        .into_iter()
                        .map(|r| (r.record.upn.as_str().to_string(), r))
                        .collect();
                    let rows = std::sync::Arc::new(rows);
                    *store.import_rows.lock() = Some(super::ImportSnapshot {
                        correlation: batch.correlation_id,
                        taken: now,
                        rows: std::sync::Arc::clone(&rows),
                        written: HashSet::new(),
                    });
                    rows
                }
            };
            people
                .iter()
                .filter_map(|p| {
                    rows.get(p.upn.as_str())
                        .map(|r| (p.upn.as_str().to_string(), r.clone()))
                })
                .collect()
        }
    };
    let upns: Vec<String> = people.iter().map(|p| p.upn.as_str().to_string()).collect();
    let result = upsert_with(store, batch, people, &existing).await;
    let mut snap = store.import_rows.lock();
    if last || result.is_err() {
        *snap = None;
    } else if let Some(s) = snap
        .as_mut()
        .filter(|s| s.correlation == batch.correlation_id)
    {
        s.written.extend(upns);
    }
    result
}

async fn upsert_with(
    store: &SharePointStore,
    batch: &UploadBatch,
    people: Vec<NewPerson>,
    existing: &HashMap<String, Row>,
) -> StoreResult<UpsertSummary> {
    let mut seen = HashSet::with_capacity(people.len());
    if let Some(dup) = people.iter().find(|p| !seen.insert(p.upn.clone())) {
        return Err(StoreError::Invalid(format!(
            "{} appears more than once in the upload",
            dup.upn
        )));
    }
    let mut summary = UpsertSummary::default();
    let mut creates = Vec::new();
    let mut updates: Vec<(NewPerson, Row, OnboardingRecord)> = Vec::new();
    for person in people {
        match existing.get(person.upn.as_str()) {
            None => {
                creates.push(
                    new_record(person, batch).map_err(|e| StoreError::Invalid(e.to_string()))?,
                );
                summary.inserted += 1;
            }
            Some(row) => {
                if let Some(rec) = decide(row, &person, batch, &mut summary)? {
                    updates.push((person, row.clone(), rec));
                }
            }
        }
    }
    create_all(store, &creates).await?;
    let mut round = 0;
    while !updates.is_empty() {
        round += 1;
        let requests = updates
            .iter()
            .map(|(_, row, rec)| {
                let req = store.people.patch_request(
                    &row.item_id,
                    mapping::write_fields(rec),
                    row.etag.as_deref(),
                );
                (req, RU_WRITE)
            })
            .collect();
        let results = store.people.batch(requests).await;
        let mut again = Vec::new();
        for ((person, row, rec), res) in updates.into_iter().zip(results) {
            match res {
                Ok(resp) => store.remember(&rec, &row.item_id, echoed_etag(&resp)),
                Err(GraphError::PreconditionFailed) if round < ATTEMPTS => {
                    let Some(fresh) = store.reread(&row.item_id).await? else {
                        continue;
                    };
                    let mut scratch = UpsertSummary::default();
                    if let Some(rec) = decide(&fresh, &person, batch, &mut scratch)? {
                        again.push((person, fresh, rec));
                    }
                }
                Err(e) => {
                    return Err(StoreError::Backend(anyhow::Error::new(e).context(format!(
                        "upload: {} new people were created; updating {} failed",
                        creates.len(),
                        person.upn
                    ))))
                }
            }
        }
        updates = again;
    }
    Ok(summary)
}

async fn create_all(store: &SharePointStore, records: &[OnboardingRecord]) -> StoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let requests = records
        .iter()
        .map(|r| {
            (
                store.people.create_request(mapping::create_fields(r)),
                RU_WRITE,
            )
        })
        .collect();
    let results = store.people.batch(requests).await;
    let mut created = Vec::new();
    let mut failure = None;
    for (rec, res) in records.iter().zip(results) {
        match res.and_then(|r| r.json::<crate::graph::ListItem>()) {
            Ok(item) => {
                store.remember(rec, &item.id, item.etag.clone());
                created.push(item.id);
            }
            Err(e) => {
                failure.get_or_insert((rec.upn.clone(), e));
            }
        }
    }
    let Some((upn, e)) = failure else {
        return Ok(());
    };
    // All or nothing: take back what this upload created.
    let deletes = created
        .iter()
        .map(|id| (store.people.delete_request(id), RU_WRITE))
        .collect();
    let undone = store
        .people
        .batch(deletes)
        .await
        .iter()
        .filter(|r| r.is_ok())
        .count();
    for rec in records {
        store.forget(rec.upn.as_str());
    }
    Err(StoreError::Backend(anyhow::Error::new(e).context(format!(
        "upload failed creating {upn}; {undone} of the {} items it had created were deleted again",
        created.len()
    ))))
}

fn lease_fields(owner: &str, until: DateTime<Utc>, version: u64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(f::LEASE_OWNER.into(), json!(owner));
    m.insert(f::LEASE_UNTIL.into(), json!(ts(until)));
    m.insert(f::ROW_VERSION.into(), json!(version));
    m
}

/// Claims due rows for `lease`: each claim is an `If-Match` write of the lease columns; a row
/// changed since it was read is re-read and claimed only if it is still due and free.
pub async fn claim_due(
    store: &SharePointStore,
    q: &DueQuery,
    lease: &Lease,
) -> StoreResult<Vec<OnboardingRecord>> {
    let mut claimed = Vec::new();
    let mut cursor = q.clone();
    let mut rest = Vec::new().into_iter();
    let mut exhausted = false;
    while claimed.len() < q.limit {
        let want = q.limit - claimed.len();
        if rest.as_slice().is_empty() {
            if exhausted {
                break;
            }
            // The next rows after the last one seen: a page costs what it claims, not the whole
            // snapshot of due rows.
            let page = queries::due_rows(store, &cursor, want).await?;
            exhausted = page.len() < want;
            let Some(last) = page.last() else {
                break;
            };
            cursor.after = Some((
                last.record.next_due_at.unwrap_or(q.now),
                last.record.upn.clone(),
            ));
            rest = page
                .into_iter()
                .filter(|r| !r.record.is_leased_by_other(&lease.owner, q.now))
                .collect::<Vec<Row>>()
                .into_iter();
        }
        let chunk: Vec<Row> = rest
            .by_ref()
            .take(want.min(crate::graph::MAX_BATCH))
            .collect();
        if chunk.is_empty() {
            continue;
        }
        let requests = chunk
            .iter()
            .map(|r| {
                let fields = lease_fields(&lease.owner, lease.until, r.record.version + 1);
                (
                    store
                        .people
                        .patch_request(&r.item_id, fields, r.etag.as_deref()),
                    RU_WRITE,
                )
            })
            .collect();
        let results = store.people.batch(requests).await;
        for (row, res) in chunk.into_iter().zip(results) {
            let still_due = |r: &OnboardingRecord| {
                q.statuses.contains(&r.status)
                    && r.next_due_at.is_some_and(|d| d <= q.now)
                    && !r.is_leased_by_other(&lease.owner, q.now)
            };
            let (row, etag) = match res {
                Ok(resp) => (row, echoed_etag(&resp)),
                Err(GraphError::PreconditionFailed) => {
                    let Some(fresh) = store.reread(&row.item_id).await? else {
                        continue;
                    };
                    if !still_due(&fresh.record) {
                        continue;
                    }
                    let fields = lease_fields(&lease.owner, lease.until, fresh.record.version + 1);
                    match store
                        .people
                        .patch(&fresh.item_id, fields, fresh.etag.as_deref())
                        .await
                    {
                        Ok(etag) => (fresh, etag),
                        Err(GraphError::PreconditionFailed | GraphError::NotFound { .. }) => {
                            continue
                        }
                        Err(e) => return Err(backend(e)),
                    }
                }
                Err(GraphError::NotFound { .. }) => continue,
                Err(e) => return Err(backend(e)),
            };
            let mut rec = row.record;
            rec.lease_owner = Some(lease.owner.clone());
            rec.lease_until = Some(lease.until);
            rec.version += 1;
            store.remember(&rec, &row.item_id, etag);
            claimed.push(rec);
        }
    }
    Ok(claimed)
}

/// Stamps first opens: one `TrackingToken` query per token and one `If-Match` write per
/// record that has no open yet, 20 per `$batch`.
pub async fn record_opens(
    store: &SharePointStore,
    opens: &[(TrackingToken, DateTime<Utc>)],
) -> StoreResult<u64> {
    let mut first: Vec<(TrackingToken, DateTime<Utc>)> = Vec::new();
    for (token, at) in opens {
        if !first.iter().any(|(t, _)| t == token) {
            first.push((*token, *at));
        }
    }
    let select = store.select_all();
    let mut pending: Vec<(TrackingToken, DateTime<Utc>)> = first;
    let mut changed = 0u64;
    for _ in 0..ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        let lookups = pending
            .iter()
            .map(|(t, _)| {
                (
                    store
                        .people
                        .query_request(f::TOKEN, &t.to_string(), &select),
                    RU_WRITE,
                )
            })
            .collect();
        let found = store.people.batch(lookups).await;
        let mut targets = Vec::new();
        for ((token, at), res) in pending.iter().zip(found) {
            let items = batch_items(&res.map_err(backend)?).map_err(backend)?;
            if let Some(row) = super::oldest(store.rows(items)) {
                if row.record.email_opened_date.is_none() {
                    targets.push((*token, *at, row));
                }
            }
        }
        let writes = targets
            .iter()
            .map(|(_, at, row)| {
                let mut m = Map::new();
                m.insert(f::OPENED.into(), json!(ts(*at)));
                m.insert(f::UPDATED_AT.into(), json!(ts(*at)));
                m.insert(f::ROW_VERSION.into(), json!(row.record.version + 1));
                (
                    store
                        .people
                        .patch_request(&row.item_id, m, row.etag.as_deref()),
                    RU_WRITE,
                )
            })
            .collect();
        let results: Vec<GraphResult<BatchResponse>> = store.people.batch(writes).await;
        let mut again = Vec::new();
        for ((token, at, row), res) in targets.into_iter().zip(results) {
            match res {
                Ok(resp) => {
                    changed += 1;
                    let mut rec = row.record;
                    rec.email_opened_date = Some(at);
                    rec.updated_at = at;
                    rec.version += 1;
                    store.remember(&rec, &row.item_id, echoed_etag(&resp));
                }
                Err(GraphError::PreconditionFailed) => again.push((token, at)),
                Err(GraphError::NotFound { .. }) => {}
                Err(e) => return Err(backend(e)),
            }
        }
        pending = again;
    }
    Ok(changed)
}

/// Deletes every item of `upn` (duplicates included). Returns whether there was one.
pub async fn delete(store: &SharePointStore, upn: &Upn) -> StoreResult<bool> {
    let items = store
        .people
        .scan(
            super::list::Filter::Eq(f::TITLE.to_string(), upn.as_str().to_string()),
            &[f::TITLE.to_string()],
        )
        .await
        .map_err(backend)?;
    let mut any = false;
    for it in &items {
        any |= store.people.delete(&it.id, None).await.map_err(backend)?;
    }
    store.forget(upn.as_str());
    Ok(any)
}
