//! Admin API: report, users, export, run, CORS.

use mfa_core::passes::PassState;
use serde_json::{json, Value};

use crate::helpers::{as_host, spawn_app, spawn_with, PORTAL};

#[tokio::test]
async fn report_summarises_and_counts_attention() {
    let app = spawn_app().await;
    app.seed_sent(&["r1@contoso.com", "r2@contoso.com"]).await;
    app.clock.advance(std::time::Duration::from_secs(4 * 86400));
    let resp = app.admin_get("report").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["summary"]["funnel"]["uploaded"], 2);
    assert_eq!(body["needingAttention"]["notClicked"], 2);
    assert!(body["generatedAt"].is_string());
    let body: Value = app
        .admin_get("report?staleDays=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["needingAttention"]["notClicked"], 0);
    assert_eq!(app.admin_get("report?staleDays=abc").await.status(), 400);
}

#[tokio::test]
async fn report_carries_directory_counts_and_the_pilot_scope() {
    use mfa_core::domain::{PerUserMfa, PhoneOutcome};
    let app = spawn_app().await;
    let body: Value = app.admin_get("report").await.json().await.unwrap();
    assert_eq!(body["summary"]["directory"]["phone"]["Provisioned"], 0);
    assert!(body["pilot"].is_null(), "no pilot configured");
    let recs = app
        .seed_sent(&["p1@contoso.com", "p2@contoso.com", "p3@contoso.com"])
        .await;
    for (rec, (o, m)) in recs.into_iter().zip([
        (Some(PhoneOutcome::Provisioned), Some(PerUserMfa::Enforced)),
        (Some(PhoneOutcome::InvalidNumber), None),
        (Some(PhoneOutcome::Provisioned), Some(PerUserMfa::Enabled)),
    ]) {
        let mut rec = rec;
        rec.phone_outcome = o;
        rec.per_user_mfa = m;
        app.save(&rec).await;
    }
    app.runner.state.lock().pilot = Some(json!({"groupId": "g1", "groupName": "MFA Pilot",
        "members": 3, "inScope": 3, "outOfScope": 7, "at": "2026-03-02T09:00:00Z"}));
    let body: Value = app.admin_get("report").await.json().await.unwrap();
    let d = &body["summary"]["directory"];
    assert_eq!(d["phone"]["Provisioned"], 2);
    assert_eq!(d["phone"]["InvalidNumber"], 1);
    assert_eq!(d["perUserMfa"]["enforced"], 1);
    assert_eq!(d["perUserMfa"]["enabled"], 1);
    assert_eq!(body["pilot"]["outOfScope"], 7);
    assert_eq!(body["pilot"]["groupName"], "MFA Pilot");
}

#[tokio::test]
async fn users_are_paged_and_filtered() {
    let app = spawn_app().await;
    app.seed_sent(&["u1@contoso.com", "u2@contoso.com", "u3@contoso.com"])
        .await;
    let body: Value = app
        .admin_get("users?page=0&pageSize=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 3);
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    let first = &body["items"][0];
    assert_eq!(first["upn"], "u1@contoso.com");
    assert_eq!(first["inviteStatus"], "Sent");
    assert!(first.get("trackingToken").is_some());
    assert!(first.get("emailOpenedDate").is_some());
    let body: Value = app.admin_get("users?search=u2").await.json().await.unwrap();
    assert_eq!(body["total"], 1);
    let body: Value = app
        .admin_get("users?status=Pending")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 0);
    for bad in [
        "users?status=Nope",
        "users?pageSize=0",
        "users?attention=what",
        "users?page=x",
    ] {
        assert_eq!(app.admin_get(bad).await.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn export_is_csv_with_the_old_header_and_a_dated_name() {
    let app = spawn_app().await;
    app.seed_sent(&["e1@contoso.com"]).await;
    let resp = app.admin_get("export?batchId=seed").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"mfa-report-seed-2026-03-02.csv\""
    );
    let text = resp.text().await.unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("Title,DisplayName,InviteStatus,InGroup,MFARegistrationState,MFARegistrationDate,TrackingToken,ClickedLinkDate,AddedToGroupDate,InviteSentDate,LastReminderDate,ReminderCount,LastChecked,EmailOpenedDate,EscalatedToManager,EscalationDate,ManagerUPN,Source,SourceBatchId,ErrorDetails,CorrelationId,ObjectId,Department,JobTitle"));
    let row = lines.next().unwrap();
    assert!(row.starts_with("e1@contoso.com,,Sent,FALSE,"), "{row}");
    assert_eq!(
        row.split(',').count(),
        header.split(',').count(),
        "a cell per column"
    );
    assert!(lines.next().is_none());
    let resp = app.admin_get("export").await;
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"mfa-report-2026-03-02.csv\""
    );
    // Nobody matches: the header alone.
    let text = app
        .admin_get("export?search=nobody")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(text.lines().collect::<Vec<_>>(), vec![header]);
}

