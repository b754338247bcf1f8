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
