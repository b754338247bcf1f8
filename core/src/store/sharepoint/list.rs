//! One SharePoint list through Graph, with the store's resource-unit pacing.
//!
//! SharePoint charges resource units (RU) per app and tenant per minute: a single item read 1, a
//! query page, create, update or delete 2 (each `$batch` sub-request on its own). Every call
//! here first takes its RUs from a rolling one-minute window on the Graph client's clock, so the
//! store stays under the budget instead of learning it from 429s (which the Graph client still
//! honours, `$batch` sub-requests included).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::graph::{
    segment, BatchRequest, BatchResponse, GraphClient, GraphError, GraphResult, ItemQuery,
    ListItem, RangeFilter,
};

/// RU of a single item read.
pub const RU_READ: u32 = 1;
/// RU of a query page, create, update or delete.
pub const RU_WRITE: u32 = 2;
/// Largest page SharePoint serves.
pub const PAGE: u32 = 5000;

/// A rolling one-minute RU window.
///
/// A request's RUs are taken before it is sent ([`Pacer::take`]) and held as in flight until it
/// is answered; then they count in the window **from the answer**, since SharePoint charged
/// them somewhere between the two. Counting from the send could free them in our window before
/// they leave SharePoint's, and the next request would be refused.
///
/// When several processes share the list, each has its own budget and one of them at a time
/// also holds the shared pool ([`super::pool`]): the pool's RUs are added to the holder's
/// budget while its lease lasts, and its last minute's spend moves with the pool.
#[derive(Debug)]
pub struct Pacer {
    budget: u32,
    state: Mutex<Window>,
    /// Woken when a request in flight is answered, or the pool comes or goes.
    answered: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Window {
    /// Answered requests' RUs, oldest first.
    spent: VecDeque<(DateTime<Utc>, u32)>,
    /// RUs of requests sent and not answered yet.
    in_flight: u32,
    /// The shared pool's RUs per minute, spendable until the instant given.
    pool: Option<(u32, DateTime<Utc>)>,
    /// The pool is being handed over: nothing is sent until the requests in flight are answered.
    handing_over: bool,
    /// When a take last had to wait (this process wanted more than it had).
    waited_at: Option<DateTime<Utc>>,
}

impl Window {
    fn expire(&mut self, now: DateTime<Utc>) {
        let window = now - chrono::Duration::minutes(1);
        while self.spent.front().is_some_and(|(t, _)| *t <= window) {
            self.spent.pop_front();
        }
    }

    fn in_window(&self) -> u32 {
        self.spent.iter().map(|(_, c)| *c).sum()
    }
}

/// RUs taken for one request; they count in the window from when this is dropped (the request
/// answered, or given up).
#[must_use = "hold the permit until the request is answered"]
pub struct Permit<'a> {
    pacer: &'a Pacer,
    clock: crate::clock::SharedClock,
    cost: u32,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let now = self.clock.now();
        {
            let mut w = self.pacer.state.lock();
            w.in_flight = w.in_flight.saturating_sub(self.cost);
            w.spent.push_back((now, self.cost));
        }
        self.pacer.answered.notify_waiters();
    }
}

/// What a process asked of its pacer lately ([`Pacer::demand`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    /// When a request last had to wait for RUs.
    pub waited_at: Option<DateTime<Utc>>,
    /// RUs answered in the last minute.
    pub spent: u32,
}

impl Pacer {
    /// A window allowing `budget` RU per minute.
    pub fn new(budget: u32) -> Self {
        Self {
            budget: budget.max(1),
            state: Mutex::new(Window::default()),
            answered: tokio::sync::Notify::new(),
        }
    }

    /// This process's own budget (without the pool).
    pub fn budget(&self) -> u32 {
        self.budget
    }