/// The export leaves the personal link tokens out unless asked (`includeTokens=true`), and
/// carries notes apart from errors in the last column.
#[tokio::test]
async fn export_leaves_tokens_out_by_default_and_ends_with_notes() {
    let app = spawn_app().await;
    let mut rec = app.seed_sent(&["t1@contoso.com"]).await.remove(0);
    rec.add_note("No manager in Entra ID: escalation not sent.");
    let rec = app.save(&rec).await;
    let token = rec.token.to_string();
    let rows = |text: String| -> Vec<Vec<String>> {
        csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(|r| r.expect("row").iter().map(str::to_string).collect())
            .collect()
    };
    let header: Vec<String> = {
        let text = app.admin_get("export").await.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect()
    };
    let token_col = header.iter().position(|h| h == "TrackingToken").unwrap();
    assert_eq!(
        header[header.len() - 6..].join(","),
        "UpdatedAt,Notes,AdminHold,MfaStrength,MfaMethods,MfaTarget"
    );

    let plain = rows(app.admin_get("export").await.text().await.unwrap());
    assert_eq!(plain[0][token_col], "", "no token by default");
    assert!(!plain[0].iter().any(|c| c.contains(&token)));
    assert_eq!(
        plain[0][header.len() - 5],
        "No manager in Entra ID: escalation not sent."
    );
    let error_col = header.iter().position(|h| h == "ErrorDetails").unwrap();
    assert_eq!(plain[0][error_col], "", "a note is not an error");

    let with = rows(
        app.admin_get("export?includeTokens=true")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(with[0][token_col], token);
    for bad in ["maybe", "1", "yes"] {
        let resp = app.admin_get(&format!("export?includeTokens={bad}")).await;
        assert_eq!(resp.status(), 400, "{bad}");
        assert!(resp.text().await.unwrap().contains("includeTokens"));
    }
}

/// An export larger than one streamed chunk (64 KiB) has one header and every person once.
#[tokio::test]
async fn a_large_export_has_one_header_and_every_row() {
    use mfa_core::domain::{BatchId, NewPerson, Source, Upn};
    use mfa_core::store::{Store, UploadBatch, UpsertMode};
    let app = spawn_app().await;
    let people: Vec<NewPerson> = (0..1500)
        .map(|i| NewPerson::new(Upn::parse(&format!("person{i:04}@contoso.com")).unwrap()))
        .collect();
    let batch = UploadBatch {
        batch_id: BatchId::parse("big").unwrap(),
        source: Source::Manual,
        correlation_id: uuid::Uuid::new_v4(),
        now: crate::helpers::start_time(),
        mode: UpsertMode::KeepHistory,
        hold: false,
        target: None,
    };
    app.store.upsert_people(&batch, people).await.unwrap();
    let text = app.admin_get("export").await.text().await.unwrap();
    assert!(
        text.len() > 2 * 64 * 1024,
        "several chunks: {} bytes",
        text.len()
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1501);
    assert_eq!(lines.iter().filter(|l| l.starts_with("Title,")).count(), 1);
    let mut upns: Vec<&str> = lines[1..]
        .iter()
        .filter_map(|l| l.split(',').next())
        .collect();
    upns.dedup();
    assert_eq!(upns.len(), 1500);
}

#[tokio::test]
async fn run_uses_the_worker_and_reports() {
    let app = spawn_app().await;
    let resp = app
        .admin_run(&json!({"passes": ["invitation", "check"]}))
        .await;
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["report"]["runId"], "run-1");
    assert_eq!(
        app.runner.passes(),
        vec![vec!["invitation".to_string(), "check".to_string()]]
    );
    assert_eq!(
        app.admin_run(&json!({"passes": ["bogus"]})).await.status(),
        400
    );
    app.runner
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let resp = app.admin_run(&json!({"passes": ["report"]})).await;
    assert_eq!(resp.status(), 500);
    let text = resp.text().await.unwrap();
    assert!(
        !text.contains("/secret/path") && !text.contains("locked"),
        "{text}"
    );
}

