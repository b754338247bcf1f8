//! Access tokens for Graph: the [`TokenSource`] trait, a clock-driven cache, and the credentials
//! the product runs with.
//!
//! # Which credential ([`GraphCredential::from_env`])
//! The first that is fully configured wins, in the Azure SDK's `DefaultAzureCredential` order:
//! 1. client secret: `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`;
//! 2. workload identity: `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_FEDERATED_TOKEN_FILE`;
//! 3. managed identity (App Service / Functions): `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`
//!    (with `AZURE_CLIENT_ID`, a user-assigned identity).
//!
//! `AZURE_AUTHORITY_HOST` (default `https://login.microsoftonline.com`) is honoured by 1 and 2.
//!
//! # azure_identity and the built-in protocols
//! Production uses `azure_identity` 1.0. That crate refuses an authority host that is not
//! `https` (`get_authority_host` checks the scheme) and its managed-identity credential reads
//! `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` from the process environment only. The tenant simulator
//! serves both protocols on plain `http://127.0.0.1:port`, and tests hand in their own variables,
//! so this module carries small, faithful implementations of the two documented protocols
//! ([`ClientCredentials`], [`ManagedIdentity`]) and uses them when:
//! - the authority host is not `https` (client secret, workload identity), or
//! - the managed-identity variables given differ from the process environment's (the SDK could
//!   not see them).
//!
//! Otherwise the `azure_identity` credential is used ([`AzureSdkToken`]). Every source is wrapped
//! in a [`TokenCache`] that refreshes `refresh_margin` (default 5 min) before expiry by the
//! injected clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::error::{GraphError, GraphResult};
use crate::clock::SharedClock;

/// The scope of every Graph token (application permissions).
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// The managed-identity resource of Graph.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
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
#[async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// A valid token; `force_refresh` skips any cache (used after a 401).
    async fn token(&self, force_refresh: bool) -> GraphResult<AccessToken>;
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

/// Caches another source's token and refreshes it `refresh_margin` before it expires, judged by
/// the injected clock. One fetch at a time: concurrent callers wait for it.
///
/// A fetch that fails transiently (429, 5xx, connection error) is retried up to
/// [`TOKEN_ATTEMPTS`] times, waiting the endpoint's `Retry-After` or an exponential backoff on
/// the clock. If every attempt fails while the cached token is still valid (refreshes start
/// `refresh_margin` early), the cached token is used and the refresh is tried again next call.
#[derive(Debug)]
pub struct TokenCache {
    inner: Arc<dyn TokenSource>,
    clock: SharedClock,
    refresh_margin: Duration,
    cached: tokio::sync::Mutex<Option<AccessToken>>,
}

impl TokenCache {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn TokenSource>, clock: SharedClock, refresh_margin: Duration) -> Self {
        Self {
            inner,
            clock,
            refresh_margin,
            cached: tokio::sync::Mutex::new(None),
        }
    }
}

/// Attempts per token fetch when the endpoint fails transiently.
pub const TOKEN_ATTEMPTS: u32 = 4;

fn is_transient(e: &GraphError) -> bool {
    matches!(e, GraphError::Throttled { .. } | GraphError::Transport(_))
}

impl TokenCache {
    async fn fetch(&self, force_refresh: bool) -> GraphResult<AccessToken> {
        let mut attempt = 0;
        loop {
            match self.inner.token(force_refresh).await {
                Err(e) if is_transient(&e) && attempt + 1 < TOKEN_ATTEMPTS => {
                    let wait = match &e {
                        GraphError::Throttled {
                            retry_after: Some(w),
                        } => *w,
                        _ => Duration::from_secs(1 << attempt),
                    }
                    .min(Duration::from_secs(60));
                    tracing::debug!(attempt, ?wait, error = %e, "token fetch failed; retrying");
                    attempt += 1;
                    self.clock.sleep(wait).await;
                }
                other => return other,
            }
        }
    }
}

