//! track-open: always the GIF, first open only, coalesced.

use std::time::Duration;

use mfa_core::clock::Clock;

use crate::helpers::{spawn_app, spawn_with};

#[tokio::test]
async fn always_a_gif_whatever_the_token() {
    let app = spawn_app().await;
    for token in [
        "",
        "garbage",
        "%00%ff",
        "a1b2c3d4-e5f6-4890-abcd-ef1234567890",
        &"x".repeat(5000),
    ] {
        let resp = app.track_open(token).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "image/gif");
        assert_eq!(
            resp.headers()["cache-control"],
            "no-store, no-cache, must-revalidate, private"
        );
        let body = resp.bytes().await.unwrap();
        assert_eq!(body.len(), 43);
        assert_eq!(&body[..6], b"GIF89a");
    }
    let resp = app.get("/api/track-open").await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn first_open_only_after_a_flush() {
    // Only the explicit flush below may write: the background flusher would race it.
    let app = spawn_with(&[("MFA_OPEN_FLUSH_MS", "3600000")]).await;
    let recs = app.seed_sent(&["o1@contoso.com", "o2@contoso.com"]).await;
    let first = app.clock.now();
    for _ in 0..5 {
        app.track_open(&recs[0].token.to_string()).await;
    }
    assert_eq!(app.opens.flush().await, 1, "five opens, one write");
    assert_eq!(
        app.record("o1@contoso.com").await.email_opened_date,
        Some(first)
    );

    app.clock.advance(Duration::from_secs(3600));
    app.track_open(&recs[0].token.to_string()).await;
    app.track_open(&recs[1].token.to_string()).await;
    assert_eq!(app.opens.flush().await, 1, "only the new person changes");
    assert_eq!(
        app.record("o1@contoso.com").await.email_opened_date,
        Some(first),
        "the first open is kept"
    );
    assert_eq!(
        app.record("o2@contoso.com").await.email_opened_date,
        Some(app.clock.now())
    );
}

#[tokio::test]
async fn the_background_writer_flushes_without_help() {
    let app = spawn_app().await;
    let rec = &app.seed_sent(&["bg@contoso.com"]).await[0];
    app.track_open(&rec.token.to_string()).await;
    let mut stamped = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if app
            .record("bg@contoso.com")
            .await
            .email_opened_date
            .is_some()
        {
            stamped = true;
            break;
        }
    }
    assert!(stamped, "flushed within ~1 s");
}
