//! Reads. Every filter names one indexed column: `Title` and `TrackingToken` for lookups,
//! `NextDueAt` (a range) for the due query, `InviteStatus` for status pages. Whatever else a
//! query needs (status, leases, search) is filtered here, on the rows that came back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::columns::{f, LEGACY_ERROR, LEGACY_SKIPPED};
use super::list::{batch_items, Filter, RU_WRITE};
use super::mapping::{ts, Row};
use super::{backend, oldest, SharePointStore};
use crate::domain::{BatchId, Hold, InviteStatus, OnboardingRecord, Upn};
use crate::graph::{ListItem, RangeFilter};
use crate::store::{
    Attention, BatchCounts, DayCounts, DueQuery, Funnel, PeopleFilter, ReasonCount, StoreResult,
    Summary,
};

/// The row whose `column` equals `value` (the oldest item if there are several).
pub async fn get_one(
    store: &SharePointStore,
    column: &str,
    value: &str,
) -> StoreResult<Option<Row>> {
    let items = store
        .people
        .scan(
            Filter::Eq(column.to_string(), value.to_string()),
            &store.select_all(),
        )
        .await
        .map_err(backend)?;
    Ok(oldest(store.rows(items)))
}

/// Rows of the given people, by lower-case UPN: one `Title` query each, 20 per `$batch`.
pub async fn get_many(store: &SharePointStore, upns: &[Upn]) -> StoreResult<HashMap<String, Row>> {
    let select = store.select_all();
    let requests = upns
        .iter()
        .map(|u| {
            (
                store.people.query_request(f::TITLE, u.as_str(), &select),
                RU_WRITE,
            )
        })
        .collect();
    let mut out: HashMap<String, Vec<Row>> = HashMap::new();
    for resp in store.people.batch(requests).await {
        let items = batch_items(&resp.map_err(backend)?).map_err(backend)?;
        for row in store.rows(items) {
            out.entry(row.record.upn.as_str().to_string())
                .or_default()
                .push(row);
        }
    }
    Ok(out
        .into_iter()
        .filter_map(|(k, rows)| oldest(rows).map(|r| (k, r)))
        .collect())
}

fn due_key(r: &Row) -> (Option<DateTime<Utc>>, String) {
    (r.record.next_due_at, r.record.upn.as_str().to_string())
}

/// Rows due at `q.now` in the asked statuses (and batch) after the keyset cursor, oldest due
/// first (no limit applied). A new paging sequence (`after == None`) reads `NextDueAt le now` —
/// only due rows, never the whole list; following pages reuse those rows and read only what
/// became due since (`NextDueAt gt <previous now> and le <now>`). The rows of every batch are
/// kept, so a batch's sequence also starts from the latest read (made by
/// [`Store::due_batches`](crate::store::Store::due_batches) before the batches are paged).
pub async fn due_rows(store: &SharePointStore, q: &DueQuery) -> StoreResult<Vec<Row>> {
    if q.statuses.is_empty() {
        return Ok(Vec::new());
    }
    let mut statuses = q.statuses.clone();
    statuses.sort();
    statuses.dedup();
    let cached = if q.after.is_some() || q.batch.is_some() {
        store.snapshots.lock().due.remove(&statuses)
    } else {
        None
    };
    let (since, mut rows) = match cached {
        Some((at, rows)) if at <= q.now => (Some(at), rows),
        _ => (None, Vec::new()),
    };
    if since.is_none_or(|s| s < q.now) {
        let range = RangeFilter {
            column: f::NEXT_DUE.into(),
            gt: since.map(ts),
            le: Some(ts(q.now)),
            ..RangeFilter::default()
        };
        let items = store
            .people
            .scan(Filter::Range(range), &store.select_all())
            .await
            .map_err(backend)?;
        let fresh = store.rows(items);
        let fresh_upns: HashMap<String, ()> = fresh
            .iter()
            .map(|r| (r.record.upn.as_str().to_string(), ()))
            .collect();
        rows.retain(|r| !fresh_upns.contains_key(r.record.upn.as_str()));
        rows.extend(fresh);
        rows.retain(|r| {
            statuses.contains(&r.record.status) && r.record.next_due_at.is_some_and(|d| d <= q.now)
        });
        rows.sort_by_key(due_key);
    }
    store
        .snapshots
        .lock()
        .due
        .insert(statuses, (q.now, rows.clone()));
    Ok(rows
        .into_iter()
        .filter(|r| q.batch.as_ref().is_none_or(|b| r.record.batch_id == *b))
        .filter(|r| match (&q.after, r.record.next_due_at) {
            (None, _) => true,
            (Some((at, upn)), Some(d)) => (d, r.record.upn.as_str()) > (*at, upn.as_str()),
            (Some(_), None) => false,
        })
        .collect())
}

