//! The store contract: behaviour every [`Store`] backend must show, written once.
//!
//! Each case takes a fresh, empty store. A backend runs the suite with
//! [`store_contract_tests!`](crate::store_contract_tests), giving an async expression that
//! yields `(SharedStore, guard)` where the guard keeps temporary resources alive.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::StreamExt;
use uuid::Uuid;

use super::{
    Attention, DueQuery, Import, ImportState, Lease, PeopleFilter, SendLogEntry, SharedStore,
    StoreError, UploadBatch, UpsertMode, UpsertSummary,
};
use crate::domain::{BatchId, InviteStatus, NewPerson, Source, StatusEvent, TrackingToken, Upn};

/// Generates one `#[tokio::test]` per contract case for a backend.
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $make.await;
                $crate::store::contract::$case(store).await;
            }
        )*
    };
    ($make:expr) => {
        $crate::store_contract_tests!($make;
            insert_and_lookup, duplicate_upload_changes_nothing, reupload_keeps_history,
            reupload_requeues_errors, reupload_keeps_people_with_notes, reupload_reset_when_asked, stale_write_is_refused,
            racing_writers_one_wins, update_of_missing_record, due_returns_only_due_rows,
            due_pages_one_batch_and_lists_batches_with_due_rows,
            claim_due_respects_leases, opens_stamp_first_only, summary_counts,
            list_filters_and_pages, export_streams_everything, meta_round_trip,
            meta_compare_and_set, send_log_window, directory_outcomes_persist_and_count,
            held_upload_is_stored_held_and_counted, delete_removes_the_record,
            audit_log_appends_and_pages_newest_first,
            imports_stage_read_update_and_drop, import_chunk_written_twice_counts_once,
            importer_resumes_an_abandoned_import);
    };
}

/// A fixed instant the cases start from.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn upn(s: &str) -> Upn {
    Upn::parse(s).unwrap_or_else(|e| panic!("test address {s}: {e}"))
}

fn person(s: &str) -> NewPerson {
    NewPerson::new(upn(s))
}

/// An upload batch at `now`.
pub fn batch(id: &str, now: DateTime<Utc>, mode: UpsertMode) -> UploadBatch {
    UploadBatch {
        batch_id: BatchId::parse(id).unwrap_or_else(|e| panic!("batch {id}: {e}")),
        source: Source::CsvUpload,
        correlation_id: Uuid::new_v4(),
        now,
        mode,
        hold: false,
        target: None,
    }
}

async fn seed(store: &SharedStore, n: usize, batch_id: &str) -> Vec<Upn> {
    let people: Vec<NewPerson> = (0..n)
        .map(|i| person(&format!("user{i:05}@contoso.com")))
        .collect();
    let upns = people.iter().map(|p| p.upn.clone()).collect();
    store
        .upsert_people(&batch(batch_id, t0(), UpsertMode::KeepHistory), people)
        .await
        .expect("seeding upload");
    upns
}

async fn must_get(store: &SharedStore, u: &Upn) -> crate::domain::OnboardingRecord {
    store
        .get_by_upn(u)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{u} missing"))
}

/// New people are stored Pending, due now, with a token that finds them.
pub async fn insert_and_lookup(store: SharedStore) {
    let mut alice = person("Alice@Contoso.com");
    alice.display_name = Some("Alice Example".into());
    let summary = store
        .upsert_people(
            &batch("wave-1", t0(), UpsertMode::KeepHistory),
            vec![alice, person("bob@contoso.com")],
        )
        .await
        .expect("upload");
    assert_eq!(summary.inserted, 2);
    let a = must_get(&store, &upn("alice@contoso.com")).await;
    assert_eq!(a.status, InviteStatus::Pending);
    assert_eq!(a.display_name.as_deref(), Some("Alice Example"));
    assert_eq!(a.batch_id.as_str(), "wave-1");
    assert_eq!(a.source, Source::CsvUpload);
    assert_eq!(a.next_due_at, Some(t0()), "due for an invitation at once");
    assert!(!a.in_group && a.reminder_count == 0 && !a.escalated_to_manager);
    let by_token = store
        .get_by_token(&a.token)
        .await
        .expect("read")
        .expect("found by token");
    assert_eq!(by_token.upn, a.upn);
    let b = must_get(&store, &upn("bob@contoso.com")).await;
    assert_ne!(a.token, b.token, "every person gets their own token");
    assert!(store
        .get_by_token(&TrackingToken::generate())
        .await
        .expect("read")
        .is_none());
    assert!(store
        .get_by_upn(&upn("nobody@contoso.com"))
        .await
        .expect("read")
        .is_none());
    let many = store
        .get_many(&[
            upn("alice@contoso.com"),
            upn("nobody@contoso.com"),
            upn("bob@contoso.com"),
        ])
        .await
        .expect("read many");
    assert_eq!(many.len(), 2);
}

/// An upload naming someone twice is refused whole.
pub async fn duplicate_upload_changes_nothing(store: SharedStore) {
    let result = store
        .upsert_people(
            &batch("dup", t0(), UpsertMode::KeepHistory),
            vec![
                person("a@contoso.com"),
                person("b@contoso.com"),
                person("A@contoso.com"),
            ],
        )
        .await;
    assert!(
        matches!(result, Err(StoreError::Invalid(_))),
        "got {result:?}"
    );
    assert!(store
        .get_by_upn(&upn("a@contoso.com"))
        .await
        .expect("read")
        .is_none());
    assert!(store
        .get_by_upn(&upn("b@contoso.com"))
        .await
        .expect("read")
        .is_none());
}

