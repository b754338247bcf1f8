//! Access tokens for Graph: the [`TokenSource`] trait, the clock-driven [`TokenCache`] every
//! source is wrapped in, and the credential the product runs with ([`GraphCredential`]).
//!
//! # Which credential ([`GraphCredential::from_env`])
//! Every real authority goes through `azure_identity` 1.0. The first that is fully configured
//! wins, in the Azure SDK's `DefaultAzureCredential` order:
//! 1. client secret: `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`;
//! 2. workload identity: `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_FEDERATED_TOKEN_FILE`;
//! 3. managed identity (App Service / Functions): `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`
//!    (with `AZURE_CLIENT_ID`, a user-assigned identity).
//!
//! `AZURE_AUTHORITY_HOST` (default `https://login.microsoftonline.com`, `https` only: the SDK
//! refuses anything else) is honoured by 1 and 2. The SDK's managed-identity credential reads
//! `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` from the process environment, so variables handed in
//! that differ from it are refused with the variable named.
//!
//! The SDK credentials run with their own retries off and a bounded network timeout
//! (`MFA_GRAPH_TOKEN_TIMEOUT_SECONDS`): the [`TokenCache`]'s one retry loop governs.
//!
//! # Tokens from elsewhere
//! Callers that are not talking to Entra (local mode and tests against the tenant simulator)
//! supply their own [`TokenSource`] (a [`StaticToken`], or an [`IssuedTokens`] closure over an
//! in-process issuer) and wrap it in a [`TokenCache`] like any credential.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use url::Url;

use super::error::{GraphError, GraphResult};
use super::retry::{server_wait_from, Fault, Retry, RetryPolicy};
use super::settings::GraphSettings;
use crate::clock::SharedClock;

/// The scope of every Graph token (application permissions).
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Entra ID's public-cloud authority.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// A bearer token and when it stops working.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The bearer token.
    pub secret: SecretString,
    /// When the token expires.
    pub expires_on: DateTime<Utc>,
}

impl AccessToken {
    /// A token valid until `expires_on`.
    pub fn new(secret: impl Into<String>, expires_on: DateTime<Utc>) -> Self {
        Self {
            secret: SecretString::from(secret.into()),
            expires_on,
        }
    }
}

/// Something that produces Graph access tokens.
///
/// A source reports a failure worth another attempt as [`GraphError::Throttled`] (429/503, with
/// the endpoint's wait), [`GraphError::Unexpected`] with status 504, or
/// [`GraphError::Transport`]; anything else is a refusal and is not retried.
#[async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// A valid token; `force_refresh` skips any cache (used after a 401).
    async fn token(&self, force_refresh: bool) -> GraphResult<AccessToken>;

    /// The credential failure every call would fail with right now, if one is remembered and
    /// no valid token is at hand (see [`TokenCache`]). Lets a run stop its Graph work at once.
    fn current_failure(&self) -> Option<GraphError> {
        None
    }
}

/// A fixed token that never expires, for tests and local tools.
#[derive(Debug, Clone)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// A source that always returns `token`.
    pub fn new(token: impl Into<String>) -> Self {
        Self(SecretString::from(token.into()))
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn token(&self, _force_refresh: bool) -> GraphResult<AccessToken> {
        Ok(AccessToken {
            secret: self.0.clone(),
            expires_on: DateTime::<Utc>::MAX_UTC,
        })
    }
}

/// Tokens from an in-process issuer, such as the tenant simulator's (`Tenant::issue_token`) in
/// local mode, tests and benchmarks: each fetch calls the closure for a token and its expiry.
#[derive(Clone)]
pub struct IssuedTokens(Arc<dyn Fn() -> (String, DateTime<Utc>) + Send + Sync>);

impl IssuedTokens {
    /// A source calling `issue` for every fetch.
    pub fn new(issue: impl Fn() -> (String, DateTime<Utc>) + Send + Sync + 'static) -> Self {
        Self(Arc::new(issue))
    }
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedTokens").finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenSource for IssuedTokens {
    async fn token(&self, _force_refresh: bool) -> GraphResult<AccessToken> {
        let (secret, expires_on) = (self.0)();
        Ok(AccessToken::new(secret, expires_on))
    }
}

