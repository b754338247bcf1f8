//! Concurrency: a click storm on one token, uploads racing on the same people, an opens storm.

use mfa_core::store::Store;
use std::collections::HashSet;
use std::sync::atomic::Ordering;

use futures::future::join_all;
use mfa_core::clock::Clock;
use mfa_core::domain::InviteStatus;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_with};

/// 200 simultaneous clicks on one link: exactly one group add, one click stamp, one "started".
/// Broken by: writing the click without compare-and-set (`update` ignoring `version`), or adding
/// to the group before the CAS write wins → several posts "win" → `group.calls` > 1 and more
/// than one "MFA Enrolment Started" page → both assertions fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn click_storm_on_one_token_adds_to_the_group_once() {
    let app = spawn_app().await;
    let rec = app.seed_sent(&["storm@contoso.com"]).await.remove(0);
    let token = rec.token.to_string();
    let answers = join_all((0..200).map(|_| async {
        let resp = app.enrol_post(&token).await;
        (resp.status().as_u16(), resp.text().await.unwrap())
    }))
    .await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "all answered 200");
    let started = answers
        .iter()
        .filter(|(_, body)| body.contains("MFA Enrolment Started"))
        .count();
    assert_eq!(started, 1, "exactly one winner");
    assert_eq!(app.group.calls.load(Ordering::SeqCst), 1, "one group add");
    let after = app.record("storm@contoso.com").await;
    assert_eq!(after.status, InviteStatus::AddedToGroup);
    let clicked = after.clicked_link_date.expect("click stamped");
    // Later visits change nothing, the stamp included.
    app.clock.advance(std::time::Duration::from_secs(300));
    app.enrol_post(&token).await;
    assert_eq!(
        app.record("storm@contoso.com").await.clicked_link_date,
        Some(clicked)
    );
    assert_eq!(app.group.calls.load(Ordering::SeqCst), 1);
}

/// Eight uploads at once over overlapping windows of one pool: every person stored exactly once,
/// none lost, and the answers' `inserted` counts add up to the number of distinct people.
/// Broken by: "read, then insert if missing" outside one transaction → two uploads insert the
/// same person (a duplicate row, or a constraint error as a 500) → the sum of `inserted`
/// exceeds the pool, or a status is not 200 → fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_uploads_neither_lose_nor_duplicate_people() {
    let app = spawn_app().await;
    let uploads = (0..8).map(|k| {
        let mut csv = String::from("UPN,DisplayName\n");
        for i in (k * 50)..(k * 50 + 200) {
            csv.push_str(&format!("race{i}@contoso.com,Racer {i}\n"));
        }
        csv
    });
    let answers = join_all(uploads.map(|csv| async {
        let resp = app.upload_csv("?batchId=race", csv).await;
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap())
    }))
    .await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    let pool: u64 = 7 * 50 + 200;
    let inserted: u64 = answers
        .iter()
        .map(|(_, b)| b["inserted"].as_u64().unwrap())
        .sum();
    let unchanged: u64 = answers
        .iter()
        .map(|(_, b)| b["unchanged"].as_u64().unwrap())
        .sum();
    assert_eq!(inserted, pool, "each person inserted by exactly one upload");
    assert_eq!(inserted + unchanged, 8 * 200);
    let summary = app.store.summary(app.clock.now()).await.unwrap();
    assert_eq!(summary.funnel.uploaded, pool);
    let mut tokens = HashSet::new();
    for i in 0..pool {
        let rec = app.record(&format!("race{i}@contoso.com")).await;
        assert_eq!(rec.status, InviteStatus::Pending);
        tokens.insert(rec.token);
    }
    assert_eq!(tokens.len() as u64, pool, "one distinct token per person");
}

/// 2,000 opens over 50 people: nothing written per request, one coalesced write stamps all 50,
/// and only the first open's time is kept.
/// Broken by: calling `Store::record_opens` from the track-open handler (one write per request)
/// → records are stamped before any flush → the first assertion fails; or keeping the latest
/// open time (`insert` instead of `or_insert`) → the stamp equals the second burst → fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opens_storm_is_coalesced_and_keeps_the_first_open() {
    let app = spawn_with(&[("MFA_OPEN_FLUSH_MS", "600000")]).await;
    let upns: Vec<String> = (0..50).map(|i| format!("open{i}@contoso.com")).collect();
    let refs: Vec<&str> = upns.iter().map(String::as_str).collect();
    let records = app.seed_sent(&refs).await;
    let tokens: Vec<String> = records.iter().map(|r| r.token.to_string()).collect();
    let first = app.clock.now();
    let storm =
        |n: usize| {
            let tokens = &tokens;
            let app = &app;
            join_all((0..n).map(move |i| async move {
                app.track_open(&tokens[i % tokens.len()]).await.status()
            }))
        };
    assert!(storm(1000).await.iter().all(|s| s.as_u16() == 200));
    app.clock.advance(std::time::Duration::from_secs(3600));
    assert!(storm(1000).await.iter().all(|s| s.as_u16() == 200));
    for upn in &upns {
        assert!(
            app.record(upn).await.email_opened_date.is_none(),
            "no write on the request path"
        );
    }
    assert_eq!(app.opens.flush().await, 50, "one write stamps all 50");
    for upn in &upns {
        assert_eq!(app.record(upn).await.email_opened_date, Some(first));
    }
    // Further opens of already-opened people change nothing.
    storm(200).await;
    assert_eq!(app.opens.flush().await, 0);
}