/// A re-upload of a known person keeps status, token, counts and dates.
pub async fn reupload_keeps_history(store: SharedStore) {
    let u = seed(&store, 1, "first").await.remove(0);
    let mut rec = must_get(&store, &u).await;
    rec.apply(StatusEvent::InvitationSent, t0()).expect("send");
    rec.reminder_count = 2;
    rec.escalated_to_manager = true;
    let rec = store.update(&rec).await.expect("write");
    let mut again = NewPerson::new(u.clone());
    again.display_name = Some("Filled In".into());
    let later = t0() + Duration::days(3);
    let summary = store
        .upsert_people(
            &batch("second", later, UpsertMode::KeepHistory),
            vec![again],
        )
        .await
        .expect("re-upload");
    assert_eq!(summary.unchanged, 1);
    assert_eq!(summary.inserted + summary.reset + summary.requeued, 0);
    let after = must_get(&store, &u).await;
    assert_eq!(after.status, InviteStatus::Sent);
    assert_eq!(after.token, rec.token, "links already sent keep working");
    assert_eq!(after.reminder_count, 2);
    assert!(after.escalated_to_manager);
    assert_eq!(after.invite_sent_date, Some(t0()));
    assert_eq!(
        after.batch_id.as_str(),
        "first",
        "the batch that added them stays"
    );
    assert_eq!(
        after.display_name.as_deref(),
        Some("Filled In"),
        "missing names are filled"
    );
}

/// A person stopped by an error is queued again when re-uploaded.
pub async fn reupload_requeues_errors(store: SharedStore) {
    let u = seed(&store, 1, "first").await.remove(0);
    let mut rec = must_get(&store, &u).await;
    rec.record_error("account not found in Entra ID");
    store.update(&rec).await.expect("write");
    assert!(
        store
            .due(&DueQuery {
                statuses: vec![InviteStatus::Pending],
                now: t0() + Duration::days(1),
                after: None,
                limit: 10,
                batch: None,
            })
            .await
            .expect("due")
            .is_empty(),
        "errors are not retried by themselves"
    );
    let later = t0() + Duration::days(2);
    let summary = store
        .upsert_people(
            &batch("retry", later, UpsertMode::KeepHistory),
            vec![NewPerson::new(u.clone())],
        )
        .await
        .expect("re-upload");
    assert_eq!(summary.requeued, 1);
    let after = must_get(&store, &u).await;
    assert_eq!(after.status, InviteStatus::Pending);
    assert_eq!(after.error_details, None);
    assert_eq!(after.next_due_at, Some(later));
}

/// A note (a fact for the admin) is stored apart from errors and survives a round trip; a
/// re-upload of a person with a note and no error leaves them where they are.
pub async fn reupload_keeps_people_with_notes(store: SharedStore) {
    let u = seed(&store, 1, "first").await.remove(0);
    let mut rec = must_get(&store, &u).await;
    rec.apply(StatusEvent::InvitationSent, t0()).expect("send");
    rec.apply(
        StatusEvent::EscalationSkipped {
            note: "No manager in Entra ID: escalation not sent.".into(),
        },
        t0(),
    )
    .expect("skip");
    rec.add_note("a second fact, with a comma, and \"quotes\"");
    rec.next_due_at = Some(t0() + Duration::days(7));
    store.update(&rec).await.expect("write");
    let stored = must_get(&store, &u).await;
    assert_eq!(
        stored.notes.as_deref(),
        Some(
            "No manager in Entra ID: escalation not sent.\n\
             a second fact, with a comma, and \"quotes\""
        )
    );
    assert_eq!(stored.error_details, None);
    let summary = store
        .upsert_people(
            &batch("again", t0() + Duration::days(1), UpsertMode::KeepHistory),
            vec![NewPerson::new(u.clone())],
        )
        .await
        .expect("re-upload");
    assert_eq!(summary.requeued, 0, "{summary:?}");
    let after = must_get(&store, &u).await;
    assert_eq!(after.status, InviteStatus::Sent, "not re-queued");
    assert_eq!(after.next_due_at, Some(t0() + Duration::days(7)));
    assert_eq!(after.notes, stored.notes);
    let s = store.summary(t0()).await.expect("summary");
    assert_eq!(s.errors, 0, "a note is not counted as an error");
}

/// With `Reset`, the person starts over with a new token.
pub async fn reupload_reset_when_asked(store: SharedStore) {
    let u = seed(&store, 1, "first").await.remove(0);
    let mut rec = must_get(&store, &u).await;
    rec.apply(StatusEvent::InvitationSent, t0()).expect("send");
    rec.reminder_count = 1;
    let old = store.update(&rec).await.expect("write");
    let later = t0() + Duration::days(1);
    let summary = store
        .upsert_people(
            &batch("reset", later, UpsertMode::Reset),
            vec![NewPerson::new(u.clone())],
        )
        .await
        .expect("reset upload");
    assert_eq!(summary.reset, 1);
    let after = must_get(&store, &u).await;
    assert_eq!(after.status, InviteStatus::Pending);
    assert_eq!(after.reminder_count, 0);
    assert_eq!(after.invite_sent_date, None);
    assert_ne!(after.token, old.token);
    assert!(
        store
            .get_by_token(&old.token)
            .await
            .expect("read")
            .is_none(),
        "old link is dead"
    );
}

