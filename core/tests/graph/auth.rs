//! Token protocols, the token cache and 401 handling.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as ChronoDuration;
use mfa_core::clock::Clock;
use mfa_core::graph::{CredentialKind, GraphCredential, GraphError, TokenSource};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::{graph_error, reply, t0, Received, TestServer};

fn vars(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    move |k| map.get(k).cloned()
}

fn form(r: &Received) -> HashMap<String, String> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

fn mi_credential(server: &TestServer) -> GraphCredential {
    let v = vars(&[
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", server.base)),
        ("IDENTITY_HEADER", "header-secret".into()),
    ]);
    GraphCredential::from_env(&v, server.shared_clock(), Duration::from_secs(300)).unwrap()
}

#[tokio::test]
async fn managed_identity_protocol() {
    let server = TestServer::start().await;
    let expires = (t0() + ChronoDuration::hours(1)).timestamp();
    server.on(
        "GET",
        "/msi/token",
        vec![reply(200).json(json!({
            "access_token": "mi-token", "expires_on": expires.to_string(),
            "resource": "https://graph.microsoft.com", "token_type": "Bearer"
        }))],
    );
    let cred = mi_credential(&server);
    assert_eq!(cred.kind, CredentialKind::ManagedIdentity);
    assert!(
        !cred.uses_azure_sdk,
        "test variables are not the process environment"
    );
    let token = cred.token(false).await.unwrap();
    assert_eq!(token.secret.expose_secret(), "mi-token");
    assert_eq!(token.expires_on.timestamp(), expires);
    let got = server.received_at("GET", "/msi/token");
    assert_eq!(got.len(), 1);
    let q: HashMap<String, String> = url::form_urlencoded::parse(got[0].query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(q["resource"], "https://graph.microsoft.com");
    assert_eq!(q["api-version"], "2019-08-01");
    assert_eq!(got[0].header("x-identity-header").unwrap(), "header-secret");
}

#[tokio::test]
async fn client_secret_protocol_honours_authority_host() {
    let server = TestServer::start().await;
    server.on(
        "POST",
        "/tenant-1/oauth2/v2.0/token",
        vec![reply(200)
            .json(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "cs-token"}))],
    );
    let v = vars(&[
        ("AZURE_AUTHORITY_HOST", server.base.clone()),
        ("AZURE_TENANT_ID", "tenant-1".into()),
        ("AZURE_CLIENT_ID", "client-1".into()),
        ("AZURE_CLIENT_SECRET", "s3cret".into()),
        // Present too, but the client secret comes first.
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", server.base)),
        ("IDENTITY_HEADER", "h".into()),
    ]);
    let cred =
        GraphCredential::from_env(&v, server.shared_clock(), Duration::from_secs(300)).unwrap();
    assert_eq!(cred.kind, CredentialKind::ClientSecret);
    assert!(
        !cred.uses_azure_sdk,
        "http authority host uses the built-in protocol"
    );
    let token = cred.token(false).await.unwrap();
    assert_eq!(token.secret.expose_secret(), "cs-token");
    assert_eq!(token.expires_on, t0() + ChronoDuration::seconds(3599));
    let got = server.received_at("POST", "/tenant-1/oauth2/v2.0/token");
    assert_eq!(got.len(), 1);
    let f = form(&got[0]);
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["client_id"], "client-1");
    assert_eq!(f["client_secret"], "s3cret");
    assert_eq!(f["scope"], "https://graph.microsoft.com/.default");
    assert!(server.received_at("GET", "/msi/token").is_empty());
}

