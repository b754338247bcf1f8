//! [`GraphClient`] and its `send` core: every typed call goes through [`GraphClient::send`],
//! which applies authentication, the category gate, adaptive concurrency and the retry policy.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, Stream};
use reqwest::header::{HeaderMap, HeaderValue, USER_AGENT};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use super::auth::TokenSource;
use super::error::{map_status, parse_error_body, GraphError, GraphResult};
use super::request::{GraphRequest, GraphResponse, Page};
use super::retry::{is_retryable_status, server_wait, RetryPolicy};
use super::settings::GraphSettings;
use super::throttle::{GraphStats, Throttles};
use crate::clock::SharedClock;

/// Where real Graph's `@odata.nextLink`s point; rewritten to the configured base URL.
const PUBLIC_GRAPH: &str = "https://graph.microsoft.com";

/// The production Microsoft Graph client. Cheap to clone (one `Arc`); all clones share one
/// connection pool, token cache, throttle state and counters.
#[derive(Debug, Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: String,
    settings: GraphSettings,
    tokens: Arc<dyn TokenSource>,
    clock: SharedClock,
    throttles: Throttles,
    policy: RetryPolicy,
}

/// The decorated `User-Agent` Microsoft asks for: `NONISV|<Org>|mfa-onboarding/<version>`.
pub fn user_agent(org: &str) -> String {
    format!("NONISV|{org}|mfa-onboarding/{}", env!("CARGO_PKG_VERSION"))
}