/// Caches another source's token and refreshes it `refresh_margin` before it expires, judged by
/// the injected clock. One fetch at a time: concurrent callers wait for it.
///
/// A fetch runs through the client's one retry loop ([`Retry`] with
/// [`RetryPolicy::for_tokens`]): a failure the source reports as transient is retried (waiting
/// the endpoint's `Retry-After` or a short backoff on the clock), a refusal is not. When the
/// fetch gives up, the failure is a [`GraphError::Credential`] naming the credential, and it is
/// **remembered** for `failure_memory` of clock time: calls in that window fail at once with the
/// same error and fetch nothing, so an unreachable endpoint costs one fetch per window, not one
/// per call. If a refresh started inside the refresh margin fails while the cached token is
/// still valid, the cached token is used (and the refresh tried again after the window).
#[derive(Debug)]
pub struct TokenCache {
    label: String,
    inner: Arc<dyn TokenSource>,
    clock: SharedClock,
    refresh_margin: Duration,
    failure_memory: Duration,
    policy: RetryPolicy,
    /// Held during a fetch, so one caller fetches and the others then read its outcome.
    fetching: tokio::sync::Mutex<()>,
    state: parking_lot::Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    token: Option<AccessToken>,
    /// The failure of the last fetch and until when it is remembered.
    failure: Option<(GraphError, DateTime<Utc>)>,
}

impl CacheState {
    fn valid_token(&self, now: DateTime<Utc>) -> Option<&AccessToken> {
        self.token.as_ref().filter(|t| now < t.expires_on)
    }

    fn failure(&self, now: DateTime<Utc>) -> Option<&GraphError> {
        self.failure
            .as_ref()
            .filter(|(_, until)| now < *until)
            .map(|(e, _)| e)
    }
}

/// How long a failed token fetch is remembered by default (clock time).
pub const TOKEN_FAILURE_MEMORY: Duration = Duration::from_secs(60);

impl TokenCache {
    /// Wraps `inner`, described by `label` in errors (which credential, and where it is:
    /// `managed identity (IDENTITY_ENDPOINT=…)`); failures are remembered for
    /// [`TOKEN_FAILURE_MEMORY`].
    pub fn new(
        label: impl Into<String>,
        inner: Arc<dyn TokenSource>,
        clock: SharedClock,
        refresh_margin: Duration,
    ) -> Self {
        Self {
            label: label.into(),
            inner,
            clock,
            refresh_margin,
            failure_memory: TOKEN_FAILURE_MEMORY,
            policy: RetryPolicy::for_tokens(),
            fetching: tokio::sync::Mutex::new(()),
            state: parking_lot::Mutex::new(CacheState::default()),
        }
    }

    /// Remembers a failed fetch for `memory` of clock time instead.
    pub fn with_failure_memory(mut self, memory: Duration) -> Self {
        self.failure_memory = memory;
        self
    }

    /// What the credential is, as errors name it.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Fetches through the one retry loop; the final failure names the credential.
    async fn fetch(&self, force_refresh: bool) -> GraphResult<AccessToken> {
        let mut retry = Retry::start(&self.policy, &self.clock);
        loop {
            let e = match self.inner.token(force_refresh).await {
                Ok(token) => return Ok(token),
                Err(e) => e,
            };
            // Asking for a token twice is harmless: every token request is idempotent.
            if let Some(fault) = token_fault(&e).filter(|f| f.is_retryable(true)) {
                let wait = retry.wait_for(&fault);
                tracing::debug!(credential = %self.label, attempt = retry.retries() + 1, ?wait, error = %e, "token fetch failed");
                if retry.again(self.clock.now(), wait).await {
                    continue;
                }
            }
            let attempts = retry.retries() + 1;
            let cause = match e {
                GraphError::Credential(m) | GraphError::Transport(m) => m,
                other => other.to_string(),
            };
            let tries = if attempts > 1 {
                format!(" ({attempts} attempts)")
            } else {
                String::new()
            };
            return Err(GraphError::Credential(format!(
                "{}: no token{tries}: {cause}",
                self.label
            )));
        }
    }
}