    /// Waits until `cost` RUs fit in the last minute's budget (answered and in flight), and takes
    /// them until the returned permit is dropped.
    pub(super) async fn take(&self, graph: &GraphClient, cost: u32) -> Permit<'_> {
        let clock = graph.clock().clone();
        loop {
            // Registered before the check, so an answer between the check and the wait wakes us.
            let answered = self.answered.notified();
            let now = clock.now();
            let wait = {
                let mut w = self.state.lock();
                w.expire(now);
                let budget = self.budget
                    + w.pool
                        .filter(|(_, until)| now < *until)
                        .map_or(0, |(ru, _)| ru);
                let in_window = w.in_window();
                let used = in_window + w.in_flight;
                if !w.handing_over
                    && (used + cost <= budget || (w.spent.is_empty() && w.in_flight == 0))
                {
                    w.in_flight += cost;
                    return Permit {
                        pacer: self,
                        clock,
                        cost,
                    };
                }
                w.waited_at = Some(now);
                // What frees first: the oldest answered RUs leaving the window, or (when the
                // window alone would allow it) a request in flight being answered. The pool's
                // lapse is not waited for: its holder renews or hands it over (and notifies).
                if w.handing_over || in_window + cost <= budget || w.spent.is_empty() {
                    None
                } else {
                    let window = now - chrono::Duration::minutes(1);
                    w.spent
                        .front()
                        .map(|(t, _)| (*t - window).to_std().unwrap_or_default())
                }
            };
            match wait {
                None => answered.await,
                Some(wait) => {
                    tracing::debug!(?wait, "pacing SharePoint requests to the RU budget");
                    // Also woken by the pool arriving.
                    tokio::select! {
                        () = clock.sleep(wait.max(Duration::from_millis(100))) => {}
                        () = answered => {}
                    }
                }
            }
        }
    }

    /// When a request last waited, and the last minute's spend.
    pub fn demand(&self, now: DateTime<Utc>) -> Demand {
        let mut w = self.state.lock();
        w.expire(now);
        Demand {
            waited_at: w.waited_at,
            spent: w.in_window() + w.in_flight,
        }
    }

    /// The pool is ours: `ru` more per minute until `until`, with the previous holder's spend
    /// (`seed`: when each RU was answered) counted in our window.
    pub(super) fn pool_granted(
        &self,
        ru: u32,
        until: DateTime<Utc>,
        seed: impl IntoIterator<Item = (DateTime<Utc>, u32)>,
    ) {
        {
            let mut w = self.state.lock();
            let mut all: Vec<_> = w.spent.drain(..).chain(seed).collect();
            all.sort_by_key(|(t, _)| *t);
            w.spent = all.into();
            w.pool = Some((ru, until));
        }
        self.answered.notify_waiters();
    }

    /// The pool's lease now lasts until `until`.
    pub(super) fn pool_extended(&self, until: DateTime<Utc>) {
        if let Some((_, u)) = self.state.lock().pool.as_mut() {
            *u = until;
        }
    }

    /// The pool was lost (its lease lapsed): our spend stays in our window.
    pub(super) fn pool_lost(&self) {
        self.state.lock().pool = None;
    }

    /// Gives the pool up: stops sending, waits for the requests in flight, and returns the last
    /// minute's spend (which leaves our window with the pool; [`Pacer::restore`] puts it back
    /// if the hand-over could not be recorded).
    pub(super) async fn hand_over(
        &self,
        clock: &crate::clock::SharedClock,
    ) -> Vec<(DateTime<Utc>, u32)> {
        self.state.lock().handing_over = true;
        loop {
            let answered = self.answered.notified();
            {
                let mut w = self.state.lock();
                if w.in_flight == 0 {
                    w.expire(clock.now());
                    w.pool = None;
                    w.handing_over = false;
                    let spent = w.spent.drain(..).collect();
                    drop(w);
                    self.answered.notify_waiters();
                    return spent;
                }
            }
            answered.await;
        }
    }

    /// Puts spend taken by [`Pacer::hand_over`] back in the window.
    pub(super) fn restore(&self, spent: Vec<(DateTime<Utc>, u32)>) {
        let mut w = self.state.lock();
        let mut all: Vec<_> = w.spent.drain(..).chain(spent).collect();
        all.sort_by_key(|(t, _)| *t);
        w.spent = all.into();
    }
}

/// A list on a site, reached through the Graph client.
#[derive(Debug, Clone)]
pub struct SpList {
    /// The Graph client.
    pub graph: GraphClient,
    /// Site id.
    pub site: String,
    /// List id (or name).
    pub list: String,
    /// Shared RU window.
    pub pacer: Arc<Pacer>,
    /// Writes this process made to the list (creates, updates, deletes), so a read it keeps
    /// for a moment knows when it is out of date.
    pub writes: Arc<std::sync::atomic::AtomicU64>,
}

/// Which items a scan reads.
#[derive(Debug, Clone, Default)]
pub enum Filter {
    /// Every item.
    #[default]
    All,
    /// `fields/{column} eq '{value}'`.
    Eq(String, String),
    /// A range on one column.
    Range(RangeFilter),
}

