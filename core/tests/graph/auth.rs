//! Credential selection from settings, the token cache (refresh, one retry loop, remembered
//! failures) and 401 handling. The `azure_identity` credentials against real sockets are in the
//! `credential` test binary, which sets the process environment the SDK reads.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Duration as ChronoDuration;
use mfa_core::clock::{Clock, SharedClock};
use mfa_core::graph::{
    AccessToken, CredentialKind, GraphCredential, GraphError, GraphResult, GraphSettings,
    TokenCache, TokenSource, TOKEN_FAILURE_MEMORY, TOKEN_RETRIES,
};
use parking_lot::Mutex;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::{graph_error, reply, t0, TestServer};

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

#[tokio::test]
async fn from_env_picks_in_sdk_order_and_names_the_variable_at_fault() {
    let server = TestServer::start().await;
    let settings = GraphSettings::default();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "header.payload.signature\n").unwrap();
    let token_file = token_file.display().to_string();
    let pick = |pairs: &[(&str, &str)]| {
        GraphCredential::from_env(&vars(pairs), server.shared_clock(), &settings)
    };
    let secret = [
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", "client-1"),
        ("AZURE_CLIENT_SECRET", "s3cret-value"),
    ];
    let cred = pick(&secret).unwrap();
    assert_eq!(cred.kind, CredentialKind::ClientSecret);
    assert!(
        cred.label().contains("AZURE_CLIENT_ID=client-1")
            && cred.label().contains("https://login.microsoftonline.com"),
        "{}",
        cred.label()
    );
    assert!(!cred.label().contains("s3cret"), "never the secret");

    // The client secret comes before workload and managed identity.
    let mut all = secret.to_vec();
    all.extend([
        ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
        ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token"),
        ("IDENTITY_HEADER", "h"),
    ]);
    assert_eq!(pick(&all).unwrap().kind, CredentialKind::ClientSecret);
    let workload = pick(&[
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", "client-1"),
        ("AZURE_FEDERATED_TOKEN_FILE", &token_file),
        ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/"),
    ])
    .unwrap();
    assert_eq!(workload.kind, CredentialKind::WorkloadIdentity);
    assert!(
        workload
            .label()
            .contains("https://login.microsoftonline.us/"),
        "{}",
        workload.label()
    );

    // Each bad setting stops start-up with a message naming its variable.
    // (case, variables, what the message starts with)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("nothing set", &[], "no Graph credential"),
        (
            "http authority (azure_identity refuses it)",
            &[
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", "client-1"),
                ("AZURE_CLIENT_SECRET", "s"),
                ("AZURE_AUTHORITY_HOST", "http://127.0.0.1:8080"),
            ],
            "AZURE_AUTHORITY_HOST",
        ),
        (
            "authority not a URL",
            &[
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", "client-1"),
                ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
                ("AZURE_AUTHORITY_HOST", "login dot microsoft"),
            ],
            "AZURE_AUTHORITY_HOST",
        ),
        (
            "federated token file missing",
            &[
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", "client-1"),
                ("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/token"),
            ],
            "AZURE_FEDERATED_TOKEN_FILE",
        ),
        (
            "identity endpoint not a URL",
            &[("IDENTITY_ENDPOINT", "not a url"), ("IDENTITY_HEADER", "h")],
            "IDENTITY_ENDPOINT",
        ),
        (
            "identity endpoint the SDK could not see (not the process environment's)",
            &[
                ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token"),
                ("IDENTITY_HEADER", "h"),
            ],
            "IDENTITY_ENDPOINT",
        ),
    ];
    for (case, pairs, start) in cases {
        let err = pick(pairs).unwrap_err();
        assert!(err.starts_with(start), "{case}: {err}");
    }
    let err = pick(&[]).unwrap_err();
    assert!(
        err.contains("IDENTITY_ENDPOINT") && err.contains("AZURE_CLIENT_SECRET"),
        "{err}"
    );
}