/// The fault a token source's error stands for, if it is one the retry loop knows.
fn token_fault(e: &GraphError) -> Option<Fault> {
    match e {
        GraphError::Throttled { retry_after } => Some(Fault::Status {
            status: 429,
            server_wait: *retry_after,
        }),
        GraphError::Unexpected { status, .. } => Some(Fault::Status {
            status: *status,
            server_wait: None,
        }),
        GraphError::Transport(_) => Some(Fault::Broken),
        _ => None,
    }
}

#[async_trait]
impl TokenSource for TokenCache {
    async fn token(&self, force_refresh: bool) -> GraphResult<AccessToken> {
        let _flight = self.fetching.lock().await;
        let now = self.clock.now();
        {
            let state = self.state.lock();
            if !force_refresh {
                if let Some(token) = state.token.as_ref() {
                    let margin =
                        chrono::Duration::from_std(self.refresh_margin).unwrap_or_default();
                    let refresh_at = token
                        .expires_on
                        .checked_sub_signed(margin)
                        .unwrap_or(token.expires_on);
                    if now < refresh_at {
                        return Ok(token.clone());
                    }
                }
            }
            if let Some(e) = state.failure(now) {
                return match state.valid_token(now) {
                    Some(token) if !force_refresh => Ok(token.clone()),
                    _ => Err(e.clone()),
                };
            }
        }
        let result = self.fetch(force_refresh).await;
        let now = self.clock.now();
        let mut state = self.state.lock();
        match result {
            Ok(fresh) => {
                state.token = Some(fresh.clone());
                state.failure = None;
                Ok(fresh)
            }
            Err(e) => {
                let until = chrono::Duration::from_std(self.failure_memory)
                    .ok()
                    .and_then(|d| now.checked_add_signed(d))
                    .unwrap_or(now);
                state.failure = Some((e.clone(), until));
                match state.valid_token(now) {
                    // Still valid (a 401 forces a refresh, so a revoked token is not reused).
                    Some(token) if !force_refresh => {
                        tracing::warn!(error = %e, "token refresh failed; using the cached token until it expires");
                        Ok(token.clone())
                    }
                    _ => Err(e),
                }
            }
        }
    }

    fn current_failure(&self) -> Option<GraphError> {
        let now = self.clock.now();
        let state = self.state.lock();
        match state.valid_token(now) {
            Some(_) => None,
            None => state.failure(now).cloned(),
        }
    }
}

/// An `azure_identity` credential asked for the Graph scope. Its errors are reported the way
/// [`TokenSource`] asks: 429/503 as [`GraphError::Throttled`] (with the endpoint's
/// `Retry-After`), 504 as [`GraphError::Unexpected`], connection failures as
/// [`GraphError::Transport`], anything else as [`GraphError::Credential`].
#[derive(Debug)]
pub struct AzureSdkToken {
    credential: Arc<dyn azure_core::credentials::TokenCredential>,
    clock: SharedClock,
}

impl AzureSdkToken {
    /// Wraps an Azure SDK credential (`clock` dates an HTTP-date `Retry-After`).
    pub fn new(
        credential: Arc<dyn azure_core::credentials::TokenCredential>,
        clock: SharedClock,
    ) -> Self {
        Self { credential, clock }
    }
}

#[async_trait]
impl TokenSource for AzureSdkToken {
    async fn token(&self, _force_refresh: bool) -> GraphResult<AccessToken> {
        let t = self
            .credential
            .get_token(&[GRAPH_SCOPE], None)
            .await
            .map_err(|e| sdk_error(&e, self.clock.now()))?;
        let expires_on = Utc
            .timestamp_opt(t.expires_on.unix_timestamp(), 0)
            .single()
            .ok_or_else(|| GraphError::Credential("token expiry out of range".into()))?;
        Ok(AccessToken::new(t.token.secret().to_string(), expires_on))
    }
}

