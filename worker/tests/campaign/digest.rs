//! Escalations reach each manager as one digest a day, after a grace period: a manager with 47
//! overdue reports gets one email listing all of them, never a second email about one person.

use mfa_core::passes::PassKind;
use mfa_core::passes::RunRequest;

use crate::helpers::{spawn, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_digest_per_manager_per_day_listing_every_overdue_report() {
    let env = spawn(Options::default()).await;
    let boss = env.add_user("boss", "Barbara Boss", None);
    let early: Vec<String> = (0..47)
        .map(|i| env.add_user(&format!("r{i:02}"), &format!("Report {i:02}"), Some("boss")))
        .collect();
    let late: Vec<String> = (0..3)
        .map(|i| env.add_user(&format!("late{i}"), &format!("Late {i}"), Some("boss")))
        .collect();
    env.upload(&early).await;
    env.orchestrate().await;
    env.clock.advance(std::time::Duration::from_secs(12 * 3600));
    env.upload_batch("wave-2", &late).await;
    // Every 12 hours for 25 days.
    for _ in 0..50 {
        env.orchestrate().await;
        env.clock.advance(std::time::Duration::from_secs(12 * 3600));
    }
    let to_boss = env.mail_to(&boss);
    assert_eq!(
        to_boss.len(),
        2,
        "one digest for the 47, one a day later for the 3"
    );
    let first = &to_boss[0];
    assert!(
        first.subject.contains("47 of your reports"),
        "{}",
        first.subject
    );
    for upn in &early {
        assert!(first.body.contains(upn.as_str()), "{upn} listed");
    }
    let second = &to_boss[1];
    assert!(
        second.subject.contains("3 of your reports"),
        "{}",
        second.subject
    );
    for upn in &late {
        assert!(second.body.contains(upn.as_str()));
    }
    for upn in &early {
        assert!(
            !second.body.contains(upn.as_str()),
            "never twice about {upn}"
        );
    }
    assert!(second.at - first.at >= chrono::Duration::days(1));
    for upn in early.iter().chain(&late) {
        let r = env.record(upn).await;
        assert!(r.escalated_to_manager, "{upn}");
        assert_eq!(
            r.manager_upn.as_ref().map(|m| m.to_string()),
            Some(boss.clone())
        );
        assert_eq!(r.send_intent, None);
    }
    env.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_names_the_digest_and_sends_nothing() {
    let env = spawn(Options::default()).await;
    let boss = env.add_user("boss", "Barbara Boss", None);
    let reports: Vec<String> = (0..2)
        .map(|i| env.add_user(&format!("r{i}"), &format!("Report {i}"), Some("boss")))
        .collect();
    env.upload(&reports).await;
    env.orchestrate().await;
    env.advance_days(7);
    env.orchestrate().await;
    env.advance_days(7);
    env.orchestrate().await;
    env.advance_days(3);
    let report = env
        .worker
        .run_passes(RunRequest {
            passes: PassKind::ORCHESTRATOR.to_vec(),
            now: None,
            dry_run: true,
            trigger: "test".into(),
        })
        .await
        .expect("dry run");
    let notes: Vec<&String> = report.passes.iter().flat_map(|p| &p.notes).collect();
    assert!(
        notes.iter().any(|n| n.contains(&format!(
            "would escalate to {boss} (one email about 2 people)"
        ))),
        "{notes:?}"
    );
    assert!(env.mail_to(&boss).is_empty());
    env.orchestrate().await;
    assert_eq!(env.mail_to(&boss).len(), 1);
}