#[tokio::test]
async fn workload_identity_protocol_sends_the_file_as_assertion() {
    let server = TestServer::start().await;
    server.on(
        "POST",
        "/tenant-1/oauth2/v2.0/token",
        vec![reply(200).json(json!({"expires_in": "3600", "access_token": "wi-token"}))],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "header.payload.signature\n").unwrap();
    let v = vars(&[
        ("AZURE_AUTHORITY_HOST", format!("{}/", server.base)),
        ("AZURE_TENANT_ID", "tenant-1".into()),
        ("AZURE_CLIENT_ID", "client-1".into()),
        ("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()),
    ]);
    let cred =
        GraphCredential::from_env(&v, server.shared_clock(), Duration::from_secs(300)).unwrap();
    assert_eq!(cred.kind, CredentialKind::WorkloadIdentity);
    assert_eq!(
        cred.token(false).await.unwrap().secret.expose_secret(),
        "wi-token"
    );
    let f = form(&server.received_at("POST", "/tenant-1/oauth2/v2.0/token")[0]);
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(f["client_assertion"], "header.payload.signature");
    assert!(!f.contains_key("client_secret"));
}

#[tokio::test]
async fn from_env_explains_what_is_missing_and_uses_the_sdk_for_https() {
    let server = TestServer::start().await;
    let err =
        GraphCredential::from_env(&|_| None, server.shared_clock(), Duration::ZERO).unwrap_err();
    assert!(
        err.contains("IDENTITY_ENDPOINT") && err.contains("AZURE_CLIENT_SECRET"),
        "{err}"
    );
    let v = vars(&[
        (
            "AZURE_TENANT_ID",
            "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
        ),
        ("AZURE_CLIENT_ID", "client-1".into()),
        ("AZURE_CLIENT_SECRET", "s3cret".into()),
    ]);
    let cred = GraphCredential::from_env(&v, server.shared_clock(), Duration::ZERO).unwrap();
    assert_eq!(cred.kind, CredentialKind::ClientSecret);
    assert!(cred.uses_azure_sdk, "https authority uses azure_identity");
    let v = vars(&[
        ("IDENTITY_ENDPOINT", "not a url".into()),
        ("IDENTITY_HEADER", "h".into()),
    ]);
    let err = GraphCredential::from_env(&v, server.shared_clock(), Duration::ZERO).unwrap_err();
    assert!(err.starts_with("IDENTITY_ENDPOINT"), "{err}");
}

#[tokio::test]
async fn cached_token_is_refreshed_five_minutes_before_expiry() {
    let server = TestServer::start().await;
    let expires = (t0() + ChronoDuration::hours(1)).timestamp();
    server.on(
        "GET",
        "/msi/token",
        vec![
            reply(200).json(json!({"access_token": "first", "expires_on": expires})),
            reply(200).json(json!({"access_token": "second", "expires_on": expires + 3600})),
        ],
    );
    let cred = mi_credential(&server);
    assert_eq!(
        cred.token(false).await.unwrap().secret.expose_secret(),
        "first"
    );
    server.clock.advance(Duration::from_secs(3600 - 301));
    assert_eq!(
        cred.token(false).await.unwrap().secret.expose_secret(),
        "first"
    );
    assert_eq!(
        server.received_at("GET", "/msi/token").len(),
        1,
        "served from cache"
    );
    server.clock.advance(Duration::from_secs(2));
    assert_eq!(
        cred.token(false).await.unwrap().secret.expose_secret(),
        "second"
    );
    assert_eq!(server.received_at("GET", "/msi/token").len(), 2);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let server = TestServer::start().await;
    let expires = (t0() + ChronoDuration::hours(1)).timestamp();
    server.on(
        "GET",
        "/msi/token",
        vec![
            reply(200).json(json!({"access_token": "revoked", "expires_on": expires})),
            reply(200).json(json!({"access_token": "fresh", "expires_on": expires})),
        ],
    );
    server.on_fn("GET", "/v1.0/users/a", |r| {
        if r.header("authorization").as_deref() == Some("Bearer fresh") {
            reply(200).json(json!({"id": "a"}))
        } else {
            graph_error(
                401,
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
            )
        }
    });
    let client = server.client_with_tokens(server.settings(), Arc::new(mi_credential(&server)));
    assert_eq!(client.get_user("a").await.unwrap().unwrap().id, "a");
    let got = server.received_at("GET", "/v1.0/users/a");
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("authorization").unwrap(), "Bearer fresh");
    assert_eq!(server.received_at("GET", "/msi/token").len(), 2);
    // Later calls keep the fresh token.
    client.get_user("a").await.unwrap();
    assert_eq!(server.received_at("GET", "/msi/token").len(), 2);

    // A token that stays refused is Unauthorized after exactly one refresh.
    server.on(
        "GET",
        "/v1.0/users/b",
        vec![graph_error(401, "InvalidAuthenticationToken", "no")],
    );
    let err = client.get_user("b").await.unwrap_err();
    assert_eq!(
        err,
        GraphError::Unauthorized {
            code: "InvalidAuthenticationToken".into()
        }
    );
    assert_eq!(server.received_at("GET", "/v1.0/users/b").len(), 2);
}

