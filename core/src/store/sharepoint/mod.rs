//! The SharePoint list store: every [`Store`] operation over Graph list items.
//!
//! - [`columns`]: the list's schema (the replaced system's internal names plus ours).
//! - [`mapping`]: record ⇄ item fields, legacy values mapped on read.
//! - [`list`]: Graph calls with resource-unit pacing and `$batch`.
//! - [`queries`]: reads (lookups, due, status pages, listings, summary).
//! - [`writes`]: compare-and-set updates (`If-Match`), uploads, opens, claims.
//! - [`meta`]: meta values and the mail log in a companion list.
//! - [`provision`] and [`adopt`]: creating or completing the lists, adopting legacy rows.
//!
//! Filters go on one indexed column per query and the "may fail randomly" header is never sent.
//! See `docs/sharepoint-store.md` for the request costs.

mod adopt;
mod columns;
mod imports;
mod list;
mod mapping;
mod meta;
mod pacer;
mod pool;
mod provision;
mod queries;
mod writes;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use parking_lot::Mutex;

use super::{
    check_limit, AuditEntry, DueQuery, Import, Lease, Page, PeopleFilter, SendLogEntry, Store,
    StoreError, StoreResult, Summary, UploadBatch, UpsertSummary,
};
use crate::domain::{BatchId, InviteStatus, NewPerson, OnboardingRecord, TrackingToken, Upn};
use crate::graph::{GraphClient, GraphError};

pub use adopt::AdoptReport;
pub use pool::{split as split_ru, PoolState, POOL_KEY};
pub use provision::{ListReport, ProvisionReport};
pub use queries::DUE_REUSE;

use list::SpList;
use mapping::Row;
use pacer::{Class, Pacer};

/// Default RU budget per minute (the smallest published tier, ≤ 1,000 licences).
pub const DEFAULT_RU_PER_MINUTE: u32 = 1250;
/// Default title of a list the store creates.
pub const DEFAULT_LIST_TITLE: &str = "MFA Onboarding";

/// How to open the store.
#[derive(Debug, Clone)]
pub struct Options {
    /// SharePoint RU per minute of the tier (every process sharing the list together).
    pub ru_per_minute: u32,
    /// Processes sharing the list (handler instances and workers); above 1 they share the
    /// tier through the pool (see [`pool`]).
    pub processes: u32,
    /// Create the list (and add missing columns) when needed.
    pub provision: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ru_per_minute: DEFAULT_RU_PER_MINUTE,
            processes: 1,
            provision: true,
        }
    }
}

/// What the store knows about an item it read or wrote: enough to write it without a re-read.
#[derive(Debug, Clone)]
struct Known {
    item_id: String,
    etag: Option<String>,
    version: u64,
}

/// Rows read for a paging sequence, reused while the caller pages with `after`.
#[derive(Debug, Default)]
struct Snapshots {
    due: queries::DueSnapshot,
    by_status: HashMap<Vec<InviteStatus>, Vec<Row>>,
}

/// One read of the list reused by the chunks of a background import (see
/// [`writes::import_chunk`]).
#[derive(Debug)]
struct ImportSnapshot {
    correlation: uuid::Uuid,
    taken: DateTime<Utc>,
    rows: Arc<HashMap<String, Row>>,
    /// People this process wrote since the read.
    written: std::collections::HashSet<String>,
}

/// People per staged chunk of an import: 200 new people are 400 RU, under 20 s at the
/// smallest tier, well within an import lease.
const IMPORT_CHUNK: usize = 200;

/// [`Store`] over a SharePoint list.
#[derive(Clone)]
pub struct SharePointStore {
    people: SpList,
    meta: SpList,
    /// Internal names of the columns the people list has.
    present: Arc<Vec<String>>,
    known: Arc<Mutex<HashMap<String, Known>>>,
    snapshots: Arc<Mutex<Snapshots>>,
    /// Item ids of staged import chunks, per import.
    staged: Arc<Mutex<imports::ChunkIds>>,
    /// The running import's read of the list.
    import_rows: Arc<Mutex<Option<ImportSnapshot>>>,
    /// The last whole-list read for the admin's reads ([`queries::admin_items`]).
    admin_read: Arc<tokio::sync::Mutex<Option<queries::AdminRead>>>,
    /// Held while any clone of the store is open; the RU pool's keeper stops when it is gone.
    alive: Arc<()>,
}

impl std::fmt::Debug for SharePointStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharePointStore")
            .field("site", &self.people.site)
            .field("list", &self.people.list)
            .finish()
    }
}

fn backend(e: GraphError) -> StoreError {
    StoreError::Backend(anyhow::Error::new(e).context("SharePoint list request failed"))
}

