//! The one seam between the domain and persistence.
//!
//! [`Store`] is used as `Arc<dyn Store>`. Backends: [`sqlite::SqliteStore`] (embedded, the local
//! default) and, in its own module, the SharePoint list store. Every backend runs the same
//! contract suite ([`contract`]), so the handler and worker never depend on which one is behind
//! the trait.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{
    BatchId, InviteStatus, NewPerson, OnboardingRecord, PerUserMfa, PhoneOutcome, Source,
    StatusEvent, TrackingToken, TransitionError, Upn,
};

#[cfg(any(test, feature = "test-support"))]
pub mod contract;
pub mod import;
pub mod sharepoint;
pub mod sqlite;

pub use import::{Import, ImportState};

/// Shared handle to the store.
pub type SharedStore = Arc<dyn Store>;

/// What can go wrong in a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A compare-and-set write lost a race: the record changed since it was read. Re-read and
    /// decide again; never overwrite.
    #[error("the record for {upn} was changed by someone else (expected version {expected})")]
    Conflict {
        /// Whose record.
        upn: Upn,
        /// The version the writer had read.
        expected: u64,
    },
    /// The record does not exist.
    #[error("no record for {0}")]
    NotFound(Upn),
    /// The caller asked for something impossible (bad page size, too many rows, …).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The backend failed (I/O, corrupt row, network).
    #[error("store unavailable")]
    Backend(#[from] anyhow::Error),
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// What to do with people who are already on the list when they are uploaded again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UpsertMode {
    /// Keep status, token, dates and counts. Fill in missing names; a record stopped by an
    /// error (unknown or disabled account) is re-queued for another try. The default.
    #[default]
    KeepHistory,
    /// Start the person over: Pending, a new token, counts and dates cleared. Only when an admin
    /// explicitly asks.
    Reset,
}

/// The upload a set of people arrives in. Serialisable, so a background import stages the whole
/// description with its rows ([`Import::batch`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadBatch {
    /// Batch id (new people get it as `SourceBatchId`).
    pub batch_id: BatchId,
    /// CSV or manual entry.
    pub source: Source,
    /// Correlates the records with the upload's log lines.
    pub correlation_id: Uuid,
    /// When the upload happened.
    pub now: DateTime<Utc>,
    /// Treatment of people already on the list.
    pub mode: UpsertMode,
    /// A held upload: the people it adds, re-queues or restarts are emailed only once an admin
    /// releases the batch (they join this batch, so releasing it releases them).
    #[serde(default)]
    pub hold: bool,
    /// The strength the people it adds, re-queues or restarts must reach (`None`: the campaign's
    /// `MFA_TARGET_STRENGTH`).
    #[serde(default)]
    pub target: Option<crate::domain::TargetStrength>,
}

/// The record of a person an upload adds (the new-person rule in one place, for every backend):
/// Pending and due at once, or held until the batch is released.
pub fn new_record(
    person: NewPerson,
    batch: &UploadBatch,
) -> Result<OnboardingRecord, TransitionError> {
    let mut rec = OnboardingRecord::new_pending(
        person,
        batch.batch_id.clone(),
        batch.source,
        batch.correlation_id,
        batch.now,
    );
    rec.add_history(batch.now, &format!("uploaded in batch {}", batch.batch_id));
    rec.target = batch.target;
    if batch.hold {
        rec.apply(StatusEvent::Held, batch.now)?;
    }
    Ok(rec)
}

/// What an upsert did, person by person in aggregate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpsertSummary {
    /// New people, now Pending.
    pub inserted: u64,
    /// Known people whose error was cleared and who are queued again.
    pub requeued: u64,
    /// Known people restarted on request ([`UpsertMode::Reset`]).
    pub reset: u64,
    /// Known people left as they were (names may have been filled in).
    pub unchanged: u64,
}

