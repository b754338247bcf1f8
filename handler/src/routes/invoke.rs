//! Non-forwarded invocations: `POST /{function-name}` with the host's payload.
//!
//! Timer functions go to [`timers`](super::timers). HTTP functions (used when the host does not
//! forward the request as-is) carry `Data.req` = `{Url, Method, Query, Headers, Body}`; the request
//! is rebuilt and served by the same routes as forwarded requests, and the response is returned as
//! `Outputs.res` = `{statusCode, body, headers}` (binary bodies base64-encoded, which the host
//! decodes).

use std::collections::HashMap;

use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::timers;
use crate::respond;
use crate::state::SharedState;

/// HTTP functions that may be invoked this way, with their route under `/api`.
pub const HTTP_FUNCTIONS: [&str; 5] = ["enrol", "track-open", "resend", "upload-users", "admin"];

#[derive(Debug, Default, Deserialize)]
struct HttpReq {
    #[serde(rename = "Url", default)]
    url: Option<String>,
    #[serde(rename = "Method", default)]
    method: Option<String>,
    #[serde(rename = "Query", default)]
    query: HashMap<String, Value>,
    #[serde(rename = "Headers", default)]
    headers: HashMap<String, Value>,
    #[serde(rename = "Body", default)]
    body: Option<Value>,
}

/// Serves one invocation of function `name`.
pub async fn invoke(
    name: String,
    body: Bytes,
    state: SharedState,
    api: BoxedFilter<(Response,)>,
) -> Result<Response, warp::Rejection> {
    if let Some(timer) = timers::by_name(&name) {
        return Ok(timers::invoke(timer, body, state).await);
    }
    if !HTTP_FUNCTIONS.contains(&name.as_str()) {
        return Err(warp::reject::not_found());
    }
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let req: HttpReq = payload
        .pointer("/Data/req")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let res = serve(&name, req, &api).await;
    Ok(respond::json(
        StatusCode::OK,
        &serde_json::json!({ "Outputs": { "res": res }, "Logs": [], "ReturnValue": null }),
    ))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first().and_then(text),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

async fn serve(name: &str, req: HttpReq, api: &BoxedFilter<(Response,)>) -> Value {
    let from_url = req
        .url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .filter(|u| u.path().starts_with("/api/"))
        .map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        });
    let path = from_url.unwrap_or_else(|| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &req.query {
            if let Some(v) = text(v) {
                query.append_pair(k, &v);
            }
        }
        let query = query.finish();
        if query.is_empty() {
            format!("/api/{name}")
        } else {
            format!("/api/{name}?{query}")
        }
    });
    // The test request builder panics on invalid parts, so each is checked first.
    let method = req
        .method
        .as_deref()
        .filter(|m| m.parse::<warp::http::Method>().is_ok())
        .unwrap_or("GET");
    let path = if path.parse::<warp::http::Uri>().is_ok() {
        path
    } else {
        format!("/api/{name}")
    };
    let mut builder = warp::test::request().method(method).path(&path);
    for (k, v) in &req.headers {
        let Some(v) = text(v) else { continue };
        let valid = warp::http::header::HeaderName::from_bytes(k.as_bytes()).is_ok()
            && warp::http::HeaderValue::from_str(&v).is_ok();
        if valid {
            builder = builder.header(k.as_str(), v);
        }
    }
    if let Some(body) = req.body.as_ref().and_then(text) {
        builder = builder.body(body);
    }
    // Served on its own task: warp refuses to run a filter inside another filter's poll.
    let api = api.clone();
    let resp = match tokio::spawn(async move { builder.reply(&api).await }).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e, function = name, "serving an invocation failed");
            return serde_json::json!({ "statusCode": "500", "body": "something went wrong", "headers": {} });
        }
    };
    let status = resp.status().as_u16().to_string();
    let mut headers = serde_json::Map::new();
    for (k, v) in resp.headers() {
        if let Ok(v) = v.to_str() {
            headers.insert(k.as_str().to_string(), Value::String(v.to_string()));
        }
    }
    let is_text = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/") || ct.contains("json"));
    let bytes = resp.body();
    let body = if is_text {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    serde_json::json!({ "statusCode": status, "body": body, "headers": headers })
}
