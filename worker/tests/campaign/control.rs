//! The admin in control: held uploads released in waves (with daily caps), the pause switch
//! (no email of any kind; resuming sends no burst), exclusions, and the dry run the portal's
//! preview shows. The controls are changed through `mfa_core::control`, as the admin API does.

use mfa_core::control::{self, Release};
use mfa_core::domain::{Hold, InviteStatus, StatusEvent, Upn};
use mfa_core::passes::{PassKind, RunRequest};
use mfa_core::store::{Attention, PeopleFilter};

use crate::helpers::{spawn, Options, TestEnv};

fn people(env: &TestEnv, prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            env.add_user(
                &format!("{prefix}{i:02}"),
                &format!("Person {i}"),
                Some("boss"),
            )
        })
        .collect()
}

fn emails_to(env: &TestEnv, upns: &[String]) -> usize {
    upns.iter().map(|u| env.mail_to(u).len()).sum()
}

async fn release(env: &TestEnv, batch: &str, per_day: Option<u32>) {
    let at = env.clock_now();
    control::update(env.store.as_ref(), |c| {
        c.releases.insert(
            batch.to_string(),
            Release {
                at,
                per_day,
                by: "ada@contoso.test".into(),
                released: 0,
                day: None,
                released_that_day: 0,
                done: false,
            },
        );
        Some(())
    })
    .await
    .expect("release written");
}

/// On to the next UTC midnight (the tests start at 09:00), so each day of runs is one UTC day.
fn midnight(env: &TestEnv) {
    env.clock.advance(std::time::Duration::from_secs(15 * 3600));
}

async fn pause(env: &TestEnv) {
    let now = env.clock_now();
    control::update(env.store.as_ref(), |c| c.pause("ada", now).then_some(()))
        .await
        .expect("paused");
}

async fn resume(env: &TestEnv) {
    let now = env.clock_now();
    control::update(env.store.as_ref(), |c| c.resume(now).then_some(()))
        .await
        .expect("resumed");
}

async fn count(env: &TestEnv, attention: Attention) -> u64 {
    env.store
        .list(
            &PeopleFilter {
                attention: Some(attention),
                ..PeopleFilter::default()
            },
            0,
            1,
        )
        .await
        .expect("list")
        .total
}

