use crate::helpers::*;
use serde_json::json;
use std::time::Duration;
use tenant_sim::{Category, ViolationKind};

const SENDER: &str = "mfa-noreply@contoso.example";

async fn mail_sim(config: tenant_sim::SimConfig) -> TestSim {
    let t = spawn(config).await;
    t.tenant().add_mailbox(SENDER).unwrap();
    t
}

fn send_path() -> String {
    format!("/v1.0/users/{SENDER}/sendMail")
}

#[tokio::test]
async fn send_mail_lands_in_the_outbox() {
    let t = mail_sim(Default::default()).await;
    let r = t
        .post(
            &send_path(),
            mail_body(&["ada@contoso.example"], "Set up MFA"),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let out = t.tenant().outbox();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].sender, SENDER);
    assert_eq!(out[0].to[0].address, "ada@contoso.example");
    assert_eq!(out[0].subject, "Set up MFA");
    assert_eq!(out[0].content_type, "HTML");
    assert_eq!(
        out[0].headers,
        vec![("x-mfa-token".to_string(), "abc".to_string())]
    );
    assert!(!out[0].save_to_sent_items);
    assert_eq!(out[0].at, t.sim.clock().now());
}

#[tokio::test]
async fn send_mail_validation_errors() {
    let t = mail_sim(Default::default()).await;
    t.tenant()
        .add_user(tenant_sim::NewUser::upn("person@contoso.example"))
        .unwrap();
    let mut bad_header = mail_body(&["a@contoso.example"], "s");
    bad_header["message"]["internetMessageHeaders"] = json!([{"name": "Tracking", "value": "1"}]);
    let mut bad_type = mail_body(&["a@contoso.example"], "s");
    bad_type["message"]["body"]["contentType"] = json!("markdown");
    let cases = [
        (
            send_path(),
            mail_body(&[], "s"),
            400,
            "ErrorInvalidRecipients",
            "no recipients",
        ),
        (
            send_path(),
            mail_body(&["not-an-address"], "s"),
            400,
            "ErrorInvalidRecipients",
            "bad address",
        ),
        (
            send_path(),
            bad_header,
            400,
            "InvalidInternetMessageHeader",
            "header without x-",
        ),
        (
            send_path(),
            bad_type,
            400,
            "RequestBodyRead",
            "bad content type",
        ),
        (
            send_path(),
            json!({"saveToSentItems": false}),
            400,
            "RequestBodyRead",
            "no message",
        ),
        (
            "/v1.0/users/nobody@contoso.example/sendMail".to_string(),
            mail_body(&["a@contoso.example"], "s"),
            404,
            "ErrorInvalidUser",
            "unknown sender",
        ),
        (
            "/v1.0/users/person@contoso.example/sendMail".to_string(),
            mail_body(&["a@contoso.example"], "s"),
            403,
            "ErrorAccessDenied",
            "not a sender mailbox",
        ),
    ];
    for (path, body, status, code, why) in cases {
        let r = t.post(&path, body).await;
        assert_eq!((r.status, r.code()), (status, code), "{why}: {}", r.body);
    }
    assert!(t.tenant().outbox().is_empty());
    assert!(t.tenant().violations().is_empty());
}

#[tokio::test]
async fn thirty_first_message_in_a_minute_is_refused_and_recorded() {
    let t = mail_sim(Default::default()).await;
    for i in 0..30 {
        let r = t
            .post(
                &send_path(),
                mail_body(&["a@contoso.example"], &format!("m{i}")),
            )
            .await;
        assert_eq!(r.status, 202, "message {i}");
    }
    let r = t
        .post(&send_path(), mail_body(&["a@contoso.example"], "m31"))
        .await;
    assert_graph_error(&r, 429, "ApplicationThrottled");
    assert_eq!(r.header("retry-after").as_deref(), Some("60"));
    let v = t.tenant().violations();
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0].kind, v[0].category),
        (ViolationKind::LimitExceeded, Category::Mail)
    );
    assert_eq!(t.tenant().outbox().len(), 30);
    t.sim.clock().advance(Duration::from_secs(60));
    let r = t
        .post(&send_path(), mail_body(&["a@contoso.example"], "m31"))
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(
        t.tenant().violations().len(),
        1,
        "waiting Retry-After is not a violation"
    );
}

#[tokio::test]
async fn recipients_are_limited_per_rolling_day() {
    let mut config = tenant_sim::SimConfig::default();
    config.limits.mail_recipients_per_day = 5;
    let mut t = mail_sim(config).await;
    let r = t
        .post(
            &send_path(),
            mail_body(&["a@x.example", "b@x.example", "c@x.example"], "1"),
        )
        .await;
    assert_eq!(r.status, 202);
    t.advance(3600).await;
    assert_eq!(
        t.post(
            &send_path(),
            mail_body(&["d@x.example", "e@x.example"], "2")
        )
        .await
        .status,
        202
    );
    t.advance(3600).await;
    let r = t.post(&send_path(), mail_body(&["f@x.example"], "3")).await;
    assert_eq!(r.status, 429);
    // The first three recipients leave the window 24 h after they were sent: 22 h from now.
    assert_eq!(
        r.header("retry-after").as_deref(),
        Some(&*(22 * 3600).to_string())
    );
    t.advance(22 * 3600).await;
    assert_eq!(
        t.post(&send_path(), mail_body(&["f@x.example"], "3"))
            .await
            .status,
        202
    );
}

#[tokio::test]
async fn more_than_four_concurrent_requests_per_mailbox_are_refused() {
    let t = mail_sim(Default::default()).await;
    t.tenant().add_fault(tenant_sim::FaultRule {
        matcher: tenant_sim::FaultMatcher {
            path_contains: Some("/sendMail".into()),
            ..Default::default()
        },
        trigger: tenant_sim::FaultTrigger::Always,
        action: tenant_sim::FaultAction::Delay { ms: 300 },
    });
    let path = send_path();
    let futs = (0..5).map(|i| t.post(&path, mail_body(&["a@contoso.example"], &format!("c{i}"))));
    let results = futures::future::join_all(futs).await;
    let mut statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, vec![202, 202, 202, 202, 429]);
    assert_eq!(t.tenant().violations().len(), 1);
}