/// Batches with due rows, the batch of the oldest due row first; refreshes the due snapshot.
pub async fn due_batches(
    store: &SharePointStore,
    statuses: &[InviteStatus],
    now: DateTime<Utc>,
) -> StoreResult<Vec<BatchId>> {
    let rows = due_rows(
        store,
        &DueQuery {
            statuses: statuses.to_vec(),
            now,
            after: None,
            limit: 1,
            batch: None,
        },
    )
    .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|r| seen.insert(r.record.batch_id.clone()))
        .map(|r| r.record.batch_id)
        .collect())
}

/// The `InviteStatus` values stored for a status (legacy values included).
fn stored_values(status: InviteStatus) -> Vec<&'static str> {
    match status {
        InviteStatus::Pending => vec!["Pending", LEGACY_ERROR],
        InviteStatus::Active => vec!["Active", LEGACY_SKIPPED],
        other => vec![other.as_str()],
    }
}

async fn rows_with_statuses(
    store: &SharePointStore,
    statuses: &[InviteStatus],
) -> StoreResult<Vec<Row>> {
    let select = store.select_all();
    let mut rows = Vec::new();
    for st in statuses {
        for value in stored_values(*st) {
            let items = store
                .people
                .scan(Filter::Eq(f::STATUS.into(), value.into()), &select)
                .await
                .map_err(backend)?;
            rows.extend(store.rows(items));
        }
    }
    rows.retain(|r| statuses.contains(&r.record.status));
    rows.sort_by(|a, b| a.record.upn.cmp(&b.record.upn));
    rows.dedup_by(|a, b| a.record.upn == b.record.upn);
    Ok(rows)
}

/// Records with the given statuses by UPN after `after` (one `InviteStatus` query per status
/// for a new sequence; following pages reuse the rows read).
pub async fn page_by_status(
    store: &SharePointStore,
    statuses: &[InviteStatus],
    after: Option<&Upn>,
    limit: usize,
) -> StoreResult<Vec<OnboardingRecord>> {
    let mut key = statuses.to_vec();
    key.sort();
    key.dedup();
    let cached = match after {
        Some(_) => store.snapshots.lock().by_status.get(&key).cloned(),
        None => None,
    };
    let rows = match cached {
        Some(rows) => rows,
        None => {
            let rows = rows_with_statuses(store, &key).await?;
            store.snapshots.lock().by_status.insert(key, rows.clone());
            rows
        }
    };
    Ok(rows
        .into_iter()
        .filter(|r| after.is_none_or(|a| r.record.upn > *a))
        .take(limit)
        .map(|r| r.record)
        .collect())
}

fn matches(r: &OnboardingRecord, f: &PeopleFilter) -> bool {
    if let Some(term) = f.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let term = term.to_lowercase();
        let name = r.display_name.as_deref().unwrap_or("").to_lowercase();
        if !r.upn.as_str().contains(&term) && !name.contains(&term) {
            return false;
        }
    }
    if f.status.is_some_and(|s| s != r.status) {
        return false;
    }
    if f.batch_id.as_ref().is_some_and(|b| *b != r.batch_id) {
        return false;
    }
    match f.attention {
        None => true,
        Some(Attention::NotClicked { before }) => {
            r.status == InviteStatus::Sent
                && r.clicked_link_date.is_none()
                && r.invite_sent_date.is_some_and(|d| d <= before)
        }
        Some(Attention::ClickedNotRegistered) => {
            matches!(r.status, InviteStatus::Clicked | InviteStatus::AddedToGroup)
        }
        Some(Attention::Escalated) => r.escalated_to_manager,
        Some(Attention::Errors) => r.error_details.is_some(),
        Some(Attention::Queued { now }) => is_queued(r, now),
        Some(Attention::Held) => r.hold == Some(Hold::Held),
        Some(Attention::Excluded) => r.hold == Some(Hold::Excluded),
    }
}

fn is_queued(r: &OnboardingRecord, now: DateTime<Utc>) -> bool {
    r.status != InviteStatus::Active && r.next_due_at.is_some_and(|d| d <= now)
}

/// Every row of the list by UPN (duplicates resolved to the oldest item), in pages of 5,000.
pub async fn all_rows(store: &SharePointStore) -> StoreResult<Vec<Row>> {
    let items = store
        .people
        .scan(Filter::All, &store.select_all())
        .await
        .map_err(backend)?;
    Ok(by_upn(store.rows(items)))
}

/// Rows by UPN, a duplicate resolved to the oldest item.
fn by_upn(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| {
        a.record.upn.cmp(&b.record.upn).then_with(|| {
            let id = |r: &Row| r.item_id.parse::<u64>().unwrap_or(u64::MAX);
            id(a).cmp(&id(b))
        })
    });
    rows.dedup_by(|later, first| later.record.upn == first.record.upn);
    rows
}

/// How long a whole-list read serves the admin's reads (the dashboard's report asks for the
/// summary and five attention counts at once, then a page of people): while this process writes
/// nothing to the list, reads within this time share one read instead of reading 100,000 items
/// six times. Another process's writes show at most this late.
pub const ADMIN_READ_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// A whole-list read kept for [`ADMIN_READ_FOR`].
#[derive(Debug)]
pub struct AdminRead {
    at: std::time::Instant,
    writes: u64,
    items: Arc<Vec<ListItem>>,
}

