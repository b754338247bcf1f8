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
#[derive(Debug)]
pub struct Pacer {
    budget: u32,
    spent: Mutex<VecDeque<(DateTime<Utc>, u32)>>,
}

impl Pacer {
    /// A window allowing `budget` RU per minute.
    pub fn new(budget: u32) -> Self {
        Self {
            budget: budget.max(RU_WRITE * 20),
            spent: Mutex::new(VecDeque::new()),
        }
    }

    pub(super) async fn take(&self, graph: &GraphClient, cost: u32) {
        let clock = graph.clock().clone();
        loop {
            let now = clock.now();
            let wait = {
                let mut spent = self.spent.lock();
                let window = now - chrono::Duration::minutes(1);
                while spent.front().is_some_and(|(t, _)| *t <= window) {
                    spent.pop_front();
                }
                let used: u32 = spent.iter().map(|(_, c)| *c).sum();
                if used + cost <= self.budget || spent.is_empty() {
                    spent.push_back((now, cost));
                    return;
                }
                spent
                    .front()
                    .map(|(t, _)| (*t - window).to_std().unwrap_or_default())
                    .unwrap_or_default()
            };
            tracing::debug!(?wait, "pacing SharePoint requests to the RU budget");
            clock.sleep(wait.max(Duration::from_millis(100))).await;
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
        self.pacer.take(&self.graph, RU_WRITE).await;
        while let Some(page) = pages.try_next().await? {
            out.extend(page.value);
            if page.next_link.is_some() {
                self.pacer.take(&self.graph, RU_WRITE).await;
            }
        }
        Ok(out)
    }

    /// One item by id (`None` when gone).
    pub async fn get(&self, item_id: &str, select: &[String]) -> GraphResult<Option<ListItem>> {
        self.pacer.take(&self.graph, RU_READ).await;
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
        self.pacer.take(&self.graph, RU_WRITE).await;
        let echoed = self
            .graph
            .update_list_item(&self.site, &self.list, item_id, fields, etag)
            .await?;
        Ok(echoed
            .get("@odata.etag")
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    /// Creates an item.
    pub async fn create(&self, fields: Map<String, Value>) -> GraphResult<ListItem> {
        self.pacer.take(&self.graph, RU_WRITE).await;
        self.graph
            .create_list_item(&self.site, &self.list, fields)
            .await
    }

    /// Deletes an item (optionally only if unchanged); `false` when it was already gone.
    pub async fn delete(&self, item_id: &str, etag: Option<&str>) -> GraphResult<bool> {
        self.pacer.take(&self.graph, RU_WRITE).await;
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
        let mut chunk = Vec::new();
        let mut it = requests.into_iter().peekable();
        while let Some((req, cost)) = it.next() {
            self.pacer.take(&self.graph, cost).await;
            chunk.push(req);
            if chunk.len() == crate::graph::MAX_BATCH || it.peek().is_none() {
                out.extend(self.graph.batch(std::mem::take(&mut chunk)).await);
            }
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
