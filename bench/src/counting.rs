//! A [`Store`] wrapper that counts calls, so a benchmark can report store writes per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use mfa_core::domain::{InviteStatus, NewPerson, OnboardingRecord, TrackingToken, Upn};
use mfa_core::store::{
    AuditEntry, DueQuery, Lease, Page, PeopleFilter, SendLogEntry, SharedStore, Store, StoreResult,
    Summary, UploadBatch, UpsertSummary,
};

/// Call counters (relaxed atomics; read after the load stops).
#[derive(Debug, Default)]
pub struct Counts {
    /// `record_opens` calls (one per coalesced flush).
    pub open_writes: AtomicU64,
    /// Opens handed to `record_opens`, summed over calls.
    pub opens_in_writes: AtomicU64,
    /// `update` calls (compare-and-set writes).
    pub updates: AtomicU64,
    /// Point reads (`get_by_token`, `get_by_upn`).
    pub reads: AtomicU64,
}

impl Counts {
    /// Current value of a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Delegates every call to `inner`, counting some.
#[derive(Debug)]
pub struct CountingStore {
    inner: SharedStore,
    /// The counters.
    pub counts: Arc<Counts>,
}

impl CountingStore {
    /// Wraps `inner`.
    pub fn new(inner: SharedStore) -> Self {
        Self {
            inner,
            counts: Arc::default(),
        }
    }
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

#[async_trait]
impl Store for CountingStore {
    async fn upsert_people(
        &self,
        batch: &UploadBatch,
        people: Vec<NewPerson>,
    ) -> StoreResult<UpsertSummary> {
        self.inner.upsert_people(batch, people).await
    }
    async fn get_by_token(&self, token: &TrackingToken) -> StoreResult<Option<OnboardingRecord>> {
        bump(&self.counts.reads, 1);
        self.inner.get_by_token(token).await
    }
    async fn get_by_upn(&self, upn: &Upn) -> StoreResult<Option<OnboardingRecord>> {
        bump(&self.counts.reads, 1);
        self.inner.get_by_upn(upn).await
    }
    async fn get_many(&self, upns: &[Upn]) -> StoreResult<Vec<OnboardingRecord>> {
        self.inner.get_many(upns).await
    }
    async fn due(&self, query: &DueQuery) -> StoreResult<Vec<OnboardingRecord>> {
        self.inner.due(query).await
    }
    async fn due_batches(
        &self,
        statuses: &[InviteStatus],
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<mfa_core::domain::BatchId>> {
        self.inner.due_batches(statuses, now).await
    }
    async fn claim_due(
        &self,
        query: &DueQuery,
        lease: &Lease,
    ) -> StoreResult<Vec<OnboardingRecord>> {
        self.inner.claim_due(query, lease).await
    }
    async fn page_by_status(
        &self,
        statuses: &[InviteStatus],
        after: Option<&Upn>,
        limit: usize,
    ) -> StoreResult<Vec<OnboardingRecord>> {
        self.inner.page_by_status(statuses, after, limit).await
    }
    async fn update(&self, record: &OnboardingRecord) -> StoreResult<OnboardingRecord> {
        bump(&self.counts.updates, 1);
        self.inner.update(record).await
    }
    async fn record_opens(&self, opens: &[(TrackingToken, DateTime<Utc>)]) -> StoreResult<u64> {
        bump(&self.counts.open_writes, 1);
        bump(&self.counts.opens_in_writes, opens.len() as u64);
        self.inner.record_opens(opens).await
    }
    async fn summary(&self, now: DateTime<Utc>) -> StoreResult<Summary> {
        self.inner.summary(now).await
    }
    async fn list(
        &self,
        filter: &PeopleFilter,
        page: u64,
        page_size: u64,
    ) -> StoreResult<Page<OnboardingRecord>> {
        self.inner.list(filter, page, page_size).await
    }
    fn export(&self, filter: PeopleFilter) -> BoxStream<'_, StoreResult<OnboardingRecord>> {
        self.inner.export(filter)
    }
    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
        self.inner.get_meta(key).await
    }
    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        self.inner.set_meta(key, value).await
    }
    async fn compare_and_set_meta(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> StoreResult<bool> {
        self.inner.compare_and_set_meta(key, expected, new).await
    }
    async fn log_send(&self, entry: &SendLogEntry) -> StoreResult<DateTime<Utc>> {
        self.inner.log_send(entry).await
    }
    async fn sends_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<SendLogEntry>> {
        self.inner.sends_since(since).await
    }
    async fn prune_sends(&self, before: DateTime<Utc>, max: usize) -> StoreResult<u64> {
        self.inner.prune_sends(before, max).await
    }
    async fn delete(&self, upn: &Upn) -> StoreResult<bool> {
        self.inner.delete(upn).await
    }
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.inner.append_audit(entry).await
    }
    async fn audit(
        &self,
        target: Option<&str>,
        page: u64,
        page_size: u64,
    ) -> StoreResult<Page<AuditEntry>> {
        self.inner.audit(target, page, page_size).await
    }

    fn import_chunk_rows(&self) -> usize {
        self.inner.import_chunk_rows()
    }
    async fn stage_import(
        &self,
        import: &mfa_core::store::Import,
        chunks: &[Vec<NewPerson>],
    ) -> StoreResult<()> {
        self.inner.stage_import(import, chunks).await
    }
    async fn imports(&self) -> StoreResult<Vec<mfa_core::store::Import>> {
        self.inner.imports().await
    }
    async fn get_import(&self, id: uuid::Uuid) -> StoreResult<Option<mfa_core::store::Import>> {
        self.inner.get_import(id).await
    }
    async fn update_import(
        &self,
        import: &mfa_core::store::Import,
    ) -> StoreResult<Option<mfa_core::store::Import>> {
        self.inner.update_import(import).await
    }
    async fn staged_chunk(
        &self,
        id: uuid::Uuid,
        index: u32,
    ) -> StoreResult<Option<Vec<NewPerson>>> {
        self.inner.staged_chunk(id, index).await
    }
    async fn drop_staged(&self, id: uuid::Uuid) -> StoreResult<()> {
        self.inner.drop_staged(id).await
    }
    async fn write_import_chunk(
        &self,
        batch: &UploadBatch,
        people: Vec<NewPerson>,
        last: bool,
    ) -> StoreResult<UpsertSummary> {
        self.inner.write_import_chunk(batch, people, last).await
    }
}