impl TestEnv {
    /// Runs every scheduled pass and the report `times` a day for `days` days.
    async fn days_of_runs(&self, days: i64, times: u32) {
        for _ in 0..days * i64::from(times) {
            self.run(&[
                PassKind::Check,
                PassKind::Escalation,
                PassKind::Reminder,
                PassKind::Invitation,
                PassKind::Deadline,
                PassKind::Report,
            ])
            .await;
            self.clock
                .advance(std::time::Duration::from_secs(86_400 / u64::from(times)));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_upload_sends_nothing_for_days_and_its_release_sends_in_the_next_run() {
    let env = spawn(Options::default()).await;
    env.add_user("boss", "Barbara Boss", None);
    let held = people(&env, "held", 6);
    env.upload_with("wave-2", &held, true).await;
    env.days_of_runs(3, 4).await;
    assert_eq!(
        emails_to(&env, &held),
        0,
        "nobody in a held upload is emailed"
    );
    for upn in &held {
        let r = env.record(upn).await;
        assert_eq!(r.status, InviteStatus::Pending);
        assert_eq!(r.hold, Some(Hold::Held));
        assert_eq!(r.next_due_at, None, "{upn} is not due while held");
    }
    let now = env.clock_now();
    let summary = env.store.summary(now).await.expect("summary");
    assert_eq!(summary.held, 6);
    assert_eq!(summary.queued, 0, "held people are not waiting to be sent");
    assert_eq!(
        count(&env, Attention::NotClicked { before: now }).await,
        0,
        "held people are never overdue"
    );
    let batch = summary
        .by_batch
        .iter()
        .find(|b| b.batch_id == "wave-2")
        .expect("batch");
    assert_eq!(batch.held, 6);

    release(&env, "wave-2", None).await;
    env.orchestrate().await;
    for upn in &held {
        assert_eq!(env.mail_to(upn).len(), 1, "{upn} invited in the next run");
        let r = env.record(upn).await;
        assert_eq!(r.status, InviteStatus::Sent);
        assert_eq!(r.hold, None);
        let history = r.history.unwrap_or_default();
        assert!(history.contains("held"), "{history}");
        assert!(history.contains("released"), "{history}");
        assert!(
            history.contains(&format!("invitation sent (from {})", env.mailboxes[0])),
            "{history}"
        );
    }
    let c = control::load(env.store.as_ref()).await.expect("control");
    let r = &c.releases["wave-2"];
    assert!(r.done);
    assert_eq!(r.released, 6);
    env.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_caps_spread_a_release_over_days() {
    let env = spawn(Options {
        extra: vec![("MFA_INVITES_PER_DAY", "4".into())],
        ..Options::default()
    })
    .await;
    env.add_user("boss", "Barbara Boss", None);
    let wave = people(&env, "w", 10);
    env.upload_with("wave-3", &wave, true).await;
    midnight(&env);
    release(&env, "wave-3", None).await;
    // Four runs a day: the campaign-wide cap holds each day to 4 first invitations.
    let mut per_day = Vec::new();
    for _ in 0..3 {
        let before = emails_to(&env, &wave);
        env.days_of_runs(1, 4).await;
        per_day.push(emails_to(&env, &wave) - before);
    }
    assert_eq!(
        per_day,
        vec![4, 4, 2],
        "MFA_INVITES_PER_DAY spreads the wave"
    );

    // A batch released at most 3 a day (and no campaign cap reached: 10 - 10 left today).
    let env = spawn(Options::default()).await;
    env.add_user("boss", "Barbara Boss", None);
    let wave = people(&env, "v", 7);
    env.upload_with("wave-4", &wave, true).await;
    midnight(&env);
    release(&env, "wave-4", Some(3)).await;
    let mut per_day = Vec::new();
    for _ in 0..3 {
        let before = emails_to(&env, &wave);
        env.days_of_runs(1, 4).await;
        per_day.push(emails_to(&env, &wave) - before);
    }
    assert_eq!(per_day, vec![3, 3, 1], "perDay releases 3 a day");
    assert!(
        control::load(env.store.as_ref())
            .await
            .expect("control")
            .releases["wave-4"]
            .done
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_stops_every_email_and_resuming_sends_no_burst() {
    let env = spawn(Options {
        extra: vec![
            ("MFA_ESCALATE_AFTER_REMINDERS", "1".into()),
            ("MFA_ESCALATION_GRACE_DAYS", "1".into()),
        ],
        ..Options::default()
    })
    .await;
    let boss = env.add_user("boss", "Barbara Boss", None);
    let invited = people(&env, "p", 4);
    env.upload(&invited).await;
    env.orchestrate().await;
    assert_eq!(emails_to(&env, &invited), 4);
    let later = people(&env, "q", 3);
    env.upload_batch("wave-2", &later).await;
    env.advance_days(2);
    pause(&env).await;
    let outbox_before = env.tenant.outbox().len();
    // 30 days paused: reminders, escalations, new invitations and reports all wait.
    env.days_of_runs(30, 2).await;
    assert_eq!(
        env.tenant.outbox().len(),
        outbox_before,
        "no email of any kind while paused"
    );
    resume(&env).await;
    env.orchestrate().await;
    // Invited 32 days ago, 30 of them paused: the first reminder is 5 days away, not overdue.
    assert_eq!(emails_to(&env, &invited), 4, "no burst of stale reminders");
    assert_eq!(env.mail_to(&boss).len(), 0, "no stale escalation");
    assert_eq!(emails_to(&env, &later), 3, "the waiting invitations go out");
    env.advance_days(4);
    env.orchestrate().await;
    assert_eq!(
        emails_to(&env, &invited),
        4,
        "still inside the moved interval"
    );
    env.advance_days(2);
    env.orchestrate().await;
    assert_eq!(
        emails_to(&env, &invited),
        8,
        "one reminder each, on the moved day"
    );
    env.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_excluded_person_is_never_emailed_until_included() {
    let env = spawn(Options::default()).await;
    env.add_user("boss", "Barbara Boss", None);
    let both = people(&env, "x", 2);
    env.upload(&both).await;
    let upn = Upn::parse(&both[0]).expect("upn");
    let mut rec = env.record(&both[0]).await;
    rec.apply(StatusEvent::Excluded, env.clock_now())
        .expect("exclude");
    env.store.update(&rec).await.expect("saved");
    env.days_of_runs(10, 2).await;
    assert_eq!(env.mail_to(&both[0]).len(), 0, "excluded: never emailed");
    assert_eq!(
        env.mail_to(&both[1]).len(),
        2,
        "the other: invitation and a reminder"
    );
    assert_eq!(count(&env, Attention::Excluded).await, 1);
    let mut rec = env
        .store
        .get_by_upn(&upn)
        .await
        .expect("read")
        .expect("rec");
    rec.apply(StatusEvent::Included, env.clock_now())
        .expect("include");
    env.store.update(&rec).await.expect("saved");
    env.orchestrate().await;
    assert_eq!(
        env.mail_to(&both[0]).len(),
        1,
        "included: invited at the next run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_counts_what_the_next_run_sends_by_kind_and_batch_and_changes_nothing() {
    let env = spawn(Options::default()).await;
    env.add_user("boss", "Barbara Boss", None);
    let first = people(&env, "a", 3);
    env.upload(&first).await;
    env.orchestrate().await;
    env.advance_days(8);
    let second = people(&env, "b", 2);
    env.upload_batch("wave-2", &second).await;
    let held = people(&env, "c", 2);
    env.upload_with("wave-3", &held, true).await;
    let before: Vec<_> = {
        let mut v = Vec::new();
        for u in first.iter().chain(&second).chain(&held) {
            v.push(env.record(u).await);
        }
        v
    };
    let outbox = env.tenant.outbox().len();
    let mut passes = PassKind::ORCHESTRATOR.to_vec();
    passes.push(PassKind::Report);
    let report = env
        .worker
        .run_passes(RunRequest {
            passes,
            now: None,
            dry_run: true,
            trigger: "preview".into(),
        })
        .await
        .expect("dry run");
    let mut planned = std::collections::BTreeMap::<(String, String), u64>::new();
    for p in &report.passes {
        for (kind, batches) in &p.planned {
            for (batch, n) in batches {
                *planned.entry((kind.clone(), batch.clone())).or_default() += n;
            }
        }
    }
    assert_eq!(planned.get(&("reminder".into(), "wave-1".into())), Some(&3));
    assert_eq!(
        planned.get(&("invitation".into(), "wave-2".into())),
        Some(&2)
    );
    assert_eq!(planned.get(&("report".into(), String::new())), Some(&1));
    assert!(
        !planned.keys().any(|(_, b)| b == "wave-3"),
        "held people are not in the preview: {planned:?}"
    );
    assert_eq!(env.tenant.outbox().len(), outbox, "nothing sent");
    for rec in before {
        assert_eq!(env.record(rec.upn.as_str()).await, rec, "nothing written");
    }
    // Paused: the preview says nothing would be sent.
    pause(&env).await;
    let report = env
        .worker
        .run_passes(RunRequest {
            passes: PassKind::ORCHESTRATOR.to_vec(),
            now: None,
            dry_run: true,
            trigger: "preview".into(),
        })
        .await
        .expect("dry run");
    assert!(
        report.passes.iter().all(|p| p.planned.is_empty()),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sample_email_renders_for_a_chosen_person_with_the_templates_in_use() {
    let env = spawn(Options::default()).await;
    env.add_user("boss", "Barbara Boss", None);
    let one = people(&env, "s", 1);
    env.upload(&one).await;
    let upn = Upn::parse(&one[0]).expect("upn");
    let rec = env.record(&one[0]).await;
    for kind in [
        mfa_core::domain::MailKind::Invitation,
        mfa_core::domain::MailKind::Reminder,
        mfa_core::domain::MailKind::Escalation,
    ] {
        let sample = env
            .worker
            .sample_email(kind, Some(&upn))
            .await
            .expect("rendered")
            .expect("person exists");
        assert!(!sample.subject.is_empty());
        assert!(sample.templates.iter().all(|t| t.source == "built-in"));
        if kind != mfa_core::domain::MailKind::Escalation {
            assert!(
                sample.html.contains(&rec.token.to_string()),
                "{kind:?}: the person's own link"
            );
        }
    }
    let report = env
        .worker
        .sample_email(mfa_core::domain::MailKind::Report, None)
        .await
        .expect("rendered")
        .expect("report");
    assert!(report.templates.iter().any(|t| t.file == "report.html.hbs"));
    let nobody = Upn::parse(&env.upn("nobody")).expect("upn");
    assert!(env
        .worker
        .sample_email(mfa_core::domain::MailKind::Invitation, Some(&nobody))
        .await
        .expect("no error")
        .is_none());
    assert_eq!(env.tenant.outbox().len(), 0, "nothing sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_stops_a_run_already_going_before_its_next_send() {
    let env = spawn(Options::default()).await;
    env.add_user("boss", "Barbara Boss", None);
    // One mailbox sends 30 a minute: 45 invitations need the run to wait on its clock, after
    // which it looks at the switch again.
    let wave = people(&env, "m", 45);
    env.upload(&wave).await;
    let watcher = {
        let tenant = env.tenant.clone();
        let store = env.store.clone();
        let clock = env.clock.clone();
        tokio::spawn(async move {
            while tenant.outbox().is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            let now = mfa_core::clock::Clock::now(&clock);
            control::update(store.as_ref(), |c| c.pause("ada", now).then_some(()))
                .await
                .expect("paused");
        })
    };
    env.run(&[PassKind::Invitation]).await;
    watcher.await.expect("watcher");
    let sent = emails_to(&env, &wave);
    assert!(sent >= 1, "the run had started sending");
    assert!(
        sent <= 30,
        "the run stopped at its next look at the switch: {sent} sent"
    );
    resume(&env).await;
    env.advance_days(1);
    env.run(&[PassKind::Invitation]).await;
    env.advance_days(1);
    env.run(&[PassKind::Invitation]).await;
    for upn in &wave {
        assert_eq!(
            env.mail_to(upn).len(),
            1,
            "{upn}: invited once after the resume"
        );
    }
    env.assert_no_violations();
}