/// What an upload does to a person already on the list ([`UpsertMode`]; the re-upload rule in
/// one place, for every backend), counted in `summary`. Returns whether the record changed
/// (names filled in count: the caller writes it).
pub fn reupload(
    rec: &mut OnboardingRecord,
    person: &NewPerson,
    batch: &UploadBatch,
    summary: &mut UpsertSummary,
) -> Result<bool, TransitionError> {
    if rec.correlation_id == batch.correlation_id {
        // Already written by this very upload: a background import re-writing a chunk that a
        // recycled instance had half written. Leave it, and count it as it was counted.
        if rec.created_at.timestamp() == batch.now.timestamp() && rec.batch_id == batch.batch_id {
            summary.inserted += 1;
        } else if batch.mode == UpsertMode::Reset {
            summary.reset += 1;
        } else {
            summary.requeued += 1;
        }
        return Ok(false);
    }
    let names_filled = fill_missing(rec, person);
    match batch.mode {
        UpsertMode::Reset => {
            rec.apply(StatusEvent::Reset, batch.now)?;
            rec.correlation_id = batch.correlation_id;
            summary.reset += 1;
        }
        // Stopped by an error (not merely noted): queued again.
        UpsertMode::KeepHistory
            if rec.error_details.is_some() && rec.status.allows(&StatusEvent::Requeued) =>
        {
            rec.apply(StatusEvent::Requeued, batch.now)?;
            rec.correlation_id = batch.correlation_id;
            summary.requeued += 1;
        }
        UpsertMode::KeepHistory => {
            summary.unchanged += 1;
            return Ok(names_filled);
        }
    }
    if batch.target.is_some() {
        rec.target = batch.target;
    }
    if batch.hold && rec.hold.is_none() {
        rec.batch_id = batch.batch_id.clone();
        rec.apply(StatusEvent::Held, batch.now)?;
    }
    Ok(true)
}

/// Copies names the record lacks from the upload. Returns whether anything changed.
fn fill_missing(rec: &mut OnboardingRecord, person: &NewPerson) -> bool {
    let mut changed = false;
    for (slot, new) in [
        (&mut rec.display_name, &person.display_name),
        (&mut rec.department, &person.department),
        (&mut rec.job_title, &person.job_title),
    ] {
        if slot.is_none() && new.is_some() {
            slot.clone_from(new);
            changed = true;
        }
    }
    changed
}

/// Page through records with something due: statuses in `statuses` and `next_due_at <= now`,
/// oldest due first, optionally of one upload batch. Continue with `after` = the last row's
/// `(next_due_at, upn)`.
#[derive(Debug, Clone)]
pub struct DueQuery {
    /// Statuses to include.
    pub statuses: Vec<InviteStatus>,
    /// Due at or before this instant.
    pub now: DateTime<Utc>,
    /// Keyset cursor.
    pub after: Option<(DateTime<Utc>, Upn)>,
    /// Page size (1..=5000).
    pub limit: usize,
    /// Only records of this upload batch (the worker shares sending fairly across batches).
    pub batch: Option<BatchId>,
}

/// A worker run's claim on the records it processes.
#[derive(Debug, Clone)]
pub struct Lease {
    /// Unique name of the run.
    pub owner: String,
    /// The claim lapses at this instant (so a crashed run does not hold people forever).
    pub until: DateTime<Utc>,
}

/// Filters for the admin people table and the export.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeopleFilter {
    /// Case-insensitive substring of the UPN or display name.
    pub search: Option<String>,
    /// Only this status.
    pub status: Option<InviteStatus>,
    /// Only this batch.
    pub batch_id: Option<BatchId>,
    /// Only people needing this kind of attention.
    pub attention: Option<Attention>,
}

