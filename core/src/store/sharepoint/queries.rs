//! Reads. Every filter names one indexed column: `Title` and `TrackingToken` for lookups,
//! `NextDueAt` (a range) for the due query, `InviteStatus` for status pages. Whatever else a
//! query needs (status, leases, search) is filtered here, on the rows that came back.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};

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

/// How long a new paging sequence may build on the last read of due rows (adding what became due
/// since) instead of reading every due row again. Rows written by other processes with a due
/// time before the last read (an import's rows carry the upload's time) wait at most this long.
pub const DUE_REUSE: Duration = Duration::minutes(5);
/// Each incremental read goes back this far before the last read: a click stamped just before
/// it but written just after (another process, another clock), or a due time the list keeps in
/// whole seconds, is not missed.
const DUE_OVERLAP: Duration = Duration::seconds(60);

/// Every row due (any status) as this process last read it, ordered by (due, UPN), kept true to
/// this process's own writes (see [`DueSnapshot::put`]).
#[derive(Debug, Default)]
pub struct DueSnapshot {
    /// (last read, last whole read); `None` before the first read.
    read: Option<(DateTime<Utc>, DateTime<Utc>)>,
    rows: BTreeMap<(DateTime<Utc>, String), Row>,
    due_of: HashMap<String, DateTime<Utc>>,
}

impl DueSnapshot {
    /// Forgets `upn`'s row.
    pub fn remove(&mut self, upn: &str) {
        if let Some(due) = self.due_of.remove(upn) {
            self.rows.remove(&(due, upn.to_string()));
        }
    }

    /// Replaces `upn`'s row with `row` as written: kept when due by the last read, else left
    /// for the read that finds it due (its new due time is later than the last read).
    pub fn put(&mut self, row: Row) {
        let upn = row.record.upn.as_str().to_string();
        self.remove(&upn);
        let Some((read_at, _)) = self.read else {
            return;
        };
        if let Some(due) = row.record.next_due_at.filter(|d| *d <= read_at) {
            self.due_of.insert(upn.clone(), due);
            self.rows.insert((due, upn), row);
        }
    }

    /// Rows due at or before `now`, after `after`, in (due, UPN) order.
    fn from<'a>(
        &'a self,
        after: Option<&(DateTime<Utc>, Upn)>,
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = &'a Row> + 'a {
        let start = match after {
            Some((at, upn)) => Bound::Excluded((*at, upn.as_str().to_string())),
            None => Bound::Unbounded,
        };
        self.rows
            .range((start, Bound::Unbounded))
            .take_while(move |((due, _), _)| *due <= now)
            .map(|(_, r)| r)
    }
}

/// Runs `f` on the due snapshot, first brought up to `q.now`. A new paging sequence
/// (`after == None`, no batch) reads every due row (`NextDueAt le now` — only due rows, never the
/// whole list) unless the last such read is younger than [`DUE_REUSE`]; otherwise only what
/// became due since the last read is read (`NextDueAt gt <last read − DUE_OVERLAP> and le now`).
/// The snapshot keeps every status and batch, so the invitation pass's batches, the follow-up
/// passes and the "anyone due?" checks of a run share one read; `f` is lent the snapshot under
/// its lock (a page costs what it returns, not the whole snapshot).
async fn with_due_rows<T>(
    store: &SharePointStore,
    q: &DueQuery,
    f: impl FnOnce(&DueSnapshot) -> T,
) -> StoreResult<T> {
    let new_sequence = q.after.is_none() && q.batch.is_none();
    let read = store.snapshots.lock().due.read;
    let since = match read {
        Some((at, whole)) if !(new_sequence && q.now - whole >= DUE_REUSE) && whole <= q.now => {
            Some(at)
        }
        _ => None,
    };
    if since.is_none_or(|s| s < q.now) {
        let range = RangeFilter {
            column: f::NEXT_DUE.into(),
            gt: since.map(|s| ts(s - DUE_OVERLAP)),
            le: Some(ts(q.now)),
            ..RangeFilter::default()
        };
        let items = store
            .people
            .scan(Filter::Range(range), &store.select_all())
            .await
            .map_err(backend)?;
        let fresh = store.rows(items);
        let mut snap = store.snapshots.lock();
        let due = &mut snap.due;
        match since {
            None => {
                *due = DueSnapshot {
                    read: Some((q.now, q.now)),
                    ..DueSnapshot::default()
                };
            }
            Some(_) => {
                let whole = due.read.map_or(q.now, |(_, w)| w);
                let at = due.read.map_or(q.now, |(a, _)| a.max(q.now));
                due.read = Some((at, whole));
            }
        }
        for row in fresh {
            due.put(row);
        }
    }
    let snap = store.snapshots.lock();
    Ok(f(&snap.due))
}

/// Up to `take` rows due at `q.now` in the asked statuses (and batch) after the keyset cursor,
/// oldest due first (see [`with_due_rows`] for what is read).
pub async fn due_rows(store: &SharePointStore, q: &DueQuery, take: usize) -> StoreResult<Vec<Row>> {
    if q.statuses.is_empty() {
        return Ok(Vec::new());
    }
    with_due_rows(store, q, |due| {
        due.from(q.after.as_ref(), q.now)
            .filter(|r| q.statuses.contains(&r.record.status))
            .filter(|r| q.batch.as_ref().is_none_or(|b| r.record.batch_id == *b))
            .take(take)
            .cloned()
            .collect()
    })
    .await
}

/// Batches with due rows, the batch of the oldest due row first; refreshes the due snapshot.
pub async fn due_batches(
    store: &SharePointStore,
    statuses: &[InviteStatus],
    now: DateTime<Utc>,
) -> StoreResult<Vec<BatchId>> {
    let q = DueQuery {
        statuses: statuses.to_vec(),
        now,
        after: None,
        limit: 1,
        batch: None,
    };
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    with_due_rows(store, &q, |due| {
        let mut seen = std::collections::HashSet::new();
        due.from(None, now)
            .filter(|r| statuses.contains(&r.record.status))
            .filter(|r| seen.insert(&r.record.batch_id))
            .map(|r| r.record.batch_id.clone())
            .collect()
    })
    .await
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
/// for a new sequence; following pages reuse the rows read, found by binary search, so a page
/// costs what it returns).
pub async fn page_by_status(
    store: &SharePointStore,
    statuses: &[InviteStatus],
    after: Option<&Upn>,
    limit: usize,
) -> StoreResult<Vec<OnboardingRecord>> {
    let mut key = statuses.to_vec();
    key.sort();
    key.dedup();
    let page = |rows: &[Row]| -> Vec<OnboardingRecord> {
        let start = after.map_or(0, |a| rows.partition_point(|r| r.record.upn <= *a));
        rows[start..]
            .iter()
            .take(limit)
            .map(|r| r.record.clone())
            .collect()
    };
    if after.is_some() {
        if let Some(rows) = store.snapshots.lock().by_status.get(&key) {
            return Ok(page(rows));
        }
    }
    let rows = rows_with_statuses(store, &key).await?;
    let out = page(&rows);
    store.snapshots.lock().by_status.insert(key, rows);
    Ok(out)
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
