//! SharePoint via Graph: sites, lists, columns, items (indexed filters, paging, If-Match), delta.
#![allow(clippy::too_many_arguments)]

use crate::errors::{GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::limits::Category;
use crate::log::ViolationKind;
use crate::odata::{self, Expr, Lit, Op};
use crate::routes::ListRef;
use crate::shared::{Ctx, Shared};
use crate::sharepoint::{coerce, Column, ColumnKind, Item, Key, List, Site};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::SecondsFormat;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::ops::Bound;

const PREFER_UNINDEXED: &str = "HonorNonIndexedQueriesWarningMayFailRandomly";
const DEFAULT_PAGE: usize = 200;
const MAX_PAGE: usize = 5000;

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn site_not_found(s: &str) -> GraphError {
    GraphError::item_not_found(format!("Requested site could not be found: {s}"))
}

fn list_not_found() -> GraphError {
    GraphError::item_not_found("The specified list was not found")
}

fn with_list<T>(
    shared: &Shared,
    l: &ListRef,
    f: impl FnOnce(&Site, &mut List) -> Result<T, GraphError>,
) -> Result<T, GraphError> {
    let mut sp = shared.sharepoint.lock();
    let site = sp
        .site_mut(&l.site)
        .ok_or_else(|| site_not_found(&l.site))?;
    let snapshot = Site {
        lists: Vec::new(),
        ..site.clone()
    };
    let list = site.list_mut(&l.list).ok_or_else(list_not_found)?;
    f(&snapshot, list)
}

fn site_json(s: &Site) -> Value {
    json!({"id": s.id, "name": s.name, "displayName": s.name, "webUrl": s.web_url(),
           "createdDateTime": ts(s.created), "siteCollection": {"hostname": s.host}})
}

/// `GET /sites/{site}`.
pub(crate) fn get_site(shared: &Shared, version: &str, key: &str) -> GraphResult {
    let mut sp = shared.sharepoint.lock();
    let s = sp.site_mut(key).ok_or_else(|| site_not_found(key))?;
    let mut v = site_json(s);
    v["@odata.context"] = json!(format!(
        "{}/$metadata#sites/$entity",
        shared.graph_root(version)
    ));
    Ok(SimResponse::json(200, v))
}

fn column_json(c: &Column) -> Value {
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

fn list_json(site: &Site, l: &List, with_columns: bool) -> Value {
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

/// Parses a column definition (`{name, text:{}|number:{}|boolean:{}|dateTime:{}|choice:{choices}, indexed, required}`).
fn parse_column(v: &Value) -> Result<Column, GraphError> {
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty() && !n.contains(' '))
        .ok_or_else(|| GraphError::invalid_request("A column needs a 'name' without spaces."))?;
    let kind = if let Some(t) = v.get("text") {
        if t.get("allowMultipleLines")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            ColumnKind::Note
        } else {
            ColumnKind::Text
        }
    } else if v.get("number").is_some() {
        ColumnKind::Number
    } else if v.get("boolean").is_some() {
        ColumnKind::Boolean
    } else if v.get("dateTime").is_some() {
        ColumnKind::DateTime
    } else if let Some(c) = v.get("choice") {
        let choices = c
            .get("choices")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .filter(|a| !a.is_empty())
            .ok_or_else(|| GraphError::invalid_request("A choice column needs 'choices'."))?;
        ColumnKind::Choice(choices)
    } else {
        return Err(GraphError::invalid_request(format!(
            "Column '{name}' has no supported type facet."
        )));
    };
    Ok(Column {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_string(),
        display_name: v
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_string(),
        kind,
        indexed: v.get("indexed").and_then(Value::as_bool).unwrap_or(false),
        required: v.get("required").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// `GET|POST /sites/{site}/lists`.
pub(crate) fn lists(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
    key: &str,
    create: bool,
) -> GraphResult {
    let mut sp = shared.sharepoint.lock();
    let site = sp.site_mut(key).ok_or_else(|| site_not_found(key))?;
    if !create {
        let snapshot = Site {
            lists: Vec::new(),
            ..site.clone()
        };
        let value: Vec<Value> = site
            .lists
            .iter()
            .map(|l| list_json(&snapshot, l, false))
            .collect();
        return Ok(SimResponse::json(
            200,
            json!({"@odata.context": format!("{}/$metadata#sites('{}')/lists", shared.graph_root(version), site.id), "value": value}),
        ));
    }
    let body = req
        .json()
        .map_err(|e| GraphError::invalid_request(format!("Invalid JSON: {e}")))?;
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| GraphError::invalid_request("'displayName' is required."))?;
    if site.list_mut(name).is_some() {
        return Err(GraphError::new(409, "nameAlreadyExists", format!("A list, survey, discussion board, or document library with the specified title already exists in this Web site.  Please choose another title. '{name}'")));
    }
    let mut list = List::new(name, ctx.now);
    for c in body
        .get("columns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let col = parse_column(c)?;
        list.add_column(col).map_err(GraphError::invalid_request)?;
    }
    let snapshot = Site {
        lists: Vec::new(),
        ..site.clone()
    };
    let mut v = list_json(&snapshot, &list, true);
    site.lists.push(list);
    v["@odata.context"] = json!(format!(
        "{}/$metadata#sites('{}')/lists/$entity",
        shared.graph_root(version),
        snapshot.id
    ));
    Ok(SimResponse::json(201, v))
}

/// `GET /sites/{site}/lists/{list}` (`?expand=columns` supported).
pub(crate) fn get_list(
    shared: &Shared,
    version: &str,
    l: &ListRef,
    req: &SimRequest,
) -> GraphResult {
    let expand = req
        .param("$expand")
        .is_some_and(|e| e.to_ascii_lowercase().contains("columns"));
    with_list(shared, l, |site, list| {
        let mut v = list_json(site, list, expand);
        v["@odata.context"] = json!(format!(
            "{}/$metadata#sites('{}')/lists/$entity",
            shared.graph_root(version),
            site.id
        ));
        Ok(SimResponse::json(200, v))
    })
}

/// `GET|POST /sites/{site}/lists/{list}/columns`.
pub(crate) fn columns(
    shared: &Shared,
    req: &SimRequest,
    version: &str,
    l: &ListRef,
    create: bool,
) -> GraphResult {
    let root = shared.graph_root(version);
    with_list(shared, l, |_, list| {
        if create {
            let body = req
                .json()
                .map_err(|e| GraphError::invalid_request(format!("Invalid JSON: {e}")))?;
            let col = list
                .add_column(parse_column(&body)?)
                .map_err(GraphError::invalid_request)?;
            return Ok(SimResponse::json(201, column_json(&col)));
        }
        let value: Vec<Value> = list.columns.iter().map(column_json).collect();
        Ok(SimResponse::json(
            200,
            json!({"@odata.context": format!("{root}/$metadata#columns"), "value": value}),
        ))
    })
}

/// `PATCH /sites/{site}/lists/{list}/columns/{id|name}` (only `indexed` is changeable).
pub(crate) fn patch_column(
    shared: &Shared,
    req: &SimRequest,
    _version: &str,
    l: &ListRef,
    col: &str,
) -> GraphResult {
    let body = req
        .json()
        .map_err(|e| GraphError::invalid_request(format!("Invalid JSON: {e}")))?;
    with_list(shared, l, |_, list| {
        let current = list
            .columns
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(col) || c.name.eq_ignore_ascii_case(col))
            .cloned()
            .ok_or_else(|| GraphError::item_not_found(format!("Column '{col}' does not exist.")))?;
        let indexed = body
            .get("indexed")
            .and_then(Value::as_bool)
            .unwrap_or(current.indexed);
        let c = list
            .set_indexed(&current.name, indexed)
            .map_err(GraphError::invalid_request)?;
        Ok(SimResponse::json(200, column_json(&c)))
    })
}

/// `expand=fields(select=a,b)` → `Some(["a","b"])`; `expand=fields` → `Some([])`; absent → `None`.
fn fields_expand(req: &SimRequest) -> Option<Vec<String>> {
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

fn fields_json(list: &List, item: &Item, select: &[String]) -> Value {
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

fn item_json(site: &Site, list: &List, item: &Item, expand: Option<&[String]>) -> Value {
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

/// Resolves `fields/X` names to columns and normalises literals to the column's type.
fn normalise(e: Expr, list: &List, unindexed: &mut Vec<String>) -> Result<Expr, GraphError> {
    let field = |f: &str, unindexed: &mut Vec<String>| -> Result<Column, GraphError> {
        let name = f.strip_prefix("fields/").ok_or_else(|| {
            GraphError::invalid_request(format!(
                "Filter on '{f}' is not supported; use fields/<column>."
            ))
        })?;
        let col = list.column(name).cloned().ok_or_else(|| {
            GraphError::invalid_request(format!(
                "Column '{name}' does not exist. It may have been deleted by another user."
            ))
        })?;
        if !col.indexed {
            unindexed.push(col.name.clone());
        }
        Ok(col)
    };
    Ok(match e {
        Expr::And(a, b) => Expr::And(
            Box::new(normalise(*a, list, unindexed)?),
            Box::new(normalise(*b, list, unindexed)?),
        ),
        Expr::Or(a, b) => Expr::Or(
            Box::new(normalise(*a, list, unindexed)?),
            Box::new(normalise(*b, list, unindexed)?),
        ),
        Expr::Not(a) => Expr::Not(Box::new(normalise(*a, list, unindexed)?)),
        Expr::StartsWith(f, p) => Expr::StartsWith(field(&f, unindexed)?.name, p),
        Expr::Cmp(f, op, lit) => {
            let col = field(&f, unindexed)?;
            let lit = match (&col.kind, lit) {
                (ColumnKind::Number, Lit::Str(s) | Lit::Raw(s)) => {
                    s.parse().map(Lit::Num).unwrap_or(Lit::Str(s))
                }
                (ColumnKind::DateTime, Lit::Str(s) | Lit::Raw(s)) => {
                    match coerce(&col.kind, &col.name, &json!(s)) {
                        Ok(Some(Value::String(n))) => Lit::Str(n),
                        _ => Lit::Str(s),
                    }
                }
                (ColumnKind::Boolean, Lit::Num(n)) => Lit::Bool(n != 0.0),
                (_, l) => l,
            };
            Expr::Cmp(col.name, op, lit)
        }
    })
}

fn lit_key(l: &Lit) -> Key {
    match l {
        Lit::Str(s) | Lit::Raw(s) => Key::Text(s.to_lowercase()),
        Lit::Num(n) => Key::Num(*n),
        Lit::Bool(b) => Key::Bool(*b),
        Lit::Null => Key::Null,
    }
}

fn conjuncts<'a>(e: &'a Expr, out: &mut Vec<(&'a str, Op, &'a Lit)>) -> bool {
    match e {
        Expr::And(a, b) => conjuncts(a, out) && conjuncts(b, out),
        Expr::Cmp(f, op, l) => {
            out.push((f, *op, l));
            true
        }
        _ => false,
    }
}

/// Item ids matching `filter`, ascending, after `after`, at most `limit` (+1 to detect more).
fn matching_ids(list: &List, filter: Option<&Expr>, after: u64, limit: usize) -> Vec<u64> {
    let accept = |id: u64| {
        filter.is_none_or(|f| {
            list.items
                .get(&id)
                .is_some_and(|it| odata::eval(f, &|k| it.fields.get(k).cloned()))
        })
    };
    let mut clauses = Vec::new();
    let indexed = filter.is_some_and(|f| conjuncts(f, &mut clauses));
    let best = if indexed {
        clauses
            .iter()
            .filter(|(f, op, _)| *op != Op::Ne && list.index(f).is_some())
            .min_by_key(|(_, op, _)| *op != Op::Eq)
            .copied()
    } else {
        None
    };
    let start = Bound::Excluded(after);
    match best.and_then(|(f, op, l)| list.index(f).map(|idx| (idx, op, lit_key(l)))) {
        Some((idx, Op::Eq, key)) => idx
            .get(&key)
            .map(|set| {
                set.range((start, Bound::Unbounded))
                    .copied()
                    .filter(|id| accept(*id))
                    .take(limit)
                    .collect()
            })
            .unwrap_or_default(),
        Some((idx, op, key)) => {
            let range: (Bound<&Key>, Bound<&Key>) = match op {
                Op::Lt => (Bound::Unbounded, Bound::Excluded(&key)),
                Op::Le => (Bound::Unbounded, Bound::Included(&key)),
                Op::Gt => (Bound::Excluded(&key), Bound::Unbounded),
                _ => (Bound::Included(&key), Bound::Unbounded),
            };
            let ids: BTreeSet<u64> = idx
                .range::<Key, _>(range)
                .filter(|(k, _)| !matches!(k, Key::Null))
                .flat_map(|(_, s)| s.range((start, Bound::Unbounded)).copied())
                .collect();
            ids.into_iter()
                .filter(|id| accept(*id))
                .take(limit)
                .collect()
        }
        None => list
            .items
            .range((start, Bound::Unbounded))
            .map(|(id, _)| *id)
            .filter(|id| accept(*id))
            .take(limit)
            .collect(),
    }
}

/// `GET|POST /sites/{site}/lists/{list}/items`.
pub(crate) fn items(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
    l: &ListRef,
    create: bool,
) -> GraphResult {
    let root = shared.graph_root(version);
    let prefer = req
        .header("prefer")
        .is_some_and(|p| p.contains(PREFER_UNINDEXED));
    if prefer {
        shared.violate(
            ViolationKind::NonIndexedQuery,
            Category::SharePoint,
            ctx,
            format!("{} used Prefer: {PREFER_UNINDEXED}", ctx.path),
        );
    }
    let lvt = shared.limits.lock().list_view_threshold;
    with_list(shared, l, |site, list| {
        if create {
            let body = req
                .json()
                .map_err(|e| GraphError::invalid_request(format!("Invalid JSON: {e}")))?;
            let fields = body
                .get("fields")
                .and_then(Value::as_object)
                .ok_or_else(|| GraphError::invalid_request("'fields' is required."))?;
            let values = list.validate(fields).map_err(GraphError::invalid_request)?;
            let item = list
                .create(values, ctx.now)
                .map_err(GraphError::invalid_request)?;
            let mut v = item_json(site, list, &item, Some(&[]));
            v["@odata.context"] = json!(format!(
                "{root}/$metadata#sites('{}')/lists('{}')/items/$entity",
                site.id, list.id
            ));
            return Ok(SimResponse::json(201, v));
        }
        let expand = fields_expand(req);
        let top = match req.param("$top") {
            None => DEFAULT_PAGE,
            Some(t) => t
                .parse::<usize>()
                .map_err(|_| GraphError::invalid_request(format!("Invalid $top '{t}'.")))?
                .clamp(1, MAX_PAGE),
        };
        let after: u64 = req
            .param("$skiptoken")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let filter = match req.param("$filter") {
            None => None,
            Some(f) => {
                let e = odata::parse_filter(&f).map_err(|e| {
                    GraphError::invalid_request(format!("Invalid filter clause: {e}"))
                })?;
                let mut unindexed = Vec::new();
                let e = normalise(e, list, &mut unindexed)?;
                if let Some(col) = unindexed.first() {
                    if !prefer {
                        return Err(GraphError::invalid_request(format!("Field '{col}' cannot be referenced in filter or orderby as it is not indexed. Provide the 'Prefer: {PREFER_UNINDEXED}' header to allow this, but be warned that such queries may fail on large lists.")));
                    }
                    if list.items.len() > lvt {
                        return Err(GraphError::invalid_request("The attempted operation is prohibited because it exceeds the list view threshold."));
                    }
                }
                Some(e)
            }
        };
        let ids = matching_ids(list, filter.as_ref(), after, top + 1);
        let more = ids.len() > top;
        let value: Vec<Value> = ids
            .iter()
            .take(top)
            .filter_map(|id| list.items.get(id))
            .map(|it| item_json(site, list, it, expand.as_deref()))
            .collect();
        let mut body = json!({"@odata.context": format!("{root}/$metadata#sites('{}')/lists('{}')/items", site.id, list.id), "value": value});
        if more {
            if let Some(last) = ids.get(top - 1) {
                let rel = format!("/sites/{}/lists/{}/items", l.site, l.list);
                body["@odata.nextLink"] = json!(odata::next_link(
                    &root,
                    &rel,
                    &req.params(),
                    &last.to_string()
                ));
            }
        }
        Ok(SimResponse::json(200, body))
    })
}

fn parse_id(id: &str) -> Result<u64, GraphError> {
    id.parse()
        .map_err(|_| GraphError::invalid_request(format!("Invalid item id '{id}'.")))
}

fn check_if_match(req: &SimRequest, item: &Item) -> Result<(), GraphError> {
    let Some(m) = req.header("if-match").map(str::trim) else {
        return Ok(());
    };
    let norm = |s: &str| {
        s.trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_ascii_uppercase()
    };
    if m == "*" || norm(m) == norm(&item.etag()) {
        return Ok(());
    }
    Err(GraphError::new(
        412,
        "preconditionFailed",
        format!(
            "The request ETag value '{m}' does not match the object's ETag value '{}'.",
            item.etag()
        ),
    ))
}

/// `GET|DELETE /sites/{site}/lists/{list}/items/{id}`.
pub(crate) fn item(
    shared: &Shared,
    _ctx: &Ctx,
    req: &SimRequest,
    version: &str,
    l: &ListRef,
    id: &str,
    delete: bool,
) -> GraphResult {
    let n = parse_id(id)?;
    let root = shared.graph_root(version);
    with_list(shared, l, |site, list| {
        let it = list
            .items
            .get(&n)
            .cloned()
            .ok_or_else(|| GraphError::item_not_found("Item not found"))?;
        if delete {
            check_if_match(req, &it)?;
            list.delete(n);
            return Ok(SimResponse::empty(204));
        }
        let mut v = item_json(site, list, &it, fields_expand(req).as_deref());
        v["@odata.context"] = json!(format!(
            "{root}/$metadata#sites('{}')/lists('{}')/items/$entity",
            site.id, list.id
        ));
        Ok(SimResponse::json(200, v))
    })
}

/// `PATCH /sites/{site}/lists/{list}/items/{id}/fields` with optional `If-Match`.
pub(crate) fn patch_fields(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
    l: &ListRef,
    id: &str,
) -> GraphResult {
    let n = parse_id(id)?;
    let body = req
        .json()
        .map_err(|e| GraphError::invalid_request(format!("Invalid JSON: {e}")))?;
    let fields = body.as_object().cloned().ok_or_else(|| {
        GraphError::invalid_request("The body must be a JSON object of field values.")
    })?;
    let root = shared.graph_root(version);
    with_list(shared, l, |site, list| {
        let it = list
            .items
            .get(&n)
            .cloned()
            .ok_or_else(|| GraphError::item_not_found("Item not found"))?;
        check_if_match(req, &it)?;
        let values = list
            .validate(&fields)
            .map_err(GraphError::invalid_request)?;
        let updated = list
            .update(n, values, ctx.now)
            .ok_or_else(|| GraphError::item_not_found("Item not found"))?;
        let mut v = fields_json(list, &updated, &[]);
        v["@odata.context"] = json!(format!(
            "{root}/$metadata#sites('{}')/lists('{}')/items('{n}')/fields/$entity",
            site.id, list.id
        ));
        Ok(SimResponse::json(200, v))
    })
}

/// Delta token: `(from_seq, to_seq, issued_epoch)`; `from == to` marks a delta link.
fn encode_token(from: u64, to: u64, issued: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{from}.{to}.{issued}"))
}

fn decode_token(t: &str) -> Option<(u64, u64, i64)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(t).ok()?).ok()?;
    let mut p = raw.split('.');
    Some((
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
    ))
}

/// `GET /sites/{site}/lists/{list}/items/delta[?token=…]`.
pub(crate) fn delta(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
    l: &ListRef,
) -> GraphResult {
    let root = shared.graph_root(version);
    let rel = format!("/sites/{}/lists/{}/items/delta", l.site, l.list);
    let lifetime =
        chrono::Duration::from_std(shared.config.delta_token_lifetime).unwrap_or_default();
    let top = req
        .param("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    let expand = fields_expand(req);
    with_list(shared, l, |site, list| {
        let link = |token: String| format!("{root}{rel}?token={token}");
        let now_seq = list.seq();
        let (from, to, issued) = match req.param("token").as_deref() {
            None => (0, now_seq, ctx.now.timestamp()),
            Some("latest") => {
                return Ok(SimResponse::json(
                    200,
                    json!({"value": [], "@odata.deltaLink": link(encode_token(now_seq, now_seq, ctx.now.timestamp()))}),
                ));
            }
            Some(t) => {
                let (from, to, issued) = decode_token(t)
                    .ok_or_else(|| GraphError::invalid_request("Invalid delta token."))?;
                let issued_at = chrono::DateTime::from_timestamp(issued, 0).unwrap_or(ctx.now);
                if issued_at + lifetime < ctx.now {
                    let fresh = link(encode_token(0, now_seq, ctx.now.timestamp()));
                    return Err(GraphError::new(
                        410,
                        "resyncRequired",
                        "The delta token has expired; restart with a full enumeration.",
                    )
                    .with_header("Location", fresh));
                }
                if from == to {
                    (from, now_seq, ctx.now.timestamp())
                } else {
                    (from, to, issued)
                }
            }
        };
        let initial = from == 0;
        let changes: Vec<(u64, u64, bool)> = list
            .changes
            .range((Bound::Excluded(from), Bound::Included(to)))
            .filter(|(_, c)| !(initial && c.deleted))
            .take(top + 1)
            .map(|(s, c)| (*s, c.item_id, c.deleted))
            .collect();
        let more = changes.len() > top;
        let mut value = Vec::new();
        let mut last = from;
        for (s, id, deleted) in changes.into_iter().take(top) {
            last = s;
            if deleted {
                value.push(json!({"id": id.to_string(), "deleted": {"state": "deleted"}}));
            } else if let Some(it) = list.items.get(&id) {
                value.push(item_json(site, list, it, expand.as_deref()));
            }
        }
        let mut body = json!({"@odata.context": format!("{root}/$metadata#Collection(listItem)"), "value": value});
        if more {
            body["@odata.nextLink"] = json!(link(encode_token(last, to, issued)));
        } else {
            body["@odata.deltaLink"] = json!(link(encode_token(to, to, ctx.now.timestamp())));
        }
        Ok(SimResponse::json(200, body))
    })
}
