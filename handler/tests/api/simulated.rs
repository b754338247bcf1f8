//! The production wiring end to end: the handler with the real worker and Graph group client,
//! against the tenant simulator, driven the way the Functions host and a person drive it.

use std::sync::Arc;

use mfa_core::bootstrap::GraphTokens;
use mfa_core::clock::{Clock, ManualClock, SharedClock};
use mfa_core::config::Vars;
use mfa_core::graph::IssuedTokens;
use mfa_handler::settings::HandlerSettings;
use mfa_handler::startup::Application;
use mfa_handler::wiring::production_deps_with;
use tenant_sim::{Licence, MethodKind, NewUser, SimClock, SimConfig, Simulator};

use crate::helpers::{as_host, start_time, timer_payload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_invite_click_register_through_the_real_wiring() {
    mfa_core::telemetry::init_for_tests();
    let clock = ManualClock::new(start_time());
    let c = clock.clone();
    let sim = Simulator::start(SimConfig {
        clock: SimClock::from_fn(Arc::new(move || c.now())),
        licence: Licence::P1,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let tenant = sim.tenant();
    let domain = tenant.domain();
    let group = tenant.add_group("MFA Required");
    let mailbox = format!("mfa@{domain}");
    tenant.add_mailbox(&mailbox).expect("mailbox");
    let person = format!("pat@{domain}");
    tenant
        .add_user(NewUser {
            user_principal_name: person.clone(),
            display_name: Some("Pat Person".into()),
            mail: Some(person.clone()),
            account_enabled: Some(true),
            ..NewUser::default()
        })
        .expect("user");
    let dir = tempfile::tempdir().expect("temp dir");
    let vars = Vars::from_pairs([
        (
            "MFA_STORE",
            format!("sqlite:{}", dir.path().join("e2e.db").display()),
        ),
        ("FUNCTIONS_CUSTOMHANDLER_PORT", "0".into()),
        ("MFA_GRAPH_BASE_URL", sim.base_url()),
        ("MFA_GROUP_ID", group.id.clone()),
        ("MFA_SENDER_MAILBOXES", mailbox.clone()),
        ("MFA_ADMIN_AUTH", "dev".into()),
        ("MFA_PUBLIC_BASE_URL", "https://mfa.contoso.test".into()),
    ]);
    let settings = HandlerSettings::from_vars(&vars).expect("settings");
    let shared: SharedClock = Arc::new(clock.clone());
    // The simulator's tokens, issued in process (azure_identity talks only to real authorities).
    let issuer = sim.tenant();
    let tokens = GraphTokens::Supplied(Arc::new(IssuedTokens::new(move || issuer.issue_token())));
    let deps = production_deps_with(&settings, &vars, shared, &tokens)
        .await
        .expect("wiring");
    assert!(deps.runner.is_some(), "the worker is wired in");
    let app = Application::build(settings, deps).await.expect("build");
    let base = format!("http://127.0.0.1:{}", app.port());
    let _server = tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // The admin uploads Pat.
    let up = as_host(http.post(format!("{base}/api/upload-users?batchId=e2e")))
        .header("Content-Type", "text/csv")
        .body(format!("UPN,DisplayName\n{person},Pat Person\n"))
        .send()
        .await
        .expect("upload");
    assert_eq!(up.status(), 200, "{:?}", up.text().await);

    // The orchestrator timer fires the way the host sends it.
    let timer = http
        .post(format!("{base}/orchestrator-timer"))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(timer_payload("orchestrator-timer", "null"))
        .send()
        .await
        .expect("timer");
    assert_eq!(timer.status(), 200);
    let outbox = tenant.outbox();
    assert_eq!(outbox.len(), 1, "one invitation");
    assert_eq!(outbox[0].sender.to_ascii_lowercase(), mailbox);
    let body = &outbox[0].body;
    let start =
        body.find("/api/enrol?token=").expect("link in the email") + "/api/enrol?token=".len();
    let token = &body[start..start + 36];

    // A link scanner's GET changes nothing; the person's confirmation adds them to the group.
    let scan = as_host(http.get(format!("{base}/api/enrol?token={token}")))
        .send()
        .await
        .expect("scan");
    assert_eq!(scan.status(), 200);
    assert!(
        tenant.group_members(&group.id).expect("members").is_empty(),
        "a GET is not a click"
    );
    let click = as_host(http.post(format!("{base}/api/enrol")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .expect("click");
    assert_eq!(click.status(), 200);
    let members = tenant.group_members(&group.id).expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user_principal_name.to_ascii_lowercase(), person);

    // Pat registers; the next timer run marks them Active.
    tenant
        .register_mfa(&person, MethodKind::MicrosoftAuthenticator)
        .expect("register");
    clock.advance(std::time::Duration::from_secs(900));
    http.post(format!("{base}/orchestrator-timer"))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(timer_payload("orchestrator-timer", "null"))
        .send()
        .await
        .expect("timer");
    let report: serde_json::Value = as_host(http.get(format!("{base}/api/admin/report")))
        .send()
        .await
        .expect("report")
        .json()
        .await
        .expect("json");
    assert_eq!(report["summary"]["byStatus"]["Active"], 1, "{report}");
    assert_eq!(report["summary"]["funnel"]["inGroup"], 1, "{report}");
    // The worker tells the report how it detected the registration.
    assert!(
        ["events", "report", "per-user"]
            .contains(&report["detection"]["mode"].as_str().unwrap_or("")),
        "{report}"
    );
    assert!(tenant.violations().is_empty(), "{:?}", tenant.violations());
}
