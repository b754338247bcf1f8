//! `POST /$batch`: up to 20 sub-requests, each routed, counted and throttled on its own; the
//! envelope answers 200 with one response per sub-request (`dependsOn` honoured).

use crate::dispatch;
use crate::errors::{GraphError, GraphResult};
use crate::http::{SimBody, SimRequest, SimResponse};
use crate::shared::{Ctx, Shared};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

fn sub_request(version: &str, r: &Value) -> Result<(String, SimRequest, Vec<String>), String> {
    let id = r.get("id").and_then(|v| {
        v.as_str()
            .map(str::to_string)
            .or_else(|| v.as_u64().map(|n| n.to_string()))
    });
    let id = id.ok_or("Each request must have an 'id'.")?;
    let method = r
        .get("method")
        .and_then(Value::as_str)
        .ok_or("Each request must have a 'method'.")?
        .to_ascii_uppercase();
    let url = r
        .get("url")
        .and_then(Value::as_str)
        .ok_or("Each request must have a 'url'.")?;
    if url.starts_with("http://") || url.starts_with("https://") {
        return Err(format!(
            "Request '{id}': the url must be relative, e.g. /users."
        ));
    }
    let url = if url.starts_with('/') {
        url.to_string()
    } else {
        format!("/{url}")
    };
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let mut headers: HashMap<String, String> = r
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let body = match r.get("body") {
        None | Some(Value::Null) => bytes::Bytes::new(),
        Some(b) => {
            if !headers.contains_key("content-type") {
                return Err(format!(
                    "Request '{id}': a Content-Type header is required when a body is present."
                ));
            }
            bytes::Bytes::from(b.to_string())
        }
    };
    headers.remove("authorization");
    let depends: Vec<String> = r
        .get("dependsOn")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok((
        id,
        SimRequest {
            method,
            path: format!("/{version}{path}"),
            query: query.to_string(),
            headers,
            body,
        },
        depends,
    ))
}

fn sub_response(id: &str, resp: SimResponse) -> Value {
    let mut headers = Map::new();
    for (k, v) in &resp.headers {
        if !["request-id", "client-request-id"].contains(&k.to_ascii_lowercase().as_str()) {
            headers.insert(k.clone(), json!(v));
        }
    }
    let mut out = json!({"id": id, "status": resp.status});
    match resp.body {
        SimBody::Json(b) => {
            headers.insert("Content-Type".into(), json!("application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"));
            out["body"] = b;
        }
        SimBody::Html(h) => out["body"] = json!(h),
        SimBody::CloseConnection => out["status"] = json!(502),
        SimBody::Empty => {}
    }
    out["headers"] = Value::Object(headers);
    out
}

/// The `$batch` handler.
pub(crate) async fn batch(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
) -> GraphResult {
    let body = req
        .json()
        .map_err(|e| GraphError::new(400, "BadRequest", format!("Invalid batch payload: {e}")))?;
    let requests = body
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            GraphError::new(
                400,
                "BadRequest",
                "Invalid batch payload: 'requests' is required.",
            )
        })?;
    let max = shared.limits.lock().batch_max_requests;
    if requests.is_empty() || requests.len() > max {
        return Err(GraphError::new(
            400,
            "BadRequest",
            format!(
                "Invalid batch payload format. A batch must contain between 1 and {max} requests."
            ),
        ));
    }
    let mut parsed = Vec::new();
    let mut ids = HashSet::new();
    for r in requests {
        let (id, sub, deps) =
            sub_request(version, r).map_err(|m| GraphError::new(400, "BadRequest", m))?;
        if !ids.insert(id.clone()) {
            return Err(GraphError::new(
                400,
                "BadRequest",
                format!("Request id '{id}' is used more than once. Ids must be unique."),
            ));
        }
        parsed.push((id, sub, deps));
    }
    for (id, _, deps) in &parsed {
        if let Some(d) = deps.iter().find(|d| !ids.contains(*d) || *d == id) {
            return Err(GraphError::new(
                400,
                "BadRequest",
                format!("Request '{id}' depends on unknown request '{d}'."),
            ));
        }
    }
    let mut status: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::new();
    let mut pending: Vec<_> = parsed.into_iter().collect();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|(_, _, deps)| deps.iter().all(|d| status.contains_key(d)))
            .unwrap_or(0);
        let (id, sub, deps) = pending.remove(ready);
        let failed = deps.iter().any(|d| status.get(d).is_none_or(|s| *s >= 400));
        let resp = if failed {
            GraphError::new(
                424,
                "FailedDependency",
                "A request this request depends on failed.",
            )
            .to_response(ctx.now, &ctx.request_id, &ctx.client_request_id)
        } else {
            let segs = sub.segments();
            let rest: Vec<String> = segs.into_iter().skip(1).collect();
            dispatch::graph(shared, &sub, version, &rest, Some(ctx)).await
        };
        status.insert(id.clone(), resp.status);
        responses.push(sub_response(&id, resp));
    }
    Ok(SimResponse::json(200, json!({"responses": responses})))
}
