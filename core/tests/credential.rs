//! The production credential path (`azure_identity`'s managed-identity credential) over real
//! loopback sockets. The SDK reads `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` from the process
//! environment, so this is its own test binary, and its tests take turns with the environment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use mfa_core::bootstrap::{graph_client_with, GraphTokens};
use mfa_core::clock::{ManualClock, SharedClock};
use mfa_core::config::Vars;
use mfa_core::graph::{GraphError, TOKEN_FAILURE_MEMORY, TOKEN_RETRIES};
use tenant_sim::{NewUser, SimClock, SimConfig, Simulator};

/// One test at a time may own the process environment.
static ENV: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn set_identity(endpoint: &str, header: &str) -> Vars {
    std::env::set_var("IDENTITY_ENDPOINT", endpoint);
    std::env::set_var("IDENTITY_HEADER", header);
    Vars::from_pairs([
        ("IDENTITY_ENDPOINT", endpoint.to_string()),
        ("IDENTITY_HEADER", header.to_string()),
        ("MFA_GRAPH_BASE_URL", "http://127.0.0.1:9".to_string()),
        // A listener that never answers costs this per attempt.
        ("MFA_GRAPH_TOKEN_TIMEOUT_SECONDS", "1".to_string()),
    ])
}

/// A listener that accepts connections, counts them and never answers.
async fn silent_listener() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (format!("http://{addr}/msi/token"), accepted)
}

#[tokio::test]
async fn an_unreachable_identity_endpoint_fails_fast_once_and_is_remembered() {
    let _env = ENV.lock().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let (endpoint, accepted) = silent_listener().await;
    let vars = set_identity(&endpoint, "header-secret");
    let client = graph_client_with(&vars, shared, &GraphTokens::FromEnvironment, |_| {}).unwrap();

    let started = Instant::now();
    let first = tokio::time::timeout(Duration::from_secs(10), client.get_user("ada"))
        .await
        .expect("answers in well under 10 s (the SDK's own retries are off)")
        .unwrap_err();
    let GraphError::Credential(message) = &first else {
        panic!("{first:?}");
    };
    assert!(
        message.contains("managed identity") && message.contains(&endpoint),
        "names the credential and its endpoint: {message}"
    );
    assert!(!message.contains("header-secret"));
    let attempts = 1 + TOKEN_RETRIES as usize;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        attempts,
        "our retry loop only"
    );
    assert_eq!(client.credential_failure(), Some(first.clone()));

    // Inside the memory window: at once, the same error, nothing fetched.
    let again = Instant::now();
    for user in ["bo", "cy", "di"] {
        assert_eq!(client.get_user(user).await.unwrap_err(), first);
    }
    assert!(again.elapsed() < Duration::from_millis(500));
    assert_eq!(accepted.load(Ordering::SeqCst), attempts);

    // Once the memory lapses (by the injected clock), the next call tries again.
    clock.advance(TOKEN_FAILURE_MEMORY + Duration::from_secs(1));
    client.get_user("ed").await.unwrap_err();
    assert_eq!(accepted.load(Ordering::SeqCst), 2 * attempts);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn a_refused_connection_fails_in_seconds() {
    let _env = ENV.lock().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap());
    // Bound, then closed: nothing listens on the port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}/msi/token");
    let mut vars = set_identity(&endpoint, "h");
    vars = Vars::from_pairs(
        ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MFA_GRAPH_BASE_URL"]
            .iter()
            .filter_map(|k| vars.get(k).map(|v| (k.to_string(), v.to_string()))),
    );
    let client = graph_client_with(
        &vars,
        Arc::new(clock),
        &GraphTokens::FromEnvironment,
        |_| {},
    )
    .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), client.get_user("ada"))
        .await
        .expect("answers in well under 10 s")
        .unwrap_err();
    assert!(
        matches!(&err, GraphError::Credential(m) if m.contains(&endpoint)),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_sdk_managed_identity_credential_works_against_the_simulator() {
    let _env = ENV.lock().await;
    let clock = ManualClock::new(Utc::now());
    let follow = clock.clone();
    let sim = Simulator::start(SimConfig {
        clock: SimClock::from_fn(Arc::new(move || mfa_core::clock::Clock::now(&follow))),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    sim.tenant()
        .add_user(NewUser::upn("ada@contoso.example"))
        .unwrap();
    set_identity(&sim.identity_endpoint(), &sim.identity_header());
    let vars = Vars::from_pairs([
        ("IDENTITY_ENDPOINT", sim.identity_endpoint()),
        ("IDENTITY_HEADER", sim.identity_header()),
        ("MFA_GRAPH_BASE_URL", sim.base_url()),
    ]);
    let client = graph_client_with(
        &vars,
        Arc::new(clock),
        &GraphTokens::FromEnvironment,
        |_| {},
    )
    .unwrap();
    let user = client.get_user("ada@contoso.example").await.unwrap();
    assert_eq!(
        user.and_then(|u| u.user_principal_name)
            .map(|u| u.to_ascii_lowercase()),
        Some("ada@contoso.example".to_string())
    );
    sim.shutdown().await;
}