/// Groups of people an admin should look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Attention {
    /// Invited before `before` and still not clicked.
    NotClicked {
        /// The cut-off.
        before: DateTime<Utc>,
    },
    /// Clicked (or in the group) but not registered.
    ClickedNotRegistered,
    /// Escalated to their manager.
    Escalated,
    /// Stopped by an error.
    Errors,
    /// Waiting for an email because of sending limits: due at or before `now`.
    Queued {
        /// The instant of the report.
        now: DateTime<Utc>,
    },
    /// In a held upload, waiting for its release.
    Held,
    /// Excluded by an admin.
    Excluded,
}

/// One page of a listing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Rows matching the filter in all pages.
    pub total: u64,
    /// Zero-based page number.
    pub page: u64,
    /// Rows per page.
    pub page_size: u64,
}

/// The funnel of the campaign: each count includes everyone who got at least that far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Funnel {
    /// Everyone on the list.
    pub uploaded: u64,
    /// Sent an invitation.
    pub sent: u64,
    /// Opened an email (estimate).
    pub opened: u64,
    /// Clicked their link.
    pub clicked: u64,
    /// In the Conditional Access group.
    pub in_group: u64,
    /// Registered MFA.
    pub active: u64,
}

/// Funnel of one upload batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchCounts {
    /// The batch.
    pub batch_id: String,
    /// Its funnel.
    #[serde(flatten)]
    pub funnel: Funnel,
    /// People in it waiting for the batch's release.
    #[serde(default)]
    pub held: u64,
}

/// What happened on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayCounts {
    /// The day.
    pub day: NaiveDate,
    /// People uploaded that day.
    pub uploaded: u64,
    /// Invitations first sent that day (latest invitation date).
    pub sent: u64,
    /// First opens.
    pub opened: u64,
    /// Clicks.
    pub clicked: u64,
    /// Registrations detected.
    pub active: u64,
}

impl DayCounts {
    /// Adds `n` to the count of funnel stage `stage` on `day` (0 uploaded, 1 sent, 2 opened,
    /// 3 clicked, 4 active), creating the day if needed. Shared by the backends.
    pub(crate) fn add(
        days: &mut BTreeMap<NaiveDate, DayCounts>,
        day: NaiveDate,
        stage: usize,
        n: u64,
    ) {
        let e = days.entry(day).or_insert(DayCounts {
            day,
            uploaded: 0,
            sent: 0,
            opened: 0,
            clicked: 0,
            active: 0,
        });
        let slot = match stage {
            0 => &mut e.uploaded,
            1 => &mut e.sent,
            2 => &mut e.opened,
            3 => &mut e.clicked,
            _ => &mut e.active,
        };
        *slot += n;
    }
}

/// Counts of the opt-in directory passes' outcomes (phone prepopulation, per-user MFA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryCounts {
    /// People per phone prepopulation outcome ([`PhoneOutcome::as_str`]; every outcome present,
    /// zero included). People the pass never looked at are not counted.
    pub phone: BTreeMap<String, u64>,
    /// People per per-user MFA state the enforcement pass set or read ([`PerUserMfa::as_str`];
    /// every state present).
    pub per_user_mfa: BTreeMap<String, u64>,
}

impl Default for DirectoryCounts {
    fn default() -> Self {
        Self {
            phone: PhoneOutcome::ALL
                .iter()
                .map(|o| (o.as_str().to_string(), 0))
                .collect(),
            per_user_mfa: PerUserMfa::ALL
                .iter()
                .map(|m| (m.as_str().to_string(), 0))
                .collect(),
        }
    }
}

impl DirectoryCounts {
    /// Counts one record. Shared by the backends that aggregate in memory.
    pub fn add(&mut self, rec: &OnboardingRecord) {
        if let Some(o) = rec.phone_outcome {
            *self.phone.entry(o.as_str().to_string()).or_default() += 1;
        }
        if let Some(m) = rec.per_user_mfa {
            *self.per_user_mfa.entry(m.as_str().to_string()).or_default() += 1;
        }
    }

    /// People counted under `outcome`.
    pub fn phone_count(&self, outcome: PhoneOutcome) -> u64 {
        self.phone.get(outcome.as_str()).copied().unwrap_or(0)
    }

