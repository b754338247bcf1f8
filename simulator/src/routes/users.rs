//! `GET /users/{id|upn}`, `GET /users` and `GET /users/{id}/manager`.

use crate::errors::{GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::odata::{self, Expr};
use crate::shared::Shared;
use crate::state::User;
use serde_json::{json, Map, Value};

/// Properties Graph returns for a user when no `$select` is given.
const DEFAULT_PROPS: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// Every property the simulator knows for a user.
pub(crate) fn user_json(u: &User) -> Map<String, Value> {
    let mut parts = u.display_name.splitn(2, ' ');
    let given = parts.next().map(str::to_string);
    let surname = parts.next().map(str::to_string);
    let v = json!({
        "businessPhones": [],
        "displayName": u.display_name,
        "givenName": given,
        "jobTitle": u.job_title,
        "mail": u.mail,
        "mobilePhone": u.mobile_phone,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": surname,
        "userPrincipalName": u.user_principal_name,
        "id": u.id,
        "accountEnabled": u.account_enabled,
        "department": u.department,
        "userType": u.user_type,
        "createdDateTime": u.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The user projected onto `$select` (or the default property set).
pub(crate) fn project(u: &User, select: &[String]) -> Map<String, Value> {
    let all = user_json(u);
    if select.is_empty() {
        all.into_iter()
            .filter(|(k, _)| DEFAULT_PROPS.contains(&k.as_str()))
            .collect()
    } else {
        odata::apply_select(all, select)
    }
}

fn context(shared: &Shared, version: &str, select: &[String], entity: bool) -> String {
    let sel = if select.is_empty() {
        String::new()
    } else {
        format!("({})", select.join(","))
    };
    let suffix = if entity { "/$entity" } else { "" };
    format!(
        "{}/$metadata#users{sel}{suffix}",
        shared.graph_root(version)
    )
}

/// `GET /users/{id|upn}`, or with `manager` `GET /users/{id}/manager` (404 when there is none).
pub(crate) fn get_user(
    shared: &Shared,
    req: &SimRequest,
    version: &str,
    id: &str,
    manager: bool,
) -> GraphResult {
    let select = odata::select_list(req.param("$select"));
    let t = shared.tenant.lock();
    let mut u = t
        .user(id)
        .ok_or_else(|| GraphError::resource_not_found(id))?;
    let mut body = Map::new();
    if manager {
        u = u
            .manager_id
            .as_deref()
            .and_then(|m| t.user(m))
            .ok_or_else(|| GraphError::resource_not_found("manager"))?;
        body.insert(
            "@odata.context".into(),
            json!(format!(
                "{}/$metadata#directoryObjects/$entity",
                shared.graph_root(version)
            )),
        );
        body.insert("@odata.type".into(), json!("#microsoft.graph.user"));
    } else {
        body.insert(
            "@odata.context".into(),
            json!(context(shared, version, &select, true)),
        );
    }
    body.extend(project(u, &select));
    Ok(SimResponse::json(200, Value::Object(body)))
}

/// Values Graph allows in one `in (…)` on directory objects by default.
const IN_LIMIT: usize = 15;

/// `$expand`: only `manager`, optionally `manager($select=…)`; the manager's selected properties.
fn expand_manager(req: &SimRequest) -> Result<Option<Vec<String>>, GraphError> {
    let Some(expand) = req.param("$expand") else {
        return Ok(None);
    };
    let e = expand.trim();
    if e.eq_ignore_ascii_case("manager") {
        return Ok(Some(Vec::new()));
    }
    let inner = e
        .strip_prefix("manager(")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|r| r.strip_prefix("$select="));
    match inner {
        Some(list) => Ok(Some(odata::select_list(Some(list.to_string())))),
        None => Err(GraphError::bad_request(format!(
            "Could not find a property named '{e}' on type 'microsoft.graph.user'."
        ))),
    }
}

/// The user's JSON with `manager` expanded when asked (absent when they have none).
fn with_manager(
    t: &crate::state::TenantState,
    u: &User,
    select: &[String],
    manager: Option<&[String]>,
) -> Value {
    let mut body = project(u, select);
    if let Some(msel) = manager {
        if let Some(m) = u.manager_id.as_deref().and_then(|m| t.user(m)) {
            let mut mj = Map::new();
            mj.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            mj.extend(project(m, msel));
            body.insert("manager".into(), Value::Object(mj));
        }
    }
    Value::Object(body)
}

/// Ids or UPNs a filter names when it is exactly `id`/`userPrincipalName` `eq` or `in (…)`:
/// served by lookup rather than by a scan.
fn lookup_keys(e: &Expr) -> Option<Vec<String>> {
    let key_field =
        |f: &str| f.eq_ignore_ascii_case("id") || f.eq_ignore_ascii_case("userPrincipalName");
    match e {
        Expr::Cmp(f, odata::Op::Eq, odata::Lit::Str(v)) if key_field(f) => Some(vec![v.clone()]),
        Expr::In(f, values) if key_field(f) => values
            .iter()
            .map(|v| match v {
                odata::Lit::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// `GET /users` with `$filter` (`in (…)` up to 15 values), `$select`, `$expand=manager`,
/// `$top` (≤ 999, default 100; with `$expand` at most 100, as Graph caps expanded directory
/// objects) and `$skiptoken`.
pub(crate) fn list_users(shared: &Shared, req: &SimRequest, version: &str) -> GraphResult {
    let select = odata::select_list(req.param("$select"));
    let filter = filter_param(req, GraphError::bad_request)?;
    if let Some(Expr::In(_, values)) = &filter {
        if values.len() > IN_LIMIT {
            return Err(GraphError::new(
                400,
                "Request_UnsupportedQuery",
                format!(
                    "Too many child clauses specified in search filter expression containing 'OR' operators: {}. Max allowed: {IN_LIMIT}.",
                    values.len()
                ),
            ));
        }
    }
    let manager = expand_manager(req)?;
    let page = if manager.is_some() {
        Offset::of(req, 100, 100)?
    } else {
        Offset::of(req, 100, 999)?
    };
    let t = shared.tenant.lock();
    let matching: Vec<&User> = match filter.as_ref().and_then(lookup_keys) {
        Some(keys) => {
            let mut seen = std::collections::HashSet::new();
            keys.iter()
                .filter_map(|k| t.user(k))
                .filter(|u| seen.insert(u.id.clone()))
                .collect()
        }
        None => t
            .users_in_order()
            .filter(|u| {
                filter.as_ref().is_none_or(|f| {
                    let all = user_json(u);
                    odata::eval(f, &|name| {
                        all.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(name))
                            .map(|(_, v)| v.clone())
                    })
                })
            })
            .collect(),
    };
    let value: Vec<Value> = matching
        .iter()
        .skip(page.skip)
        .take(page.top)
        .map(|u| with_manager(&t, u, &select, manager.as_deref()))
        .collect();
    let mut body =
        json!({"@odata.context": context(shared, version, &select, false), "value": value});
    page.link_next(
        &mut body,
        matching.len(),
        &shared.graph_root(version),
        "/users",
        req,
    );
    Ok(SimResponse::json(200, body))
}

/// `$filter` parsed; a malformed one is the 400 `invalid` makes of "Invalid filter clause: …".
pub(crate) fn filter_param(
    req: &SimRequest,
    invalid: impl FnOnce(String) -> GraphError,
) -> Result<Option<Expr>, GraphError> {
    req.param("$filter")
        .map(|f| {
            odata::parse_filter(&f).map_err(|e| invalid(format!("Invalid filter clause: {e}")))
        })
        .transpose()
}

/// One page of a directory collection: `top` rows from position `skip` (the `$skiptoken`).
pub(crate) struct Offset {
    /// Rows before this page.
    pub(crate) skip: usize,
    /// Rows on this page at most.
    pub(crate) top: usize,
}

impl Offset {
    /// `$top` (`default`, at most `max`) and `$skiptoken` (0 when absent or not a number).
    pub(crate) fn of(req: &SimRequest, default: usize, max: usize) -> Result<Self, GraphError> {
        let top = page_size(req, default, max)?;
        let skip = req
            .param("$skiptoken")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok(Self { skip, top })
    }

    /// Adds `@odata.nextLink` (`{root}{rel}` with this request's query) to `body` when rows of
    /// `total` remain after this page.
    pub(crate) fn link_next(
        &self,
        body: &mut Value,
        total: usize,
        root: &str,
        rel: &str,
        req: &SimRequest,
    ) {
        let next = self.skip + self.top;
        if next < total {
            body["@odata.nextLink"] = json!(odata::next_link(
                root,
                rel,
                &req.params(),
                &next.to_string()
            ));
        }
    }
}

/// `$top` with a default and a maximum (400 above it, like Graph).
pub(crate) fn page_size(req: &SimRequest, default: usize, max: usize) -> Result<usize, GraphError> {
    match req.param("$top") {
        None => Ok(default),
        Some(t) => match t.parse::<usize>() {
            Ok(n) if n >= 1 && n <= max => Ok(n),
            _ => Err(GraphError::bad_request(format!(
                "Invalid page size specified: '{t}'. Must be between 1 and {max} inclusive."
            ))),
        },
    }
}