/// Classifies an `azure_core` error from a credential (which wraps the transport's or the
/// endpoint's error in its own) as a [`TokenSource`] error, keeping the whole message chain.
fn sdk_error(e: &azure_core::Error, now: DateTime<Utc>) -> GraphError {
    use azure_core::error::ErrorKind;
    let text = super::client::error_chain(e);
    // The innermost azure_core error says what happened on the wire.
    let mut kind = e.kind();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(inner) = s.downcast_ref::<azure_core::Error>() {
            kind = inner.kind();
        }
        source = s.source();
    }
    match kind {
        ErrorKind::HttpResponse {
            status,
            raw_response,
            ..
        } => {
            let status = u16::from(*status);
            let header = |name: &str| {
                raw_response.as_ref().and_then(|r| {
                    r.headers()
                        .iter()
                        .find(|(k, _)| k.as_str().eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.as_str().to_string())
                })
            };
            match status {
                429 | 503 => GraphError::Throttled {
                    retry_after: server_wait_from(
                        header("retry-after").as_deref(),
                        header("ratelimit-reset").as_deref(),
                        now,
                    ),
                },
                504 => GraphError::Unexpected {
                    status,
                    code: String::new(),
                    message: text,
                },
                _ => GraphError::Credential(text),
            }
        }
        ErrorKind::Connection | ErrorKind::Io => GraphError::Transport(text),
        _ => GraphError::Credential(text),
    }
}

/// Which credential [`GraphCredential::from_env`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    WorkloadIdentity,
    /// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`.
    ManagedIdentity,
}

/// The credential the product runs with: an `azure_identity` credential chosen from the
/// environment, behind a [`TokenCache`].
#[derive(Debug, Clone)]
pub struct GraphCredential {
    /// What was chosen.
    pub kind: CredentialKind,
    source: Arc<TokenCache>,
}

