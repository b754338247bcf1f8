//! Groups: get/list, membership through `members/$ref` and `members@odata.bind`, member lists.

use crate::errors::{GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::odata;
use crate::routes::users::{page_size, project};
use crate::shared::Shared;
use crate::state::{Group, TenantState};
use serde_json::{json, Value};

const ALREADY_MEMBER: &str = "One or more added object references already exist for the following modified properties: 'members'.";

fn group_json(g: &Group) -> Value {
    json!({"id": g.id, "displayName": g.display_name, "securityEnabled": true,
           "mailEnabled": false, "groupTypes": [], "mailNickname": g.display_name.replace(' ', ""),
           "description": null})
}

/// `GET /groups/{id}`.
pub(crate) fn get_group(shared: &Shared, version: &str, id: &str) -> GraphResult {
    let t = shared.tenant.lock();
    let g = t
        .group(id)
        .ok_or_else(|| GraphError::resource_not_found(id))?;
    let mut body = group_json(g);
    body["@odata.context"] = json!(format!(
        "{}/$metadata#groups/$entity",
        shared.graph_root(version)
    ));
    Ok(SimResponse::json(200, body))
}

/// `GET /groups?$filter=displayName eq '…'`.
pub(crate) fn list_groups(shared: &Shared, req: &SimRequest, version: &str) -> GraphResult {
    let filter = match req.param("$filter") {
        Some(f) => Some(
            odata::parse_filter(&f)
                .map_err(|e| GraphError::bad_request(format!("Invalid filter clause: {e}")))?,
        ),
        None => None,
    };
    let t = shared.tenant.lock();
    let value: Vec<Value> = t
        .group_order
        .iter()
        .filter_map(|id| t.group(id))
        .map(group_json)
        .filter(|g| {
            filter
                .as_ref()
                .is_none_or(|f| odata::eval(f, &|k| g.get(k).cloned()))
        })
        .collect();
    Ok(SimResponse::json(
        200,
        json!({"@odata.context": format!("{}/$metadata#groups", shared.graph_root(version)), "value": value}),
    ))
}

/// Extracts the object id from `https://graph.microsoft.com/v1.0/directoryObjects/{id}` (or `/users/{id}`).
fn ref_id(url: &str) -> Option<String> {
    let trimmed = url.trim_end_matches('/');
    let (head, id) = trimmed.rsplit_once('/')?;
    let kind = head.rsplit('/').next()?.to_ascii_lowercase();
    (["directoryobjects", "users"].contains(&kind.as_str()) && !id.is_empty())
        .then(|| id.to_string())
}

fn resolve_member(t: &TenantState, url: &str) -> Result<String, GraphError> {
    let id = ref_id(url)
        .ok_or_else(|| GraphError::bad_request(format!("Invalid object identifier '{url}'.")))?;
    t.user(&id)
        .map(|u| u.id.clone())
        .ok_or_else(|| GraphError::resource_not_found(&id))
}

/// `POST /groups/{g}/members/$ref` → 204; already a member → 400.
pub(crate) fn add_ref(shared: &Shared, req: &SimRequest, gid: &str) -> GraphResult {
    let body = req
        .json()
        .map_err(|e| GraphError::bad_request(format!("Invalid JSON: {e}")))?;
    let url = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("The @odata.id property is required."))?;
    let mut t = shared.tenant.lock();
    let uid = resolve_member(&t, url)?;
    let g = t
        .group_mut(gid)
        .ok_or_else(|| GraphError::resource_not_found(gid))?;
    if !g.add_member(&uid) {
        return Err(GraphError::bad_request(ALREADY_MEMBER));
    }
    Ok(SimResponse::empty(204))
}

/// `DELETE /groups/{g}/members/{id}/$ref` → 204.
pub(crate) fn remove_ref(shared: &Shared, gid: &str, member: &str) -> GraphResult {
    let mut t = shared.tenant.lock();
    let uid = t
        .user(member)
        .map(|u| u.id.clone())
        .ok_or_else(|| GraphError::resource_not_found(member))?;
    let g = t
        .group_mut(gid)
        .ok_or_else(|| GraphError::resource_not_found(gid))?;
    if !g.remove_member(&uid) {
        return Err(GraphError::resource_not_found(member));
    }
    Ok(SimResponse::empty(204))
}

/// `PATCH /groups/{g}` with `members@odata.bind` (≤ 20, all-or-nothing) → 204.
pub(crate) fn patch_group(shared: &Shared, req: &SimRequest, gid: &str) -> GraphResult {
    let body = req
        .json()
        .map_err(|e| GraphError::bad_request(format!("Invalid JSON: {e}")))?;
    let binds: Vec<String> = match body.get("members@odata.bind") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            return Err(GraphError::bad_request(
                "members@odata.bind must be an array.",
            ))
        }
    };
    if binds.len() > 20 {
        return Err(GraphError::bad_request(
            "The request contains too many members to add. A maximum of 20 members can be added in a single request.",
        ));
    }
    let mut t = shared.tenant.lock();
    let ids = binds
        .iter()
        .map(|u| resolve_member(&t, u))
        .collect::<Result<Vec<_>, _>>()?;
    let g = t
        .group_mut(gid)
        .ok_or_else(|| GraphError::resource_not_found(gid))?;
    let mut seen = std::collections::HashSet::new();
    if ids
        .iter()
        .any(|id| g.has_member(id) || !seen.insert(id.clone()))
    {
        return Err(GraphError::bad_request(ALREADY_MEMBER));
    }
    if let Some(name) = body.get("displayName").and_then(Value::as_str) {
        g.display_name = name.to_string();
    }
    for id in &ids {
        g.add_member(id);
    }
    Ok(SimResponse::empty(204))
}

/// `GET /groups/{g}/members` and `/transitiveMembers` (users only, optionally cast with
/// `/microsoft.graph.user`; transitive follows nested groups; paged, default 100, max 999).
pub(crate) fn members(
    shared: &Shared,
    req: &SimRequest,
    version: &str,
    gid: &str,
    transitive: bool,
) -> GraphResult {
    let select = odata::select_list(req.param("$select"));
    let top = page_size(req, 100, 999)?;
    let skip: usize = req
        .param("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let t = shared.tenant.lock();
    let g = t
        .group(gid)
        .ok_or_else(|| GraphError::resource_not_found(gid))?;
    let ids = if transitive {
        t.transitive_users(gid)
    } else {
        g.members.clone()
    };
    let value: Vec<Value> = ids
        .iter()
        .skip(skip)
        .take(top)
        .filter_map(|m| t.user(m))
        .map(|u| {
            let mut o = serde_json::Map::new();
            o.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            o.extend(project(u, &select));
            Value::Object(o)
        })
        .collect();
    let mut body = json!({"@odata.context": format!("{}/$metadata#directoryObjects", shared.graph_root(version)), "value": value});
    if skip + top < ids.len() {
        let rel = req.path.split_once(version).map(|x| x.1).unwrap_or("");
        body["@odata.nextLink"] = json!(odata::next_link(
            &shared.graph_root(version),
            rel,
            &req.params(),
            &(skip + top).to_string()
        ));
    }
    Ok(SimResponse::json(200, body))
}
