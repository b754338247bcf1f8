//! Host protocol: readiness, timers (chunked, lenient), invocations, 404s, headers.

use crate::helpers::{spawn_app, timer_payload};
use mfa_core::store::Store;
use std::sync::atomic::Ordering;

#[tokio::test]
async fn readiness_answers_at_once() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn timer_invocations_run_the_passes_whatever_the_schedule_status() {
    let app = spawn_app().await;
    let statuses = [
        "null",
        r#"{"Last":"2023-09-07T11:30:00+00:00","Next":"2023-09-07T11:45:00+00:00","LastUpdated":"2023-09-07T11:30:00.0122794+00:00"}"#,
        r#"{"Last":"0001-01-01T00:00:00","Next":"0001-01-01T00:00:00","LastUpdated":"0001-01-01T00:00:00"}"#,
        r#"{"Last":"not a date","Next":17,"LastUpdated":[]}"#,
    ];
    for status in statuses {
        let resp = app
            .post_chunked(
                "/orchestrator-timer",
                timer_payload("orchestrator-timer", status),
            )
            .await;
        assert_eq!(resp.status(), 200, "status {status}");
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["Outputs"], serde_json::json!({}));
        assert!(body["Logs"].is_array());
        assert!(body["ReturnValue"].is_null());
    }
    let runs = app.runner.passes();
    assert_eq!(runs.len(), 4);
    assert_eq!(
        runs[0],
        vec!["check", "escalation", "reminder", "invitation", "deadline"]
    );
    let resp = app
        .post_chunked("/reports-timer", timer_payload("reports-timer", "null"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.runner.passes().last().unwrap(),
        &vec!["report".to_string()]
    );
}

#[tokio::test]
async fn timer_with_garbage_or_empty_body_still_succeeds() {
    let app = spawn_app().await;
    for body in ["", "{not json", "[]"] {
        let resp = app
            .post_chunked("/orchestrator-timer", body.to_string())
            .await;
        assert_eq!(resp.status(), 200, "body {body:?}");
    }
}

#[tokio::test]
async fn failing_worker_is_reported_in_logs_with_a_2xx() {
    let app = spawn_app().await;
    app.runner.fail.store(true, Ordering::SeqCst);
    let resp = app
        .post_chunked(
            "/orchestrator-timer",
            timer_payload("orchestrator-timer", "null"),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    let logs = body["Logs"].to_string();
    assert!(logs.contains("failed"), "{logs}");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_404_with_security_headers() {
    let app = spawn_app().await;
    for (method, path) in [
        ("GET", "/nope"),
        ("GET", "/api/nope"),
        ("PUT", "/api/enrol"),
        ("DELETE", "/api/track-open"),
        ("GET", "/api/upload-users"),
        ("GET", "/api/admin/nope"),
        ("POST", "/not-a-function"),
        ("GET", "/orchestrator-timer"),
    ] {
        let resp =
            crate::helpers::as_host(app.client.request(method.parse().unwrap(), app.url(path)))
                .send()
                .await
                .unwrap();
        assert_eq!(resp.status(), 404, "{method} {path}");
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(h
            .get("access-control-allow-origin")
            .is_none_or(|v| v != "*"));
    }
}

#[tokio::test]
async fn non_forwarded_http_invocations_answer_with_outputs_res() {
    let app = spawn_app().await;
    let rec = &app.seed_sent(&["inv@contoso.com"]).await[0];
    let payload = serde_json::json!({
        "Data": {"req": {
            "Url": format!("http://localhost:7071/api/enrol?token={}", rec.token),
            "Method": "GET",
            "Query": {"token": rec.token.to_string()},
            "Headers": {"Accept": ["text/html"]},
            "Params": {},
            "Identities": []
        }},
        "Metadata": {"sys": {"MethodName": "enrol"}}
    });
    let resp = app.post_chunked("/enrol", payload.to_string()).await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["Outputs"]["res"]["statusCode"], "200");
    assert!(body["Outputs"]["res"]["body"]
        .as_str()
        .unwrap()
        .contains("Start MFA setup"));
    let payload =
        serde_json::json!({"Data": {"req": {"Method": "GET", "Query": {"token": "junk"}}}});
    let resp = app.post_chunked("/track-open", payload.to_string()).await;
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["Outputs"]["res"]["statusCode"], "200");
    assert_eq!(
        body["Outputs"]["res"]["headers"]["content-type"],
        "image/gif"
    );
}

#[tokio::test]
async fn graceful_shutdown_flushes_buffered_opens() {
    let app = spawn_app().await;
    let rec = &app.seed_sent(&["flush@contoso.com"]).await[0];
    let resp = app.track_open(&rec.token.to_string()).await;
    assert_eq!(resp.status(), 200);
    app.shutdown.shutdown();
    let app_server = app.server;
    tokio::time::timeout(std::time::Duration::from_secs(10), app_server)
        .await
        .expect("stops")
        .expect("joins")
        .expect("ok");
    let after = app.store.get_by_upn(&rec.upn).await.unwrap().unwrap();
    assert!(after.email_opened_date.is_some());
}
