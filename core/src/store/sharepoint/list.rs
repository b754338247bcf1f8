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
#[derive(Debug)]
pub struct Pacer {
    budget: u32,
    state: Mutex<Window>,
    /// Woken when a request in flight is answered.
    answered: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Window {
    /// Answered requests' RUs, oldest first.
    spent: VecDeque<(DateTime<Utc>, u32)>,
    /// RUs of requests sent and not answered yet.
    in_flight: u32,
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

impl Pacer {
    /// A window allowing `budget` RU per minute.
    pub fn new(budget: u32) -> Self {
        Self {
            budget: budget.max(RU_WRITE * 20),
            state: Mutex::new(Window::default()),
            answered: tokio::sync::Notify::new(),
        }
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
                let window = now - chrono::Duration::minutes(1);
                while w.spent.front().is_some_and(|(t, _)| *t <= window) {
                    w.spent.pop_front();
                }
                let used: u32 = w.spent.iter().map(|(_, c)| *c).sum::<u32>() + w.in_flight;
                if used + cost <= self.budget || (w.spent.is_empty() && w.in_flight == 0) {
                    w.in_flight += cost;
                    return Permit {
                        pacer: self,
                        clock,
                        cost,
                    };
                }
                // What frees first: the oldest answered RUs leaving the window, or (when the
                // window alone would allow it) a request in flight being answered.
                let in_window: u32 = w.spent.iter().map(|(_, c)| *c).sum();
                if in_window + cost <= self.budget || w.spent.is_empty() {
                    None
                } else {
                    w.spent
                        .front()
                        .map(|(t, _)| (*t - window).to_std().unwrap_or_default())
                }
            };
            match wait {
                None => answered.await,
                Some(wait) => {
                    tracing::debug!(?wait, "pacing SharePoint requests to the RU budget");
                    clock.sleep(wait.max(Duration::from_millis(100))).await;
                }
            }
        }
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
