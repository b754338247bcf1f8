//! JSON `$batch`: up to 20 sub-requests in one `POST /v1.0/$batch`.
//!
//! The envelope answers 200 while each sub-request carries its own status and headers. Each
//! sub-request is throttled on its own, so only the failed retryable ones are sent again, in a
//! new envelope, after the greatest of their `Retry-After`s (and once their categories' gates are
//! open). Results come back in input order. Larger inputs are split into envelopes of 20.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use chrono::{DateTime, Utc};

use super::client::GraphClient;
use super::error::{map_status, parse_error_value, GraphError, GraphResult};
use super::request::GraphRequest;
use super::retry::{is_idempotent, server_wait_from, sleep_until, Fault, Retry};
use super::throttle::Category;

/// Most sub-requests Graph accepts in one envelope.
pub const MAX_BATCH: usize = 20;
/// Envelopes of one [`GraphClient::batch`] call in flight at once (the categories' concurrency
/// limits still apply to each).
const ENVELOPES_IN_FLIGHT: usize = 4;

/// One sub-request.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    /// HTTP method.
    pub method: Method,
    /// URL relative to the version, starting with `/` (`/users/{id}?$select=id`).
    pub url: String,
    /// JSON body.
    pub body: Option<Value>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
}

impl BatchRequest {
    /// A `GET url` sub-request.
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            url: url.into(),
            body: None,
            headers: Vec::new(),
        }
    }

    /// A sub-request with a JSON body.
    pub fn with_body(method: Method, url: impl Into<String>, body: Value) -> Self {
        Self {
            method,
            url: url.into(),
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn category(&self) -> Category {
        Category::for_path(&self.url)
    }
}

/// One successful (2xx) sub-response.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResponse {
    /// Sub-request status.
    pub status: u16,
    /// Sub-response headers, names lower-cased.
    pub headers: HashMap<String, String>,
    /// Sub-response body (`null` when empty).
    pub body: Value,
}

impl BatchResponse {
    /// Parses the body.
    pub fn json<T: DeserializeOwned>(&self) -> GraphResult<T> {
        serde_json::from_value(self.body.clone()).map_err(|e| GraphError::Decode(e.to_string()))
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    responses: Vec<SubResponse>,
}

#[derive(Deserialize)]
struct SubResponse {
    id: String,
    status: u16,
    #[serde(default)]
    headers: HashMap<String, Value>,
    #[serde(default)]
    body: Value,
}

impl GraphClient {
    /// Runs `requests` through `$batch` (in envelopes of 20) and returns one result per request,
    /// in input order. Retryable sub-failures (429/503/504) are retried alone within the retry
    /// budget; a sub-request still throttled at the end is [`GraphError::Throttled`].
    pub async fn batch(&self, requests: Vec<BatchRequest>) -> Vec<GraphResult<BatchResponse>> {
        let chunks: Vec<Vec<BatchRequest>> = requests
            .chunks(MAX_BATCH)
            .map(<[BatchRequest]>::to_vec)
            .collect();
        stream::iter(chunks)
            .map(|chunk| async move { self.batch_chunk(&chunk).await })
            .buffered(ENVELOPES_IN_FLIGHT)
            .flat_map(stream::iter)
            .collect()
            .await
    }