#[tokio::test]
async fn cors_allows_only_the_portal() {
    let app = spawn_app().await;
    let pre = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/admin/users"))
        .header("Origin", PORTAL)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success());
    assert_eq!(pre.headers()["access-control-allow-origin"], PORTAL);
    assert!(pre.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("Authorization"));
    let evil = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/upload-users"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    let get = as_host(app.client.get(app.url("/api/admin/report")))
        .header("Origin", PORTAL)
        .send()
        .await
        .unwrap();
    assert_eq!(get.headers()["access-control-allow-origin"], PORTAL);
    let public = app
        .client
        .get(app.url("/api/enrol?token=x"))
        .header("Origin", PORTAL)
        .send()
        .await
        .unwrap();
    assert!(public
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn worker_absent_means_503_for_run() {
    let app = spawn_with(&[]).await;
    drop(app);
    // Covered by the binary wiring: runner None → 503. Built here through the library:
    let dir = tempfile::tempdir().unwrap();
    let vars = mfa_core::config::Vars::from_pairs([
        (
            "MFA_STORE",
            format!("sqlite:{}", dir.path().join("x.db").display()),
        ),
        ("FUNCTIONS_CUSTOMHANDLER_PORT", "0".into()),
        ("MFA_ADMIN_AUTH", "dev".into()),
    ]);
    let settings = mfa_handler::settings::HandlerSettings::from_vars(&vars).unwrap();
    let store = std::sync::Arc::new(
        mfa_core::store::sqlite::SqliteStore::open(dir.path().join("x.db"))
            .await
            .unwrap(),
    );
    let app = mfa_handler::startup::Application::build(
        settings,
        mfa_handler::startup::Deps {
            store,
            clock: std::sync::Arc::new(mfa_core::clock::SystemClock),
            runner: None,
            group: std::sync::Arc::new(mfa_handler::group::NoGroup),
        },
    )
    .await
    .unwrap();
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("http://127.0.0.1:{port}/api/admin/run"))
        .json(&json!({"passes": ["invitation"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let resp = client
        .post(format!("http://127.0.0.1:{port}/orchestrator-timer"))
        .body(crate::helpers::timer_payload("orchestrator-timer", "null"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["Logs"].to_string().contains("worker not available"));
}

#[tokio::test]
async fn report_shows_how_registrations_are_detected() {
    let app = spawn_app().await;
    let body: Value = app.admin_get("report").await.json().await.unwrap();
    assert_eq!(body["detection"]["mode"], Value::Null, "no check yet");
    assert_eq!(body["detection"]["reconciliation"], Value::Null);
    *app.runner.state.lock() = PassState {
        detection_mode: Some("events".into()),
        reconciliation: Some(json!({"lastAt": "2026-03-03T09:00:00Z", "source": "report",
            "lastFound": 2, "runningFound": 0, "totalFound": 5})),
        pilot: None,
        registration_campaign: Some(json!({"state": "enabled", "snoozeDays": 1})),
        tenant_strength: Some(json!({"byStrength": {"phone-only": 40, "app": 9}, "guests": 2})),
    };
    let body: Value = app.admin_get("report").await.json().await.unwrap();
    assert_eq!(body["detection"]["mode"], "events");
    assert_eq!(body["registrationCampaign"]["state"], "enabled");
    assert_eq!(body["tenantStrength"]["byStrength"]["phone-only"], 40);
    assert_eq!(body["detection"]["reconciliation"]["lastFound"], 2);
    assert_eq!(body["detection"]["reconciliation"]["totalFound"], 5);
}

#[tokio::test]
async fn report_fails_generically_when_the_worker_cannot_tell_its_state() {
    let app = spawn_app().await;
    app.runner
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let resp = app.admin_get("report").await;
    assert_eq!(resp.status(), 500);
    assert!(!resp.text().await.unwrap().contains("/secret/path"));
}