/// A token source answering from a script, counting fetches.
#[derive(Debug, Default)]
struct Scripted {
    replies: Mutex<VecDeque<GraphResult<AccessToken>>>,
    fetches: AtomicUsize,
}

impl Scripted {
    fn new(replies: Vec<GraphResult<AccessToken>>) -> Arc<Self> {
        Arc::new(Self {
            replies: Mutex::new(replies.into()),
            fetches: AtomicUsize::new(0),
        })
    }
    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl TokenSource for Scripted {
    async fn token(&self, _force_refresh: bool) -> GraphResult<AccessToken> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.replies
            .lock()
            .pop_front()
            .unwrap_or_else(|| Err(GraphError::Credential("script ran out".into())))
    }
}

fn token(name: &str, valid_for: ChronoDuration) -> GraphResult<AccessToken> {
    Ok(AccessToken::new(name, t0() + valid_for))
}

fn down() -> GraphResult<AccessToken> {
    Err(GraphError::Transport("connection refused".into()))
}

fn cache(source: &Arc<Scripted>, clock: SharedClock) -> TokenCache {
    TokenCache::new(
        "test credential (IDENTITY_ENDPOINT=http://127.0.0.1:9/msi)",
        source.clone(),
        clock,
        Duration::from_secs(300),
    )
}

#[tokio::test]
async fn cached_token_is_refreshed_five_minutes_before_expiry() {
    let server = TestServer::start().await;
    let source = Scripted::new(vec![
        token("first", ChronoDuration::hours(1)),
        token("second", ChronoDuration::hours(2)),
    ]);
    let cache = cache(&source, server.shared_clock());
    let secret = |t: AccessToken| t.secret.expose_secret().to_string();
    assert_eq!(secret(cache.token(false).await.unwrap()), "first");
    server.clock.advance(Duration::from_secs(3600 - 301));
    assert_eq!(secret(cache.token(false).await.unwrap()), "first");
    assert_eq!(source.fetches(), 1, "served from cache");
    server.clock.advance(Duration::from_secs(2));
    assert_eq!(secret(cache.token(false).await.unwrap()), "second");
    assert_eq!(source.fetches(), 2);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let server = TestServer::start().await;
    let source = Scripted::new(vec![
        token("revoked", ChronoDuration::hours(1)),
        token("fresh", ChronoDuration::hours(1)),
    ]);
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
    let client = server.client_with_tokens(
        server.settings(),
        Arc::new(cache(&source, server.shared_clock())),
    );
    assert_eq!(client.get_user("a").await.unwrap().unwrap().id, "a");
    let got = server.received_at("GET", "/v1.0/users/a");
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("authorization").unwrap(), "Bearer fresh");
    assert_eq!(source.fetches(), 2);
    // Later calls keep the fresh token.
    client.get_user("a").await.unwrap();
    assert_eq!(source.fetches(), 2);

    // A token that stays refused is Unauthorized after exactly one refresh.
    source
        .replies
        .lock()
        .push_back(token("also-refused", ChronoDuration::hours(1)));
    server.on(
        "GET",
        "/v1.0/users/b",
        vec![graph_error(401, "InvalidAuthenticationToken", "no"); 2],
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
    let source = Scripted::new(vec![
        Err(GraphError::Throttled {
            retry_after: Some(Duration::from_secs(7)),
        }),
        down(),
        token("after-faults", ChronoDuration::hours(1)),
    ]);
    let cache = cache(&source, server.shared_clock());
    let before = server.clock.now();
    let t = cache.token(false).await.unwrap();
    assert_eq!(t.secret.expose_secret(), "after-faults");
    assert_eq!(source.fetches(), 3, "two failures, then the token");
    assert!(
        server.clock.now() - before >= ChronoDuration::seconds(7),
        "Retry-After honoured on the clock"
    );
}