/// A write based on an old read is refused and changes nothing.
pub async fn stale_write_is_refused(store: SharedStore) {
    let u = seed(&store, 1, "b").await.remove(0);
    let first = must_get(&store, &u).await;
    let stale = first.clone();
    let mut winner = first;
    winner.reminder_count = 5;
    let written = store.update(&winner).await.expect("first write");
    assert_eq!(written.version, winner.version + 1);
    let mut loser = stale;
    loser.reminder_count = 9;
    match store.update(&loser).await {
        Err(StoreError::Conflict { upn, expected }) => {
            assert_eq!(upn, u);
            assert_eq!(expected, loser.version);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(must_get(&store, &u).await.reminder_count, 5);
}

/// Two writers racing on one record: exactly one wins, the other sees a conflict.
pub async fn racing_writers_one_wins(store: SharedStore) {
    let u = seed(&store, 1, "race").await.remove(0);
    for round in 0..20u32 {
        let rec = must_get(&store, &u).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = (0..2u32)
            .map(|w| {
                let (store, barrier, mut rec) = (store.clone(), barrier.clone(), rec.clone());
                tokio::spawn(async move {
                    rec.reminder_count = round * 10 + w;
                    barrier.wait().await;
                    store.update(&rec).await
                })
            })
            .collect();
        let mut wins = Vec::new();
        let mut conflicts = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(r) => wins.push(r.reminder_count),
                Err(StoreError::Conflict { .. }) => conflicts += 1,
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        assert_eq!((wins.len(), conflicts), (1, 1), "round {round}");
        assert_eq!(
            must_get(&store, &u).await.reminder_count,
            wins[0],
            "the winner's write is stored"
        );
    }
}

/// Updating a record that does not exist fails with NotFound.
pub async fn update_of_missing_record(store: SharedStore) {
    let ghost = crate::domain::OnboardingRecord::new_pending(
        person("ghost@contoso.com"),
        BatchId::default_for(t0()),
        Source::Manual,
        Uuid::new_v4(),
        t0(),
    );
    assert!(matches!(
        store.update(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Due queries return exactly the due rows of the asked statuses, oldest first, paged.
pub async fn due_returns_only_due_rows(store: SharedStore) {
    let upns = seed(&store, 30, "due").await;
    let mut expected = Vec::new();
    for (i, u) in upns.iter().enumerate() {
        let mut rec = must_get(&store, u).await;
        match i % 3 {
            // Sent, reminder due in the past at staggered times.
            0 => {
                rec.apply(StatusEvent::InvitationSent, t0()).expect("send");
                rec.next_due_at = Some(t0() + Duration::hours(i as i64));
                expected.push(u.clone());
            }
            // Sent, due in the future.
            1 => {
                rec.apply(StatusEvent::InvitationSent, t0()).expect("send");
                rec.next_due_at = Some(t0() + Duration::days(30));
            }
            // Stays Pending (another status).
            _ => {}
        }
        store.update(&rec).await.expect("write");
    }
    let now = t0() + Duration::days(2);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .due(&DueQuery {
                statuses: vec![InviteStatus::Sent],
                now,
                after: after.clone(),
                limit: 4,
                batch: None,
            })
            .await
            .expect("due page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 4);
        for r in &page {
            assert_eq!(r.status, InviteStatus::Sent);
            assert!(r.next_due_at.is_some_and(|d| d <= now));
        }
        let last = page.last().expect("non-empty");
        after = Some((last.next_due_at.expect("due"), last.upn.clone()));
        seen.extend(page.into_iter().map(|r| r.upn));
    }
    assert_eq!(seen, expected, "every due row once, oldest due first");
    let invalid = store
        .due(&DueQuery {
            statuses: vec![InviteStatus::Sent],
            now,
            after: None,
            limit: 0,
            batch: None,
        })
        .await;
    assert!(matches!(invalid, Err(StoreError::Invalid(_))));
}

/// Due rows can be paged per upload batch; `due_batches` names the batches with due rows, the
/// oldest first.
pub async fn due_pages_one_batch_and_lists_batches_with_due_rows(store: SharedStore) {
    let early: Vec<NewPerson> = (0..7)
        .map(|i| person(&format!("early{i:02}@contoso.com")))
        .collect();
    let late: Vec<NewPerson> = (0..5)
        .map(|i| person(&format!("late{i:02}@contoso.com")))
        .collect();
    let late_upns: Vec<Upn> = late.iter().map(|p| p.upn.clone()).collect();
    store
        .upsert_people(&batch("wave-b", t0(), UpsertMode::KeepHistory), early)
        .await
        .expect("first upload");
    store
        .upsert_people(
            &batch("wave-a", t0() + Duration::hours(1), UpsertMode::KeepHistory),
            late,
        )
        .await
        .expect("second upload");
    let now = t0() + Duration::hours(2);
    let pending = [InviteStatus::Pending];
    let ids = |v: Vec<BatchId>| {
        v.into_iter()
            .map(|b| b.as_str().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.due_batches(&pending, now).await.expect("batches")),
        ["wave-b", "wave-a"],
        "oldest due first, not by name"
    );
    assert_eq!(
        ids(store.due_batches(&pending, t0()).await.expect("batches")),
        ["wave-b"],
        "only batches with rows due by then"
    );
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .due(&DueQuery {
                statuses: pending.to_vec(),
                now,
                after: after.clone(),
                limit: 2,
                batch: Some(BatchId::parse("wave-a").expect("id")),
            })
            .await
            .expect("page");
        let Some(last) = page.last() else { break };
        after = Some((last.next_due_at.expect("due"), last.upn.clone()));
        assert!(page.iter().all(|r| r.batch_id.as_str() == "wave-a"));
        seen.extend(page.into_iter().map(|r| r.upn));
    }
    assert_eq!(seen, late_upns, "every row of the batch once, in due order");
    for u in &late_upns {
        let mut rec = must_get(&store, u).await;
        rec.apply(StatusEvent::InvitationSent, now).expect("send");
        rec.next_due_at = Some(now + Duration::days(7));
        store.update(&rec).await.expect("write");
    }
    assert_eq!(
        ids(store.due_batches(&pending, now).await.expect("batches")),
        ["wave-b"],
        "a batch with nothing due is not listed"
    );
    let none_due = store
        .due(&DueQuery {
            statuses: pending.to_vec(),
            now,
            after: None,
            limit: 10,
            batch: Some(BatchId::parse("wave-a").expect("id")),
        })
        .await
        .expect("page");
    assert!(none_due.is_empty(), "{none_due:?}");
}

/// A claimed row is invisible to other runs until its lease lapses.
pub async fn claim_due_respects_leases(store: SharedStore) {
    seed(&store, 10, "lease").await;
    let q = DueQuery {
        statuses: vec![InviteStatus::Pending],
        now: t0(),
        after: None,
        limit: 6,
        batch: None,
    };
    let a = Lease {
        owner: "run-a".into(),
        until: t0() + Duration::minutes(10),
    };
    let b = Lease {
        owner: "run-b".into(),
        until: t0() + Duration::minutes(10),
    };
    let got_a = store.claim_due(&q, &a).await.expect("claim a");
    assert_eq!(got_a.len(), 6);
    assert!(got_a
        .iter()
        .all(|r| r.lease_owner.as_deref() == Some("run-a")));
    let got_b = store
        .claim_due(
            &DueQuery {
                limit: 100,
                batch: None,
                ..q.clone()
            },
            &b,
        )
        .await
        .expect("claim b");
    assert_eq!(got_b.len(), 4, "only the unclaimed rows");
    let a_set: HashSet<_> = got_a.iter().map(|r| r.upn.clone()).collect();
    assert!(
        got_b.iter().all(|r| !a_set.contains(&r.upn)),
        "no person in two runs"
    );
    // The claimed copy is current: the holder can write it.
    store
        .update(&got_a[0])
        .await
        .expect("holder writes its claimed row");
    let after_expiry = DueQuery {
        now: t0() + Duration::minutes(11),
        limit: 100,
        batch: None,
        ..q
    };
    let c = Lease {
        owner: "run-c".into(),
        until: t0() + Duration::minutes(30),
    };
    assert_eq!(
        store
            .claim_due(&after_expiry, &c)
            .await
            .expect("claim c")
            .len(),
        10,
        "lapsed leases free rows"
    );
}

/// Opens stamp only the first time, in one write for many tokens.
pub async fn opens_stamp_first_only(store: SharedStore) {
    let upns = seed(&store, 3, "opens").await;
    let a = must_get(&store, &upns[0]).await;
    let b = must_get(&store, &upns[1]).await;
    let t1 = t0() + Duration::hours(1);
    let n = store
        .record_opens(&[
            (a.token, t1),
            (b.token, t1),
            (TrackingToken::generate(), t1),
            (a.token, t1 + Duration::hours(1)),
        ])
        .await
        .expect("opens");
    assert_eq!(n, 2);
    assert_eq!(must_get(&store, &upns[0]).await.email_opened_date, Some(t1));
    store
        .record_opens(&[(a.token, t1 + Duration::days(1))])
        .await
        .expect("again");
    assert_eq!(
        must_get(&store, &upns[0]).await.email_opened_date,
        Some(t1),
        "first open only"
    );
    assert_eq!(must_get(&store, &upns[2]).await.email_opened_date, None);
}

/// Summary counts agree with the rows.
pub async fn summary_counts(store: SharedStore) {
    let upns = seed(&store, 5, "s1").await;
    store
        .upsert_people(
            &batch("s2", t0() + Duration::days(1), UpsertMode::KeepHistory),
            vec![person("z@contoso.com")],
        )
        .await
        .expect("second batch");
    let t1 = t0() + Duration::days(1);
    for (i, u) in upns.iter().enumerate() {
        let mut rec = must_get(&store, u).await;
        if i >= 1 {
            rec.apply(StatusEvent::InvitationSent, t1).expect("send");
            rec.next_due_at = Some(t1 + Duration::days(7));
        }
        if i >= 2 {
            rec.email_opened_date = Some(t1);
            rec.apply(StatusEvent::LinkClicked, t1).expect("click");
        }
        if i >= 3 {
            rec.apply(StatusEvent::GroupAdded, t1).expect("group");
        }
        if i >= 4 {
            rec.apply(StatusEvent::MfaRegistered, t1).expect("register");
        }
        store.update(&rec).await.expect("write");
    }
    let s = store.summary(t1).await.expect("summary");
    assert_eq!(s.funnel.uploaded, 6);
    assert_eq!(
        (
            s.funnel.sent,
            s.funnel.opened,
            s.funnel.clicked,
            s.funnel.in_group,
            s.funnel.active
        ),
        (4, 3, 3, 2, 1)
    );
    assert_eq!(s.by_status.get("Pending"), Some(&2));
    assert_eq!(s.by_status.get("Active"), Some(&1));
    assert_eq!(s.by_status.values().sum::<u64>(), 6);
    assert_eq!(s.queued, 2, "the two Pending people are due");
    assert!(s.error_reasons.is_empty());
    for (u, why) in upns[..3].iter().zip(["disabled", "unknown", "disabled"]) {
        let mut rec = must_get(&store, u).await;
        rec.record_error(why);
        store.update(&rec).await.expect("write");
    }
    let with_errors = store.summary(t1).await.expect("summary");
    assert_eq!(with_errors.errors, 3);
    assert_eq!(
        with_errors
            .error_reasons
            .iter()
            .map(|r| (r.reason.as_str(), r.count))
            .collect::<Vec<_>>(),
        [("disabled", 2), ("unknown", 1)],
        "grouped by reason, largest first"
    );
    let s1 = s
        .by_batch
        .iter()
        .find(|b| b.batch_id == "s1")
        .expect("batch s1");
    assert_eq!((s1.funnel.uploaded, s1.funnel.active), (5, 1));
    assert_eq!(s.by_batch.len(), 2);
    let day1 = s
        .by_day
        .iter()
        .find(|d| d.day == t1.date_naive())
        .expect("day 1");
    assert_eq!(
        (day1.uploaded, day1.sent, day1.clicked, day1.active),
        (1, 4, 3, 1)
    );
}

/// The directory passes' per-person outcomes survive a write and a re-read, a KeepHistory
/// re-upload keeps them, and the summary counts them.
pub async fn directory_outcomes_persist_and_count(store: SharedStore) {
    use crate::domain::{PerUserMfa, PhoneOutcome};
    let upns = seed(&store, 4, "d1").await;
    let t1 = t0() + Duration::hours(1);
    let outcomes = [
        (
            Some(PhoneOutcome::Provisioned),
            Some("+47 912 34 567"),
            Some(PerUserMfa::Enforced),
        ),
        (
            Some(PhoneOutcome::InvalidNumber),
            Some("12-34"),
            Some(PerUserMfa::Enabled),
        ),
        (Some(PhoneOutcome::InvalidNumber), Some("n/a"), None),
        (None, None, None),
    ];
    for (u, (o, d, m)) in upns.iter().zip(outcomes) {
        let mut rec = must_get(&store, u).await;
        rec.phone_outcome = o;
        rec.phone_detail = d.map(str::to_string);
        rec.phone_checked_at = o.map(|_| t1);
        rec.per_user_mfa = m;
        store.update(&rec).await.expect("write");
    }
    let back = must_get(&store, &upns[1]).await;
    assert_eq!(back.phone_outcome, Some(PhoneOutcome::InvalidNumber));
    assert_eq!(back.phone_detail.as_deref(), Some("12-34"));
    assert_eq!(back.phone_checked_at, Some(t1));
    assert_eq!(back.per_user_mfa, Some(PerUserMfa::Enabled));
    store
        .upsert_people(
            &batch("d2", t1, UpsertMode::KeepHistory),
            vec![person(upns[0].as_str())],
        )
        .await
        .expect("re-upload");
    let kept = must_get(&store, &upns[0]).await;
    assert_eq!(kept.phone_outcome, Some(PhoneOutcome::Provisioned));
    assert_eq!(kept.per_user_mfa, Some(PerUserMfa::Enforced));
    let s = store.summary(t1).await.expect("summary");
    let d = &s.directory;
    assert_eq!(d.phone_count(PhoneOutcome::Provisioned), 1);
    assert_eq!(d.phone_count(PhoneOutcome::InvalidNumber), 2);
    assert_eq!(d.phone_count(PhoneOutcome::NoMobile), 0);
    assert_eq!((d.phone_without_mfa(), d.phone_eligible()), (3, 3));
    assert_eq!(d.per_user_mfa.get("enforced"), Some(&1));
    assert_eq!(d.per_user_mfa.get("enabled"), Some(&1));
    assert_eq!(d.per_user_mfa.get("disabled"), Some(&0));
}

/// The admin listing filters by search, status, batch and attention, and pages.
pub async fn list_filters_and_pages(store: SharedStore) {
    seed(&store, 25, "big").await;
    let mut named = person("carol.smith@fabrikam.com");
    named.display_name = Some("Carol Smith 100%".into());
    store
        .upsert_people(&batch("small", t0(), UpsertMode::KeepHistory), vec![named])
        .await
        .expect("upload");
    let all = store
        .list(&PeopleFilter::default(), 0, 10)
        .await
        .expect("page 0");
    assert_eq!((all.total, all.items.len()), (26, 10));
    let last = store
        .list(&PeopleFilter::default(), 2, 10)
        .await
        .expect("page 2");
    assert_eq!(last.items.len(), 6);
    let search = PeopleFilter {
        search: Some("SMITH".into()),
        ..Default::default()
    };
    assert_eq!(store.list(&search, 0, 10).await.expect("search").total, 1);
    let literal = PeopleFilter {
        search: Some("100%".into()),
        ..Default::default()
    };
    assert_eq!(
        store.list(&literal, 0, 10).await.expect("percent").total,
        1,
        "% is literal"
    );
    let wildcard = PeopleFilter {
        search: Some("_".into()),
        ..Default::default()
    };
    assert_eq!(
        store
            .list(&wildcard, 0, 10)
            .await
            .expect("underscore")
            .total,
        0,
        "_ is literal"
    );
    let by_batch = PeopleFilter {
        batch_id: BatchId::parse("small").ok(),
        ..Default::default()
    };
    assert_eq!(store.list(&by_batch, 0, 10).await.expect("batch").total, 1);
    let mut rec = must_get(&store, &upn("user00003@contoso.com")).await;
    rec.record_error("disabled account");
    store.update(&rec).await.expect("write");
    let errors = PeopleFilter {
        attention: Some(Attention::Errors),
        ..Default::default()
    };
    let page = store.list(&errors, 0, 10).await.expect("errors");
    assert_eq!(
        page.items
            .iter()
            .map(|r| r.upn.as_str())
            .collect::<Vec<_>>(),
        vec!["user00003@contoso.com"]
    );
    let sent = PeopleFilter {
        status: Some(InviteStatus::Sent),
        ..Default::default()
    };
    assert_eq!(store.list(&sent, 0, 10).await.expect("status").total, 0);
    assert!(matches!(
        store.list(&PeopleFilter::default(), 0, 0).await,
        Err(StoreError::Invalid(_))
    ));
}

/// Export streams every row once, in UPN order, across chunk boundaries.
pub async fn export_streams_everything(store: SharedStore) {
    let mut upns = seed(&store, 2500, "export").await;
    upns.sort();
    let exported: Vec<Upn> = store
        .export(PeopleFilter::default())
        .map(|r| r.expect("row").upn)
        .collect()
        .await;
    assert_eq!(exported, upns);
    let filtered = store
        .export(PeopleFilter {
            search: Some("user0249".into()),
            ..Default::default()
        })
        .count()
        .await;
    assert_eq!(filtered, 10);
}

/// Small named values survive and overwrite.
pub async fn meta_round_trip(store: SharedStore) {
    assert_eq!(store.get_meta("watermark").await.expect("read"), None);
    store.set_meta("watermark", "a").await.expect("write");
    store.set_meta("watermark", "b").await.expect("overwrite");
    assert_eq!(
        store.get_meta("watermark").await.expect("read").as_deref(),
        Some("b")
    );
}

/// 100,000 people in one upload, then the same file again: nothing lost, nothing reset.
pub async fn bulk_upsert_100k(store: SharedStore) {
    let people = |n: usize| {
        (0..n)
            .map(|i| person(&format!("p{i:06}@contoso.com")))
            .collect::<Vec<_>>()
    };
    let first = store
        .upsert_people(
            &batch("bulk", t0(), UpsertMode::KeepHistory),
            people(100_000),
        )
        .await
        .expect("bulk upload");
    assert_eq!(first.inserted, 100_000);
    let again = store
        .upsert_people(
            &batch("bulk-again", t0(), UpsertMode::KeepHistory),
            people(100_000),
        )
        .await
        .expect("bulk re-upload");
    assert_eq!(again.unchanged, 100_000);
    let s = store.summary(t0()).await.expect("summary");
    assert_eq!(s.funnel.uploaded, 100_000);
    assert_eq!(s.by_batch.len(), 1, "re-upload keeps the original batch");
}

/// Compare-and-set on meta values: exactly one of two racing claimers wins.
pub async fn meta_compare_and_set(store: SharedStore) {
    assert!(store
        .compare_and_set_meta("lease", None, Some("a"))
        .await
        .expect("cas"));
    assert!(
        !store
            .compare_and_set_meta("lease", None, Some("b"))
            .await
            .expect("cas"),
        "taken"
    );
    assert!(!store
        .compare_and_set_meta("lease", Some("x"), Some("b"))
        .await
        .expect("cas"));
    assert_eq!(
        store.get_meta("lease").await.expect("read").as_deref(),
        Some("a")
    );
    assert!(store
        .compare_and_set_meta("lease", Some("a"), None)
        .await
        .expect("release"));
    assert_eq!(store.get_meta("lease").await.expect("read"), None);
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .compare_and_set_meta("race", None, Some(&format!("w{i}")))
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for r in racers {
        if r.await.expect("task").expect("cas") {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}

/// The mail log returns the window asked for, oldest first; pruning removes only older entries.
pub async fn send_log_window(store: SharedStore) {
    let mbx = upn("mfa@contoso.com");
    for m in 0..5 {
        let entry = SendLogEntry {
            mailbox: mbx.clone(),
            at: t0() + Duration::minutes(m),
            recipients: 1,
        };
        store.log_send(&entry).await.expect("log");
    }
    let recent = store
        .sends_since(t0() + Duration::minutes(2))
        .await
        .expect("window");
    assert_eq!(
        recent.iter().map(|e| e.at).collect::<Vec<_>>(),
        (2..5)
            .map(|m| t0() + Duration::minutes(m))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        store.sends_since(t0()).await.expect("window").len(),
        5,
        "reading prunes nothing"
    );
    // Pruning deletes only what is older than asked, at most `max` per call, 0 when done.
    let before = t0() + Duration::minutes(2);
    assert_eq!(store.prune_sends(before, 1).await.expect("prune"), 1);
    assert_eq!(store.sends_since(t0()).await.expect("window").len(), 4);
    let mut calls = Vec::new();
    for _ in 0..3 {
        calls.push(store.prune_sends(before, 10).await.expect("prune"));
    }
    assert_eq!(calls, [1, 0, 0], "the one older entry left, then nothing");
    assert_eq!(
        store
            .sends_since(t0())
            .await
            .expect("window")
            .iter()
            .map(|e| e.at)
            .collect::<Vec<_>>(),
        (2..5)
            .map(|m| t0() + Duration::minutes(m))
            .collect::<Vec<_>>(),
        "the entries still counted are kept"
    );
}

/// A held upload stores its new people held (not due), moves the people it re-queues into its
/// batch (so releasing the batch releases them), and the summary and filters count them.
pub async fn held_upload_is_stored_held_and_counted(store: SharedStore) {
    let first = seed(&store, 2, "wave-1").await;
    let mut failed = must_get(&store, &first[0]).await;
    failed.record_error("No such user in Entra ID.");
    store.update(&failed).await.expect("error stored");
    let mut held = batch("wave-2", t0(), UpsertMode::KeepHistory);
    held.hold = true;
    let summary = store
        .upsert_people(
            &held,
            vec![person("new@contoso.com"), person(first[0].as_str())],
        )
        .await
        .expect("held upload");
    assert_eq!((summary.inserted, summary.requeued), (1, 1));
    for u in [upn("new@contoso.com"), first[0].clone()] {
        let r = must_get(&store, &u).await;
        assert_eq!(r.hold, Some(crate::domain::Hold::Held), "{u}");
        assert_eq!(r.next_due_at, None, "{u} not due while held");
        assert_eq!(r.batch_id.as_str(), "wave-2", "{u} joins the held batch");
        assert!(r.history.as_deref().unwrap_or("").contains("held"), "{u}");
    }
    let s = store.summary(t0()).await.expect("summary");
    assert_eq!((s.held, s.excluded), (2, 0));
    let b = s
        .by_batch
        .iter()
        .find(|b| b.batch_id == "wave-2")
        .expect("batch");
    assert_eq!(b.held, 2);
    let filter = PeopleFilter {
        batch_id: Some(BatchId::parse("wave-2").expect("batch")),
        attention: Some(Attention::Held),
        ..PeopleFilter::default()
    };
    assert_eq!(store.list(&filter, 0, 10).await.expect("list").total, 2);
    let mut out = must_get(&store, &first[1]).await;
    out.apply(StatusEvent::Excluded, t0()).expect("exclude");
    store.update(&out).await.expect("excluded");
    let back = must_get(&store, &first[1]).await;
    assert_eq!(back.hold, Some(crate::domain::Hold::Excluded));
    assert_eq!(
        back.history_entries().last().map(|e| e.1.as_str()),
        Some("excluded: never emailed again")
    );
    let s = store.summary(t0()).await.expect("summary");
    assert_eq!((s.held, s.excluded), (2, 1));
}

/// Removing a person deletes their record; removing nobody says so.
pub async fn delete_removes_the_record(store: SharedStore) {
    let people = seed(&store, 2, "wave-1").await;
    assert!(store.delete(&people[0]).await.expect("delete"));
    assert!(store.get_by_upn(&people[0]).await.expect("read").is_none());
    assert!(!store.delete(&people[0]).await.expect("delete again"));
    assert!(store.get_by_upn(&people[1]).await.expect("read").is_some());
}

/// The audit log keeps every entry, newest first, paged and filtered by target.
pub async fn audit_log_appends_and_pages_newest_first(store: SharedStore) {
    for i in 0..5 {
        store
            .append_audit(&crate::store::AuditEntry {
                id: Uuid::new_v4(),
                at: t0() + chrono::Duration::minutes(i),
                actor: "ada@contoso.com".into(),
                origin: Some("198.51.100.7".into()),
                action: format!("action-{i}"),
                target: Some(
                    if i % 2 == 0 {
                        "wave-1"
                    } else {
                        "bob@contoso.com"
                    }
                    .into(),
                ),
                detail: None,
            })
            .await
            .expect("appended");
    }
    let page = store.audit(None, 0, 2).await.expect("page");
    assert_eq!(page.total, 5);
    let actions: Vec<&str> = page.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["action-4", "action-3"]);
    let last = store.audit(None, 2, 2).await.expect("page");
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.items[0].action, "action-0");
    assert_eq!(last.items[0].origin.as_deref(), Some("198.51.100.7"));
    let bob = store
        .audit(Some("bob@contoso.com"), 0, 10)
        .await
        .expect("page");
    assert_eq!(bob.total, 2);
    assert!(
        store.audit(None, 0, 0).await.is_err(),
        "page size 0 refused"
    );
}

fn staged_header(id: Uuid, b: &UploadBatch, rows: u64, chunks: u32) -> Import {
    Import {
        id,
        state: ImportState::Running,
        batch: b.clone(),
        fingerprint: "f".repeat(64),
        started_by: "admin@contoso.com".into(),
        started_at: t0(),
        updated_at: t0(),
        finished_at: None,
        rows_total: rows,
        rows_written: 0,
        chunks_total: chunks,
        chunks_done: 0,
        outcome: UpsertSummary::default(),
        error: None,
        attempts: 0,
        lease_owner: Some("importer-a".into()),
        lease_until: Some(t0() + Duration::minutes(10)),
        send_now: false,
        version: 0,
    }
}

/// Staging keeps every chunk and the whole batch description; headers are compare-and-set;
/// dropping the staged rows keeps the header.
pub async fn imports_stage_read_update_and_drop(store: SharedStore) {
    let named = |i: usize| NewPerson {
        upn: upn(&format!("staged{i:04}@contoso.com")),
        display_name: Some(format!("Person \"{i}\", Ünïcode")),
        department: (i % 2 == 0).then(|| "Sales".to_string()),
        job_title: None,
    };
    let chunks: Vec<Vec<NewPerson>> = vec![
        (0..250).map(named).collect(),
        (250..500).map(named).collect(),
        vec![named(500)],
    ];
    let b = batch("staged", t0(), UpsertMode::Reset);
    let id = Uuid::new_v4();
    let header = staged_header(id, &b, 501, 3);
    assert!(store.imports().await.expect("list").is_empty());
    store.stage_import(&header, &chunks).await.expect("stage");
    let again = store.stage_import(&header, &chunks).await;
    assert!(matches!(again, Err(StoreError::Invalid(_))), "{again:?}");
    let read = store.get_import(id).await.expect("get").expect("staged");
    assert_eq!(read, header, "the whole header, batch included, comes back");
    assert_eq!(read.batch.mode, UpsertMode::Reset);
    for (i, chunk) in chunks.iter().enumerate() {
        let got = store.staged_chunk(id, i as u32).await.expect("chunk");
        assert_eq!(got.as_ref(), Some(chunk), "chunk {i}");
    }
    assert_eq!(store.staged_chunk(id, 3).await.expect("past the end"), None);
    assert_eq!(
        store
            .staged_chunk(Uuid::new_v4(), 0)
            .await
            .expect("unknown"),
        None
    );
    // A second, later import lists first.
    let other = Uuid::new_v4();
    let mut later = staged_header(other, &b, 1, 1);
    later.started_at = t0() + Duration::minutes(1);
    store
        .stage_import(&later, &[vec![named(900)]])
        .await
        .expect("stage another");
    let ids: Vec<Uuid> = store
        .imports()
        .await
        .expect("list")
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, vec![other, id]);
    // Compare-and-set on the version.
    let mut progress = read.clone();
    progress.chunks_done = 1;
    progress.rows_written = 250;
    let stored = store
        .update_import(&progress)
        .await
        .expect("update")
        .expect("current version wins");
    assert_eq!(stored.version, read.version + 1);
    let stale = store.update_import(&progress).await.expect("stale update");
    assert_eq!(stale, None, "a stale header write changes nothing");
    let now = store.get_import(id).await.expect("get").expect("kept");
    assert_eq!((now.chunks_done, now.rows_written), (1, 250));
    assert_eq!(now.version, stored.version);
    store.drop_staged(id).await.expect("drop");
    assert_eq!(store.staged_chunk(id, 0).await.expect("dropped"), None);
    assert!(store.get_import(id).await.expect("get").is_some());
    assert_eq!(
        store.staged_chunk(other, 0).await.expect("other kept"),
        Some(vec![named(900)])
    );
}

/// A chunk written again with the same batch (a recycled instance's half-written chunk) makes
/// no duplicate, changes nobody and is counted as it was the first time.
pub async fn import_chunk_written_twice_counts_once(store: SharedStore) {
    seed(&store, 2, "old").await;
    let mut errored = must_get(&store, &upn("user00000@contoso.com")).await;
    errored.record_error("account disabled");
    store.update(&errored).await.expect("error");
    let people: Vec<NewPerson> = (0..120)
        .map(|i| person(&format!("user{i:05}@contoso.com")))
        .collect();
    let b = batch(
        "chunked",
        t0() + Duration::hours(1),
        UpsertMode::KeepHistory,
    );
    let first = store
        .write_import_chunk(&b, people.clone(), false)
        .await
        .expect("first write");
    assert_eq!(
        (first.inserted, first.requeued, first.unchanged),
        (118, 1, 1)
    );
    let tokens: Vec<_> = store
        .get_many(&people.iter().map(|p| p.upn.clone()).collect::<Vec<_>>())
        .await
        .expect("read")
        .into_iter()
        .map(|r| (r.upn.clone(), r.token, r.version))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let again = store
        .write_import_chunk(&b, people.clone(), true)
        .await
        .expect("second write");
    assert_eq!(again, first, "counted as the first time");
    let after: HashSet<_> = store
        .get_many(&people.iter().map(|p| p.upn.clone()).collect::<Vec<_>>())
        .await
        .expect("read")
        .into_iter()
        .map(|r| (r.upn.clone(), r.token, r.version))
        .collect();
    assert_eq!(after, tokens.into_iter().collect(), "nobody changed");
    let s = store.summary(t0()).await.expect("summary");
    assert_eq!(s.funnel.uploaded, 120, "no duplicate records");
}

/// An import whose holder died is resumed by another importer once the lease lapses, and
/// completes with every row exactly once; the same rows are refused while it runs.
pub async fn importer_resumes_an_abandoned_import(store: SharedStore) {
    use crate::imports::{Importer, NewImport, Started, LEASE};
    let clock = crate::clock::ManualClock::new(t0());
    let shared: crate::clock::SharedClock = Arc::new(clock.clone());
    let people: Vec<NewPerson> = (0..450)
        .map(|i| person(&format!("bulk{i:04}@contoso.com")))
        .collect();
    let new = |people: Vec<NewPerson>| NewImport {
        batch: batch("resumed", t0(), UpsertMode::KeepHistory),
        people,
        started_by: "admin@contoso.com".into(),
        send_now: false,
    };
    let dead = Importer::new(store.clone(), shared.clone());
    let started = dead
        .start(new(people.clone()), std::time::Duration::ZERO)
        .await
        .expect("start");
    let Started::Running(import) = started else {
        panic!("no time in the request: the import runs in the background, got {started:?}");
    };
    assert_eq!((import.rows_total, import.rows_written), (450, 0));
    let twice = dead
        .start(new(people.clone()), std::time::Duration::from_secs(60))
        .await
        .expect("second start");
    assert!(
        matches!(twice, Started::Duplicate(id) if id == import.id),
        "{twice:?}"
    );
    // The first holder dies here. Another process finds it held until the lease lapses.
    let next = Importer::new(store.clone(), shared.clone());
    assert!(next.resume(None).await.expect("resume").is_empty());
    assert_eq!(
        store.summary(t0()).await.expect("summary").funnel.uploaded,
        0
    );
    clock.advance((LEASE + Duration::seconds(1)).to_std().expect("duration"));
    let resumed = next.resume(None).await.expect("resume");
    assert_eq!(resumed.len(), 1);
    let done = store
        .get_import(import.id)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(done.state, ImportState::Completed, "{done:?}");
    assert_eq!((done.rows_written, done.outcome.inserted), (450, 450));
    assert!(done.finished_at.is_some() && done.lease_owner.is_none());
    assert_eq!(
        store.staged_chunk(import.id, 0).await.expect("dropped"),
        None
    );
    assert_eq!(
        store.summary(t0()).await.expect("summary").funnel.uploaded,
        450
    );
    // Finished: the same rows may be imported again (and change nobody).
    let again = next
        .start(new(people), std::time::Duration::from_secs(600))
        .await
        .expect("again");
    let Started::Completed(again) = again else {
        panic!("expected the small import to complete in the request, got {again:?}");
    };
    assert_eq!(again.outcome.unchanged, 450);
}
