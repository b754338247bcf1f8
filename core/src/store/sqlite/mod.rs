//! The embedded store: one SQLite file in WAL mode.
//!
//! One writer connection (writes are serialised, `BEGIN IMMEDIATE`) and a small pool of reader
//! connections; all blocking work runs on tokio's blocking pool. The handler and the worker may
//! open the same file at once: SQLite's file locks and a busy timeout arbitrate between them.

mod imports;
mod queries;
mod rows;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};

use super::{
    check_limit, AuditEntry, DueQuery, Import, Lease, Page, PeopleFilter, SendLogEntry, Store,
    StoreError, StoreResult, Summary, UploadBatch, UpsertSummary,
};
use crate::domain::{BatchId, InviteStatus, NewPerson, OnboardingRecord, TrackingToken, Upn};

pub use schema::latest_version as schema_version;

/// How many reader connections to keep open.
const READERS: usize = 4;
/// Rows per chunk when streaming an export.
const EXPORT_CHUNK: usize = 1000;
/// People per staged chunk of a background import (one transaction each).
const IMPORT_CHUNK: usize = 5000;

/// SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

fn open_connection(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening SQLite database {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .context("setting the busy timeout")?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .context("enabling WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .context("setting synchronous")?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .context("enabling foreign keys")?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let path = path.into();
        tokio::task::spawn_blocking(move || Self::open_blocking(path))
            .await
            .context("store open task failed")?
    }

    fn open_blocking(path: PathBuf) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating directory {}", dir.display()))?;
        }
        let mut writer = open_connection(&path)?;
        schema::migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| open_connection(&path))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(readers),
            }),
        })
    }

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a reader connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().pop();
            let conn = match pooled {
                Some(c) => c,
                None => open_connection(&inner.path)?,
            };
            let result = f(&conn);
            let mut readers = inner.readers.lock();
            if readers.len() < READERS {
                readers.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Backend(anyhow::anyhow!("store task failed: {e}")))?
        .map_err(into_store_error)
    }

    /// Runs `f` on the writer connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock();
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Backend(anyhow::anyhow!("store task failed: {e}")))?
        .map_err(into_store_error)
    }
}