#[async_trait]
impl TokenSource for TokenCache {
    async fn token(&self, force_refresh: bool) -> GraphResult<AccessToken> {
        let mut cached = self.cached.lock().await;
        if !force_refresh {
            if let Some(token) = cached.as_ref() {
                let margin = chrono::Duration::from_std(self.refresh_margin).unwrap_or_default();
                let refresh_at = token
                    .expires_on
                    .checked_sub_signed(margin)
                    .unwrap_or(token.expires_on);
                if self.clock.now() < refresh_at {
                    return Ok(token.clone());
                }
            }
        }
        match self.fetch(force_refresh).await {
            Ok(fresh) => {
                *cached = Some(fresh.clone());
                Ok(fresh)
            }
            Err(e) => match cached.as_ref() {
                // Still valid (a 401 forces a refresh, so a revoked token is not reused this way).
                Some(token) if !force_refresh && self.clock.now() < token.expires_on => {
                    tracing::warn!(error = %e, "token refresh failed; using the cached token until it expires");
                    Ok(token.clone())
                }
                _ => Err(e),
            },
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<NumOrString>,
    #[serde(default)]
    expires_on: Option<NumOrString>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrString {
    Num(i64),
    Str(String),
}

impl NumOrString {
    fn as_i64(&self) -> Option<i64> {
        match self {
            NumOrString::Num(n) => Some(*n),
            NumOrString::Str(s) => s.trim().parse().ok(),
        }
    }
}

async fn read_token_response(
    resp: reqwest::Response,
    what: &str,
    now: DateTime<Utc>,
) -> GraphResult<AccessToken> {
    let status = resp.status();
    let retry_after = super::retry::server_wait(resp.headers(), now);
    let body = resp
        .bytes()
        .await
        .map_err(|e| GraphError::Transport(format!("{what}: reading response: {e}")))?;
    // Throttled or briefly unavailable: worth another try (the cache retries), unlike a refusal.
    if matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504) {
        return Err(if status.as_u16() == 429 || retry_after.is_some() {
            GraphError::Throttled { retry_after }
        } else {
            GraphError::Transport(format!("{what}: status {status}"))
        });
    }
    if !status.is_success() {
        #[derive(Deserialize, Default)]
        struct Err {
            #[serde(default)]
            error: serde_json::Value,
            #[serde(default)]
            error_description: String,
        }
        let e: Err = serde_json::from_slice(&body).unwrap_or_default();
        return Err(GraphError::Credential(format!(
            "{what}: status {status}: {} {}",
            e.error, e.error_description
        )));
    }
    let parsed: TokenResponse = serde_json::from_slice(&body)
        .map_err(|e| GraphError::Credential(format!("{what}: bad token response: {e}")))?;
    let expires_on = if let Some(on) = parsed.expires_on.as_ref().and_then(NumOrString::as_i64) {
        Utc.timestamp_opt(on, 0).single()
    } else if let Some(secs) = parsed.expires_in.as_ref().and_then(NumOrString::as_i64) {
        now.checked_add_signed(chrono::Duration::seconds(secs))
    } else {
        None
    }
    .ok_or_else(|| GraphError::Credential(format!("{what}: token response without expiry")))?;
    Ok(AccessToken::new(parsed.access_token, expires_on))
}

/// Managed identity, App Service / Functions protocol (api-version 2019-08-01), built in:
/// `GET {IDENTITY_ENDPOINT}?resource=https://graph.microsoft.com&api-version=2019-08-01` with
/// header `X-IDENTITY-HEADER`, answering `{"access_token","expires_on"(epoch seconds),…}`.
#[derive(Debug)]
pub struct ManagedIdentity {
    http: reqwest::Client,
    endpoint: Url,
    header: SecretString,
    client_id: Option<String>,
    clock: SharedClock,
}

impl ManagedIdentity {
    /// A source for the identity at `endpoint`, authenticated by `header`; `client_id` selects a
    /// user-assigned identity.
    pub fn new(
        http: reqwest::Client,
        endpoint: Url,
        header: SecretString,
        client_id: Option<String>,
        clock: SharedClock,
    ) -> Self {
        Self {
            http,
            endpoint,
            header,
            client_id,
            clock,
        }
    }
}

#[async_trait]
impl TokenSource for ManagedIdentity {
    async fn token(&self, _force_refresh: bool) -> GraphResult<AccessToken> {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("resource", GRAPH_RESOURCE)
            .append_pair("api-version", "2019-08-01");
        if let Some(id) = &self.client_id {
            url.query_pairs_mut().append_pair("client_id", id);
        }
        let resp = self
            .http
            .get(url)
            .header("X-IDENTITY-HEADER", self.header.expose_secret())
            .send()
            .await
            .map_err(|e| GraphError::Transport(format!("managed identity: {e}")))?;
        read_token_response(resp, "managed identity", self.clock.now()).await
    }
}

/// The secret a [`ClientCredentials`] source proves itself with.
#[derive(Debug, Clone)]
pub enum ClientProof {
    /// A client secret.
    Secret(SecretString),
    /// A federated assertion re-read from this file on every fetch (workload identity).
    AssertionFile(PathBuf),
}

/// OAuth 2.0 client-credentials grant against `{authority}/{tenant}/oauth2/v2.0/token`, built in.
#[derive(Debug)]
pub struct ClientCredentials {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    proof: ClientProof,
    clock: SharedClock,
}

impl ClientCredentials {
    /// A source for app `client_id` in `tenant` at `authority` (`expires_in` is counted from the
    /// injected clock).
    pub fn new(
        http: reqwest::Client,
        authority: &Url,
        tenant: &str,
        client_id: String,
        proof: ClientProof,
        clock: SharedClock,
    ) -> Result<Self, String> {
        let mut token_url = authority.clone();
        token_url
            .path_segments_mut()
            .map_err(|_| format!("AZURE_AUTHORITY_HOST: cannot be a base URL: {authority}"))?
            .pop_if_empty()
            .extend([tenant, "oauth2", "v2.0", "token"]);
        Ok(Self {
            http,
            token_url,
            client_id,
            proof,
            clock,
        })
    }
}

#[async_trait]
impl TokenSource for ClientCredentials {
    async fn token(&self, _force_refresh: bool) -> GraphResult<AccessToken> {
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", self.client_id.clone()),
            ("scope", GRAPH_SCOPE.into()),
        ];
        match &self.proof {
            ClientProof::Secret(s) => form.push(("client_secret", s.expose_secret().to_string())),
            ClientProof::AssertionFile(path) => {
                let assertion = tokio::fs::read_to_string(path).await.map_err(|e| {
                    GraphError::Credential(format!(
                        "reading AZURE_FEDERATED_TOKEN_FILE {}: {e}",
                        path.display()
                    ))
                })?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion", assertion.trim().to_string()));
            }
        }
        let resp = self
            .http
            .post(self.token_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| GraphError::Transport(format!("token endpoint: {e}")))?;
        read_token_response(resp, "token endpoint", self.clock.now()).await
    }
}

/// An `azure_identity` credential asked for the Graph scope.
#[derive(Debug)]
pub struct AzureSdkToken(Arc<dyn azure_core::credentials::TokenCredential>);

impl AzureSdkToken {
    /// Wraps an Azure SDK credential.
    pub fn new(credential: Arc<dyn azure_core::credentials::TokenCredential>) -> Self {
        Self(credential)
    }
}

#[async_trait]
impl TokenSource for AzureSdkToken {
    async fn token(&self, _force_refresh: bool) -> GraphResult<AccessToken> {
        let t = self
            .0
            .get_token(&[GRAPH_SCOPE], None)
            .await
            .map_err(|e| GraphError::Credential(e.to_string()))?;
        let expires_on = Utc
            .timestamp_opt(t.expires_on.unix_timestamp(), 0)
            .single()
            .ok_or_else(|| GraphError::Credential("token expiry out of range".into()))?;
        Ok(AccessToken::new(t.token.secret().to_string(), expires_on))
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

/// The credential the product runs with: a cached token source chosen from the environment.
#[derive(Debug, Clone)]
pub struct GraphCredential {
    /// What was chosen.
    pub kind: CredentialKind,
    /// Whether the `azure_identity` implementation is used (else the built-in protocol).
    pub uses_azure_sdk: bool,
    source: Arc<dyn TokenSource>,
}

impl GraphCredential {
    /// Picks a credential from `vars` (see the module docs for the order). Errors name the
    /// variable at fault. `refresh_margin` is how early cached tokens are refreshed.
    pub fn from_env(
        vars: &dyn Fn(&str) -> Option<String>,
        clock: SharedClock,
        refresh_margin: Duration,
    ) -> Result<GraphCredential, String> {
        let var = |name: &str| {
            vars(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("building the token HTTP client: {e}"))?;
        let authority_text = var("AZURE_AUTHORITY_HOST").unwrap_or(DEFAULT_AUTHORITY_HOST.into());
        let authority = || {
            Url::parse(&authority_text)
                .map_err(|e| format!("AZURE_AUTHORITY_HOST: not a URL ({e}): {authority_text}"))
        };
        let tenant = var("AZURE_TENANT_ID");
        let client_id = var("AZURE_CLIENT_ID");

        let (kind, uses_azure_sdk, source): (CredentialKind, bool, Arc<dyn TokenSource>) =
            if let (Some(tenant), Some(client_id), Some(secret)) =
                (&tenant, &client_id, var("AZURE_CLIENT_SECRET"))
            {
                let authority = authority()?;
                if authority.scheme() == "https" {
                    let cred = azure_identity::ClientSecretCredential::new(
                        tenant,
                        client_id.clone(),
                        azure_core::credentials::Secret::new(secret),
                        Some(azure_identity::ClientSecretCredentialOptions {
                            client_options: sdk_client_options(&authority_text),
                        }),
                    )
                    .map_err(|e| format!("AZURE_CLIENT_SECRET credential: {e}"))?;
                    (
                        CredentialKind::ClientSecret,
                        true,
                        Arc::new(AzureSdkToken::new(cred)),
                    )
                } else {
                    let src = ClientCredentials::new(
                        http,
                        &authority,
                        tenant,
                        client_id.clone(),
                        ClientProof::Secret(SecretString::from(secret)),
                        clock.clone(),
                    )?;
                    (CredentialKind::ClientSecret, false, Arc::new(src))
                }
            } else if let (Some(tenant), Some(client_id), Some(file)) =
                (&tenant, &client_id, var("AZURE_FEDERATED_TOKEN_FILE"))
            {
                let authority = authority()?;
                if authority.scheme() == "https" {
                    let cred = azure_identity::WorkloadIdentityCredential::new(Some(
                        azure_identity::WorkloadIdentityCredentialOptions {
                            credential_options: azure_identity::ClientAssertionCredentialOptions {
                                client_options: sdk_client_options(&authority_text),
                            },
                            client_id: Some(client_id.clone()),
                            tenant_id: Some(tenant.clone()),
                            token_file_path: Some(PathBuf::from(file)),
                        },
                    ))
                    .map_err(|e| format!("AZURE_FEDERATED_TOKEN_FILE credential: {e}"))?;
                    (
                        CredentialKind::WorkloadIdentity,
                        true,
                        Arc::new(AzureSdkToken::new(cred)),
                    )
                } else {
                    let src = ClientCredentials::new(
                        http,
                        &authority,
                        tenant,
                        client_id.clone(),
                        ClientProof::AssertionFile(PathBuf::from(file)),
                        clock.clone(),
                    )?;
                    (CredentialKind::WorkloadIdentity, false, Arc::new(src))
                }
            } else if let (Some(endpoint), Some(header)) =
                (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER"))
            {
                let url = Url::parse(&endpoint)
                    .map_err(|e| format!("IDENTITY_ENDPOINT: not a URL ({e}): {endpoint}"))?;
                let same_as_process = std::env::var("IDENTITY_ENDPOINT").ok().as_deref()
                    == Some(endpoint.as_str())
                    && std::env::var("IDENTITY_HEADER").ok().as_deref() == Some(header.as_str());
                if same_as_process {
                    let cred = azure_identity::ManagedIdentityCredential::new(Some(
                        azure_identity::ManagedIdentityCredentialOptions {
                            user_assigned_id: client_id
                                .clone()
                                .map(azure_identity::UserAssignedId::ClientId),
                            ..Default::default()
                        },
                    ))
                    .map_err(|e| format!("IDENTITY_ENDPOINT managed identity: {e}"))?;
                    (
                        CredentialKind::ManagedIdentity,
                        true,
                        Arc::new(AzureSdkToken::new(cred)),
                    )
                } else {
                    let src = ManagedIdentity::new(
                        http,
                        url,
                        SecretString::from(header),
                        client_id.clone(),
                        clock.clone(),
                    );
                    (CredentialKind::ManagedIdentity, false, Arc::new(src))
                }
            } else {
                return Err(
                    "no Graph credential: set IDENTITY_ENDPOINT and IDENTITY_HEADER \
                     (managed identity), or AZURE_TENANT_ID, AZURE_CLIENT_ID and \
                     AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE"
                        .into(),
                );
            };
        Ok(GraphCredential {
            kind,
            uses_azure_sdk,
            source: Arc::new(TokenCache::new(source, clock, refresh_margin)),
        })
    }
}

fn sdk_client_options(authority_host: &str) -> azure_core::http::ClientOptions {
    let mut custom = azure_core::cloud::CustomConfiguration::default();
    custom.authority_host = authority_host.trim_end_matches('/').to_string();
    azure_core::http::ClientOptions {
        cloud: Some(Arc::new(custom.into())),
        ..Default::default()
    }
}

#[async_trait]
impl TokenSource for GraphCredential {
    async fn token(&self, force_refresh: bool) -> GraphResult<AccessToken> {
        self.source.token(force_refresh).await
    }
}
