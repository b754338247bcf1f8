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