#[tokio::test]
async fn token_fetch_gives_up_after_bounded_attempts_and_never_retries_a_refusal() {
    let server = TestServer::start().await;
    let source = Scripted::new((0..10).map(|_| down()).collect());
    let err = cache(&source, server.shared_clock())
        .token(false)
        .await
        .unwrap_err();
    let GraphError::Credential(message) = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.starts_with("test credential (IDENTITY_ENDPOINT=http://127.0.0.1:9/msi)")
            && message.contains("connection refused"),
        "names the credential and the cause: {message}"
    );
    assert_eq!(source.fetches(), 1 + TOKEN_RETRIES as usize);

    let refused = Scripted::new(vec![Err(GraphError::Credential(
        "AADSTS7000215: Invalid client secret provided.".into(),
    ))]);
    let err = cache(&refused, server.shared_clock())
        .token(false)
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::Credential(_)), "{err:?}");
    assert_eq!(refused.fetches(), 1, "a refusal is not retried");
}

#[tokio::test]
async fn a_failed_fetch_is_remembered_for_a_minute_then_tried_again() {
    let server = TestServer::start().await;
    let mut replies: Vec<_> = (0..=TOKEN_RETRIES).map(|_| down()).collect();
    replies.push(token("recovered", ChronoDuration::hours(2)));
    let source = Scripted::new(replies);
    let cache = Arc::new(cache(&source, server.shared_clock()));
    let first = cache.token(false).await.unwrap_err();
    let attempts = source.fetches();
    assert_eq!(attempts, 1 + TOKEN_RETRIES as usize);
    assert_eq!(cache.current_failure(), Some(first.clone()));

    // Within the window: every call, concurrent or forced, fails at once with the same error.
    let calls = futures::future::join_all((0..20).map(|i| {
        let cache = cache.clone();
        async move { cache.token(i % 2 == 0).await }
    }))
    .await;
    assert!(calls.iter().all(|r| r.as_ref().err() == Some(&first)));
    server
        .clock
        .advance(TOKEN_FAILURE_MEMORY - Duration::from_secs(10));
    assert_eq!(cache.token(false).await.unwrap_err(), first);
    assert_eq!(source.fetches(), attempts, "no new fetch inside the window");

    // Once it lapses, the next call tries again, and success clears the failure.
    server.clock.advance(Duration::from_secs(11));
    let t = cache.token(false).await.unwrap();
    assert_eq!(t.secret.expose_secret(), "recovered");
    assert_eq!(source.fetches(), attempts + 1);
    assert_eq!(cache.current_failure(), None);
}

#[tokio::test]
async fn a_failed_early_refresh_keeps_using_the_still_valid_token() {
    let server = TestServer::start().await;
    let mut replies = vec![token("first", ChronoDuration::hours(1))];
    replies.extend((0..=TOKEN_RETRIES).map(|_| down()));
    replies.push(token("second", ChronoDuration::hours(2)));
    let source = Scripted::new(replies);
    let cache = cache(&source, server.shared_clock());
    assert_eq!(
        cache.token(false).await.unwrap().secret.expose_secret(),
        "first"
    );
    // Inside the refresh margin, the endpoint down for the whole retry budget: keep "first".
    server.clock.advance(Duration::from_secs(3600 - 299));
    let t = server.clock.now();
    let token = cache.token(false).await.unwrap();
    assert_eq!(token.secret.expose_secret(), "first");
    assert!(token.expires_on > server.clock.now(), "still valid");
    assert!(server.clock.now() > t, "the retries waited on the clock");
    assert_eq!(cache.current_failure(), None, "calls still work");
    // Within the failure window the valid token serves without a fetch; after it, a refresh.
    let fetched = source.fetches();
    assert_eq!(
        cache.token(false).await.unwrap().secret.expose_secret(),
        "first"
    );
    assert_eq!(source.fetches(), fetched);
    server.clock.advance(TOKEN_FAILURE_MEMORY);
    assert_eq!(
        cache.token(false).await.unwrap().secret.expose_secret(),
        "second"
    );
}
