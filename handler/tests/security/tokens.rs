//! Tokens: unguessable (UUID v4, 122 random bits) and single-purpose (a resend kills the old
//! link).

use std::collections::HashSet;
use std::time::Duration;

use mfa_core::domain::InviteStatus;

use crate::helpers::{spawn_app, spawn_with};

/// 2,000 issued tokens are distinct RFC 4122 version-4 UUIDs whose 122 random bits are each set
/// about half the time.
/// Broken by: tokens from a counter, a timestamp (UUID v1/v7) or a hash of the address →
/// the version nibble check fails, or the timestamp/counter bits are nearly constant → the
/// per-bit balance check fails.
#[tokio::test]
async fn issued_tokens_are_random_uuid_v4() {
    let app = spawn_app().await;
    let mut csv = String::from("UPN\n");
    for i in 0..2000 {
        csv.push_str(&format!("tok{i}@contoso.com\n"));
    }
    assert_eq!(app.upload_csv("", csv).await.status(), 200);
    let mut seen = HashSet::new();
    let mut ones = [0u32; 128];
    for i in 0..2000 {
        let token = app.record(&format!("tok{i}@contoso.com")).await.token;
        let uuid = uuid::Uuid::parse_str(&token.to_string()).unwrap();
        assert_eq!(uuid.get_version_num(), 4, "{uuid}");
        assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{uuid}");
        assert!(seen.insert(uuid), "duplicate token {uuid}");
        let bits = uuid.as_u128();
        for (b, count) in ones.iter_mut().enumerate() {
            *count += u32::try_from((bits >> b) & 1).unwrap();
        }
    }
    // Counting from the most significant bit, bits 48..=51 (version) and 64..=65 (variant) are
    // fixed; the other 122 are random. With 2,000 samples a fair bit is set 1,000 ± 22 (1 sd)
    // times; 800..1,200 is > 9 sd.
    let fixed: HashSet<usize> = [48, 49, 50, 51, 64, 65].iter().map(|b| 127 - b).collect();
    for (b, count) in ones.iter().enumerate() {
        if fixed.contains(&b) {
            continue;
        }
        assert!(
            (800..=1200).contains(count),
            "bit {b} set {count} times of 2000"
        );
    }
}

/// A resend issues a new token and the old link stops working everywhere: the enrol page says
/// "Link Not Recognised", a click with it records nothing, and its opens are not counted.
/// Broken by: looking tokens up in a history table (keeping old links alive) → the old link's
/// click is recorded → status Clicked and a 200 → fails.
#[tokio::test]
async fn a_resend_kills_the_old_link() {
    let app = spawn_with(&[("MFA_OPEN_FLUSH_MS", "600000")]).await;
    let old = app.seed_sent(&["lost@contoso.com"]).await.remove(0).token;
    assert_eq!(
        app.resend("lost@contoso.com", "203.0.113.9").await.status(),
        200
    );
    let mut new = old;
    for _ in 0..100 {
        new = app.record("lost@contoso.com").await.token;
        if new != old {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_ne!(new, old, "a new token was issued");
    let old = old.to_string();

    let page = app.enrol_get(&old).await;
    assert_eq!(page.status(), 404);
    assert!(page.text().await.unwrap().contains("Link Not Recognised"));
    let click = app.enrol_post(&old).await;
    assert_eq!(click.status(), 404);
    app.track_open(&old).await;
    app.opens.flush().await;
    let rec = app.record("lost@contoso.com").await;
    assert_eq!(
        rec.status,
        InviteStatus::Pending,
        "the old click changed nothing"
    );
    assert!(rec.clicked_link_date.is_none());
    assert!(
        rec.email_opened_date.is_none(),
        "the old pixel is not counted"
    );
    assert_eq!(app.group.calls.load(std::sync::atomic::Ordering::SeqCst), 0);

    let fresh = app.enrol_get(&new.to_string()).await;
    assert_eq!(fresh.status(), 200, "the new link works");
}