    /// The seed runbook's "users without MFA" among the people the pass looked at.
    pub fn phone_without_mfa(&self) -> u64 {
        PhoneOutcome::ALL
            .into_iter()
            .filter(|o| o.was_without_mfa())
            .map(|o| self.phone_count(o))
            .sum()
    }

    /// The seed runbook's "targeted users without MFA and a mobile number".
    pub fn phone_eligible(&self) -> u64 {
        PhoneOutcome::ALL
            .into_iter()
            .filter(|o| o.was_eligible())
            .map(|o| self.phone_count(o))
            .sum()
    }
}

/// How many reasons [`Summary::error_reasons`] lists.
pub const ERROR_REASONS: usize = 20;

/// People stopped by one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasonCount {
    /// The error text.
    pub reason: String,
    /// How many people it stopped.
    pub count: u64,
}

impl ReasonCount {
    /// The [`ERROR_REASONS`] largest groups of `counts`, largest first (ties by reason).
    pub fn top(counts: impl IntoIterator<Item = (String, u64)>) -> Vec<ReasonCount> {
        let mut all: Vec<ReasonCount> = counts
            .into_iter()
            .map(|(reason, count)| ReasonCount { reason, count })
            .collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
        all.truncate(ERROR_REASONS);
        all
    }
}

/// Aggregates for reports and the dashboard, computed by the backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Counts per status (every status present, zero included).
    pub by_status: BTreeMap<String, u64>,
    /// The funnel over everyone.
    pub funnel: Funnel,
    /// Escalated to a manager.
    pub escalated: u64,
    /// Stopped by an error.
    pub errors: u64,
    /// The errors grouped by reason (the `ErrorDetails` text), most frequent first, at most
    /// [`ERROR_REASONS`] of them; the rest of [`Self::errors`] is in smaller groups.
    #[serde(default)]
    pub error_reasons: Vec<ReasonCount>,
    /// Due for an email now but not sent yet (waiting on sending limits).
    pub queued: u64,
    /// In held uploads, waiting for their release (never emailed, never overdue).
    #[serde(default)]
    pub held: u64,
    /// Excluded by an admin (never emailed).
    #[serde(default)]
    pub excluded: u64,
    /// People by the strength of what they have registered ([`crate::domain::Strength`] names,
    /// every one present, and `unknown` for people whose methods were not read yet).
    #[serde(default)]
    pub by_strength: BTreeMap<String, u64>,
    /// People whose strongest method is a phone (blocked at sign-in from 2027-02-01 unless they
    /// add a passkey) by department (`reason` is the department, `(no department)` when empty),
    /// the largest groups first.
    #[serde(default)]
    pub phone_only_by_department: Vec<ReasonCount>,
    /// Per batch, by batch id.
    pub by_batch: Vec<BatchCounts>,
    /// Per day, oldest first.
    pub by_day: Vec<DayCounts>,
    /// Outcomes of the opt-in directory passes.
    #[serde(default)]
    pub directory: DirectoryCounts,
}

/// Strength counts with every class (and `unknown`) present, zero included.
pub fn strength_counts(counts: impl Iterator<Item = (String, u64)>) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = crate::domain::Strength::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .chain(std::iter::once(("unknown".to_string(), 0)))
        .collect();
    for (k, n) in counts {
        *out.entry(k).or_default() += n;
    }
    out
}

