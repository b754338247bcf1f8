//! SharePoint via Graph: `lists` (sites, lists, columns), `items` (CRUD, indexed filters,
//! paging, If-Match) and `delta`; this module holds the shared lookups and JSON shapes.

mod delta;
mod items;
mod lists;

pub(crate) use delta::delta;
pub(crate) use items::{item, items, patch_fields};
pub(crate) use lists::{columns, get_list, get_site, lists, patch_column};

use crate::errors::GraphError;
use crate::http::SimRequest;
use crate::odata;
use crate::routes::ListRef;
use crate::shared::Shared;
use crate::sharepoint::{Column, ColumnKind, Item, List, Site};
use chrono::SecondsFormat;
use serde_json::{json, Map, Value};

pub(super) const PREFER_UNINDEXED: &str = "HonorNonIndexedQueriesWarningMayFailRandomly";
pub(super) const DEFAULT_PAGE: usize = 200;
pub(super) const MAX_PAGE: usize = 5000;

pub(super) fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) fn site_not_found(s: &str) -> GraphError {
    GraphError::item_not_found(format!("Requested site could not be found: {s}"))
}

pub(super) fn list_not_found() -> GraphError {
    GraphError::item_not_found("The specified list was not found")
}

pub(super) fn with_list<T>(
    shared: &Shared,
    l: &ListRef,
    f: impl FnOnce(&Site, &mut List) -> Result<T, GraphError>,
) -> Result<T, GraphError> {
    let mut sp = shared.sharepoint.lock();
    let site = sp
        .site_mut(&l.site)
        .ok_or_else(|| site_not_found(&l.site))?;
    let snapshot = site.without_lists();
    let list = site.list_mut(&l.list).ok_or_else(list_not_found)?;
    f(&snapshot, list)
}

pub(super) fn site_json(s: &Site) -> Value {
    json!({"id": s.id, "name": s.name, "displayName": s.name, "webUrl": s.web_url(),
           "createdDateTime": ts(s.created), "siteCollection": {"hostname": s.host}})
}

pub(super) fn column_json(c: &Column) -> Value {
    let mut v = json!({"id": c.id, "name": c.name, "displayName": c.display_name, "description": "",
        "columnGroup": "Custom Columns", "enforceUniqueValues": false, "hidden": false,
        "indexed": c.indexed, "readOnly": false, "required": c.required});
    match &c.kind {
        ColumnKind::Text => {
            v["text"] = json!({"allowMultipleLines": false, "appendChangesToExistingText": false, "linesForEditing": 0, "maxLength": 255})
        }
        ColumnKind::Note => {
            v["text"] = json!({"allowMultipleLines": true, "appendChangesToExistingText": false, "linesForEditing": 6, "maxLength": 63999})
        }
        ColumnKind::Number => {
            v["number"] = json!({"decimalPlaces": "automatic", "displayAs": "number"})
        }
        ColumnKind::Boolean => v["boolean"] = json!({}),
        ColumnKind::DateTime => {
            v["dateTime"] = json!({"displayAs": "default", "format": "dateTime"})
        }
        ColumnKind::Choice(c) => {
            v["choice"] =
                json!({"allowTextEntry": false, "choices": c, "displayAs": "dropDownMenu"})
        }
    }
    v
}

pub(super) fn list_json(site: &Site, l: &List, with_columns: bool) -> Value {
    let mut v = json!({"id": l.id, "name": l.name, "displayName": l.display_name, "description": "",
        "createdDateTime": ts(l.created), "lastModifiedDateTime": ts(l.created),
        "eTag": format!("\"{},{}\"", l.id, l.seq() + 1),
        "webUrl": format!("{}/Lists/{}", site.web_url(), l.name),
        "parentReference": {"siteId": site.id},
        "list": {"contentTypesEnabled": false, "hidden": false, "template": "genericList"}});
    if with_columns {
        v["columns"] = Value::Array(l.columns.iter().map(column_json).collect());
    }
    v
}

/// `expand=fields(select=a,b)` → `Some(["a","b"])`; `expand=fields` → `Some([])`; absent → `None`.
pub(super) fn fields_expand(req: &SimRequest) -> Option<Vec<String>> {
    let e = req.param("$expand")?;
    let e = e.trim();
    if !e.to_ascii_lowercase().starts_with("fields") {
        return None;
    }
    let inner = e[6..].trim().trim_start_matches('(').trim_end_matches(')');
    let sel = inner.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .trim_start_matches('$')
            .eq_ignore_ascii_case("select")
            .then(|| v.to_string())
    });
    Some(odata::select_list(sel))
}

pub(super) fn fields_json(list: &List, item: &Item, select: &[String]) -> Value {
    let mut f = Map::new();
    f.insert("@odata.etag".into(), json!(item.etag()));
    for (k, v) in &item.fields {
        f.insert(k.clone(), v.clone());
    }
    f.insert("id".into(), json!(item.id.to_string()));
    f.insert("ContentType".into(), json!("Item"));
    f.insert("Modified".into(), json!(ts(item.modified)));
    f.insert("Created".into(), json!(ts(item.created)));
    f.insert("AuthorLookupId".into(), json!("6"));
    f.insert("EditorLookupId".into(), json!("6"));
    f.insert(
        "_UIVersionString".into(),
        json!(format!("{}.0", item.version)),
    );
    f.insert("Attachments".into(), json!(false));
    f.insert("Edit".into(), json!(""));
    if let Some(t) = item.fields.get("Title") {
        f.insert("LinkTitle".into(), t.clone());
        f.insert("LinkTitleNoMenu".into(), t.clone());
    }
    let _ = list;
    Value::Object(odata::apply_select(f, select))
}

pub(super) fn item_json(site: &Site, list: &List, item: &Item, expand: Option<&[String]>) -> Value {
    let mut v = json!({"@odata.etag": item.etag(), "eTag": item.etag(), "id": item.id.to_string(),
        "createdDateTime": ts(item.created), "lastModifiedDateTime": ts(item.modified),
        "webUrl": format!("{}/Lists/{}/{}_.000", site.web_url(), list.name, item.id),
        "createdBy": {"user": {"displayName": "SharePoint App"}},
        "lastModifiedBy": {"user": {"displayName": "SharePoint App"}},
        "parentReference": {"id": list.id, "siteId": site.id},
        "contentType": {"id": "0x0100", "name": "Item"}});
    if let Some(sel) = expand {
        v["fields"] = fields_json(list, item, sel);
    }
    v
}
