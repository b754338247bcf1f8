//! One SharePoint list through Graph, every request paced to the RU budget ([`super::pacer`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::pacer::{Class, Pacer, Permit};
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

/// A list on a site, reached through the Graph client.
#[derive(Debug, Clone)]
pub struct SpList {
    /// The Graph client.
    pub graph: GraphClient,
    /// Site id.
    pub site: String,
    /// List id (or name).
    pub list: String,
    /// This process's RU budget.
    pub pacer: Arc<Pacer>,
    /// Whose requests these are (the pool keeper's may spend its reserve).
    pub class: Class,
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

    /// Takes `cost` RUs from this process's budget (see [`Pacer::take`]).
    async fn pace(&self, cost: u32) -> Permit<'_> {
        self.pacer.take(self.graph.clock(), cost, self.class).await
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
        self.read_pages(filter, select, PAGE, usize::MAX).await
    }

    /// At most `top` items matching `filter` (one request; which ones is SharePoint's choice).
    pub async fn first(
        &self,
        filter: Filter,
        select: &[String],
        top: u32,
    ) -> GraphResult<Vec<ListItem>> {
        self.read_pages(filter, select, top.clamp(1, PAGE), 1).await
    }

    async fn read_pages(
        &self,
        filter: Filter,
        select: &[String],
        top: u32,
        pages_at_most: usize,
    ) -> GraphResult<Vec<ListItem>> {
        let (filter_eq, filter_range) = match filter {
            Filter::All => (None, None),
            Filter::Eq(c, v) => (Some((c, v)), None),
            Filter::Range(r) => (None, Some(r)),
        };
        let q = ItemQuery {
            select: select.to_vec(),
            filter_eq,
            filter_range,
            top: Some(top),
        };
        let mut pages = Box::pin(self.graph.list_items(&self.site, &self.list, &q)?);
        let mut out = Vec::new();
        for _ in 0..pages_at_most {
            let permit = self.pace(RU_WRITE).await;
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
        let _permit = self.pace(RU_READ).await;
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
        let permit = self.pace(RU_WRITE).await;
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
        let _permit = self.pace(RU_WRITE).await;
        self.graph
            .create_list_item(&self.site, &self.list, fields)
            .await
    }

    /// Creates an item whose `column` is the time its request leaves (after the wait for RUs),
    /// never before `at`; returns the item and that time. The column keeps whole seconds, so the
    /// time is rounded up: what a later reader sees is never earlier than what happened.
    pub async fn create_stamped(
        &self,
        mut fields: Map<String, Value>,
        column: &str,
        at: DateTime<Utc>,
    ) -> GraphResult<(ListItem, DateTime<Utc>)> {
        self.wrote();
        let _permit = self.pace(RU_WRITE).await;
        let stamped = at.max(self.graph.clock().now());
        fields.insert(
            column.to_string(),
            json!(super::mapping::ts(super::mapping::ceil_second(stamped))),
        );
        let item = self
            .graph
            .create_list_item(&self.site, &self.list, fields)
            .await?;
        Ok((item, stamped))
    }

    /// Deletes an item (optionally only if unchanged); `false` when it was already gone.
    pub async fn delete(&self, item_id: &str, etag: Option<&str>) -> GraphResult<bool> {
        self.wrote();
        let _permit = self.pace(RU_WRITE).await;
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
            let _permit = self.pace(cost).await;
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