impl SharePointStore {
    /// Opens the list `list` (id or title) on `site`: completes the schema when
    /// `opts.provision` (adding only what is missing, creating the list when absent and named by
    /// title), makes sure the meta list exists, and adopts legacy rows once.
    pub async fn open(
        graph: GraphClient,
        site: &str,
        list: &str,
        opts: Options,
    ) -> anyhow::Result<Self> {
        let (own, pool) = pool::split(opts.ru_per_minute, opts.processes);
        let pacer = Arc::new(Pacer::new(own, pool > 0));
        let report = provision::provision(&graph, &pacer, site, list, opts.provision).await?;
        let people = SpList {
            graph: graph.clone(),
            site: site.to_string(),
            list: report.list.id.clone(),
            pacer: Arc::clone(&pacer),
            class: Class::Regular,
            writes: Arc::default(),
        };
        let meta = SpList {
            graph,
            site: site.to_string(),
            list: report.meta.id.clone(),
            pacer,
            class: Class::Regular,
            writes: Arc::default(),
        };
        let store = Self {
            people,
            meta,
            present: Arc::new(report.columns_present.clone()),
            known: Arc::default(),
            snapshots: Arc::default(),
            staged: Arc::default(),
            import_rows: Arc::default(),
            admin_read: Arc::default(),
            alive: Arc::new(()),
        };
        if pool > 0 {
            let me = format!(
                "{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            );
            tracing::info!(own, pool, processes = opts.processes, %me, "SharePoint RU budget shared through the pool");
            let keeper = SpList {
                class: Class::Keeper,
                ..store.meta.clone()
            };
            pool::PoolKeeper::spawn(keeper, me, pool, Arc::downgrade(&store.alive));
        }
        if store.get_meta(adopt::ADOPTED_KEY).await?.as_deref() != Some(adopt::ADOPT_VERSION) {
            let adopted = store.adopt().await?;
            tracing::info!(?adopted, "adopted the list's existing rows");
        }
        Ok(store)
    }

    /// Provisions (creates or completes) the list and its meta list, and reports what it found.
    pub async fn provision(
        graph: &GraphClient,
        site: &str,
        list: &str,
        opts: Options,
    ) -> anyhow::Result<ProvisionReport> {
        let pacer = Pacer::new(pool::split(opts.ru_per_minute, opts.processes).0, false);
        provision::provision(graph, &pacer, site, list, true).await
    }

    /// Id of the people list.
    pub fn list_id(&self) -> &str {
        &self.people.list
    }

    /// Id of the meta list.
    pub fn meta_list_id(&self) -> &str {
        &self.meta.list
    }

    fn now(&self) -> DateTime<Utc> {
        self.people.graph.clock().now()
    }

    fn select_all(&self) -> Vec<String> {
        columns::select_all(&self.present)
    }

    /// Turns items into rows, remembering their eTags.
    fn rows(&self, items: Vec<crate::graph::ListItem>) -> Vec<Row> {
        let now = self.now();
        let mut known = self.known.lock();
        items
            .iter()
            .filter_map(|it| mapping::read_row(it, now))
            .inspect(|r| {
                known.insert(
                    r.record.upn.as_str().to_string(),
                    Known {
                        item_id: r.item_id.clone(),
                        etag: r.etag.clone(),
                        version: r.record.version,
                    },
                );
            })
            .collect()
    }
}

/// The first of several rows (duplicates of one UPN resolve to the oldest item).
fn oldest(mut rows: Vec<Row>) -> Option<Row> {
    rows.sort_by_key(|r| r.item_id.parse::<u64>().unwrap_or(u64::MAX));
    rows.into_iter().next()
}

#[async_trait]
impl Store for SharePointStore {
    async fn upsert_people(
        &self,
        batch: &UploadBatch,
        people: Vec<NewPerson>,
    ) -> StoreResult<UpsertSummary> {
        writes::upsert_people(self, batch, people).await
    }

    async fn get_by_token(&self, token: &TrackingToken) -> StoreResult<Option<OnboardingRecord>> {
        Ok(
            queries::get_one(self, columns::f::TOKEN, &token.to_string())
                .await?
                .map(|r| r.record),
        )
    }

    async fn get_by_upn(&self, upn: &Upn) -> StoreResult<Option<OnboardingRecord>> {
        Ok(queries::get_one(self, columns::f::TITLE, upn.as_str())
            .await?
            .map(|r| r.record))
    }

    async fn get_many(&self, upns: &[Upn]) -> StoreResult<Vec<OnboardingRecord>> {
        Ok(queries::get_many(self, upns)
            .await?
            .into_values()
            .map(|r| r.record)
            .collect())
    }

