//! Campaigns aim at a method strength (`MFA_TARGET_STRENGTH`): a person below the target is
//! not done, gets the upgrade invitation that teaches passkeys, and becomes Active within one
//! check pass of meeting it; the strength counts in the report equal the export's.

use std::collections::BTreeMap;

use futures::StreamExt;
use mfa_core::domain::{InviteStatus, Strength, TargetStrength};
use mfa_core::passes::PassKind;
use mfa_core::store::PeopleFilter;
use tenant_sim::{MethodKind, Passkey};

use crate::helpers::{spawn, Options, TestEnv};

async fn env_with(target: &str) -> TestEnv {
    spawn(Options {
        extra: vec![("MFA_TARGET_STRENGTH", target.into())],
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_phone_keeps_sms_only_people_going_until_they_add_a_passkey() {
    let env = env_with("beyond-phone").await;
    let sms = env.add_user("sms", "Sam Sms", None);
    let push = env.add_user("push", "Pat Push", None);
    env.tenant
        .register_mfa(&sms, MethodKind::Phone)
        .expect("sms");
    env.tenant
        .register_mfa(&push, MethodKind::MicrosoftAuthenticator)
        .expect("push");
    env.upload(&[sms.clone(), push.clone()]).await;
    env.orchestrate().await;

    let p = env.record(&push).await;
    assert_eq!(
        p.status,
        InviteStatus::Active,
        "push meets beyond-phone at once"
    );
    assert_eq!(p.strength, Some(Strength::App));
    assert!(
        env.mail_to(&push).is_empty(),
        "nobody emails a person who is done"
    );

    let s = env.record(&sms).await;
    assert_eq!(
        s.status,
        InviteStatus::Sent,
        "SMS alone is below the target"
    );
    assert_eq!(s.strength, Some(Strength::PhoneOnly));
    assert_eq!(s.methods.as_deref(), Some("sms"));
    let mail = env.mail_to(&sms);
    assert_eq!(mail.len(), 1);
    let body = &mail[0].body;
    assert!(
        mail[0].subject.to_lowercase().contains("passkey"),
        "{}",
        mail[0].subject
    );
    assert!(
        body.contains("passkey"),
        "the upgrade invitation teaches passkeys"
    );
    assert!(
        body.contains("1 February 2027"),
        "the phone-only person hears about the deadline"
    );
    assert!(body.contains("aka.ms/mysecurityinfo"));

    // A check pass that still sees only SMS leaves them as they are.
    env.clock.advance(std::time::Duration::from_secs(3600));
    env.run(&[PassKind::Check]).await;
    assert_eq!(env.record(&sms).await.status, InviteStatus::Sent);

    env.tenant
        .register_passkey(&sms, Passkey::Authenticator)
        .expect("passkey");
    env.clock.advance(std::time::Duration::from_secs(3600));
    env.run(&[PassKind::Check]).await;
    let s = env.record(&sms).await;
    assert_eq!(
        s.status,
        InviteStatus::Active,
        "Active within one check pass"
    );
    assert_eq!(s.strength, Some(Strength::PhishingResistant));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phishing_resistant_is_not_met_by_push() {
    let env = env_with("phishing-resistant").await;
    let push = env.add_user("push", "Pat Push", None);
    env.tenant
        .register_mfa(&push, MethodKind::MicrosoftAuthenticator)
        .expect("push");
    env.upload(std::slice::from_ref(&push)).await;
    env.orchestrate().await;
    let p = env.record(&push).await;
    assert_eq!(
        p.status,
        InviteStatus::Sent,
        "push is not phishing-resistant"
    );
    assert_eq!(p.strength, Some(Strength::App));
    let mail = env.mail_to(&push);
    assert_eq!(mail.len(), 1);
    assert!(mail[0].body.contains("passkey"));
    assert!(!mail[0].body.contains("1 February 2027"), "not phone-only");
    env.tenant
        .register_passkey(&push, Passkey::SecurityKey)
        .expect("key");
    env.clock.advance(std::time::Duration::from_secs(3600));
    env.run(&[PassKind::Check]).await;
    assert_eq!(env.record(&push).await.status, InviteStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_counts_strengths_as_the_export_does() {
    let env = env_with("beyond-phone").await;
    let people: Vec<String> = (0..6)
        .map(|i| env.add_user(&format!("u{i}"), &format!("U {i}"), None))
        .collect();
    env.tenant
        .register_mfa(&people[0], MethodKind::Phone)
        .expect("sms");
    env.tenant
        .register_mfa(&people[1], MethodKind::Phone)
        .expect("sms");
    env.tenant
        .register_mfa(&people[2], MethodKind::MicrosoftAuthenticator)
        .expect("push");
    env.tenant
        .register_passkey(&people[3], Passkey::Synced)
        .expect("passkey");
    // Not tracked: one more phone-only member, and a guest with SMS the tenant-wide count
    // leaves out.
    let untracked = env.add_user("x0", "X 0", None);
    env.tenant
        .register_mfa(&untracked, MethodKind::Phone)
        .expect("sms");
    let guest = env
        .tenant
        .add_user(tenant_sim::NewUser {
            user_principal_name: env.upn("guest"),
            account_enabled: Some(true),
            user_type: Some("Guest".into()),
            ..tenant_sim::NewUser::default()
        })
        .expect("guest");
    env.tenant
        .register_mfa(&guest.user_principal_name, MethodKind::Phone)
        .expect("guest sms");
    env.upload(&people).await;
    env.orchestrate().await;
    env.run(&[PassKind::Report]).await;
    let report = env
        .tenant
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.subject.contains("MFA Rollout Report"))
        .expect("report email");
    let mut export: BTreeMap<String, u64> = BTreeMap::new();
    let mut rows = env.store.export(PeopleFilter::default());
    while let Some(rec) = rows.next().await {
        let rec = rec.expect("row");
        let key = rec.strength.map_or("unknown", |s| s.as_str()).to_string();
        *export.entry(key).or_default() += 1;
    }
    assert_eq!(export.get("phone-only"), Some(&2));
    assert_eq!(export.get("app"), Some(&1));
    assert_eq!(export.get("phishing-resistant"), Some(&1));
    let summary = env
        .store
        .summary(mfa_core::clock::Clock::now(&env.clock))
        .await
        .expect("summary");
    for (k, n) in &export {
        assert_eq!(summary.by_strength.get(k), Some(n), "{k}");
    }
    let text = report.body;
    assert!(
        text.contains("Phone only, by department: (no department) 2"),
        "{text}"
    );
    assert!(
        text.contains("Microsoft's registration campaign:"),
        "{text}"
    );
    // Tenant-wide, from the registration report: the untracked member counted, the guest not.
    assert!(
        text.contains(
            "Phone only (blocked on 1 February 2027 if nothing changes): 2 (tenant-wide 3)"
        ) || text.contains(">2</td><td style=\"padding:6px 0 6px 12px;text-align:right\">3</td>"),
        "{text}"
    );
    let state = mfa_core::passes::PassRunner::state(&env.worker)
        .await
        .expect("state");
    let tenant = state.tenant_strength.expect("tenant-wide counts kept");
    assert_eq!(tenant["byStrength"]["phone-only"], 3, "{tenant}");
    assert_eq!(tenant["byStrength"]["app"], 1, "{tenant}");
    assert_eq!(tenant["byStrength"]["phishing-resistant"], 1, "{tenant}");
    assert_eq!(tenant["guests"], 1, "{tenant}");
    assert!(
        text.contains("Phone only (blocked on 1 February 2027 if nothing changes): 2")
            || text.contains("Phone only (blocked on 1 February 2027 if nothing changes)</td><td style=\"padding:6px 0;text-align:right\">2"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_people_lists_members_below_a_strength_without_guests_or_disabled_accounts() {
    let env = env_with("beyond-phone").await;
    let sms = env.add_user("sms", "Sam Sms", None);
    let none = env.add_user("none", "Nia None", None);
    let push = env.add_user("push", "Pat Push", None);
    let key = env.add_user("key", "Kim Key", None);
    env.tenant
        .register_mfa(&sms, MethodKind::Phone)
        .expect("sms");
    env.tenant
        .register_mfa(&push, MethodKind::MicrosoftAuthenticator)
        .expect("push");
    env.tenant
        .register_passkey(&key, Passkey::SecurityKey)
        .expect("key");
    env.tenant
        .add_user(tenant_sim::NewUser {
            user_principal_name: env.upn("guest"),
            account_enabled: Some(true),
            user_type: Some("Guest".into()),
            ..tenant_sim::NewUser::default()
        })
        .expect("guest");
    env.tenant
        .add_user(tenant_sim::NewUser {
            user_principal_name: env.upn("gone"),
            account_enabled: Some(false),
            ..tenant_sim::NewUser::default()
        })
        .expect("disabled");
    let found = env
        .worker
        .find_people(TargetStrength::BeyondPhone, None)
        .await
        .expect("found");
    let below: Vec<&str> = found.below.iter().map(|u| u.as_str()).collect();
    assert!(
        below.contains(&sms.as_str()) && below.contains(&none.as_str()),
        "{below:?}"
    );
    assert!(!below.contains(&push.as_str()) && !below.contains(&key.as_str()));
    assert!(!below
        .iter()
        .any(|u| u.starts_with("guest@") || u.starts_with("gone@")));
    assert_eq!(found.guests, 1);
    // (The simulator's report, like the seed's observation of Entra, leaves disabled accounts
    // out; when a report lists them, they are counted in `disabled` and left out the same way.)
    assert!(found.disabled <= 1);
    assert_eq!(found.by_strength.get("phishing-resistant"), Some(&1));
    let strict = env
        .worker
        .find_people(TargetStrength::PhishingResistant, None)
        .await
        .expect("found");
    assert!(
        strict.below.iter().any(|u| u.as_str() == push),
        "push is below phishing-resistant"
    );
    // One group: only its members.
    let group = env.tenant.add_group("Finance");
    env.tenant
        .add_group_member(&group.id, &sms)
        .expect("member");
    let in_group = env
        .worker
        .find_people(TargetStrength::BeyondPhone, Some(group.id.clone()))
        .await
        .expect("found");
    assert_eq!(in_group.below.len(), 1);
    assert_eq!(in_group.below[0].as_str(), sms);
    assert_eq!(
        env.store
            .summary(mfa_core::clock::Clock::now(&env.clock))
            .await
            .expect("summary")
            .funnel
            .uploaded,
        0,
        "nothing stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_can_aim_higher_than_the_campaign() {
    // The campaign keeps `any`; one batch asks for beyond-phone.
    let env = env_with("any").await;
    let plain = env.add_user("plain", "Pia Plain", None);
    let strict = env.add_user("strict", "Stu Strict", None);
    env.tenant
        .register_mfa(&plain, MethodKind::Phone)
        .expect("sms");
    env.tenant
        .register_mfa(&strict, MethodKind::Phone)
        .expect("sms");
    env.upload(std::slice::from_ref(&plain)).await;
    env.upload_target(
        "wave-strict",
        std::slice::from_ref(&strict),
        TargetStrength::BeyondPhone,
    )
    .await;
    env.orchestrate().await;
    assert_eq!(
        env.record(&plain).await.status,
        InviteStatus::Active,
        "SMS meets any"
    );
    let s = env.record(&strict).await;
    assert_eq!(
        s.status,
        InviteStatus::Sent,
        "SMS is below the batch's target"
    );
    assert_eq!(s.target, Some(TargetStrength::BeyondPhone));
    assert!(env.mail_to(&strict)[0].body.contains("passkey"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_p1_find_people_reads_each_users_methods() {
    let env = spawn(Options {
        licence: tenant_sim::Licence::Free,
        extra: vec![("MFA_TARGET_STRENGTH", "beyond-phone".into())],
        ..Options::default()
    })
    .await;
    let sms = env.add_user("sms", "Sam Sms", None);
    let none = env.add_user("none", "Nia None", None);
    let push = env.add_user("push", "Pat Push", None);
    env.tenant
        .register_mfa(&sms, MethodKind::Phone)
        .expect("sms");
    env.tenant
        .register_mfa(&push, MethodKind::MicrosoftAuthenticator)
        .expect("push");
    env.tenant
        .add_user(tenant_sim::NewUser {
            user_principal_name: env.upn("guest"),
            account_enabled: Some(true),
            user_type: Some("Guest".into()),
            ..tenant_sim::NewUser::default()
        })
        .expect("guest");
    env.tenant
        .add_user(tenant_sim::NewUser {
            user_principal_name: env.upn("gone"),
            account_enabled: Some(false),
            ..tenant_sim::NewUser::default()
        })
        .expect("disabled");
    let found = env
        .worker
        .find_people(TargetStrength::BeyondPhone, None)
        .await
        .expect("found without the report");
    assert_eq!(found.source, "per-user");
    assert!(found.complete);
    let below: Vec<&str> = found.below.iter().map(|u| u.as_str()).collect();
    assert_eq!(below, vec![none.as_str(), sms.as_str()]);
    // The disabled account, and the shared sender mailbox (a disabled account, as Exchange
    // makes them), are left out.
    assert_eq!(found.guests, 1);
    assert!(found.disabled >= 1);
    assert_eq!(found.by_strength.get("app"), Some(&1));
    // Without the report, the daily report cannot count the tenant and says why.
    env.run(&[PassKind::Report]).await;
    let report = env
        .tenant
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.subject.contains("MFA Rollout Report"))
        .expect("report email");
    assert!(
        report
            .body
            .contains("Tenant-wide: unknown (no registration report without Entra ID P1"),
        "{}",
        report.body
    );
}
