//! SharePoint lists through Graph (SharePoint category): items, optimistic updates, delta, and
//! list/column provisioning.
//!
//! Filters go on one indexed column at a time. The client never sends
//! `Prefer: HonorNonIndexedQueriesWarningMayFailRandomly`: on lists over 5,000 items an
//! unindexed filter fails at random, so an unindexed filter must fail loudly instead.

use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::client::GraphClient;
use super::error::{GraphError, GraphResult};
use super::request::{odata_string, query, segment, GraphRequest, Page};
use super::throttle::Category;

/// A list item with its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListItem {
    /// Item id.
    pub id: String,
    /// Version tag for `If-Match` (`"{GUID},756"`).
    #[serde(rename = "eTag", default)]
    pub etag: Option<String>,
    /// Column values by internal name.
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// Set on items removed since the last delta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Value>,
}

/// A list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct List {
    /// List id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Internal name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A column definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Column {
    /// Column id.
    #[serde(default)]
    pub id: String,
    /// Internal name.
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Whether the column is indexed (filterable on large lists).
    #[serde(default)]
    pub indexed: bool,
}

/// Which items to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemQuery {
    /// Fields to expand (`expand=fields(select=…)`); empty for all.
    pub select: Vec<String>,
    /// `fields/{column} eq '{value}'` on one indexed column.
    pub filter_eq: Option<(String, String)>,
    /// Page size (`$top`).
    pub top: Option<u32>,
}

fn list_path(site: &str, list: &str) -> String {
    format!("/v1.0/sites/{}/lists/{}", segment(site), segment(list))
}

fn is_column_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn expand_fields(select: &[String]) -> GraphResult<String> {
    if let Some(bad) = select.iter().find(|c| !is_column_name(c)) {
        return Err(GraphError::InvalidArgument(format!("column name: {bad}")));
    }
    Ok(if select.is_empty() {
        "fields".into()
    } else {
        format!("fields(select={})", select.join(","))
    })
}

fn none_if_not_found<T>(r: GraphResult<T>) -> GraphResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(GraphError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

impl GraphClient {
    /// One item by id with its fields (`select` names the fields; empty for all); `Ok(None)` when
    /// it does not exist.
    pub async fn get_list_item(
        &self,
        site: &str,
        list: &str,
        item_id: &str,
        select: &[String],
    ) -> GraphResult<Option<ListItem>> {
        let q = query(&[("expand", &expand_fields(select)?)]);
        let req = GraphRequest::get(format!(
            "{}/items/{}{q}",
            list_path(site, list),
            segment(item_id)
        ))
        .category(Category::SharePoint);
        none_if_not_found(self.send_json(req).await)
    }

    /// Items matching `q`, page by page (following `@odata.nextLink`). Column names are checked
    /// before anything is sent; the filter value is an escaped OData literal.
    pub fn list_items(
        &self,
        site: &str,
        list: &str,
        q: &ItemQuery,
    ) -> GraphResult<impl Stream<Item = GraphResult<Page<ListItem>>> + Send + 'static> {
        let expand = expand_fields(&q.select)?;
        let filter = match &q.filter_eq {
            Some((column, value)) => {
                if !is_column_name(column) {
                    return Err(GraphError::InvalidArgument(format!(
                        "column name: {column}"
                    )));
                }
                Some(format!("fields/{column} eq {}", odata_string(value)))
            }
            None => None,
        };
        let top = q.top.map(|t| t.to_string());
        let mut pairs: Vec<(&str, &str)> = vec![("expand", &expand)];
        if let Some(f) = &filter {
            pairs.push(("$filter", f));
        }
        if let Some(t) = &top {
            pairs.push(("$top", t));
        }
        let req = GraphRequest::get(format!("{}/items{}", list_path(site, list), query(&pairs)))
            .category(Category::SharePoint);
        Ok(self.pages(req))
    }

    /// Creates an item (`POST …/items {"fields":{…}}`). Not resent after a timeout (it would
    /// create a second item).
    pub async fn create_list_item(
        &self,
        site: &str,
        list: &str,
        fields: Map<String, Value>,
    ) -> GraphResult<ListItem> {
        let req = GraphRequest::post(
            format!("{}/items", list_path(site, list)),
            json!({"fields": fields}),
        )
        .category(Category::SharePoint);
        self.send_json(req).await
    }

    /// Updates an item's fields (`PATCH …/items/{id}/fields`). With `etag`, only if the item is
    /// unchanged (`If-Match`): a conflict is [`GraphError::PreconditionFailed`]. Returns the
    /// fields Graph echoes.
    pub async fn update_list_item(
        &self,
        site: &str,
        list: &str,
        item_id: &str,
        fields: Map<String, Value>,
        etag: Option<&str>,
    ) -> GraphResult<Map<String, Value>> {
        let mut req = GraphRequest::patch(
            format!(
                "{}/items/{}/fields",
                list_path(site, list),
                segment(item_id)
            ),
            Value::Object(fields),
        )
        .category(Category::SharePoint);
        if let Some(tag) = etag {
            req = req.header("If-Match", tag);
        }
        self.send_json(req).await
    }

    /// Changes since `link` (a previous `@odata.deltaLink`), or everything when `None`, page by
    /// page; the last page carries the next `delta_link`. An expired link is [`GraphError::Gone`]:
    /// resynchronise with `None`.
    pub fn list_items_delta(
        &self,
        site: &str,
        list: &str,
        link: Option<&str>,
    ) -> impl Stream<Item = GraphResult<Page<ListItem>>> + Send + 'static {
        let path = match link {
            Some(l) => l.to_string(),
            None => format!(
                "{}/items/delta{}",
                list_path(site, list),
                query(&[("expand", "fields")])
            ),
        };
        self.pages(GraphRequest::get(path).category(Category::SharePoint))
    }

    /// A list by id or name; `Ok(None)` when absent.
    pub async fn get_list(&self, site: &str, list: &str) -> GraphResult<Option<List>> {
        let req = GraphRequest::get(list_path(site, list)).category(Category::SharePoint);
        none_if_not_found(self.send_json(req).await)
    }

    /// Creates a generic list with `columns` (Graph column definitions).
    pub async fn create_list(
        &self,
        site: &str,
        display_name: &str,
        columns: Vec<Value>,
    ) -> GraphResult<List> {
        let req = GraphRequest::post(
            format!("/v1.0/sites/{}/lists", segment(site)),
            json!({
                "displayName": display_name,
                "columns": columns,
                "list": {"template": "genericList"}
            }),
        )
        .category(Category::SharePoint);
        self.send_json(req).await
    }

    /// The list's columns.
    pub async fn list_columns(&self, site: &str, list: &str) -> GraphResult<Vec<Column>> {
        let req = GraphRequest::get(format!("{}/columns", list_path(site, list)))
            .category(Category::SharePoint);
        Ok(self.send_json::<Page<Column>>(req).await?.value)
    }

    /// Adds a column (a Graph column definition, e.g.
    /// `{"name":"TrackingToken","text":{},"indexed":true}`).
    pub async fn create_column(
        &self,
        site: &str,
        list: &str,
        definition: Value,
    ) -> GraphResult<Column> {
        let req = GraphRequest::post(format!("{}/columns", list_path(site, list)), definition)
            .category(Category::SharePoint);
        self.send_json(req).await
    }
}