    async fn batch_chunk(&self, chunk: &[BatchRequest]) -> Vec<GraphResult<BatchResponse>> {
        let clock = self.clock().clone();
        let mut results: Vec<Option<GraphResult<BatchResponse>>> = vec![None; chunk.len()];
        for (i, r) in chunk.iter().enumerate() {
            if !r.url.starts_with('/') {
                results[i] = Some(Err(GraphError::InvalidArgument(format!(
                    "batch url must be relative and start with '/': {}",
                    r.url
                ))));
            }
        }
        let mut pending: Vec<usize> = (0..chunk.len()).filter(|i| results[*i].is_none()).collect();
        let mut last_server: HashMap<usize, Option<Duration>> = HashMap::new();
        let mut retry = Retry::start(self.policy(), &clock);
        while !pending.is_empty() {
            // Never send into a throttled category.
            let categories: BTreeSet<Category> =
                pending.iter().map(|&i| chunk[i].category()).collect();
            for c in &categories {
                self.throttles().get(c).wait_gate(&clock).await;
            }
            // Paced categories (reports, mail) take a slot per sub-request; the rest wait for a
            // later envelope.
            let now = clock.now();
            let mut send_now = Vec::new();
            let mut slots = Vec::new();
            let mut deferred = Vec::new();
            let mut frees_at: Option<DateTime<Utc>> = None;
            for &i in &pending {
                match self
                    .throttles()
                    .get(&chunk[i].category())
                    .try_take(&clock, now)
                {
                    Ok(slot) => {
                        send_now.push(i);
                        slots.extend(slot);
                    }
                    Err(at) => {
                        deferred.push(i);
                        frees_at = Some(frees_at.map_or(at, |f| f.min(at)));
                    }
                }
            }
            if send_now.is_empty() {
                sleep_until(
                    &clock,
                    now,
                    (frees_at.unwrap_or(now) - now).to_std().unwrap_or_default(),
                )
                .await;
                continue;
            }
            let idempotent = send_now.iter().all(|&i| is_idempotent(&chunk[i].method));
            let body = json!({
                "requests": send_now.iter().map(|&i| sub_request_json(i, &chunk[i])).collect::<Vec<_>>()
            });
            // The envelope is not throttled itself (each sub-request is, and was gated above).
            let envelope = GraphRequest::post("/v1.0/$batch", body)
                .category(Category::Other)
                .idempotent(idempotent);
            let answer = self.send(envelope).await;
            // The sub-requests reached the service by now: their rate slots count from here.
            drop(slots);
            let parsed = match answer.and_then(|r| r.json::<Envelope>()) {
                Ok(p) => p,
                Err(e) => {
                    for &i in &send_now {
                        results[i] = Some(Err(e.clone()));
                    }
                    pending = deferred;
                    continue;
                }
            };
            let now = clock.now();
            let mut wait = Duration::ZERO;
            let mut again = Vec::new();
            let mut answered = BTreeSet::new();
            for sub in parsed.responses {
                let Some(i) = sub
                    .id
                    .parse::<usize>()
                    .ok()
                    .filter(|i| send_now.contains(i))
                else {
                    continue;
                };
                answered.insert(i);
                let state = self.throttles().get(&chunk[i].category());
                let header = |name: &str| {
                    sub.headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .and_then(|(_, v)| match v {
                            Value::String(s) => Some(s.clone()),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        })
                };
                let fault = Fault::Status {
                    status: sub.status,
                    server_wait: server_wait_from(
                        header("retry-after").as_deref(),
                        header("ratelimit-reset").as_deref(),
                        now,
                    ),
                };
                if !(200..300).contains(&sub.status)
                    && fault.is_retryable(is_idempotent(&chunk[i].method))
                {
                    let w = retry.wait_for(&fault);
                    if fault.is_throttling() {
                        state.on_throttled(now, w);
                    }
                    wait = wait.max(w);
                    last_server.insert(i, fault.server_wait());
                    again.push(i);
                } else {
                    state.on_success();
                    results[i] = Some(sub_result(sub));
                }
            }
            for &i in &send_now {
                if !answered.contains(&i) {
                    // Unanswered: the envelope broke somewhere; nothing says it was processed.
                    last_server.entry(i).or_insert(None);
                    again.push(i);
                    wait = wait.max(retry.wait_for(&Fault::Broken));
                }
            }
            if !again.is_empty() {
                if !retry.again(now, wait).await {
                    for &i in &again {
                        results[i] = Some(Err(GraphError::Throttled {
                            retry_after: last_server.get(&i).copied().flatten(),
                        }));
                    }
                    again.clear();
                } else {
                    for &i in &again {
                        self.throttles()
                            .get(&chunk[i].category())
                            .retries
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    tracing::debug!(count = again.len(), ?wait, "retried batch sub-requests");
                }
            }
            again.extend(deferred);
            again.sort_unstable();
            pending = again;
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or(Err(GraphError::Decode(
                    "batch sub-request without a result".into(),
                )))
            })
            .collect()
    }
}

fn sub_request_json(id: usize, r: &BatchRequest) -> Value {
    let mut headers: serde_json::Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut obj = json!({"id": id.to_string(), "method": r.method.as_str(), "url": r.url});
    if let Some(body) = &r.body {
        headers
            .entry("Content-Type")
            .or_insert_with(|| Value::String("application/json".into()));
        obj["body"] = body.clone();
    }
    if !headers.is_empty() {
        obj["headers"] = Value::Object(headers);
    }
    obj
}

fn sub_result(sub: SubResponse) -> GraphResult<BatchResponse> {
    if (200..300).contains(&sub.status) {
        Ok(BatchResponse {
            status: sub.status,
            headers: sub
                .headers
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k.to_ascii_lowercase(), v)
                })
                .collect(),
            body: sub.body,
        })
    } else {
        let (code, message) = parse_error_value(&sub.body);
        Err(map_status(sub.status, code, message))
    }
}
