//! The store contract suite on the SharePoint list backend against the tenant simulator, plus
//! what is particular to it: provisioning, adoption of the old system's list, 412s and 429s
//! on writes, a 50,000-item list and the cost of the due query.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use mfa_core::clock::{ManualClock, SharedClock};
use mfa_core::domain::{InviteStatus, NewPerson, StatusEvent, Upn};
use mfa_core::graph::GraphClient;
use mfa_core::store::contract::{batch, t0};
use mfa_core::store::sharepoint::{Options, SharePointStore};
use mfa_core::store::{DueQuery, SharedStore, Store, StoreError, UpsertMode};
use serde_json::{json, Map, Value};
use tenant_sim::{
    FaultAction, FaultMatcher, FaultRule, FaultTrigger, Limits, SimClock, SimConfig, Simulator,
    ViolationKind,
};

/// Keeps the simulator alive; on drop, fails the test if the store broke a rule.
pub struct Guard {
    pub sim: Simulator,
    pub client: GraphClient,
    pub site: String,
    pub clock: ManualClock,
    /// Injected 429s make the rest of a `$batch` envelope count as "sent while throttled".
    pub allow_sent_while_throttled: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let allow = self.allow_sent_while_throttled;
        let bad: Vec<_> = self
            .sim
            .tenant()
            .violations()
            .into_iter()
            .filter(|v| !(allow && matches!(v.kind, ViolationKind::SentWhileThrottled)))
            .collect();
        assert!(bad.is_empty(), "the store broke SharePoint rules: {bad:#?}");
    }
}

