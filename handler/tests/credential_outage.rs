//! A timer invocation with the managed-identity endpoint unreachable, through the production
//! wiring (`azure_identity`'s credential, which reads `IDENTITY_ENDPOINT` from the process
//! environment: hence this separate test binary): it answers in seconds, logs one clear error,
//! fetches nothing more while the failure is remembered, and tries again once it lapses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use mfa_core::clock::{ManualClock, SharedClock};
use mfa_core::config::Vars;
use mfa_core::graph::{TOKEN_FAILURE_MEMORY, TOKEN_RETRIES};
use mfa_handler::settings::HandlerSettings;
use mfa_handler::startup::Application;
use mfa_handler::wiring::production_deps;
use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Records the text of every ERROR event.
struct ErrorLog(Arc<Mutex<Vec<String>>>);

struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl<S: tracing::Subscriber> Layer<S> for ErrorLog {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            let mut text = Text(String::new());
            event.record(&mut text);
            self.0.lock().push(text.0);
        }
    }
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

const TIMER: &str = r#"{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}},"Metadata":{"sys":{"MethodName":"orchestrator-timer","UtcNow":"2023-09-07T11:40:45.004275Z","RandGuid":"35e6e68c-5583-436c-a277-5aec2b416ba8"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_run_without_a_reachable_identity_endpoint_answers_fast_and_logs_one_error() {
    let errors = Arc::new(Mutex::new(Vec::new()));
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(ErrorLog(errors.clone())),
    )
    .expect("the only subscriber in this binary");
    let (endpoint, accepted) = silent_listener().await;
    std::env::set_var("IDENTITY_ENDPOINT", &endpoint);
    std::env::set_var("IDENTITY_HEADER", "header-secret");
    let dir = tempfile::tempdir().unwrap();
    let vars = Vars::from_pairs([
        (
            "MFA_STORE",
            format!("sqlite:{}", dir.path().join("t.db").display()),
        ),
        ("FUNCTIONS_CUSTOMHANDLER_PORT", "0".into()),
        ("IDENTITY_ENDPOINT", endpoint.clone()),
        ("IDENTITY_HEADER", "header-secret".into()),
        ("MFA_GRAPH_TOKEN_TIMEOUT_SECONDS", "1".into()),
        (
            "MFA_GROUP_ID",
            "7f0c1e2a-3b4c-4d5e-8f90-a1b2c3d4e5f6".into(),
        ),
        ("MFA_SENDER_MAILBOXES", "mfa@contoso.example".into()),
        ("MFA_PUBLIC_BASE_URL", "https://mfa.contoso.test".into()),
        ("MFA_ADMIN_AUTH", "dev".into()),
    ]);
    let settings = HandlerSettings::from_vars(&vars).unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let deps = production_deps(&settings, &vars, shared).await.unwrap();
    assert!(deps.runner.is_some(), "the credential itself is configured");
    let app = Application::build(settings, deps).await.unwrap();
    let url = format!("http://127.0.0.1:{}/orchestrator-timer", app.port());
    let _server = tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    let invoke = || async {
        let started = Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            http.post(&url)
                .header("Content-Type", "application/json; charset=utf-8")
                .body(TIMER)
                .send(),
        )
        .await
        .expect("the invocation answers in under 10 s")
        .unwrap();
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value = answer.json().await.unwrap();
        (started.elapsed(), body)
    };

    let attempts = 1 + TOKEN_RETRIES as usize;
    let (took, body) = invoke().await;
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), attempts, "one token fetch");
    let logs = body["Logs"].to_string();
    assert!(
        logs.contains("the run failed") && logs.contains(&endpoint),
        "{logs}"
    );
    {
        let errors = errors.lock();
        assert_eq!(errors.len(), 1, "one error: {errors:#?}");
        assert!(
            errors[0].contains("managed identity") && errors[0].contains(&endpoint),
            "names the credential and the endpoint: {}",
            errors[0]
        );
        assert!(!errors[0].contains("header-secret"));
    }

    // The next invocation inside the memory window fetches nothing.
    let (took, _) = invoke().await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), attempts);
    assert_eq!(errors.lock().len(), 2, "one error per invocation");

    // After the memory lapses (by the injected clock), the next invocation tries again.
    clock.advance(TOKEN_FAILURE_MEMORY + Duration::from_secs(1));
    invoke().await;
    assert_eq!(accepted.load(Ordering::SeqCst), 2 * attempts);
    assert_eq!(errors.lock().len(), 3);
}
