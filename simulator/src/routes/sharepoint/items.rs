//! List items: create, read, query with indexed filters and paging, update with If-Match, delete.
#![allow(clippy::too_many_arguments)]

use super::{
    fields_expand, fields_json, item_json, with_list, DEFAULT_PAGE, MAX_PAGE, PREFER_UNINDEXED,
};
use crate::errors::{json_body, GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::limits::Category;
use crate::log::ViolationKind;
use crate::odata::{self, Expr, Lit, Op};
use crate::routes::ListRef;
use crate::shared::{Ctx, Shared};
use crate::sharepoint::{coerce, Column, ColumnKind, Item, Key, List};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::ops::Bound;

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
        Expr::In(f, _) => {
            return Err(GraphError::invalid_request(format!(
                "The operator 'in' is not supported on list item field '{f}'."
            )))
        }
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
            let body = json_body(req, GraphError::invalid_request)?;
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

fn item_not_found() -> GraphError {
    GraphError::item_not_found("Item not found")
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
        let it = list.items.get(&n).cloned().ok_or_else(item_not_found)?;
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
    let body = json_body(req, GraphError::invalid_request)?;
    let fields = body.as_object().cloned().ok_or_else(|| {
        GraphError::invalid_request("The body must be a JSON object of field values.")
    })?;
    let root = shared.graph_root(version);
    with_list(shared, l, |site, list| {
        let it = list.items.get(&n).cloned().ok_or_else(item_not_found)?;
        check_if_match(req, &it)?;
        let values = list
            .validate(&fields)
            .map_err(GraphError::invalid_request)?;
        let updated = list.update(n, values, ctx.now).ok_or_else(item_not_found)?;
        let mut v = fields_json(list, &updated, &[]);
        v["@odata.context"] = json!(format!(
            "{root}/$metadata#sites('{}')/lists('{}')/items('{n}')/fields/$entity",
            site.id, list.id
        ));
        Ok(SimResponse::json(200, v))
    })
}
