//! The campaign on the SharePoint list store: the same journey as the SQLite campaign, with the
//! simulator refusing non-indexed filters and enforcing `If-Match`.

use crate::helpers::Options;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_campaign_on_the_sharepoint_list_store() {
    crate::whole_campaign(Options {
        sharepoint: true,
        ..Options::default()
    })
    .await;
}

/// A read of the registration report matches it against the people still unfinished, read once:
/// the tenant's other registered people (or those already Active) cost no store look-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_read_looks_up_no_one_outside_the_unfinished() {
    use mfa_core::domain::InviteStatus;
    use mfa_core::passes::PassKind;
    use tenant_sim::MethodKind;
    let env = crate::helpers::spawn(Options {
        sharepoint: true,
        extra: vec![("MFA_CHECK_MODE", "report".into())],
        ..Options::default()
    })
    .await;
    for i in 0..60 {
        let other = env.add_user(&format!("staff{i:02}"), "Staff", None);
        env.tenant
            .register_mfa(&other, MethodKind::MicrosoftAuthenticator)
            .expect("register");
    }
    let people: Vec<String> = (0..10)
        .map(|i| env.add_user(&format!("p{i:02}"), "Person", None))
        .collect();
    env.upload(&people).await;
    env.orchestrate().await;
    for p in &people[..3] {
        env.tenant
            .register_mfa(p, MethodKind::MicrosoftAuthenticator)
            .expect("register");
    }
    env.advance_days(1);
    let before = env.tenant.requests().len();
    env.run(&[PassKind::Check]).await;
    let lookups = env.tenant.requests()[before..]
        .iter()
        .map(|r| r.query.replace("%20", " "))
        .filter(|q| q.contains("fields/Title eq") && !q.contains("meta%3A"))
        .count();
    assert_eq!(lookups, 0, "no look-up per registered person");
    for (i, p) in people.iter().enumerate() {
        let expected = if i < 3 {
            InviteStatus::Active
        } else {
            InviteStatus::Sent
        };
        assert_eq!(env.record(p).await.status, expected, "{p}");
    }
}

/// Mail log entries older than a day are deleted after the run's emails, with time the run does
/// not need for sending: on SharePoint each costs a delete, and a day's worth deleted first
/// held back every run's first email (35 s a run in the 100,000-person bench).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_mail_log_entries_are_pruned_after_the_emails_not_before() {
    use chrono::Duration;
    use mfa_core::clock::Clock;
    use mfa_core::domain::Upn;
    use mfa_core::store::SendLogEntry;
    let env = crate::helpers::spawn(Options {
        sharepoint: true,
        ..Options::default()
    })
    .await;
    // 400 entries (800 RU of deletes: over 30 s of the default 1,250 RU/min), two days old.
    let mailbox = Upn::parse(&env.mailboxes[0]).expect("mailbox");
    for _ in 0..400 {
        let entry = SendLogEntry {
            mailbox: mailbox.clone(),
            at: env.clock.now(),
            recipients: 1,
        };
        env.store.log_send(&entry).await.expect("log");
    }
    env.advance_days(2);
    let people: Vec<String> = (0..5)
        .map(|i| env.add_user(&format!("p{i}"), "Person", None))
        .collect();
    env.upload(&people).await;
    let start = env.clock.now();
    let from = env.tenant.requests().len();
    env.orchestrate().await;

    let requests = env.tenant.requests()[from..].to_vec();
    let sends: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/sendMail"))
        .collect();
    assert_eq!(sends.len(), 5, "every invitation sent");
    assert!(
        sends[0].at < start + Duration::seconds(5),
        "the first email waited for nothing: sent {} after the start",
        sends[0].at - start
    );
    let last_send = requests
        .iter()
        .rposition(|r| r.path.ends_with("/sendMail"))
        .expect("a send");
    let deletes: Vec<usize> = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.method == "DELETE" && r.in_batch)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        deletes.len(),
        400,
        "each old entry deleted once, in `$batch`"
    );
    assert!(deletes[0] > last_send, "deleted after the last email");
    let kept = env
        .store
        .sends_since(start - Duration::days(10))
        .await
        .expect("log");
    assert_eq!(
        kept.len(),
        5,
        "the run's own entries kept, the old ones gone"
    );
    assert!(kept.iter().all(|e| e.at >= start));
    env.assert_no_violations();
}
