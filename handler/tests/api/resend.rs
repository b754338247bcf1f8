//! Resend: identical answers, rate limits, new token, history kept.

use std::time::{Duration, Instant};

use mfa_core::domain::InviteStatus;

use crate::helpers::spawn_app;

async fn wait_for<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..50 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answer() {
    let app = spawn_app().await;
    app.seed_sent(&["known@contoso.com"]).await;
    let mut bodies = Vec::new();
    let mut times = Vec::new();
    for email in [
        "known@contoso.com",
        "nobody@contoso.com",
        "not an address",
        "",
    ] {
        let started = Instant::now();
        let resp = app.resend(email, "203.0.113.5").await;
        times.push(started.elapsed());
        assert_eq!(resp.status(), 200);
        let body = resp.text().await.unwrap();
        // The CSP nonce differs per response; everything else must be identical.
        let without_nonce: String = body
            .lines()
            .filter(|l| !l.contains("nonce"))
            .collect::<Vec<_>>()
            .join("\n");
        bodies.push(without_nonce);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    assert!(bodies[0].contains("Check Your Inbox"));
    let slowest = times.iter().max().unwrap();
    assert!(
        *slowest < Duration::from_millis(500),
        "answers do not wait for the store: {times:?}"
    );
}

#[tokio::test]
async fn resend_requeues_with_a_new_token_and_keeps_history() {
    let app = spawn_app().await;
    let mut rec = app.seed_sent(&["lost@contoso.com"]).await.remove(0);
    rec.reminder_count = 2;
    rec.escalated_to_manager = true;
    let rec = app.save(&rec).await;
    let old_token = rec.token;
    app.resend("Lost@Contoso.com", "203.0.113.6").await;
    assert!(wait_for(|| async { app.record("lost@contoso.com").await.resend_count == 1 }).await);
    let after = app.record("lost@contoso.com").await;
    assert_eq!(after.status, InviteStatus::Pending);
    assert_ne!(after.token, old_token);
    assert_eq!(after.reminder_count, 2);
    assert!(after.escalated_to_manager);
    assert!(after.last_resend_at.is_some());
    assert!(after.next_due_at.is_some());
    let resp = app.enrol_get(&old_token.to_string()).await;
    assert_eq!(resp.status(), 404, "the old link stops working");
}

#[tokio::test]
async fn per_address_limit_caps_resends() {
    let app = spawn_app().await;
    app.seed_sent(&["spam@contoso.com"]).await;
    for i in 0..5 {
        let resp = app
            .resend("spam@contoso.com", &format!("198.51.100.{i}"))
            .await;
        assert_eq!(resp.status(), 200);
    }
    assert!(wait_for(|| async { app.record("spam@contoso.com").await.resend_count >= 3 }).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.record("spam@contoso.com").await.resend_count, 3);
    // A day later the address may ask again.
    app.clock.advance(Duration::from_secs(25 * 3600));
    app.resend("spam@contoso.com", "198.51.100.77").await;
    assert!(wait_for(|| async { app.record("spam@contoso.com").await.resend_count == 4 }).await);
}

#[tokio::test]
async fn per_ip_limit_caps_requests_from_one_client() {
    let app = crate::helpers::spawn_with(&[("MFA_RESEND_PER_IP_PER_HOUR", "2")]).await;
    app.seed_sent(&["ip1@contoso.com", "ip2@contoso.com", "ip3@contoso.com"])
        .await;
    for who in ["ip1@contoso.com", "ip2@contoso.com", "ip3@contoso.com"] {
        app.resend(who, "192.0.2.1").await;
    }
    assert!(wait_for(|| async { app.record("ip2@contoso.com").await.resend_count == 1 }).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.record("ip3@contoso.com").await.resend_count, 0);
}

#[tokio::test]
async fn active_people_are_left_alone_and_the_form_renders() {
    let app = spawn_app().await;
    let mut rec = app.seed_sent(&["act@contoso.com"]).await.remove(0);
    rec.apply(mfa_core::domain::StatusEvent::MfaRegistered, rec.updated_at)
        .unwrap();
    let rec = app.save(&rec).await;
    app.resend("act@contoso.com", "203.0.113.9").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.record("act@contoso.com").await.version, rec.version);
    let resp = app.get("/api/resend").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("name=\"email\""));
}