impl GraphClient {
    /// A client for `settings`, authenticating with `tokens` and waiting on `clock`.
    pub fn new(
        settings: GraphSettings,
        tokens: Arc<dyn TokenSource>,
        clock: SharedClock,
    ) -> GraphResult<Self> {
        let mut headers = HeaderMap::new();
        let ua = HeaderValue::from_str(&user_agent(&settings.org))
            .map_err(|e| GraphError::InvalidArgument(format!("MFA_GRAPH_ORG: {e}")))?;
        headers.insert(USER_AGENT, ua);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(settings.timeout)
            .build()
            .map_err(|e| GraphError::Transport(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base: settings.base_url.as_str().trim_end_matches('/').to_string(),
                throttles: Throttles::new(&settings),
                policy: RetryPolicy::from_settings(&settings),
                settings,
                tokens,
                clock,
            }),
        })
    }

    /// Settings and credential from app settings in one step ([`GraphSettings::from_vars`] and
    /// [`GraphCredential::from_env`](super::auth::GraphCredential::from_env)); the error names
    /// the variable at fault.
    pub fn from_vars(
        vars: &dyn Fn(&str) -> Option<String>,
        clock: SharedClock,
    ) -> Result<Self, String> {
        let settings = GraphSettings::from_vars(vars)?;
        let credential = super::auth::GraphCredential::from_env(
            vars,
            clock.clone(),
            settings.token_refresh_margin,
        )?;
        tracing::info!(
            kind = ?credential.kind,
            azure_sdk = credential.uses_azure_sdk,
            base_url = %settings.base_url,
            "graph client configured"
        );
        Self::new(settings, Arc::new(credential), clock).map_err(|e| e.to_string())
    }

    /// The settings in force.
    pub fn settings(&self) -> &GraphSettings {
        &self.inner.settings
    }

    /// The injected clock.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// Requests, retries, 429s, current limit and peak concurrency per category so far.
    pub fn stats(&self) -> GraphStats {
        self.inner.throttles.stats()
    }

    pub(crate) fn throttles(&self) -> &Throttles {
        &self.inner.throttles
    }

    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    fn url_for(&self, path: &str) -> GraphResult<String> {
        if path.starts_with("http://") || path.starts_with("https://") {
            if path.starts_with(&format!("{}/", self.inner.base)) {
                return Ok(path.to_string());
            }
            if let Some(rest) = path.strip_prefix(PUBLIC_GRAPH) {
                if rest.starts_with('/') {
                    return Ok(format!("{}{rest}", self.inner.base));
                }
            }
            return Err(GraphError::InvalidArgument(format!(
                "refusing to send a token outside the Graph base URL: {path}"
            )));
        }
        if !path.starts_with('/') {
            return Err(GraphError::InvalidArgument(format!(
                "path must start with '/': {path}"
            )));
        }
        Ok(format!("{}{path}", self.inner.base))
    }

    /// Sends `req` with the retry policy, the category gate and adaptive concurrency, and returns
    /// the 2xx response or the mapped error. A 401 refreshes the token once and resends.
    #[tracing::instrument(name = "graph", skip_all, fields(method = %req.method, category = %req.category, path = %req.path))]
    pub async fn send(&self, req: GraphRequest) -> GraphResult<GraphResponse> {
        let inner = &self.inner;
        let clock = &inner.clock;
        let state = inner.throttles.get(&req.category);
        let url = self.url_for(&req.path)?;
        let started = clock.now();
        let mut retries = 0u32;
        let mut refreshed = false;
        let mut force_token = false;
        loop {
            let permit = state.acquire(clock).await;
            let token = inner.tokens.token(force_token).await?;
            force_token = false;
            let mut rb = inner
                .http
                .request(req.method.clone(), &url)
                .bearer_auth(token.secret.expose_secret())
                .header("client-request-id", uuid::Uuid::new_v4().to_string());
            for (name, value) in &req.headers {
                rb = rb.header(name.as_str(), value.as_str());
            }
            if let Some(body) = &req.body {
                rb = rb.json(body);
            } else if let Some(text) = &req.text_body {
                rb = rb
                    .header(reqwest::header::CONTENT_TYPE, "text/plain")
                    .body(text.clone());
            }
            state
                .requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let result = match rb.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    resp.bytes().await.map(|body| (status, headers, body))
                }
                Err(e) => Err(e),
            };
            // The permit is held until the outcome is recorded, so a 429 closes the gate before
            // a queued caller can take this slot.
            let (wait, give_up) = match result {
                Ok((status, headers, body)) if (200..300).contains(&status) => {
                    state.on_success();
                    return Ok(GraphResponse {
                        status,
                        headers,
                        body,
                    });
                }
                Ok((401, _, _)) if !refreshed => {
                    tracing::debug!("401: refreshing the token once");
                    refreshed = true;
                    force_token = true;
                    continue;
                }
                Ok((status, headers, body))
                    if is_retryable_status(status) && (req.idempotent || status != 504) =>
                {
                    // The clock's now, never earlier: the service stamped the request before it
                    // answered, so a wait counted from here ends after the one it imposed.
                    let now = clock.now();
                    let server = server_wait(&headers, now);
                    let wait = server.unwrap_or_else(|| inner.policy.backoff(retries));
                    if status == 429 || (status == 503 && server.is_some()) {
                        state.on_throttled(now, wait);
                    }
                    let give_up = if status == 504 {
                        let (code, message) = parse_error_body(&body);
                        map_status(status, code, message)
                    } else {
                        GraphError::Throttled {
                            retry_after: server,
                        }
                    };
                    (wait, give_up)
                }
                Ok((status, _, body)) => {
                    state.on_success();
                    let (code, message) = parse_error_body(&body);
                    return Err(map_status(status, code, message));
                }
                Err(e) => {
                    let retryable = if e.is_timeout() {
                        req.idempotent
                    } else {
                        e.is_connect() || e.is_request() || e.is_body()
                    };
                    let err = GraphError::Transport(error_chain(&e));
                    if !retryable {
                        return Err(err);
                    }
                    (inner.policy.backoff(retries), err)
                }
            };
            drop(permit);
            let now = clock.now();
            if !inner.policy.allows(retries, started, now, wait) {
                tracing::warn!(retries, ?wait, error = %give_up, "graph retry budget exhausted");
                return Err(give_up);
            }
            retries += 1;
            state
                .retries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(retries, ?wait, reason = %give_up, "graph retry");
            // A throttled category's gate already holds this caller back in `acquire`; sleeping
            // here as well is harmless (the clock only moves forward) and covers backoff.
            sleep_until(clock, now, wait).await;
        }
    }

    /// Sends `req` and parses the JSON body.
    pub async fn send_json<T: DeserializeOwned>(&self, req: GraphRequest) -> GraphResult<T> {
        self.send(req).await?.json()
    }

    /// Every page of a collection as a stream, following `@odata.nextLink`.
    pub fn pages<T: DeserializeOwned + Send + 'static>(
        &self,
        first: GraphRequest,
    ) -> impl Stream<Item = GraphResult<Page<T>>> + Send + 'static {
        let client = self.clone();
        stream::try_unfold(Some(first), move |next| {
            let client = client.clone();
            async move {
                let Some(req) = next else {
                    return Ok(None);
                };
                let page: Page<T> = client.send_json(req.clone()).await?;
                let following = page.next_link.as_ref().map(|link| {
                    let mut r = req.clone();
                    r.path = link.clone();
                    r
                });
                Ok(Some((page, following)))
            }
        })
    }
}

pub(crate) async fn sleep_until(
    clock: &SharedClock,
    from: chrono::DateTime<chrono::Utc>,
    wait: Duration,
) {
    let target = chrono::Duration::from_std(wait)
        .ok()
        .and_then(|d| from.checked_add_signed(d))
        .unwrap_or(from);
    let now = clock.now();
    if target > now {
        clock
            .sleep((target - now).to_std().unwrap_or_default())
            .await;
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
