//! The admin's controls through the API: held uploads and their release, pause and resume, one
//! person's page and actions, the preview, and the audit log that records every one of them
//! with the acting principal (App Service Authentication here) and where it came from.

use base64::Engine;
use mfa_core::control;
use mfa_core::domain::{Hold, InviteStatus};
use mfa_core::store::Store;
use serde_json::{json, Value};

use crate::helpers::{as_host, spawn_with, TestApp};

const ROLE: &str = "MfaOnboarding.Admin";

fn principal(name: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(
        json!({"auth_typ": "aad", "claims": [
            {"typ": "roles", "val": ROLE}, {"typ": "preferred_username", "val": name}]})
        .to_string(),
    )
}

/// An admin request as the Functions host forwards it, signed in as `ada@contoso.com`.
fn admin(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    as_host(app.client.request(method, app.url(path)))
        .header("X-MS-CLIENT-PRINCIPAL", principal("ada@contoso.com"))
        .header("X-MS-CLIENT-PRINCIPAL-IDP", "aad")
        .header("X-Forwarded-For", "198.51.100.23:50123")
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = admin(app, method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn spawn() -> TestApp {
    spawn_with(&[("MFA_ADMIN_AUTH", "easyauth")]).await
}

async fn upload(app: &TestApp, query: &str, csv: &str) -> (u16, Value) {
    let resp = admin(
        app,
        reqwest::Method::POST,
        &format!("/api/upload-users{query}"),
    )
    .header("Content-Type", "text/csv")
    .body(csv.to_string())
    .send()
    .await
    .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

#[tokio::test]
async fn a_held_upload_is_stored_held_and_released_with_a_time_and_a_daily_cap() {
    let app = spawn().await;
    let (status, body) = upload(
        &app,
        "?batchId=wave-2&hold=true&sendNow=true",
        "UPN\na@contoso.com\nb@contoso.com\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hold"], true);
    assert!(
        body["sendNow"].as_str().unwrap_or("").starts_with("held"),
        "{body}"
    );
    assert!(
        app.runner.passes().is_empty(),
        "a held upload starts no invitations"
    );
    let rec = app.record("a@contoso.com").await;
    assert_eq!(rec.hold, Some(Hold::Held));
    assert_eq!(rec.next_due_at, None);
    let (_, users) = call(
        &app,
        reqwest::Method::GET,
        "/api/admin/users?attention=held",
        None,
    )
    .await;
    assert_eq!(users["total"], 2);
    assert_eq!(users["items"][0]["hold"], "Held");

    // Bad input: a clear 4xx and nothing changes.
    let (status, _) = upload(&app, "?hold=maybe", "UPN\nc@contoso.com\n").await;
    assert_eq!(status, 400);
    for hold in [json!("ture"), json!(1)] {
        let resp = admin(&app, reqwest::Method::POST, "/api/upload-users")
            .json(&json!({"people": [{"upn": "c@contoso.com"}], "hold": hold}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            400,
            "JSON hold {hold} is refused, never read as not held"
        );
    }
    assert!(app
        .store
        .get_by_upn(&mfa_core::domain::Upn::parse("c@contoso.com").unwrap())
        .await
        .unwrap()
        .is_none());
    for (path, body, want) in [
        (
            "/api/admin/batches/wave-2/release",
            json!({"at": "next tuesday"}),
            400,
        ),
        (
            "/api/admin/batches/wave-2/release",
            json!({"perDay": 0}),
            400,
        ),
        (
            "/api/admin/batches/wave-2/release",
            json!({"when": "now"}),
            400,
        ),
        ("/api/admin/batches/no-such-batch/release", json!({}), 409),
        ("/api/admin/batches/bad%20id!/release", json!({}), 400),
    ] {
        let (status, answer) = call(&app, reqwest::Method::POST, path, Some(body.clone())).await;
        assert_eq!(status, want, "{path} {body}: {answer}");
    }
    assert!(control::load(app.store.as_ref())
        .await
        .unwrap()
        .releases
        .is_empty());

    let at = "2026-03-05T08:00:00Z";
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/admin/batches/wave-2/release",
        Some(json!({"at": at, "perDay": 500})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["held"], 2);
    assert_eq!(body["invitationsStarted"], false, "released for later");
    let c = control::load(app.store.as_ref()).await.unwrap();
    let r = &c.releases["wave-2"];
    assert_eq!(r.at.to_rfc3339(), "2026-03-05T08:00:00+00:00");
    assert_eq!(r.per_day, Some(500));
    assert_eq!(r.by, "ada@contoso.com");
    // Released now: the invitation pass starts at once.
    upload(&app, "?batchId=wave-3&hold=true", "UPN\nd@contoso.com\n").await;
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/admin/batches/wave-3/release",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["invitationsStarted"], true);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(app.runner.passes(), vec![vec!["invitation".to_string()]]);
}

#[tokio::test]
async fn pause_and_resume_are_switches_with_clear_refusals() {
    let app = spawn().await;
    let (status, body) = call(&app, reqwest::Method::GET, "/api/admin/campaign", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["paused"], false);
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/admin/campaign/resume",
        None,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/admin/campaign/pause",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["paused"], true);
    assert_eq!(body["pausedBy"], "ada@contoso.com");
    let (status, _) = call(
        &app,
        reqwest::Method::POST,
        "/api/admin/campaign/pause",
        None,
    )
    .await;
    assert_eq!(status, 409, "already paused");
    // Links keep working while paused.
    let rec = app.seed_sent(&["p@contoso.com"]).await.remove(0);
    let resp = app.enrol_post(&rec.token.to_string()).await;
    assert!(resp.status().is_success() || resp.status().is_redirection());
    assert_ne!(app.record("p@contoso.com").await.status, InviteStatus::Sent);
    app.clock.advance(std::time::Duration::from_secs(3600));
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/admin/campaign/resume",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["paused"], false);
    assert_eq!(body["pauses"].as_array().map(Vec::len), Some(1));
    // Unauthenticated: refused.
    let resp = as_host(app.client.post(app.url("/api/admin/campaign/pause")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn a_person_page_shows_the_timeline_and_each_action_is_checked() {
    let app = spawn().await;
    app.seed_sent(&["ann@contoso.com"]).await;
    let (status, body) = call(
        &app,
        reqwest::Method::GET,
        "/api/admin/users/ann%40contoso.com",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["person"]["upn"], "ann@contoso.com");
    let what: Vec<String> = body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap().to_string())
        .collect();
    assert!(what[0].starts_with("uploaded in batch seed"), "{what:?}");
    assert!(what.iter().any(|w| w == "invitation sent"), "{what:?}");

    let (status, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/admin/users/nobody@contoso.com",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/admin/users/not-an-address",
        None,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = call(
        &app,
        reqwest::Method::POST,
        "/api/admin/users/ann@contoso.com/explode",
        None,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = call(
        &app,
        reqwest::Method::POST,
        "/api/admin/users/ann@contoso.com/include",
        None,
    )
    .await;
    assert_eq!(status, 409, "not excluded");

    let post = |action: &'static str| {
        let app = &app;
        async move {
            call(
                app,
                reqwest::Method::POST,
                &format!("/api/admin/users/ann@contoso.com/{action}"),
                None,
            )
            .await
        }
    };
    let (status, body) = post("exclude").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["person"]["hold"], "Excluded");
    assert_eq!(app.record("ann@contoso.com").await.next_due_at, None);
    assert_eq!(post("exclude").await.0, 409);
    assert_eq!(post("send-link").await.0, 409, "excluded: include first");
    assert_eq!(post("include").await.0, 200);
    let before = app.record("ann@contoso.com").await;
    let (status, body) = post("send-link").await;
    assert_eq!(status, 200, "{body}");
    let after = app.record("ann@contoso.com").await;
    assert_eq!(
        after.status,
        InviteStatus::Pending,
        "queued for a new invitation"
    );
    assert_ne!(
        after.token, before.token,
        "a new link; the old one stops working"
    );
    assert_eq!(body["invitationsStarted"], true);
    let (status, _) = post("reset").await;
    assert_eq!(status, 200);
    assert_eq!(app.record("ann@contoso.com").await.reminder_count, 0);

    let (_, body) = call(
        &app,
        reqwest::Method::GET,
        "/api/admin/users/ann@contoso.com",
        None,
    )
    .await;
    let timeline = body["timeline"].as_array().unwrap();
    // Each action once: the record's line, with the admin who acted (the audit entry says the
    // same, so it is not repeated as an "admin: person.…" line).
    for line in [
        "excluded: never emailed again",
        "included again",
        "queued for a new invitation",
        "restarted from the beginning",
    ] {
        let shown: Vec<_> = timeline
            .iter()
            .filter(|e| e["what"] == format!("{line} (by ada@contoso.com)").as_str())
            .collect();
        assert_eq!(shown.len(), 1, "{line} once: {timeline:?}");
        assert_eq!(shown[0]["by"], "ada@contoso.com", "{timeline:?}");
    }
    assert!(
        !timeline
            .iter()
            .any(|e| e["what"].as_str().unwrap().starts_with("admin: person.")),
        "an action shown twice: {timeline:?}"
    );

    let (status, body) = post("remove").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/admin/users/ann@contoso.com",
        None,
    )
    .await;
    assert_eq!(status, 404, "removed from tracking");
}

#[tokio::test]
async fn the_preview_and_sample_emails_answer_and_refuse_bad_input() {
    let app = spawn().await;
    let (status, body) = call(&app, reqwest::Method::GET, "/api/admin/preview", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 0);
    let requests = app.runner.requests.lock().clone();
    assert!(
        requests.iter().all(|r| r.dry_run),
        "the preview is a dry run"
    );
    app.seed_sent(&["s@contoso.com"]).await;
    let (status, body) = call(
        &app,
        reqwest::Method::GET,
        "/api/admin/preview/email?kind=reminder&upn=s@contoso.com",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subject"], "sample reminder");
    for (query, want) in [
        ("kind=postcard&upn=s@contoso.com", 400),
        ("kind=invitation", 400),
        ("kind=invitation&upn=nope", 400),
        ("kind=report", 200),
    ] {
        let (status, body) = call(
            &app,
            reqwest::Method::GET,
            &format!("/api/admin/preview/email?{query}"),
            None,
        )
        .await;
        assert_eq!(status, want, "{query}: {body}");
    }
}

#[tokio::test]
async fn every_admin_action_is_in_the_audit_log_with_who_and_from_where_and_cannot_be_edited() {
    let app = spawn().await;
    upload(&app, "?batchId=wave-9&hold=true", "UPN\nz@contoso.com\n").await;
    call(
        &app,
        reqwest::Method::POST,
        "/api/admin/batches/wave-9/release",
        None,
    )
    .await;
    call(
        &app,
        reqwest::Method::POST,
        "/api/admin/campaign/pause",
        None,
    )
    .await;
    call(
        &app,
        reqwest::Method::POST,
        "/api/admin/campaign/resume",
        None,
    )
    .await;
    call(
        &app,
        reqwest::Method::POST,
        "/api/admin/users/z@contoso.com/exclude",
        None,
    )
    .await;
    call(
        &app,
        reqwest::Method::POST,
        "/api/admin/run",
        Some(json!({"passes": ["check"]})),
    )
    .await;
    // Another run in progress: 409 with a readable message, not a 500.
    app.runner
        .busy
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/admin/run",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("in progress"));
    app.runner
        .busy
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let resp = admin(
        &app,
        reqwest::Method::GET,
        "/api/admin/export?includeTokens=true",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, body) = call(
        &app,
        reqwest::Method::GET,
        "/api/admin/audit?pageSize=50",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "export.tokens",
            "run",
            "run",
            "person.exclude",
            "campaign.resume",
            "campaign.pause",
            "batch.release",
            "upload"
        ],
        "newest first"
    );
    for e in items {
        assert_eq!(e["actor"], "ada@contoso.com");
        assert_eq!(e["origin"], "198.51.100.23");
        assert!(e["at"].is_string() && e["id"].is_string());
    }
    assert_eq!(items[6]["target"], "wave-9");
    assert!(items[7]["detail"]
        .as_str()
        .unwrap()
        .contains("held until released"));
    // Paged, filtered by target, and as CSV.
    let (_, page) = call(
        &app,
        reqwest::Method::GET,
        "/api/admin/audit?page=1&pageSize=3",
        None,
    )
    .await;
    assert_eq!(page["total"], 8);
    assert_eq!(page["items"][0]["action"], "person.exclude");
    let (_, mine) = call(
        &app,
        reqwest::Method::GET,
        "/api/admin/audit?target=z@contoso.com",
        None,
    )
    .await;
    assert_eq!(mine["total"], 1);
    let resp = admin(&app, reqwest::Method::GET, "/api/admin/audit?format=csv")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("mfa-audit-"));
    let csv = resp.text().await.unwrap();
    assert!(
        csv.starts_with("At,Actor,Origin,Action,Target,Detail,Id"),
        "{csv}"
    );
    let rows = csv::Reader::from_reader(csv.as_bytes()).records().count();
    assert_eq!(rows, 8, "{csv}");
    for (q, want) in [
        ("pageSize=0", 400),
        ("pageSize=5000", 400),
        ("format=xml", 400),
        ("page=x", 400),
    ] {
        let (status, _) = call(
            &app,
            reqwest::Method::GET,
            &format!("/api/admin/audit?{q}"),
            None,
        )
        .await;
        assert_eq!(status, want, "{q}");
    }
    // Append-only: nothing changes or deletes an entry.
    for method in [
        reqwest::Method::DELETE,
        reqwest::Method::PUT,
        reqwest::Method::POST,
        reqwest::Method::PATCH,
    ] {
        let status = admin(&app, method.clone(), "/api/admin/audit")
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            status == 404 || status == 405,
            "{method} /api/admin/audit: {status}"
        );
        let id = items[0]["id"].as_str().unwrap();
        let status = admin(&app, method.clone(), &format!("/api/admin/audit/{id}"))
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            status == 404 || status == 405,
            "{method} /api/admin/audit/{id}: {status}"
        );
    }
    let (_, after) = call(&app, reqwest::Method::GET, "/api/admin/audit", None).await;
    assert_eq!(after["total"], 8, "unchanged");
}

#[tokio::test]
async fn find_people_previews_then_adds_one_batch_and_refuses_bad_input() {
    let app = spawn().await;
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/admin/find-people",
        Some(json!({"below": "beyond-phone"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 2);
    assert_eq!(body["committed"], false);
    assert_eq!(body["guests"], 1);
    let (_, users) = call(&app, reqwest::Method::GET, "/api/admin/users", None).await;
    assert_eq!(users["total"], 0, "a preview stores nothing");
    for bad in [
        json!({"below": "strong"}),
        json!({"below": "any", "groupId": "finance"}),
        json!({"below": "any", "colour": "red"}),
        json!({}),
    ] {
        let (status, body) = call(
            &app,
            reqwest::Method::POST,
            "/api/admin/find-people",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/admin/find-people",
        Some(json!({"below": "phishing-resistant", "commit": true, "hold": true, "batchId": "found"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["inserted"], 2);
    let rec = app.record("found1@contoso.com").await;
    assert_eq!(rec.batch_id.as_str(), "found");
    assert_eq!(rec.hold, Some(Hold::Held));
    let (_, audit) = call(&app, reqwest::Method::GET, "/api/admin/audit", None).await;
    assert_eq!(audit["items"][0]["action"], "find-people");
    assert_eq!(audit["items"][0]["actor"], "ada@contoso.com");
}

#[tokio::test]
async fn an_upload_can_set_its_target_strength_and_a_bad_one_is_refused() {
    let app = spawn().await;
    let (status, body) = upload(&app, "?target=strongest", "UPN\nt@contoso.com\n").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("beyond-phone"),
        "{body}"
    );
    let (status, body) = upload(&app, "?target=phishing-resistant", "UPN\nt@contoso.com\n").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["target"], "phishing-resistant");
    let rec = app.record("t@contoso.com").await;
    assert_eq!(
        rec.target,
        Some(mfa_core::domain::TargetStrength::PhishingResistant)
    );
    let (_, page) = call(
        &app,
        reqwest::Method::GET,
        "/api/admin/users/t@contoso.com",
        None,
    )
    .await;
    assert_eq!(page["person"]["target"], "phishing-resistant");
}
