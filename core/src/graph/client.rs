//! [`GraphClient`] and its `send` core: every typed call goes through [`GraphClient::send`],
//! which applies authentication, the category gate, adaptive concurrency and the retry policy.

use std::sync::Arc;

use futures::stream::{self, Stream};
use reqwest::header::{HeaderMap, HeaderValue, USER_AGENT};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use super::auth::TokenSource;
use super::error::{map_status, parse_error_body, GraphError, GraphResult};
use super::request::{GraphRequest, GraphResponse, Page};
use super::retry::{server_wait, Fault, Retry, RetryPolicy};
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
        let credential = super::auth::GraphCredential::from_env(vars, clock.clone(), &settings)?;
        tracing::info!(
            credential = credential.label(),
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

    /// Gets a token (from the cache when it holds a valid one), so a run can find out before it
    /// starts that its credential does not work. Fails with [`GraphError::Credential`].
    pub async fn check_credential(&self) -> GraphResult<()> {
        self.inner.tokens.token(false).await.map(drop)
    }

    /// The credential failure every call would fail with right now, if the token source
    /// remembers one (see [`TokenCache`](super::auth::TokenCache)): work that would only repeat
    /// it can stop.
    pub fn credential_failure(&self) -> Option<GraphError> {
        self.inner.tokens.current_failure()
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
        let mut retry = Retry::start(&inner.policy, clock);
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
            // The clock's now, never earlier: the service stamped the request before it
            // answered, so a wait counted from here ends after the one it imposed.
            let now = clock.now();
            // The permit is held until the outcome is recorded, so a 429 closes the gate before
            // a queued caller can take this slot.
            let (fault, give_up) = match result {
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
                Ok((status, headers, body)) => {
                    let fault = Fault::Status {
                        status,
                        server_wait: server_wait(&headers, now),
                    };
                    if !fault.is_retryable(req.idempotent) {
                        state.on_success();
                        let (code, message) = parse_error_body(&body);
                        return Err(map_status(status, code, message));
                    }
                    let give_up = if status == 504 {
                        let (code, message) = parse_error_body(&body);
                        map_status(status, code, message)
                    } else {
                        GraphError::Throttled {
                            retry_after: fault.server_wait(),
                        }
                    };
                    (fault, give_up)
                }
                Err(e) => {
                    let err = GraphError::Transport(error_chain(&e));
                    match Fault::of_transport(&e) {
                        Some(fault) if fault.is_retryable(req.idempotent) => (fault, err),
                        _ => return Err(err),
                    }
                }
            };
            let wait = retry.wait_for(&fault);
            if fault.is_throttling() {
                state.on_throttled(now, wait);
            }
            drop(permit);
            // A throttled category's gate already holds this caller back in `acquire`; sleeping
            // in `again` as well is harmless (the clock only moves forward) and covers backoff.
            if !retry.again(now, wait).await {
                tracing::warn!(retries = retry.retries(), ?wait, error = %give_up, "graph retry budget exhausted");
                return Err(give_up);
            }
            state
                .retries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(retries = retry.retries(), ?wait, reason = %give_up, "graph retry");
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

/// `e` and its sources, joined by `: `.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
