//! Sites, lists and columns.
#![allow(clippy::too_many_arguments)]

use super::{column_json, list_json, site_json, site_not_found, with_list};
use crate::errors::{json_body, GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::routes::ListRef;
use crate::shared::{Ctx, Shared};
use crate::sharepoint::{Column, ColumnKind, List};
use serde_json::{json, Value};

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
        let snapshot = site.without_lists();
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
    let body = json_body(req, GraphError::invalid_request)?;
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
    let snapshot = site.without_lists();
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
            let body = json_body(req, GraphError::invalid_request)?;
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
    let body = json_body(req, GraphError::invalid_request)?;
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
