//! Groups: get/list, membership through `members/$ref` and `members@odata.bind`, member lists.

use crate::errors::{json_body, GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::odata;
use crate::routes::users::{filter_param, project, Offset};
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
    let filter = filter_param(req, GraphError::bad_request)?;
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
    let body = json_body(req, GraphError::bad_request)?;
    let url = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("The @odata.id property is required."))?;
    change_membership(
        shared,
        gid,
        |t| resolve_member(t, url),
        Group::add_member,
        || GraphError::bad_request(ALREADY_MEMBER),
    )
}

/// `DELETE /groups/{g}/members/{id}/$ref` → 204.
pub(crate) fn remove_ref(shared: &Shared, gid: &str, member: &str) -> GraphResult {
    change_membership(
        shared,
        gid,
        |t| {
            t.user(member)
                .map(|u| u.id.clone())
                .ok_or_else(|| GraphError::resource_not_found(member))
        },
        Group::remove_member,
        || GraphError::resource_not_found(member),
    )
}

/// Applies `change` to group `gid` with the user id `member` finds: 204, or the error
/// `unchanged` makes when `change` reports that nothing changed.
fn change_membership(
    shared: &Shared,
    gid: &str,
    member: impl FnOnce(&TenantState) -> Result<String, GraphError>,
    change: impl FnOnce(&mut Group, &str) -> bool,
    unchanged: impl FnOnce() -> GraphError,
) -> GraphResult {
    let mut t = shared.tenant.lock();
    let uid = member(&t)?;
    let g = t
        .group_mut(gid)
        .ok_or_else(|| GraphError::resource_not_found(gid))?;
    if !change(g, &uid) {
        return Err(unchanged());
    }
    Ok(SimResponse::empty(204))
}

/// `PATCH /groups/{g}` with `members@odata.bind` (≤ 20, all-or-nothing) → 204.
pub(crate) fn patch_group(shared: &Shared, req: &SimRequest, gid: &str) -> GraphResult {
    let body = json_body(req, GraphError::bad_request)?;
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
    let page = Offset::of(req, 100, 999)?;
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
        .skip(page.skip)
        .take(page.top)
        .filter_map(|m| t.user(m))
        .map(|u| {
            let mut o = serde_json::Map::new();
            o.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            o.extend(project(u, &select));
            Value::Object(o)
        })
        .collect();
    let mut body = json!({"@odata.context": format!("{}/$metadata#directoryObjects", shared.graph_root(version)), "value": value});
    let rel = req.path.split_once(version).map(|x| x.1).unwrap_or("");
    page.link_next(&mut body, ids.len(), &shared.graph_root(version), rel, req);
    Ok(SimResponse::json(200, body))
}
