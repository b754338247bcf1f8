//! Throttling and faults during a campaign: nobody lost, nothing sent while throttled, at most
//! one duplicate email per crash.

use mfa_core::domain::{InviteStatus, MailKind};
use mfa_core::passes::PassKind;
use tenant_sim::{FaultRule, FaultTrigger};

use super::helpers::{spawn, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_on_mail_and_503s_on_users_lose_nobody() {
    let env = spawn(Options::default()).await;
    let people: Vec<String> = (0..40)
        .map(|i| env.add_user(&format!("s{i:02}"), "S", None))
        .collect();
    env.upload(&people).await;
    env.tenant.add_fault(
        FaultRule::status_on_path("/sendMail", 429, Some(5))
            .with_trigger(FaultTrigger::EveryNth(3)),
    );
    env.tenant.add_fault(
        FaultRule::status_on_path("/users", 503, Some(2)).with_trigger(FaultTrigger::FirstN(3)),
    );
    env.orchestrate().await;
    env.tenant.clear_faults();
    env.clock.advance(std::time::Duration::from_secs(900));
    env.orchestrate().await;
    for p in &people {
        assert_eq!(env.record(p).await.status, InviteStatus::Sent, "{p}");
        assert_eq!(env.mail_to(p).len(), 1, "{p} invited exactly once");
    }
    let early: Vec<_> = env
        .tenant
        .violations()
        .into_iter()
        .filter(|v| format!("{:?}", v.kind).contains("Retry"))
        .collect();
    assert!(early.is_empty(), "nothing sent while throttled: {early:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiry_mid_campaign_is_survived() {
    let env = spawn(Options::default()).await;
    let people: Vec<String> = (0..10)
        .map(|i| env.add_user(&format!("t{i}"), "T", None))
        .collect();
    env.upload(&people[..5]).await;
    env.orchestrate().await;
    env.tenant.expire_all_tokens();
    env.upload(&people[5..]).await;
    env.clock.advance(std::time::Duration::from_secs(60));
    env.orchestrate().await;
    for p in &people {
        assert_eq!(env.record(p).await.status, InviteStatus::Sent, "{p}");
    }
    env.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_send_and_record_resends_at_most_once() {
    let env = spawn(Options::default()).await;
    let p = env.add_user("crash", "Crash Test", None);
    env.upload(std::slice::from_ref(&p)).await;
    // State a run leaves when it dies right after the send: intent recorded, email out, lease held.
    let mut rec = env.record(&p).await;
    rec.send_intent = Some(MailKind::Invitation);
    rec.send_intent_at = Some(super::helpers::t0());
    rec.lease_owner = Some("crashed-run".into());
    rec.lease_until = Some(super::helpers::t0() + chrono::Duration::minutes(10));
    env.store.update(&rec).await.expect("write crash state");
    // A run inside the dead run's lease leaves the person alone.
    env.run(&[PassKind::Invitation]).await;
    assert!(env.mail_to(&p).is_empty(), "leased by the crashed run");
    // After the lease lapses the person is invited: one email (the possible duplicate).
    env.clock.advance(std::time::Duration::from_secs(11 * 60));
    env.run(&[PassKind::Invitation]).await;
    env.run(&[PassKind::Invitation]).await;
    assert_eq!(env.mail_to(&p).len(), 1);
    let rec = env.record(&p).await;
    assert_eq!(rec.status, InviteStatus::Sent);
    assert_eq!(rec.send_intent, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_at_once_do_not_both_send() {
    let env = spawn(Options::default()).await;
    let people: Vec<String> = (0..30)
        .map(|i| env.add_user(&format!("r{i:02}"), "R", None))
        .collect();
    env.upload(&people).await;
    let req = || mfa_core::passes::RunRequest {
        passes: vec![PassKind::Invitation],
        now: None,
        dry_run: false,
        trigger: "test".into(),
    };
    let (a, b) = tokio::join!(env.worker.run_passes(req()), env.worker.run_passes(req()));
    assert!(
        a.is_ok() != b.is_ok() || (a.is_ok() && b.is_ok()),
        "at least one runs"
    );
    if a.is_err() || b.is_err() {
        let err = a
            .err()
            .or(b.err())
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("in progress"), "{err}");
    }
    for p in &people {
        assert_eq!(env.mail_to(p).len(), 1, "{p} emailed once");
    }
}

/// Uploads racing a pass: while an invitation pass runs, the same people (with names the
/// directory lacks, so each upload writes their records) and new people are uploaded again and
/// again. Nobody is lost, nobody's status goes backwards, and everyone is invited exactly once.
/// Verified once: making `KeepHistory` re-uploads re-queue known people (the `Requeued` branch
/// of `upsert_people` in `core/src/store/sqlite/queries.rs` without its `error_details` guard)
/// makes this fail with "race000@… invited exactly once: left 7".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_racing_a_pass_lose_nobody_and_regress_nobody() {
    use mfa_core::domain::{BatchId, NewPerson, Source, Upn};
    use mfa_core::store::{UploadBatch, UpsertMode};
    use tenant_sim::NewUser;

    fn rank(s: InviteStatus) -> u8 {
        match s {
            InviteStatus::Pending => 0,
            InviteStatus::Sent => 1,
            InviteStatus::Clicked => 2,
            InviteStatus::AddedToGroup => 3,
            InviteStatus::Active => 4,
        }
    }
    let env = spawn(Options::default()).await;
    let add = |local: String| {
        let upn = env.upn(&local);
        env.tenant
            .add_user(NewUser {
                user_principal_name: upn.clone(),
                mail: Some(upn.clone()),
                account_enabled: Some(true),
                ..NewUser::default()
            })
            .expect("user");
        upn
    };
    let first: Vec<String> = (0..120).map(|i| add(format!("race{i:03}"))).collect();
    let later: Vec<String> = (0..40).map(|i| add(format!("late{i:03}"))).collect();
    env.upload(&first).await;
    let upload = |upns: Vec<String>, round: usize| {
        let store = env.store.clone();
        let now = env.clock_now();
        async move {
            let people = upns
                .iter()
                .map(|u| {
                    let mut p = NewPerson::new(Upn::parse(u).expect("upn"));
                    p.display_name = Some(format!("Name {round}"));
                    p
                })
                .collect();
            store
                .upsert_people(
                    &UploadBatch {
                        batch_id: BatchId::parse(&format!("race-{round}")).expect("batch"),
                        source: Source::CsvUpload,
                        correlation_id: uuid::Uuid::new_v4(),
                        now,
                        mode: UpsertMode::KeepHistory,
                        hold: false,
                        target: None,
                    },
                    people,
                )
                .await
        }
    };
    let mut seen = std::collections::HashMap::new();
    let uploads = async {
        for round in 0..30 {
            let mut upns = first.clone();
            upns.extend(later.iter().take(round + 11).cloned());
            upload(upns, round).await.expect("upload during the pass");
            for p in &first {
                let s = env.record(p).await.status;
                let before = seen.insert(p.clone(), s).unwrap_or(s);
                assert!(rank(s) >= rank(before), "{p} went back: {before:?} → {s:?}");
            }
            tokio::task::yield_now().await;
        }
    };
    let (report, ()) = tokio::join!(env.run(&[PassKind::Invitation]), uploads);
    env.clock.advance(std::time::Duration::from_secs(900));
    env.run(&[PassKind::Invitation]).await;
    env.clock.advance(std::time::Duration::from_secs(900));
    env.run(&[PassKind::Invitation]).await;
    for p in first.iter().chain(&later) {
        let rec = env.record(p).await;
        assert_eq!(
            rec.status,
            InviteStatus::Sent,
            "{p} lost: {rec:?} ({report:?})"
        );
        assert_eq!(env.mail_to(p).len(), 1, "{p} invited exactly once");
        assert_eq!(rec.send_intent, None, "{p}");
    }
}
