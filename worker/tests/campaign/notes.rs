//! Notes (facts for the admin) are not errors (the reason processing stopped): a person whose
//! escalation could not be sent keeps every other pass, and a re-upload does not re-invite them.

use mfa_core::domain::{InviteStatus, PerUserMfa, PhoneOutcome};
use mfa_core::passes::PassKind;
use mfa_worker::passes::followup::NO_MANAGER;
use tenant_sim::MethodKind;

use crate::helpers::{spawn, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_manager_is_a_note_not_an_error() {
    missing_manager(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_manager_is_a_note_not_an_error_on_sharepoint() {
    missing_manager(true).await;
}

async fn missing_manager(sharepoint: bool) {
    let env = spawn(Options {
        sharepoint,
        extra: vec![
            ("MFA_PHONE_PREPOPULATE", "on".into()),
            ("MFA_PHONE_DEFAULT_REGION", "NO".into()),
            ("MFA_PER_USER_MFA", "enforced".into()),
        ],
        ..Options::default()
    })
    .await;
    let frank = env.add_user("frank", "Frank NoManager", None);
    env.tenant
        .set_mobile_phone(&frank, Some("ask reception"))
        .expect("mobile");
    env.upload(std::slice::from_ref(&frank)).await;

    // Invitation, two reminders, then the escalation that has nobody to go to.
    env.orchestrate().await;
    let f = env.record(&frank).await;
    assert_eq!(f.phone_outcome, Some(PhoneOutcome::InvalidNumber));
    env.advance_days(7);
    env.orchestrate().await;
    env.advance_days(7);
    env.orchestrate().await;
    env.advance_days(3);
    let report = env.orchestrate().await;
    assert_eq!(env.mail_to(&frank).len(), 3, "invitation and two reminders");
    let f = env.record(&frank).await;
    assert_eq!(f.notes.as_deref(), Some(NO_MANAGER));
    assert_eq!(f.error_details, None, "a note is not an error");
    assert!(f.escalation_date.is_some() && !f.escalated_to_manager);
    assert!(f.next_due_at.is_some(), "reminders go on");
    let escalations = report
        .passes
        .iter()
        .find(|p| p.pass == Some(PassKind::Escalation))
        .expect("escalation pass");
    assert_eq!(escalations.errors, 0, "{escalations:?}");
    assert!(
        escalations.notes.iter().any(|n| n.contains(NO_MANAGER)),
        "{escalations:?}"
    );

    // A re-upload keeps them where they are: no second invitation.
    env.upload(std::slice::from_ref(&frank)).await;
    let f = env.record(&frank).await;
    assert_eq!(f.status, InviteStatus::Sent, "not re-queued");
    env.orchestrate().await;
    assert_eq!(env.mail_to(&frank).len(), 3, "no second invitation");

    // The directory passes still look at them: once the admin fixes the mobile number, the
    // phone pass adds it (after its retry interval), the check sees the method and the
    // enforcement pass sets per-user MFA.
    env.tenant
        .set_mobile_phone(&frank, Some("+47 912 34 567"))
        .expect("mobile");
    env.advance_days(1);
    env.orchestrate().await;
    let f = env.record(&frank).await;
    assert_eq!(f.phone_outcome, Some(PhoneOutcome::Provisioned), "{f:?}");
    assert!(env
        .tenant
        .user(&frank)
        .expect("user")
        .methods
        .iter()
        .any(|m| m.kind == MethodKind::Phone));
    if f.status != InviteStatus::Active {
        env.advance_days(1);
        env.orchestrate().await;
    }
    let f = env.record(&frank).await;
    assert_eq!(f.status, InviteStatus::Active);
    assert_eq!(f.per_user_mfa, Some(PerUserMfa::Enforced));
    assert_eq!(f.notes.as_deref(), Some(NO_MANAGER), "the note stays");
    env.assert_no_violations();
}