/// Domain errors travel through `anyhow` inside the blocking closures; unwrap them here.
fn into_store_error(e: anyhow::Error) -> StoreError {
    match e.downcast::<StoreError>() {
        Ok(se) => se,
        Err(other) => StoreError::Backend(other),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert_people(
        &self,
        batch: &UploadBatch,
        people: Vec<NewPerson>,
    ) -> StoreResult<UpsertSummary> {
        let mut seen = std::collections::HashSet::with_capacity(people.len());
        if let Some(dup) = people.iter().find(|p| !seen.insert(p.upn.clone())) {
            return Err(StoreError::Invalid(format!(
                "{} appears more than once in the upload",
                dup.upn
            )));
        }
        let batch = batch.clone();
        self.write(move |conn| queries::upsert_people(conn, &batch, people))
            .await
    }

    async fn get_by_token(&self, token: &TrackingToken) -> StoreResult<Option<OnboardingRecord>> {
        let token = token.to_string();
        self.read(move |c| queries::get_one(c, "token", &token))
            .await
    }

    async fn get_by_upn(&self, upn: &Upn) -> StoreResult<Option<OnboardingRecord>> {
        let upn = upn.as_str().to_string();
        self.read(move |c| queries::get_one(c, "upn", &upn)).await
    }

    async fn get_many(&self, upns: &[Upn]) -> StoreResult<Vec<OnboardingRecord>> {
        let upns: Vec<String> = upns.iter().map(|u| u.as_str().to_string()).collect();
        self.read(move |c| queries::get_many(c, &upns)).await
    }

    async fn due(&self, query: &DueQuery) -> StoreResult<Vec<OnboardingRecord>> {
        check_limit(query.limit)?;
        let query = query.clone();
        self.read(move |c| queries::due(c, &query, None)).await
    }

    async fn due_batches(
        &self,
        statuses: &[InviteStatus],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<BatchId>> {
        let statuses = statuses.to_vec();
        self.read(move |c| queries::due_batches(c, &statuses, now))
            .await
    }

    async fn claim_due(
        &self,
        query: &DueQuery,
        lease: &Lease,
    ) -> StoreResult<Vec<OnboardingRecord>> {
        check_limit(query.limit)?;
        let (query, lease) = (query.clone(), lease.clone());
        self.write(move |c| queries::claim_due(c, &query, &lease))
            .await
    }

    async fn page_by_status(
        &self,
        statuses: &[InviteStatus],
        after: Option<&Upn>,
        limit: usize,
    ) -> StoreResult<Vec<OnboardingRecord>> {
        check_limit(limit)?;
        let statuses = statuses.to_vec();
        let after = after.map(|u| u.as_str().to_string());
        self.read(move |c| queries::page_by_status(c, &statuses, after.as_deref(), limit))
            .await
    }

    async fn update(&self, record: &OnboardingRecord) -> StoreResult<OnboardingRecord> {
        let record = record.clone();
        self.write(move |c| queries::update(c, record)).await
    }

    async fn record_opens(&self, opens: &[(TrackingToken, DateTime<Utc>)]) -> StoreResult<u64> {
        if opens.is_empty() {
            return Ok(0);
        }
        let opens = opens.to_vec();
        self.write(move |c| queries::record_opens(c, &opens)).await
    }

    async fn summary(&self, now: DateTime<Utc>) -> StoreResult<Summary> {
        self.read(move |c| queries::summary(c, now)).await
    }

    async fn list(
        &self,
        filter: &PeopleFilter,
        page: u64,
        page_size: u64,
    ) -> StoreResult<Page<OnboardingRecord>> {
        check_limit(page_size as usize)?;
        let filter = filter.clone();
        self.read(move |c| queries::list(c, &filter, page, page_size))
            .await
    }

    fn export(&self, filter: PeopleFilter) -> BoxStream<'_, StoreResult<OnboardingRecord>> {
        let state = Some((filter, None::<String>));
        stream::unfold(state, move |state| async move {
            let (filter, after) = state?;
            let f = filter.clone();
            let a = after.clone();
            let chunk = self
                .read(move |c| queries::export_chunk(c, &f, a.as_deref(), EXPORT_CHUNK))
                .await;
            match chunk {
                Err(e) => Some((vec![Err(e)], None)),
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = if rows.len() < EXPORT_CHUNK {
                        None
                    } else {
                        rows.last()
                            .map(|r| (filter, Some(r.upn.as_str().to_string())))
                    };
                    Some((rows.into_iter().map(Ok).collect(), next))
                }
            }
        })
        .flat_map(stream::iter)
        .boxed()
    }

    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
        let key = key.to_string();
        self.read(move |c| queries::get_meta(c, &key)).await
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |c| queries::set_meta(c, &key, &value))
            .await
    }

    async fn compare_and_set_meta(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> StoreResult<bool> {
        let key = key.to_string();
        let expected = expected.map(str::to_string);
        let new = new.map(str::to_string);
        self.write(move |c| queries::cas_meta(c, &key, expected.as_deref(), new.as_deref()))
            .await
    }

    async fn log_send(&self, entry: &SendLogEntry) -> StoreResult<DateTime<Utc>> {
        let at = entry.at;
        let entry = entry.clone();
        self.write(move |c| queries::log_send(c, &entry)).await?;
        Ok(at)
    }

    async fn sends_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<SendLogEntry>> {
        self.read(move |c| queries::sends_since(c, since)).await
    }

    async fn prune_sends(&self, before: DateTime<Utc>, max: usize) -> StoreResult<u64> {
        self.write(move |c| queries::prune_sends(c, before, max))
            .await
    }

    async fn delete(&self, upn: &Upn) -> StoreResult<bool> {
        let upn = upn.clone();
        self.write(move |c| Ok(c.execute("DELETE FROM people WHERE upn = ?1", [upn.as_str()])? > 0))
            .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let entry = entry.clone();
        self.write(move |c| queries::append_audit(c, &entry)).await
    }

    async fn audit(
        &self,
        target: Option<&str>,
        page: u64,
        page_size: u64,
    ) -> StoreResult<Page<AuditEntry>> {
        check_limit(usize::try_from(page_size).unwrap_or(usize::MAX))?;
        let target = target.map(str::to_string);
        self.read(move |c| queries::audit(c, target.as_deref(), page, page_size))
            .await
    }

    fn import_chunk_rows(&self) -> usize {
        IMPORT_CHUNK
    }

    async fn stage_import(&self, import: &Import, chunks: &[Vec<NewPerson>]) -> StoreResult<()> {
        let (import, chunks) = (import.clone(), chunks.to_vec());
        self.write(move |c| imports::stage(c, &import, &chunks))
            .await
    }

    async fn imports(&self) -> StoreResult<Vec<Import>> {
        self.read(imports::all).await
    }

    async fn get_import(&self, id: uuid::Uuid) -> StoreResult<Option<Import>> {
        self.read(move |c| imports::get(c, id)).await
    }

    async fn update_import(&self, import: &Import) -> StoreResult<Option<Import>> {
        let import = import.clone();
        self.write(move |c| imports::update(c, &import)).await
    }

    async fn staged_chunk(
        &self,
        id: uuid::Uuid,
        index: u32,
    ) -> StoreResult<Option<Vec<NewPerson>>> {
        self.read(move |c| imports::chunk(c, id, index)).await
    }

    async fn drop_staged(&self, id: uuid::Uuid) -> StoreResult<()> {
        self.write(move |c| imports::drop_staged(c, id)).await
    }
}