/// Storage for onboarding records.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Adds uploaded people in one all-or-nothing write. Known people are treated per
    /// `batch.mode` (see [`UpsertMode`]). Duplicate UPNs in `people` are refused.
    async fn upsert_people(
        &self,
        batch: &UploadBatch,
        people: Vec<NewPerson>,
    ) -> StoreResult<UpsertSummary>;

    /// The record whose current link carries `token`.
    async fn get_by_token(&self, token: &TrackingToken) -> StoreResult<Option<OnboardingRecord>>;

    /// The record of `upn`.
    async fn get_by_upn(&self, upn: &Upn) -> StoreResult<Option<OnboardingRecord>>;

    /// Records of the given people that exist (any order).
    async fn get_many(&self, upns: &[Upn]) -> StoreResult<Vec<OnboardingRecord>>;

    /// One page of records that are due (see [`DueQuery`]). Reads only due rows.
    async fn due(&self, query: &DueQuery) -> StoreResult<Vec<OnboardingRecord>>;

    /// The upload batches with at least one record due (statuses in `statuses`, due at or
    /// before `now`), the batch of the oldest due record first. A paging sequence over one of
    /// them ([`DueQuery::batch`]) should start after this call: the SharePoint backend reads
    /// the due rows here and pages the batches from that read.
    async fn due_batches(
        &self,
        statuses: &[InviteStatus],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<BatchId>>;

    /// Like [`Store::due`] but also claims the returned rows for `lease.owner` until
    /// `lease.until`, skipping rows another live lease holds. Claiming bumps the row version.
    async fn claim_due(
        &self,
        query: &DueQuery,
        lease: &Lease,
    ) -> StoreResult<Vec<OnboardingRecord>>;

    /// Unfinished (not Active) records with the given statuses, paged by UPN.
    async fn page_by_status(
        &self,
        statuses: &[InviteStatus],
        after: Option<&Upn>,
        limit: usize,
    ) -> StoreResult<Vec<OnboardingRecord>>;

    /// Compare-and-set write: stores `record` if the stored version still equals
    /// `record.version`, and returns it with the new version. A stale write fails with
    /// [`StoreError::Conflict`] and changes nothing.
    async fn update(&self, record: &OnboardingRecord) -> StoreResult<OnboardingRecord>;

    /// Stamps `EmailOpenedDate` for each token whose record has none yet (first open only), in
    /// one write. Returns how many records changed. Unknown tokens are ignored.
    async fn record_opens(&self, opens: &[(TrackingToken, DateTime<Utc>)]) -> StoreResult<u64>;

    /// Counts by status, batch and day, and the funnel.
    async fn summary(&self, now: DateTime<Utc>) -> StoreResult<Summary>;

    /// One page of people matching `filter`, ordered by UPN.
    async fn list(
        &self,
        filter: &PeopleFilter,
        page: u64,
        page_size: u64,
    ) -> StoreResult<Page<OnboardingRecord>>;

    /// Every record matching `filter`, ordered by UPN, read in chunks so memory stays bounded.
    fn export(&self, filter: PeopleFilter) -> BoxStream<'_, StoreResult<OnboardingRecord>>;

    /// Reads a small named value (watermarks, last report snapshot).
    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>>;

    /// Writes a small named value.
    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()>;

    /// Atomically replaces the value of `key` with `new` (`None` deletes it) if its current value
    /// is `expected` (`None`: absent). Returns whether it did. Used for the run lease.
    async fn compare_and_set_meta(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> StoreResult<bool>;

    /// Appends to the mail log: `mailbox` is about to send to `recipients` people at `at`.
    /// Written before the send, so sending limits are never under-counted, even after a crash.
    /// Returns the time the send counts from: `at`, or later when the store had to wait before
    /// writing it (the SharePoint store stamps it when its request leaves, after waiting for
    /// RUs), so an entry is never earlier than the send that follows it. A store that keeps
    /// coarser times (SharePoint: whole seconds) rounds the entry up, never down.
    async fn log_send(&self, entry: &SendLogEntry) -> StoreResult<DateTime<Utc>>;

    /// Mail log entries at or after `since`, oldest first. Reads only: older entries stay
    /// until [`Store::prune_sends`] removes them.
    async fn sends_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<SendLogEntry>>;

    /// Deletes at most `max` mail log entries older than `before` (some may be left even when
    /// fewer than `max` went) and returns how many it deleted: 0 when none older is left. Kept
    /// apart from [`Store::sends_since`] so the worker prunes with time a run does not need
    /// for sending (on SharePoint each entry costs a delete: as many as the sends a day
    /// earlier, 3,600 RU after a run of 1,800 sends, ~35 s a run at 5,000 RU/min).
    async fn prune_sends(&self, before: DateTime<Utc>, max: usize) -> StoreResult<u64>;

    /// Removes `upn`'s record (an admin's "remove from tracking"). Returns whether there was one.
    async fn delete(&self, upn: &Upn) -> StoreResult<bool>;

    /// Appends an entry to the admin audit log. The log is append-only: nothing changes or
    /// removes an entry.
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;

    /// One page of the audit log, newest first; only entries about `target` when given.
    async fn audit(
        &self,
        target: Option<&str>,
        page: u64,
        page_size: u64,
    ) -> StoreResult<Page<AuditEntry>>;

    /// People per staged chunk of a background import: the store's unit of work, small enough
    /// that one chunk is written well within an import lease.
    fn import_chunk_rows(&self) -> usize {
        1000
    }

    /// Stages a background import: its chunks of validated people (chunk `i` holds
    /// `chunks[i]`), then its header, so an import is visible only once all its rows are kept.
    /// An id already staged is refused ([`StoreError::Invalid`]).
    async fn stage_import(&self, import: &Import, chunks: &[Vec<NewPerson>]) -> StoreResult<()>;

    /// Every import's header, the newest first.
    async fn imports(&self) -> StoreResult<Vec<Import>>;

    /// One import's header.
    async fn get_import(&self, id: Uuid) -> StoreResult<Option<Import>>;

    /// Compare-and-set write of an import's header: stores `import` if the stored version still
    /// equals `import.version` and returns it with the new version; `None` when the header
    /// changed since it was read (another process took the lease or wrote progress) or is gone.
    async fn update_import(&self, import: &Import) -> StoreResult<Option<Import>>;

    /// The people of staged chunk `index` (`None` when it is not staged: dropped or unknown).
    async fn staged_chunk(&self, id: Uuid, index: u32) -> StoreResult<Option<Vec<NewPerson>>>;

    /// Deletes the staged chunks of an import that finished; its header stays as history.
    async fn drop_staged(&self, id: Uuid) -> StoreResult<()>;

    /// Writes one chunk of a background import: what [`Store::upsert_people`] does with
    /// `batch`, and idempotent (a chunk half written by a process that died is written again
    /// without a duplicate and counted as before: see [`reupload`]). A backend may reuse what it
    /// read for the earlier chunks of the same import; `last` says it may forget it.
    async fn write_import_chunk(
        &self,
        batch: &UploadBatch,
        people: Vec<NewPerson>,
        last: bool,
    ) -> StoreResult<UpsertSummary> {
        let _ = last;
        self.upsert_people(batch, people).await
    }
}

/// One admin action, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Unique id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who: the admin's name from their token or App Service Authentication (`dev (loopback)` in dev mode).
    pub actor: String,
    /// From where: the client address, as far as the front end tells.
    pub origin: Option<String>,
    /// What: `upload`, `release`, `pause`, `resume`, `person.exclude`, `run`, …
    pub action: String,
    /// About what: a batch id, a person's UPN, …
    pub target: Option<String>,
    /// The details (counts, options, the time given), short text.
    pub detail: Option<String>,
}

/// One email sent (or about to be sent) from a sender mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendLogEntry {
    /// The sender mailbox.
    pub mailbox: Upn,
    /// When.
    pub at: DateTime<Utc>,
    /// Recipients of the message (Exchange counts recipients per day).
    pub recipients: u32,
}

/// Largest page any query returns.
pub const MAX_PAGE: usize = 5000;

fn check_limit(limit: usize) -> StoreResult<()> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(StoreError::Invalid(format!(
            "page size must be between 1 and {MAX_PAGE}, got {limit}"
        )));
    }
    Ok(())
}