#[tokio::test]
async fn token_fetch_is_retried_after_throttling_and_outages() {
    let server = TestServer::start().await;
    let expires = (t0() + ChronoDuration::hours(1)).timestamp();
    server.on(
        "GET",
        "/msi/token",
        vec![
            reply(429)
                .header("Retry-After", "7")
                .json(json!({"error": "throttled"})),
            reply(503).json(json!({"error": "unavailable"})),
            reply(200).json(json!({"access_token": "after-faults", "expires_on": expires})),
        ],
    );
    let cred = mi_credential(&server);
    let before = server.clock.now();
    let token = cred.token(false).await.unwrap();
    assert_eq!(token.secret.expose_secret(), "after-faults");
    let got = server.received_at("GET", "/msi/token");
    assert_eq!(got.len(), 3, "two failures, then the token");
    assert!(
        server.clock.now() - before >= ChronoDuration::seconds(7),
        "Retry-After honoured on the clock"
    );
}

#[tokio::test]
async fn token_fetch_gives_up_after_bounded_attempts_and_never_retries_a_refusal() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/msi/token",
        vec![reply(503).json(json!({"error": "unavailable"})); 10],
    );
    let cred = mi_credential(&server);
    let err = cred.token(false).await.unwrap_err();
    assert!(matches!(err, GraphError::Transport(_)), "{err:?}");
    assert_eq!(
        server.received_at("GET", "/msi/token").len(),
        mfa_core::graph::TOKEN_ATTEMPTS as usize
    );

    let refused = TestServer::start().await;
    refused.on(
        "GET",
        "/msi/token",
        vec![
            reply(400).json(json!({"error": "invalid_request", "error_description": "bad header"}))
        ],
    );
    let err = mi_credential(&refused).token(false).await.unwrap_err();
    assert!(matches!(err, GraphError::Credential(_)), "{err:?}");
    assert_eq!(refused.received_at("GET", "/msi/token").len(), 1);
}

#[tokio::test]
async fn a_failed_early_refresh_keeps_using_the_still_valid_token() {
    let server = TestServer::start().await;
    let expires = (t0() + ChronoDuration::hours(1)).timestamp();
    let mut replies =
        vec![reply(200).json(json!({"access_token": "first", "expires_on": expires}))];
    replies.extend(vec![reply(503).json(json!({"error": "down"})); 4]);
    replies.push(reply(200).json(json!({"access_token": "second", "expires_on": expires + 3600})));
    server.on("GET", "/msi/token", replies);
    let cred = mi_credential(&server);
    assert_eq!(
        cred.token(false).await.unwrap().secret.expose_secret(),
        "first"
    );
    // Inside the refresh margin, the endpoint down for the whole retry budget: keep "first".
    server.clock.advance(Duration::from_secs(3600 - 299));
    let t = server.clock.now();
    let token = cred.token(false).await.unwrap();
    assert_eq!(token.secret.expose_secret(), "first");
    assert!(token.expires_on > server.clock.now(), "still valid");
    assert!(server.clock.now() > t, "the retries waited on the clock");
    // The next call refreshes.
    assert_eq!(
        cred.token(false).await.unwrap().secret.expose_secret(),
        "second"
    );
}