/// A simulator with a site, and a Graph client on a manual clock both follow.
pub async fn env(limits: Limits) -> Guard {
    let clock = ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0)
            .single()
            .unwrap_or_default(),
    );
    let follow = clock.clone();
    let sim = Simulator::start(SimConfig {
        clock: SimClock::from_fn(Arc::new(move || mfa_core::clock::Clock::now(&follow))),
        limits,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let vars = mfa_core::config::Vars::from_pairs([
        ("MFA_GRAPH_BASE_URL", sim.base_url()),
        ("MFA_GRAPH_BACKOFF_BASE_MS", "10".to_string()),
    ]);
    let shared: SharedClock = Arc::new(clock.clone());
    // The simulator's tokens, issued in process (azure_identity talks only to real authorities).
    let tenant = sim.tenant();
    let tokens = mfa_core::bootstrap::GraphTokens::Supplied(Arc::new(
        mfa_core::graph::IssuedTokens::new(move || tenant.issue_token()),
    ));
    let client =
        mfa_core::bootstrap::graph_client_with(&vars, shared, &tokens, |_| {}).expect("client");
    let site = sim.tenant().add_site("mfa");
    Guard {
        sim,
        client,
        site,
        clock,
        allow_sent_while_throttled: false,
    }
}

async fn open(g: &Guard) -> SharePointStore {
    SharePointStore::open(
        g.client.clone(),
        &g.site,
        "MFA Onboarding",
        Options::default(),
    )
    .await
    .expect("open store")
}

async fn sharepoint() -> (SharedStore, Guard) {
    let g = env(Limits::default()).await;
    let store = open(&g).await;
    (Arc::new(store), g)
}

mfa_core::store_contract_tests!(sharepoint());

fn upn(s: &str) -> Upn {
    Upn::parse(s).expect("upn")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_is_idempotent_and_reports_what_it_found() {
    let g = env(Limits::default()).await;
    let first =
        SharePointStore::provision(&g.client, &g.site, "MFA Onboarding", Options::default())
            .await
            .expect("provision");
    assert!(first.list.created && first.meta.created);
    assert!(first.list.columns_added.iter().any(|c| c == "NextDueAt"));
    let again =
        SharePointStore::provision(&g.client, &g.site, "MFA Onboarding", Options::default())
            .await
            .expect("provision again");
    assert!(!again.list.created);
    assert!(again.list.columns_added.is_empty() && again.list.indexes_added.is_empty());
    assert!(again
        .list
        .columns_found
        .iter()
        .any(|c| c == "TrackingToken"));
    assert_eq!(again.list.id, first.list.id);
    let cols = g
        .client
        .list_columns(&g.site, &first.list.id)
        .await
        .expect("columns");
    for name in [
        "Title",
        "TrackingToken",
        "InviteStatus",
        "MFARegistrationState",
        "NextDueAt",
    ] {
        assert!(
            cols.iter().any(|c| c.name == name && c.indexed),
            "{name} is indexed"
        );
    }
}

/// The old system's list: its 23 columns, only its four indexes, legacy rows.
async fn legacy_list(g: &Guard) -> String {
    let text = |n: &str| json!({"name": n, "text": {}});
    let date = |n: &str| json!({"name": n, "dateTime": {}});
    let mut cols = vec![
        json!({"name": "InviteStatus", "indexed": true, "choice": {"choices": ["Pending","Sent","Clicked","AddedToGroup","Active","Skipped Registered","Error"]}}),
        json!({"name": "MFARegistrationState", "indexed": true, "choice": {"choices": ["Unknown","Not Registered","Registered"]}}),
        json!({"name": "InGroup", "boolean": {}}),
        json!({"name": "ReminderCount", "number": {}}),
        json!({"name": "TrackingToken", "indexed": true, "text": {}}),
        json!({"name": "Notes", "text": {"allowMultipleLines": true}}),
        json!({"name": "EscalatedToManager", "boolean": {}}),
    ];
    for d in [
        "InviteSentDate",
        "ClickedLinkDate",
        "AddedToGroupDate",
        "MFARegistrationDate",
        "LastChecked",
        "LastReminderDate",
        "EmailOpenedDate",
        "EscalationDate",
    ] {
        cols.push(date(d));
    }
    for t in [
        "SourceBatchId",
        "CorrelationId",
        "DisplayName",
        "Department",
        "JobTitle",
        "ManagerUPN",
        "ObjectId",
        "UserType",
    ] {
        cols.push(text(t));
    }
    let list = g
        .client
        .create_list(&g.site, "MFA Onboarding", cols)
        .await
        .expect("legacy list");
    let title = g
        .client
        .list_columns(&g.site, &list.id)
        .await
        .expect("columns")
        .into_iter()
        .find(|c| c.name == "Title")
        .expect("title column");
    g.client
        .update_column(&g.site, &list.id, &title.id, json!({"indexed": true}))
        .await
        .expect("index title");
    list.id
}

fn row(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopts_a_list_of_the_old_system_without_losing_anything() {
    let g = env(Limits::default()).await;
    let list = legacy_list(&g).await;
    let t = g.sim.tenant();
    t.insert_items(
        &g.site,
        &list,
        vec![
            row(json!({"Title": "old.pending@contoso.com", "InviteStatus": "Pending", "DisplayName": "Old Pending", "UserType": "Member", "Notes": "keep me"})),
            row(json!({"Title": "old.sent@contoso.com", "InviteStatus": "Sent", "InviteSentDate": "2026-02-01T10:00:00Z", "ReminderCount": 1, "TrackingToken": "3f2b8c1e-8f7a-4d2e-9b1a-2c3d4e5f6a7b", "ObjectId": ""})),
            row(json!({"Title": "old.error@contoso.com", "InviteStatus": "Error"})),
            row(json!({"Title": "old.done@contoso.com", "InviteStatus": "Skipped Registered", "MFARegistrationState": "Registered"})),
        ],
    )
    .expect("seed legacy rows");
    let store = SharePointStore::open(g.client.clone(), &g.site, &list, Options::default())
        .await
        .expect("open adopts");
    let pending = store
        .get_by_upn(&upn("old.pending@contoso.com"))
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(pending.status, InviteStatus::Pending);
    assert_eq!(pending.display_name.as_deref(), Some("Old Pending"));
    let by_token = store
        .get_by_token(&pending.token)
        .await
        .expect("read")
        .expect("generated token was written");
    assert_eq!(by_token.upn, pending.upn);
    let sent = store
        .get_by_upn(&upn("old.sent@contoso.com"))
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(
        sent.token.to_string(),
        "3f2b8c1e-8f7a-4d2e-9b1a-2c3d4e5f6a7b",
        "existing links keep working"
    );
    assert_eq!((sent.status, sent.reminder_count), (InviteStatus::Sent, 1));
    assert!(sent.object_id.is_none());
    let error = store
        .get_by_upn(&upn("old.error@contoso.com"))
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(error.status, InviteStatus::Pending);
    assert!(error.error_details.is_some());
    assert!(error.next_due_at.is_none(), "errors wait for a re-upload");
    let done = store
        .get_by_upn(&upn("old.done@contoso.com"))
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(done.status, InviteStatus::Active);
    let due = store
        .due(&DueQuery {
            statuses: vec![InviteStatus::Pending],
            now: mfa_core::clock::Clock::now(&g.clock),
            after: None,
            limit: 10,
            batch: None,
        })
        .await
        .expect("due");
    assert_eq!(
        due.len(),
        1,
        "the legacy Pending row is due for an invitation"
    );
    let raw = t.list_items(&g.site, &list).expect("items");
    assert_eq!(raw.len(), 4, "nothing lost");
    assert!(raw.iter().all(|(_, f)| f
        .get("TrackingToken")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())));
    assert!(raw
        .iter()
        .any(|(_, f)| f.get("Notes").and_then(Value::as_str) == Some("keep me")));
    // A re-upload of the errored person queues them again.
    let s = store
        .upsert_people(
            &batch("retry", t0(), UpsertMode::KeepHistory),
            vec![NewPerson::new(upn("old.error@contoso.com"))],
        )
        .await
        .expect("re-upload");
    assert_eq!(s.requeued, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_412_between_read_and_write_is_decided_again_never_overwritten() {
    let g = env(Limits::default()).await;
    let a = open(&g).await;
    let b = open(&g).await;
    a.upsert_people(
        &batch("b", t0(), UpsertMode::KeepHistory),
        vec![NewPerson::new(upn("x@contoso.com"))],
    )
    .await
    .expect("upload");
    let read_a = a
        .get_by_upn(&upn("x@contoso.com"))
        .await
        .expect("read")
        .expect("row");
    let mut via_b = b
        .get_by_upn(&upn("x@contoso.com"))
        .await
        .expect("read")
        .expect("row");
    via_b.reminder_count = 7;
    b.update(&via_b).await.expect("b writes first");
    let mut stale = read_a.clone();
    stale
        .apply(StatusEvent::InvitationSent, t0())
        .expect("send");
    assert!(matches!(
        a.update(&stale).await,
        Err(StoreError::Conflict { .. })
    ));
    let now = a
        .get_by_upn(&upn("x@contoso.com"))
        .await
        .expect("read")
        .expect("row");
    assert_eq!((now.reminder_count, now.status), (7, InviteStatus::Pending));
    // A spurious 412 (nothing changed) is retried and the write lands.
    g.sim.tenant().add_fault(FaultRule {
        matcher: FaultMatcher {
            path_contains: Some("/fields".into()),
            method: Some("PATCH".into()),
            ..FaultMatcher::default()
        },
        trigger: FaultTrigger::FirstN(1),
        action: FaultAction::Status {
            status: 412,
            retry_after: None,
        },
    });
    let mut fresh = now;
    fresh.reminder_count = 8;
    let written = a
        .update(&fresh)
        .await
        .expect("retried after a spurious 412");
    assert_eq!(written.reminder_count, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_writes_are_retried_and_uploads_stay_whole() {
    let mut g = env(Limits::default()).await;
    g.allow_sent_while_throttled = true;
    let store = open(&g).await;
    g.sim.tenant().add_fault(FaultRule {
        matcher: FaultMatcher {
            path_contains: Some("/items".into()),
            method: Some("POST".into()),
            ..FaultMatcher::default()
        },
        trigger: FaultTrigger::EveryNth(3),
        action: FaultAction::Status {
            status: 429,
            retry_after: Some(2),
        },
    });
    let people: Vec<NewPerson> = (0..60)
        .map(|i| NewPerson::new(upn(&format!("t{i:03}@contoso.com"))))
        .collect();
    let s = store
        .upsert_people(&batch("w", t0(), UpsertMode::KeepHistory), people)
        .await
        .expect("upload despite 429s");
    assert_eq!(s.inserted, 60);
    g.sim.tenant().clear_faults();
    let sum = store.summary(t0()).await.expect("summary");
    assert_eq!(sum.funnel.uploaded, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_query_on_50k_items_reads_only_due_rows() {
    let g = env(Limits::default()).await;
    let store = open(&g).await;
    let list = store.list_id().to_string();
    let base = t0();
    let rows: Vec<Map<String, Value>> = (0..50_000u32)
        .map(|i| {
            let due = if i % 100 == 0 {
                base - Duration::hours(1)
            } else {
                base + Duration::days(30)
            };
            row(json!({
                "Title": format!("p{i:06}@contoso.com"),
                "InviteStatus": if i % 200 == 0 { "Pending" } else { "Sent" },
                "TrackingToken": uuid::Uuid::new_v4().to_string(),
                "NextDueAt": due.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "RowVersion": 1,
                "SourceBatchId": "big",
            }))
        })
        .collect();
    g.sim
        .tenant()
        .insert_items(&g.site, &list, rows)
        .expect("seed 50k");
    let before = g.sim.tenant().requests().len();
    let mut seen = 0;
    let mut after = None;
    loop {
        let page = store
            .due(&DueQuery {
                statuses: vec![InviteStatus::Sent],
                now: base,
                after: after.clone(),
                limit: 50,
                batch: None,
            })
            .await
            .expect("due page");
        let Some(last) = page.last() else { break };
        after = last.next_due_at.map(|d| (d, last.upn.clone()));
        seen += page.len();
    }
    let requests = g.sim.tenant().requests().len() - before;
    assert_eq!(seen, 250, "500 due rows, half of them Sent");
    assert!(
        requests <= 2,
        "the due query read only due rows: {requests} requests"
    );
    let by_token_before = g.sim.tenant().requests().len();
    let one = store
        .get_by_upn(&upn("p049999@contoso.com"))
        .await
        .expect("read")
        .expect("found");
    assert!(store
        .get_by_token(&one.token)
        .await
        .expect("read")
        .is_some());
    assert_eq!(g.sim.tenant().requests().len() - by_token_before, 2);
    let s = store.summary(base).await.expect("summary");
    assert_eq!(s.funnel.uploaded, 50_000);
}

/// A mail log entry carries the time its write left, after the wait for RUs: the next run's
/// limiter, primed from the log, never counts a send earlier than it happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_log_entry_is_stamped_when_its_write_leaves() {
    let g = env(Limits::default()).await;
    let store = SharePointStore::open(
        g.client.clone(),
        &g.site,
        "MFA Onboarding",
        Options {
            ru_per_minute: 40,
            ..Options::default()
        },
    )
    .await
    .expect("open store");
    // Spend the minute's budget (each look-up is a query page, 2 RU).
    let mut n = 0;
    let before_wait = loop {
        let at = mfa_core::clock::Clock::now(&g.clock);
        store.get_meta("spend").await.expect("read");
        n += 1;
        if mfa_core::clock::Clock::now(&g.clock) > at || n > 40 {
            break at;
        }
    };
    assert!(n <= 40, "the budget never ran out");
    // The budget is spent again by the next look-ups; the entry waits for RUs before it leaves.
    for _ in 0..19 {
        store.get_meta("spend").await.expect("read");
    }
    let planned = mfa_core::clock::Clock::now(&g.clock);
    let entry = mfa_core::store::SendLogEntry {
        mailbox: upn("mfa@contoso.test"),
        at: planned,
        recipients: 1,
    };
    let stamped = store.log_send(&entry).await.expect("log");
    assert!(stamped > planned, "stamped {stamped}, planned {planned}");
    assert!(stamped > before_wait + Duration::seconds(50));
    let logged = store.sends_since(planned).await.expect("sends");
    assert_eq!(logged.len(), 1);
    assert!(logged[0].at >= stamped && logged[0].at < stamped + Duration::seconds(1));
}

/// SharePoint keeps whole seconds: an entry made at 10.550 reads back as 11, not 10, so the
/// next run's limiter never lets a mailbox's minute end before Exchange's does (seen in the
/// campaign bench as `LimitExceeded` 0.5 s early, at 09:20:10.050 for sends at 09:19:10.550).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_log_entry_is_rounded_up_to_the_second() {
    let g = env(Limits::default()).await;
    let store = SharePointStore::open(
        g.client.clone(),
        &g.site,
        "MFA Onboarding",
        Options::default(),
    )
    .await
    .expect("open store");
    let now = mfa_core::clock::Clock::now(&g.clock);
    let planned = now - Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos()))
        + Duration::seconds(5)
        + Duration::milliseconds(550);
    let entry = mfa_core::store::SendLogEntry {
        mailbox: upn("mfa@contoso.test"),
        at: planned,
        recipients: 1,
    };
    let counted = store.log_send(&entry).await.expect("log");
    assert_eq!(counted, planned);
    let logged = store.sends_since(now).await.expect("sends");
    assert_eq!(logged.len(), 1);
    assert_eq!(
        logged[0].at,
        planned - Duration::milliseconds(550) + Duration::seconds(1)
    );
}

/// The due reads made since request `from`: `(whole, incremental)` — a whole read asks for
/// `NextDueAt le now` only, an incremental one also `gt <last read − overlap>`.
fn due_reads(g: &Guard, from: usize) -> (usize, usize) {
    let reads: Vec<String> = g.sim.tenant().requests()[from..]
        .iter()
        .filter(|r| r.method == "GET" && r.query.contains("NextDueAt"))
        .map(|r| r.query.clone())
        .collect();
    let incremental = reads
        .iter()
        .filter(|q| q.replace("%20", " ").contains(" gt "))
        .count();
    (reads.len() - incremental, incremental)
}

/// A run's due queries share one read of the due rows: a new sequence within `DUE_REUSE` reads
/// only what became due since the last read (a minute's overlap included), this process's own
/// writes are applied to what it read, and a row another process wrote with a due time before
/// that read shows once the reuse ends (the next whole read).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_queries_share_one_read_and_follow_own_writes() {
    use mfa_core::store::sharepoint::DUE_REUSE;
    let g = env(Limits::default()).await;
    let worker = open(&g).await;
    let other = open(&g).await;
    let start = mfa_core::clock::Clock::now(&g.clock);
    let people = (0..30)
        .map(|i| NewPerson::new(upn(&format!("p{i:02}@contoso.com"))))
        .collect();
    other
        .upsert_people(&batch("b1", start, UpsertMode::KeepHistory), people)
        .await
        .expect("upload");
    let pending = |now| DueQuery {
        statuses: vec![InviteStatus::Pending],
        now,
        after: None,
        limit: 100,
        batch: None,
    };
    let upns = |recs: Vec<mfa_core::domain::OnboardingRecord>| -> Vec<String> {
        recs.into_iter().map(|r| r.upn.to_string()).collect()
    };
    let mark = g.sim.tenant().requests().len();
    assert_eq!(worker.due(&pending(start)).await.expect("due").len(), 30);
    assert_eq!(
        due_reads(&g, mark),
        (1, 0),
        "the first query reads every due row"
    );

    // This process invites p00 (due again in 7 days); another uploads p30 (due now) and p31
    // (its upload stamped 10 minutes ago, before the worker's read).
    g.clock.advance(std::time::Duration::from_secs(60));
    let now = mfa_core::clock::Clock::now(&g.clock);
    let mut p00 = worker
        .get_by_upn(&upn("p00@contoso.com"))
        .await
        .expect("read")
        .expect("p00");
    p00.apply(StatusEvent::InvitationSent, now).expect("invite");
    p00.next_due_at = Some(now + Duration::days(7));
    worker.update(&p00).await.expect("write");
    other
        .upsert_people(
            &batch("b2", now, UpsertMode::KeepHistory),
            vec![NewPerson::new(upn("p30@contoso.com"))],
        )
        .await
        .expect("upload p30");
    other
        .upsert_people(
            &batch("b3", start - Duration::minutes(10), UpsertMode::KeepHistory),
            vec![NewPerson::new(upn("p31@contoso.com"))],
        )
        .await
        .expect("upload p31");

    let mark = g.sim.tenant().requests().len();
    let due = upns(worker.due(&pending(now)).await.expect("due"));
    assert_eq!(
        due_reads(&g, mark),
        (0, 1),
        "a new sequence reads only what became due"
    );
    assert!(
        !due.contains(&"p00@contoso.com".to_string()),
        "own write applied"
    );
    assert!(
        due.contains(&"p30@contoso.com".to_string()),
        "newly due seen at once"
    );
    assert!(
        !due.contains(&"p31@contoso.com".to_string()),
        "due before the read: not yet"
    );
    assert_eq!(due.len(), 30);
    assert_eq!(
        worker
            .due_batches(&[InviteStatus::Pending], now)
            .await
            .expect("batches")
            .len(),
        2,
        "b1 and b2, from the same read"
    );

    g.clock.advance(DUE_REUSE.to_std().expect("positive"));
    let later = mfa_core::clock::Clock::now(&g.clock);
    let mark = g.sim.tenant().requests().len();
    let due = upns(worker.due(&pending(later)).await.expect("due"));
    assert_eq!(
        due_reads(&g, mark),
        (1, 0),
        "after the reuse, every due row again"
    );
    assert!(due.contains(&"p31@contoso.com".to_string()));
    assert!(!due.contains(&"p00@contoso.com".to_string()));
    assert_eq!(due.len(), 31);
}