impl GraphCredential {
    /// Picks a credential from `vars` (see the module docs for the order), with the token
    /// settings of `settings` (refresh margin, network timeout, failure memory). Errors name the
    /// variable at fault.
    pub fn from_env(
        vars: &dyn Fn(&str) -> Option<String>,
        clock: SharedClock,
        settings: &GraphSettings,
    ) -> Result<GraphCredential, String> {
        let var = |name: &str| {
            vars(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let authority = || -> Result<String, String> {
            let text = var("AZURE_AUTHORITY_HOST").unwrap_or(DEFAULT_AUTHORITY_HOST.into());
            let url = Url::parse(&text)
                .map_err(|e| format!("AZURE_AUTHORITY_HOST: not a URL ({e}): {text}"))?;
            if url.scheme() != "https" {
                return Err(format!(
                    "AZURE_AUTHORITY_HOST: must be an https URL (azure_identity refuses others): {text}"
                ));
            }
            Ok(text.trim_end_matches('/').to_string())
        };
        let options =
            |authority: Option<&str>| sdk_client_options(authority, settings.token_timeout);
        let tenant = var("AZURE_TENANT_ID");
        let client_id = var("AZURE_CLIENT_ID");

        let (kind, label, credential): (
            CredentialKind,
            String,
            Arc<dyn azure_core::credentials::TokenCredential>,
        ) = if let (Some(tenant), Some(client_id), Some(secret)) =
            (&tenant, &client_id, var("AZURE_CLIENT_SECRET"))
        {
            let authority = authority()?;
            let cred = azure_identity::ClientSecretCredential::new(
                tenant,
                client_id.clone(),
                azure_core::credentials::Secret::new(secret),
                Some(azure_identity::ClientSecretCredentialOptions {
                    client_options: options(Some(&authority))?,
                }),
            )
            .map_err(|e| format!("AZURE_CLIENT_SECRET: credential refused: {e}"))?;
            let label = format!(
                "client secret credential (AZURE_CLIENT_ID={client_id}, token endpoint {authority}/{tenant})"
            );
            (CredentialKind::ClientSecret, label, cred)
        } else if let (Some(tenant), Some(client_id), Some(file)) =
            (&tenant, &client_id, var("AZURE_FEDERATED_TOKEN_FILE"))
        {
            let authority = authority()?;
            let cred = azure_identity::WorkloadIdentityCredential::new(Some(
                azure_identity::WorkloadIdentityCredentialOptions {
                    credential_options: azure_identity::ClientAssertionCredentialOptions {
                        client_options: options(Some(&authority))?,
                    },
                    client_id: Some(client_id.clone()),
                    tenant_id: Some(tenant.clone()),
                    token_file_path: Some(PathBuf::from(&file)),
                },
            ))
            .map_err(|e| format!("AZURE_FEDERATED_TOKEN_FILE: credential refused: {e}"))?;
            let label = format!(
                "workload identity credential (AZURE_CLIENT_ID={client_id}, AZURE_FEDERATED_TOKEN_FILE={file}, token endpoint {authority}/{tenant})"
            );
            (CredentialKind::WorkloadIdentity, label, cred)
        } else if let (Some(endpoint), Some(header)) =
            (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER"))
        {
            Url::parse(&endpoint)
                .map_err(|e| format!("IDENTITY_ENDPOINT: not a URL ({e}): {endpoint}"))?;
            // The SDK reads both from the process environment; values handed in that differ
            // from it would silently be ignored.
            let process = |name: &str| {
                std::env::var(name)
                    .ok()
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
            };
            for (name, value) in [
                ("IDENTITY_ENDPOINT", &endpoint),
                ("IDENTITY_HEADER", &header),
            ] {
                if process(name).as_ref() != Some(value) {
                    return Err(format!(
                        "{name}: the managed-identity credential (azure_identity) reads {name} \
                         from the process environment, and the value given is not the process's"
                    ));
                }
            }
            let cred = azure_identity::ManagedIdentityCredential::new(Some(
                azure_identity::ManagedIdentityCredentialOptions {
                    user_assigned_id: client_id
                        .clone()
                        .map(azure_identity::UserAssignedId::ClientId),
                    client_options: options(None)?,
                },
            ))
            .map_err(|e| format!("IDENTITY_ENDPOINT: managed identity refused: {e}"))?;
            let label = match &client_id {
                Some(id) => format!(
                    "managed identity credential (IDENTITY_ENDPOINT={endpoint}, AZURE_CLIENT_ID={id})"
                ),
                None => format!("managed identity credential (IDENTITY_ENDPOINT={endpoint})"),
            };
            (CredentialKind::ManagedIdentity, label, cred)
        } else {
            return Err(
                "no Graph credential: set IDENTITY_ENDPOINT and IDENTITY_HEADER \
                 (managed identity), or AZURE_TENANT_ID, AZURE_CLIENT_ID and \
                 AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE"
                    .into(),
            );
        };
        let source = TokenCache::new(
            label,
            Arc::new(AzureSdkToken::new(credential, clock.clone())),
            clock,
            settings.token_refresh_margin,
        )
        .with_failure_memory(settings.token_failure_memory);
        Ok(GraphCredential {
            kind,
            source: Arc::new(source),
        })
    }

    /// What the credential is and where it gets tokens, as errors name it.
    pub fn label(&self) -> &str {
        self.source.label()
    }
}

/// The SDK client options: its own retries off (the [`TokenCache`]'s loop governs), a network
/// timeout of `timeout` per request, and the authority host if one is given.
fn sdk_client_options(
    authority_host: Option<&str>,
    timeout: Duration,
) -> Result<azure_core::http::ClientOptions, String> {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("building the token HTTP client: {e}"))?;
    let cloud = authority_host.map(|host| {
        let mut custom = azure_core::cloud::CustomConfiguration::default();
        custom.authority_host = host.to_string();
        Arc::new(custom.into())
    });
    Ok(azure_core::http::ClientOptions {
        retry: azure_core::http::RetryOptions::none(),
        transport: Some(azure_core::http::Transport::new(Arc::new(http))),
        cloud,
        ..Default::default()
    })
}

#[async_trait]
impl TokenSource for GraphCredential {
    async fn token(&self, force_refresh: bool) -> GraphResult<AccessToken> {
        self.source.token(force_refresh).await
    }

    fn current_failure(&self) -> Option<GraphError> {
        self.source.current_failure()
    }
}