/// Every item with every field, for the admin's reads: the last read when it is younger than
/// [`ADMIN_READ_FOR`] and this process wrote nothing since, else a new one. Never used to decide
/// a write.
pub async fn admin_items(store: &SharePointStore) -> StoreResult<Arc<Vec<ListItem>>> {
    // One read at a time: reads asked together (the report's) wait for it rather than each
    // reading the list.
    let mut kept = store.admin_read.lock().await;
    let writes = store.people.write_count();
    if let Some(read) = kept.as_ref() {
        if read.writes == writes && read.at.elapsed() < ADMIN_READ_FOR {
            return Ok(Arc::clone(&read.items));
        }
    }
    let items = Arc::new(
        store
            .people
            .scan(Filter::All, &store.select_all())
            .await
            .map_err(backend)?,
    );
    *kept = Some(AdminRead {
        at: std::time::Instant::now(),
        writes,
        items: Arc::clone(&items),
    });
    Ok(items)
}

/// Every record matching `filter`, by UPN. Reads the list in pages of 5,000 (only the rows of
/// one status when the filter names one).
pub async fn filtered(
    store: &SharePointStore,
    filter: &PeopleFilter,
) -> StoreResult<Vec<OnboardingRecord>> {
    let rows = match filter.status {
        Some(st) => rows_with_statuses(store, &[st]).await?,
        None => {
            let items = admin_items(store).await?;
            by_upn(store.rows(items.iter().cloned().collect()))
        }
    };
    Ok(rows
        .into_iter()
        .map(|r| r.record)
        .filter(|r| matches(r, filter))
        .collect())
}

fn add_funnel(fun: &mut Funnel, r: &OnboardingRecord) {
    fun.uploaded += 1;
    fun.sent += u64::from(r.invite_sent_date.is_some());
    fun.opened += u64::from(r.email_opened_date.is_some());
    fun.clicked += u64::from(r.clicked_link_date.is_some());
    fun.in_group += u64::from(r.in_group);
    fun.active += u64::from(r.status == InviteStatus::Active);
}

/// Aggregates over the whole list, read in pages of 5,000 ([`admin_items`]).
pub async fn summary(store: &SharePointStore, now: DateTime<Utc>) -> StoreResult<Summary> {
    let items = admin_items(store).await?;
    let mut s = Summary::default();
    for st in InviteStatus::ALL {
        s.by_status.insert(st.as_str().to_string(), 0);
    }
    s.by_strength = crate::store::strength_counts(std::iter::empty());
    let mut batches: BTreeMap<String, (Funnel, u64)> = BTreeMap::new();
    let mut days: BTreeMap<NaiveDate, DayCounts> = BTreeMap::new();
    let mut reasons: HashMap<String, u64> = HashMap::new();
    let mut departments: HashMap<String, u64> = HashMap::new();
    let read_at = store.now();
    for item in items.iter() {
        let Some(row) = super::mapping::read_row(item, read_at) else {
            continue;
        };
        let r = row.record;
        *s.by_status
            .entry(r.status.as_str().to_string())
            .or_default() += 1;
        add_funnel(&mut s.funnel, &r);
        let batch = batches.entry(r.batch_id.as_str().to_string()).or_default();
        add_funnel(&mut batch.0, &r);
        let held = r.hold == Some(Hold::Held);
        batch.1 += u64::from(held);
        s.held += u64::from(held);
        s.excluded += u64::from(r.hold == Some(Hold::Excluded));
        *s.by_strength
            .entry(r.strength.map_or("unknown", |s| s.as_str()).to_string())
            .or_default() += 1;
        if r.strength == Some(crate::domain::Strength::PhoneOnly) {
            let d = r
                .department
                .as_deref()
                .filter(|d| !d.is_empty())
                .unwrap_or("(no department)");
            *departments.entry(d.to_string()).or_default() += 1;
        }
        s.escalated += u64::from(r.escalated_to_manager);
        if let Some(reason) = &r.error_details {
            s.errors += 1;
            *reasons.entry(reason.clone()).or_default() += 1;
        }
        s.queued += u64::from(is_queued(&r, now));
        s.directory.add(&r);
        let dates = [
            Some(r.created_at),
            r.invite_sent_date,
            r.email_opened_date,
            r.clicked_link_date,
            r.mfa_registration_date,
        ];
        for (i, d) in dates.iter().enumerate() {
            let Some(day) = d.map(|d| d.date_naive()) else {
                continue;
            };
            DayCounts::add(&mut days, day, i, 1);
        }
    }
    s.by_batch = batches
        .into_iter()
        .map(|(batch_id, (funnel, held))| BatchCounts {
            batch_id,
            funnel,
            held,
        })
        .collect();
    s.by_day = days.into_values().collect();
    s.error_reasons = ReasonCount::top(reasons);
    s.phone_only_by_department = ReasonCount::top(departments);
    Ok(s)
}