impl SpList {
    fn wrote(&self) {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many writes this process has made to the list.
    pub fn write_count(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn items_url(&self) -> String {
        format!(
            "/sites/{}/lists/{}/items",
            segment(&self.site),
            segment(&self.list)
        )
    }

    /// Every item matching `filter`, with `select`ed fields, page by page ($top = 5000).
    pub async fn scan(&self, filter: Filter, select: &[String]) -> GraphResult<Vec<ListItem>> {
        let (filter_eq, filter_range) = match filter {
            Filter::All => (None, None),
            Filter::Eq(c, v) => (Some((c, v)), None),
            Filter::Range(r) => (None, Some(r)),
        };
        let q = ItemQuery {
            select: select.to_vec(),
            filter_eq,
            filter_range,
            top: Some(PAGE),
        };
        let mut pages = Box::pin(self.graph.list_items(&self.site, &self.list, &q)?);
        let mut out = Vec::new();
        loop {
            let permit = self.pacer.take(&self.graph, RU_WRITE).await;
            let page = pages.try_next().await?;
            drop(permit);
            let Some(page) = page else { break };
            let more = page.next_link.is_some();
            out.extend(page.value);
            if !more {
                break;
            }
        }
        Ok(out)
    }

    /// One item by id (`None` when gone).
    pub async fn get(&self, item_id: &str, select: &[String]) -> GraphResult<Option<ListItem>> {
        let _permit = self.pacer.take(&self.graph, RU_READ).await;
        self.graph
            .get_list_item(&self.site, &self.list, item_id, select)
            .await
    }

    /// `PATCH` an item's fields with `If-Match`; returns the new eTag when Graph echoes it.
    pub async fn patch(
        &self,
        item_id: &str,
        fields: Map<String, Value>,
        etag: Option<&str>,
    ) -> GraphResult<Option<String>> {
        self.wrote();
        let permit = self.pacer.take(&self.graph, RU_WRITE).await;
        let echoed = self
            .graph
            .update_list_item(&self.site, &self.list, item_id, fields, etag)
            .await;
        drop(permit);
        let echoed = echoed?;
        Ok(echoed
            .get("@odata.etag")
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    /// Creates an item.
    pub async fn create(&self, fields: Map<String, Value>) -> GraphResult<ListItem> {
        self.wrote();
        let _permit = self.pacer.take(&self.graph, RU_WRITE).await;
        self.graph
            .create_list_item(&self.site, &self.list, fields)
            .await
    }

    /// Deletes an item (optionally only if unchanged); `false` when it was already gone.
    pub async fn delete(&self, item_id: &str, etag: Option<&str>) -> GraphResult<bool> {
        self.wrote();
        let _permit = self.pacer.take(&self.graph, RU_WRITE).await;
        self.graph
            .delete_list_item(&self.site, &self.list, item_id, etag)
            .await
    }

    /// Runs sub-requests through `$batch` (envelopes of 20), taking their RUs first.
    pub async fn batch(
        &self,
        requests: Vec<(BatchRequest, u32)>,
    ) -> Vec<GraphResult<BatchResponse>> {
        let mut out = Vec::with_capacity(requests.len());
        let mut it = requests.into_iter().peekable();
        while it.peek().is_some() {
            let chunk: Vec<(BatchRequest, u32)> =
                it.by_ref().take(crate::graph::MAX_BATCH).collect();
            // One take for the envelope: taking sub-request by sub-request could wait for
            // answers to the envelope's own, not yet sent, sub-requests.
            if chunk.iter().any(|(r, _)| r.method != reqwest::Method::GET) {
                self.wrote();
            }
            let cost = chunk.iter().map(|(_, c)| *c).sum();
            let _permit = self.pacer.take(&self.graph, cost).await;
            out.extend(
                self.graph
                    .batch(chunk.into_iter().map(|(r, _)| r).collect())
                    .await,
            );
        }
        out
    }

    /// A `$batch` query for one filter value (first page only; callers expect few matches).
    pub fn query_request(&self, column: &str, value: &str, select: &[String]) -> BatchRequest {
        let expand = if select.is_empty() {
            "fields".to_string()
        } else {
            format!("fields(select={})", select.join(","))
        };
        BatchRequest::get(format!(
            "{}{}",
            self.items_url(),
            crate::graph::request::query(&[
                ("expand", &expand),
                (
                    "$filter",
                    &format!("fields/{column} eq {}", crate::graph::odata_string(value)),
                ),
            ])
        ))
    }

    /// A `$batch` create.
    pub fn create_request(&self, fields: Map<String, Value>) -> BatchRequest {
        BatchRequest::with_body(Method::POST, self.items_url(), json!({ "fields": fields }))
    }

    /// A `$batch` update with `If-Match`.
    pub fn patch_request(
        &self,
        item_id: &str,
        fields: Map<String, Value>,
        etag: Option<&str>,
    ) -> BatchRequest {
        let mut r = BatchRequest::with_body(
            Method::PATCH,
            format!("{}/{}/fields", self.items_url(), segment(item_id)),
            Value::Object(fields),
        );
        if let Some(tag) = etag {
            r.headers.push(("If-Match".into(), tag.into()));
        }
        r
    }

    /// A `$batch` delete.
    pub fn delete_request(&self, item_id: &str) -> BatchRequest {
        BatchRequest {
            method: Method::DELETE,
            url: format!("{}/{}", self.items_url(), segment(item_id)),
            body: None,
            headers: Vec::new(),
        }
    }
}

/// Items of a `$batch` query response.
pub fn batch_items(resp: &BatchResponse) -> GraphResult<Vec<ListItem>> {
    let v = resp
        .body
        .get("value")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    serde_json::from_value(v).map_err(|e| GraphError::Decode(e.to_string()))
}
