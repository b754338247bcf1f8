//! Enrol: branded outcomes, scanner safety, click once, group add exactly once.

use std::sync::atomic::Ordering;

use mfa_core::domain::{InviteStatus, StatusEvent, TrackingToken};

use crate::helpers::spawn_app;

async fn page(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let h = resp.headers().clone();
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    (status, resp.text().await.unwrap())
}

#[tokio::test]
async fn scanner_get_records_nothing_and_shows_the_button() {
    let app = spawn_app().await;
    let rec = &app.seed_sent(&["ann@contoso.com"]).await[0];
    for _ in 0..3 {
        let (status, body) = page(app.enrol_get(&rec.token.to_string()).await).await;
        assert_eq!(status, 200);
        assert!(body.contains("Start MFA setup"));
        assert!(body.contains(&format!("value=\"{}\"", rec.token)));
    }
    let after = app.record("ann@contoso.com").await;
    assert_eq!(after.status, InviteStatus::Sent);
    assert!(after.clicked_link_date.is_none());
    assert_eq!(app.group.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn post_records_the_click_adds_to_group_and_redirects() {
    let app = spawn_app().await;
    let rec = &app.seed_sent(&["bob@contoso.com"]).await[0];
    let (status, body) = page(app.enrol_post(&rec.token.to_string()).await).await;
    assert_eq!(status, 200);
    assert!(body.contains("MFA Enrolment Started"));
    assert!(body.contains("#0078D4"));
    assert!(body.contains("https://aka.ms/mfasetup"));
    assert!(body.contains("content=\"6;url=https://aka.ms/mfasetup\""));
    let after = app.record("bob@contoso.com").await;
    assert_eq!(after.status, InviteStatus::AddedToGroup);
    assert!(after.in_group);
    assert_eq!(after.clicked_link_date, Some(app.clock.now_utc()));
    assert_eq!(after.added_to_group_date, Some(app.clock.now_utc()));
    assert!(after.object_id.is_some());
    assert_eq!(app.group.calls.load(Ordering::SeqCst), 1);

    // A second click changes nothing and sends them on: they clicked but have not registered,
    // so the page says to continue (not "Already Registered").
    let before = app.record("bob@contoso.com").await;
    let (status, body) = page(app.enrol_post(&rec.token.to_string()).await).await;
    assert_eq!(status, 200);
    assert!(body.contains("Continue Your Setup"), "{body}");
    assert!(!body.contains("Already Registered"));
    assert!(body.contains("#0078D4"));
    assert!(body.contains("https://aka.ms/mfasetup"));
    assert_eq!(app.record("bob@contoso.com").await.version, before.version);
    assert_eq!(app.group.calls.load(Ordering::SeqCst), 1);
    // And a GET now shows the same outcome rather than the button.
    let (_, body) = page(app.enrol_get(&rec.token.to_string()).await).await;
    assert!(body.contains("Continue Your Setup"));
    assert!(!body.contains("Start MFA setup"));
}

#[tokio::test]
async fn twenty_concurrent_clicks_add_to_the_group_once() {
    let app = spawn_app().await;
    let rec = &app.seed_sent(&["race@contoso.com"]).await[0];
    let token = rec.token.to_string();
    let clicks = (0..20).map(|_| app.enrol_post(&token));
    let responses = futures::future::join_all(clicks).await;
    let mut started = 0;
    for resp in responses {
        let (status, body) = page(resp).await;
        assert_eq!(status, 200);
        if body.contains("MFA Enrolment Started") {
            started += 1;
        } else {
            assert!(body.contains("Continue Your Setup"));
        }
    }
    assert_eq!(started, 1);
    assert_eq!(app.group.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        app.record("race@contoso.com").await.status,
        InviteStatus::AddedToGroup
    );
}

#[tokio::test]
async fn branded_outcomes_have_their_status_and_colour() {
    let app = spawn_app().await;
    let unknown = TrackingToken::generate().to_string();
    let (s, b) = page(app.enrol_get(&unknown).await).await;
    assert_eq!(s, 404);
    assert!(b.contains("Link Not Recognised") && b.contains("#f57c00"));
    assert!(
        b.contains("<form method=\"post\" action=\"resend\">") && b.contains("name=\"email\""),
        "an old link's page offers a new link: {b}"
    );
    let (s, _) = page(app.enrol_post(&unknown).await).await;
    assert_eq!(s, 404);
    for bad in [
        "",
        "not-a-token",
        "%3Cscript%3E",
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    ] {
        let (s, b) = page(app.enrol_get(bad).await).await;
        assert_eq!(s, 400, "token {bad:?}");
        assert!(b.contains("Invalid Link") && b.contains("#d32f2f"));
        assert!(b.contains("action=\"resend\""), "token {bad:?}");
    }
    let (s, _) = page(app.get("/api/enrol").await).await;
    assert_eq!(s, 400);

    let mut done = app.seed_sent(&["done@contoso.com"]).await.remove(0);
    done.apply(StatusEvent::MfaRegistered, app.clock.now_utc())
        .unwrap();
    let done = app.save(&done).await;
    let (s, b) = page(app.enrol_post(&done.token.to_string()).await).await;
    assert_eq!(s, 200);
    assert!(b.contains("Already Registered") && b.contains("#4caf50"));
    assert_eq!(app.record("done@contoso.com").await.version, done.version);
}

#[tokio::test]
async fn group_failure_still_records_the_click_and_starts() {
    let app = spawn_app().await;
    app.group.fail.store(true, Ordering::SeqCst);
    let rec = &app.seed_sent(&["fail@contoso.com"]).await[0];
    let (s, b) = page(app.enrol_post(&rec.token.to_string()).await).await;
    assert_eq!(s, 200);
    assert!(b.contains("MFA Enrolment Started"));
    assert!(!b.contains("503"));
    let after = app.record("fail@contoso.com").await;
    assert_eq!(after.status, InviteStatus::Clicked);
    assert!(!after.in_group);
    assert!(after.next_due_at.is_some());
}

#[tokio::test]
async fn without_a_group_the_click_is_recorded_and_left_clicked() {
    let app = crate::helpers::spawn_with(&[("MFA_GROUP_ID", "")]).await;
    let rec = &app.seed_sent(&["nogroup@contoso.com"]).await[0];
    let (s, _) = page(app.enrol_post(&rec.token.to_string()).await).await;
    assert_eq!(s, 200);
    assert_eq!(app.group.calls.load(Ordering::SeqCst), 0);
    let after = app.record("nogroup@contoso.com").await;
    assert_eq!(after.status, InviteStatus::Clicked);
    assert_eq!(after.next_due_at, Some(app.clock.now_utc()));
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    let rec = &app.seed_sent(&["csrf@contoso.com"]).await[0];
    let resp = crate::helpers::as_host(app.client.post(app.url("/api/enrol")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Sec-Fetch-Site", "cross-site")
        .body(format!("token={}", rec.token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        app.record("csrf@contoso.com").await.status,
        InviteStatus::Sent
    );
}

trait NowUtc {
    fn now_utc(&self) -> chrono::DateTime<chrono::Utc>;
}

impl NowUtc for mfa_core::clock::ManualClock {
    fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        mfa_core::clock::Clock::now(self)
    }
}

#[tokio::test]
async fn head_answers_like_get_without_a_body_and_counts_nothing() {
    let app = spawn_app().await;
    let rec = &app.seed_sent(&["head@contoso.com"]).await[0];
    let token = rec.token.to_string();
    let unknown = TrackingToken::generate().to_string();
    for path in [
        format!("/api/enrol?token={token}"),
        format!("/api/enrol?token={unknown}"),
        "/api/enrol".to_string(),
        "/api/resend".to_string(),
        format!("/api/track-open?token={token}"),
    ] {
        let get = app.get(&path).await;
        let head = crate::helpers::as_host(app.client.head(app.url(&path)))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        for name in ["content-type", "cache-control", "content-security-policy"] {
            // The script nonce is new on every response.
            let value = |r: &reqwest::Response| {
                r.headers().get(name).map(|v| {
                    let v = v.to_str().unwrap_or_default();
                    v.split("'nonce-").next().unwrap_or_default().to_string()
                })
            };
            assert_eq!(value(&head), value(&get), "{path}: {name}");
        }
        assert!(head.bytes().await.unwrap().is_empty(), "{path}: no body");
        assert!(!get.bytes().await.unwrap().is_empty(), "{path}");
    }
    // The GET of the pixel above counted one open; the HEAD none.
    assert_eq!(app.opens.flush().await, 1);
    let after = app.record("head@contoso.com").await;
    assert_eq!(after.status, InviteStatus::Sent, "a HEAD clicks nothing");
    assert!(after.email_opened_date.is_some());
}