    async fn due(&self, query: &DueQuery) -> StoreResult<Vec<OnboardingRecord>> {
        check_limit(query.limit)?;
        let rows = queries::due_rows(self, query, query.limit).await?;
        Ok(rows.into_iter().map(|r| r.record).collect())
    }

    async fn due_batches(
        &self,
        statuses: &[InviteStatus],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<BatchId>> {
        queries::due_batches(self, statuses, now).await
    }

    async fn claim_due(
        &self,
        query: &DueQuery,
        lease: &Lease,
    ) -> StoreResult<Vec<OnboardingRecord>> {
        check_limit(query.limit)?;
        writes::claim_due(self, query, lease).await
    }

    async fn page_by_status(
        &self,
        statuses: &[InviteStatus],
        after: Option<&Upn>,
        limit: usize,
    ) -> StoreResult<Vec<OnboardingRecord>> {
        check_limit(limit)?;
        queries::page_by_status(self, statuses, after, limit).await
    }

    async fn update(&self, record: &OnboardingRecord) -> StoreResult<OnboardingRecord> {
        writes::update(self, record).await
    }

    async fn record_opens(&self, opens: &[(TrackingToken, DateTime<Utc>)]) -> StoreResult<u64> {
        writes::record_opens(self, opens).await
    }

    async fn summary(&self, now: DateTime<Utc>) -> StoreResult<Summary> {
        queries::summary(self, now).await
    }

    async fn list(
        &self,
        filter: &PeopleFilter,
        page: u64,
        page_size: u64,
    ) -> StoreResult<Page<OnboardingRecord>> {
        check_limit(usize::try_from(page_size).unwrap_or(usize::MAX))?;
        let rows = queries::filtered(self, filter).await?;
        let total = rows.len() as u64;
        let start = usize::try_from(page.saturating_mul(page_size)).unwrap_or(usize::MAX);
        let items = rows
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

    fn export(&self, filter: PeopleFilter) -> BoxStream<'_, StoreResult<OnboardingRecord>> {
        stream::once(async move { queries::filtered(self, &filter).await })
            .flat_map(|r| match r {
                Ok(rows) => stream::iter(rows.into_iter().map(Ok).collect::<Vec<_>>()),
                Err(e) => stream::iter(vec![Err(e)]),
            })
            .boxed()
    }

    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
        meta::get(&self.meta, key).await
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        meta::set(&self.meta, key, value).await
    }

    async fn compare_and_set_meta(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> StoreResult<bool> {
        meta::compare_and_set(&self.meta, key, expected, new).await
    }

    async fn log_send(&self, entry: &SendLogEntry) -> StoreResult<DateTime<Utc>> {
        meta::log_send(self, entry).await
    }

    async fn sends_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<SendLogEntry>> {
        meta::sends_since(self, since).await
    }

    async fn prune_sends(&self, before: DateTime<Utc>, max: usize) -> StoreResult<u64> {
        meta::prune_sends(self, before, max).await
    }

    async fn delete(&self, upn: &Upn) -> StoreResult<bool> {
        writes::delete(self, upn).await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        meta::append_audit(self, entry).await
    }

    async fn audit(
        &self,
        target: Option<&str>,
        page: u64,
        page_size: u64,
    ) -> StoreResult<Page<AuditEntry>> {
        check_limit(usize::try_from(page_size).unwrap_or(usize::MAX))?;
        meta::audit(self, target, page, page_size).await
    }

    fn import_chunk_rows(&self) -> usize {
        IMPORT_CHUNK
    }

    async fn stage_import(&self, import: &Import, chunks: &[Vec<NewPerson>]) -> StoreResult<()> {
        imports::stage(self, import, chunks).await
    }

    async fn imports(&self) -> StoreResult<Vec<Import>> {
        imports::all(self).await
    }

    async fn get_import(&self, id: uuid::Uuid) -> StoreResult<Option<Import>> {
        imports::get(self, id).await
    }

    async fn update_import(&self, import: &Import) -> StoreResult<Option<Import>> {
        imports::update(self, import).await
    }

    async fn staged_chunk(
        &self,
        id: uuid::Uuid,
        index: u32,
    ) -> StoreResult<Option<Vec<NewPerson>>> {
        imports::chunk(self, id, index).await
    }

    async fn drop_staged(&self, id: uuid::Uuid) -> StoreResult<()> {
        imports::drop_staged(self, id).await
    }

    async fn write_import_chunk(
        &self,
        batch: &UploadBatch,
        people: Vec<NewPerson>,
        last: bool,
    ) -> StoreResult<UpsertSummary> {
        writes::import_chunk(self, batch, people, last).await
    }
}
