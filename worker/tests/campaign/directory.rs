//! The opt-in directory passes against the simulator: phone prepopulation, per-user MFA
//! enforcement and the pilot scope.

use mfa_core::domain::{InviteStatus, PerUserMfa, PhoneOutcome};
use mfa_core::passes::{PassKind, RunReport, RunRequest};
use tenant_sim::{Limits, MethodKind, NewUser};

use crate::helpers::{spawn, Options, TestEnv};

fn opts(extra: &[(&'static str, &str)]) -> Options {
    Options {
        extra: extra.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        ..Options::default()
    }
}

fn add(env: &TestEnv, local: &str, mobile: Option<&str>) -> String {
    let upn = env.upn(local);
    env.tenant
        .add_user(NewUser {
            user_principal_name: upn.clone(),
            mobile_phone: mobile.map(str::to_string),
            ..NewUser::default()
        })
        .expect("user");
    upn
}

/// Phone methods as the directory holds them: `(number, type)`.
fn phones(env: &TestEnv, upn: &str) -> Vec<(Option<String>, Option<String>)> {
    env.tenant
        .user(upn)
        .expect("user")
        .methods
        .iter()
        .filter(|m| m.kind == MethodKind::Phone)
        .map(|m| (m.phone_number.clone(), m.phone_type.clone()))
        .collect()
}

fn phone_posts(env: &TestEnv) -> usize {
    env.tenant
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.to_ascii_lowercase().ends_with("/phonemethods"))
        .count()
}

fn notes(report: &RunReport) -> Vec<String> {
    report
        .passes
        .iter()
        .flat_map(|p| p.notes.iter().cloned())
        .collect()
}

async fn dry(env: &TestEnv, passes: &[PassKind]) -> RunReport {
    env.worker
        .run_passes(RunRequest {
            passes: passes.to_vec(),
            now: None,
            dry_run: true,
            trigger: "test".into(),
        })
        .await
        .expect("dry run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_are_added_only_where_eligible_and_existing_phones_are_untouched() {
    let env = spawn(opts(&[
        ("MFA_PHONE_PREPOPULATE", "on"),
        ("MFA_PHONE_DEFAULT_REGION", "NO"),
    ]))
    .await;
    let spaced = add(&env, "spaced", Some("+47 912 34 567"));
    let national = add(&env, "national", Some("412-34-567"));
    let has_phone = add(&env, "hasphone", Some("+47 99999999"));
    env.tenant
        .register_mfa(&has_phone, MethodKind::Phone)
        .expect("phone");
    let before = phones(&env, &has_phone);
    let has_app = add(&env, "hasapp", Some("+47 98765432"));
    env.tenant
        .register_mfa(&has_app, MethodKind::MicrosoftAuthenticator)
        .expect("app");
    let no_mobile = add(&env, "nomobile", None);
    let garbage = add(&env, "garbage", Some("ask reception"));
    let all = [
        &spaced, &national, &has_phone, &has_app, &no_mobile, &garbage,
    ]
    .map(|u| u.clone());
    env.upload(&all).await;

    // The orchestrator's run: phone prepopulation first, then the usual passes.
    let report = env.orchestrate().await;
    assert_eq!(
        report.passes.first().and_then(|p| p.pass),
        Some(PassKind::Phone)
    );
    assert_eq!(
        phones(&env, &spaced),
        vec![(Some("+47 91234567".into()), Some("mobile".into()))]
    );
    assert_eq!(
        phones(&env, &national),
        vec![(Some("+47 41234567".into()), Some("mobile".into()))]
    );
    assert_eq!(
        phones(&env, &has_phone),
        before,
        "an existing phone is never replaced"
    );
    assert!(
        phones(&env, &has_app).is_empty(),
        "people with MFA get no phone"
    );
    assert!(phones(&env, &no_mobile).is_empty());
    assert!(phones(&env, &garbage).is_empty(), "garbage is not guessed");
    assert_eq!(
        phone_posts(&env),
        2,
        "one POST per eligible person, none for the others"
    );

    let outcome = |r: &mfa_core::domain::OnboardingRecord| r.phone_outcome;
    let rec = env.record(&spaced).await;
    assert_eq!(outcome(&rec), Some(PhoneOutcome::Provisioned));
    assert_eq!(rec.phone_detail.as_deref(), Some("+47 91234567"));
    assert_eq!(
        rec.status,
        InviteStatus::Active,
        "the check pass sees the new phone"
    );
    assert!(
        env.mail_to(&spaced).is_empty(),
        "prepopulated people are not invited"
    );
    assert_eq!(
        outcome(&env.record(&has_phone).await),
        Some(PhoneOutcome::HasPhone)
    );
    assert_eq!(
        outcome(&env.record(&has_app).await),
        Some(PhoneOutcome::HasMfa)
    );
    assert_eq!(
        outcome(&env.record(&no_mobile).await),
        Some(PhoneOutcome::NoMobile)
    );
    let bad = env.record(&garbage).await;
    assert_eq!(outcome(&bad), Some(PhoneOutcome::InvalidNumber));
    assert!(bad
        .phone_detail
        .as_deref()
        .unwrap_or_default()
        .contains("ask reception"));
    assert_eq!(
        env.mail_to(&garbage).len(),
        1,
        "people without a usable number are invited"
    );

    let phone_pass = &report.passes[0];
    assert!(
        phone_pass.notes[0].contains("people without MFA: 4")
            && phone_pass.notes[0].contains("eligible (no MFA, a mobile number): 3")
            && phone_pass.notes[0].contains("provisioned: 2")
            && phone_pass.notes[0].contains("number format: 1"),
        "{:?}",
        phone_pass.notes
    );
    let s = env.store.summary(env.clock_now()).await.expect("summary");
    assert_eq!(s.directory.phone_count(PhoneOutcome::Provisioned), 2);
    assert_eq!(
        (
            s.directory.phone_without_mfa(),
            s.directory.phone_eligible()
        ),
        (4, 3)
    );

    // Nothing new: the next run makes no phone calls for people already looked at.
    env.tenant.clear_logs();
    env.orchestrate().await;
    assert_eq!(phone_posts(&env), 0);
    assert!(
        !env.tenant
            .requests()
            .iter()
            .any(|r| r.path.contains("phoneMethods")),
        "no Graph call for people with nothing due"
    );

    // A day later the fixed number is picked up.
    env.tenant
        .set_mobile_phone(&garbage, Some("+47 93456789"))
        .expect("fix");
    env.advance_days(1);
    env.run(&[PassKind::Phone]).await;
    assert_eq!(
        phones(&env, &garbage),
        vec![(Some("+47 93456789".into()), Some("mobile".into()))]
    );
    assert_eq!(
        env.record(&garbage).await.phone_outcome,
        Some(PhoneOutcome::Provisioned)
    );

    // The report email carries the runbook's counts and the number that needed fixing.
    let report = env.run(&[PassKind::Report]).await;
    assert_eq!(report.passes[0].emails_sent, 1);
    let mail = env
        .mail_to(&env.upn("it-admins"))
        .pop()
        .expect("report email");
    assert!(mail.body.contains("Phone prepopulation"), "{}", mail.body);
    assert!(mail.body.contains("provisioned 3"), "{}", mail.body);
    env.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_pass_is_off_unless_enabled_and_dry_run_changes_nothing() {
    let env = spawn(Options::default()).await;
    let ada = add(&env, "ada", Some("+47 91234567"));
    env.upload(std::slice::from_ref(&ada)).await;
    let report = env.run(&[PassKind::Phone]).await;
    assert!(notes(&report)
        .iter()
        .any(|n| n.contains("MFA_PHONE_PREPOPULATE")));
    assert!(phones(&env, &ada).is_empty());
    let orchestrated = env.orchestrate().await;
    assert!(orchestrated
        .passes
        .iter()
        .all(|p| p.pass != Some(PassKind::Phone)));
    assert!(phones(&env, &ada).is_empty(), "off by default");

    let env = spawn(opts(&[("MFA_PHONE_PREPOPULATE", "on")])).await;
    let ada = add(&env, "ada", Some("0047 912 34 567"));
    let local = add(&env, "local", Some("91234567"));
    env.upload(&[ada.clone(), local.clone()]).await;
    let before = (env.record(&ada).await, env.record(&local).await);
    let report = dry(&env, &PassKind::ORCHESTRATOR).await;
    let notes = notes(&report);
    assert!(
        notes
            .iter()
            .any(|n| n.contains(&ada) && n.contains("would add +47 91234567")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains(&local) && n.contains("no country code")),
        "without a default region a national number is reported, not guessed: {notes:?}"
    );
    assert!(phones(&env, &ada).is_empty(), "dry run adds nothing");
    assert_eq!(phone_posts(&env), 0);
    assert_eq!((env.record(&ada).await, env.record(&local).await), before);
    assert!(env.tenant.outbox().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pilot_scope_limits_every_pass_to_transitive_members() {
    let env = spawn(opts(&[
        ("MFA_PILOT_GROUP", "MFA Pilot"),
        ("MFA_PHONE_PREPOPULATE", "on"),
    ]))
    .await;
    let pilot = env.tenant.add_group("MFA Pilot");
    let nested = env.tenant.add_group("MFA Pilot - IT");
    env.tenant.nest_group(&pilot.id, &nested.id).expect("nest");
    let direct = add(&env, "direct", None);
    let via_nested = add(&env, "nested", None);
    let outsider = add(&env, "outsider", Some("+47 91234567"));
    env.tenant
        .add_group_member(&pilot.id, &direct)
        .expect("member");
    env.tenant
        .add_group_member(&nested.id, &via_nested)
        .expect("member");
    env.upload(&[direct.clone(), via_nested.clone(), outsider.clone()])
        .await;
    let outsider_before = env.record(&outsider).await;

    let report = env.orchestrate().await;
    assert_eq!(env.mail_to(&direct).len(), 1);
    assert_eq!(
        env.mail_to(&via_nested).len(),
        1,
        "members of nested groups are in scope"
    );
    assert!(
        env.mail_to(&outsider).is_empty(),
        "outside the pilot: no email"
    );
    assert!(
        phones(&env, &outsider).is_empty(),
        "outside the pilot: no phone"
    );
    assert_eq!(
        env.record(&outsider).await,
        outsider_before,
        "left exactly as they were"
    );
    assert!(
        notes(&report)
            .iter()
            .any(|n| n.contains("MFA Pilot") && n.contains("1 out of scope")),
        "{:?}",
        notes(&report)
    );
    let meta = env
        .store
        .get_meta(mfa_worker::passes::pilot::META_KEY)
        .await
        .expect("meta")
        .expect("pilot snapshot");
    let snap: serde_json::Value = serde_json::from_str(&meta).expect("json");
    assert_eq!(
        (snap["members"].as_u64(), snap["outOfScope"].as_u64()),
        (Some(2), Some(1))
    );

    // Reminders and the deadline also skip them; growing the pilot brings them in.
    env.advance_days(8);
    env.orchestrate().await;
    assert!(env.mail_to(&outsider).is_empty());
    assert_eq!(env.mail_to(&direct).len(), 2, "members get their reminder");
    env.tenant
        .add_group_member(&nested.id, &outsider)
        .expect("join");
    env.orchestrate().await;
    assert_eq!(
        env.mail_to(&outsider).len(),
        0,
        "a person with a phone added needs no email"
    );
    assert_eq!(
        phones(&env, &outsider).len(),
        1,
        "now in scope: phone added"
    );
    assert_eq!(env.record(&outsider).await.status, InviteStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_pilot_stops_the_run_instead_of_processing_everyone() {
    let env = spawn(opts(&[("MFA_PILOT_GROUP", "No Such Group")])).await;
    let ada = add(&env, "ada", None);
    env.upload(std::slice::from_ref(&ada)).await;
    let err = env
        .worker
        .run_passes(RunRequest {
            passes: PassKind::ORCHESTRATOR.to_vec(),
            now: None,
            dry_run: false,
            trigger: "test".into(),
        })
        .await
        .expect_err("the run must stop");
    assert!(format!("{err:#}").contains("MFA_PILOT_GROUP"), "{err:#}");
    assert!(env.tenant.outbox().is_empty());
    // Two groups with one name are ambiguous too.
    env.tenant.add_group("No Such Group");
    env.tenant.add_group("No Such Group");
    let err = env
        .worker
        .run_passes(RunRequest {
            passes: vec![PassKind::Invitation],
            now: None,
            dry_run: false,
            trigger: "test".into(),
        })
        .await
        .expect_err("ambiguous");
    assert!(format!("{err:#}").contains("2 groups"), "{err:#}");
    assert!(env.tenant.outbox().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_user_mfa_is_set_for_active_people_and_reported() {
    let env = spawn(opts(&[
        ("MFA_PER_USER_MFA", "enforced"),
        ("MFA_REPORT_EVERY_MINUTES", "0"),
    ]))
    .await;
    let done = add(&env, "done", None);
    let waiting = add(&env, "waiting", None);
    env.upload(&[done.clone(), waiting.clone()]).await;
    env.orchestrate().await;
    env.tenant
        .register_mfa(&done, MethodKind::MicrosoftAuthenticator)
        .expect("register");
    // A run without the check pass does not add the enforcement pass; the invitation pass
    // still reads the registration report (someone is waiting for an invitation) and marks
    // the person Active.
    let late = add(&env, "late", None);
    env.upload(std::slice::from_ref(&late)).await;
    let report = env.run(&[PassKind::Invitation]).await;
    assert!(report
        .passes
        .iter()
        .all(|p| p.pass != Some(PassKind::Enforce)));
    assert_eq!(env.record(&done).await.status, InviteStatus::Active);
    let dry_report = dry(&env, &[PassKind::Enforce]).await;
    assert!(
        notes(&dry_report)
            .iter()
            .any(|n| n.contains(&done) && n.contains("would set per-user MFA to enforced")),
        "{:?}",
        notes(&dry_report)
    );
    assert_eq!(
        env.tenant.per_user_mfa_state(&done).as_deref(),
        Some("disabled")
    );

    let report = env.orchestrate().await;
    assert_eq!(
        report.passes.last().and_then(|p| p.pass),
        Some(PassKind::Enforce)
    );
    assert!(notes(&report).iter().any(|n| n.contains("Graph beta")));
    assert_eq!(
        env.tenant.per_user_mfa_state(&done).as_deref(),
        Some("enforced")
    );
    assert_eq!(
        env.tenant.per_user_mfa_state(&waiting).as_deref(),
        Some("disabled")
    );
    assert_eq!(
        env.record(&done).await.per_user_mfa,
        Some(PerUserMfa::Enforced)
    );
    assert_eq!(env.record(&waiting).await.per_user_mfa, None);
    let s = env.store.summary(env.clock_now()).await.expect("summary");
    assert_eq!(s.directory.per_user_mfa.get("enforced"), Some(&1));

    env.tenant.clear_logs();
    env.orchestrate().await;
    assert!(
        !env.tenant
            .requests()
            .iter()
            .any(|r| r.path.contains("requirements")),
        "people already enforced cost no Graph call"
    );
    env.run(&[PassKind::Report]).await;
    let mail = env
        .mail_to(&env.upn("it-admins"))
        .pop()
        .expect("report email");
    assert!(
        mail.body.contains("Per-user MFA (Graph beta"),
        "{}",
        mail.body
    );
    assert!(mail.body.contains("enforced 1"), "{}", mail.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_deadline_everyone_gets_per_user_mfa_and_enabled_is_read_back() {
    let env = spawn(opts(&[
        ("MFA_PER_USER_MFA", "enabled"),
        ("MFA_PER_USER_MFA_WHEN", "deadline"),
        ("MFA_DEADLINE_DAYS", "14"),
    ]))
    .await;
    let done = add(&env, "done", None);
    let late = add(&env, "late", None);
    env.upload(&[done.clone(), late.clone()]).await;
    env.orchestrate().await;
    env.tenant
        .register_mfa(&done, MethodKind::Fido2)
        .expect("register");
    // The next timer run, 15 minutes on: the registration's audit event is visible by then.
    env.clock.advance(std::time::Duration::from_secs(900));
    env.orchestrate().await;
    // Graph turns `enabled` into `enforced` for someone registered; the record says what
    // Graph says.
    assert_eq!(
        env.record(&done).await.per_user_mfa,
        Some(PerUserMfa::Enforced)
    );
    assert_eq!(
        env.tenant.per_user_mfa_state(&late).as_deref(),
        Some("disabled")
    );
    env.advance_days(15);
    env.orchestrate().await;
    assert_eq!(
        env.tenant.per_user_mfa_state(&late).as_deref(),
        Some("enabled")
    );
    assert_eq!(
        env.record(&late).await.per_user_mfa,
        Some(PerUserMfa::Enabled)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_writes_respect_identity_throttling() {
    let limits = Limits {
        identity_writes_per_150_s: 3,
        ..Limits::default()
    };
    let env = spawn(Options {
        limits,
        extra: vec![("MFA_PHONE_PREPOPULATE", "on".into())],
        ..Options::default()
    })
    .await;
    let people: Vec<String> = (0..7)
        .map(|i| add(&env, &format!("p{i}"), Some(&format!("+47 9123456{i}"))))
        .collect();
    env.upload(&people).await;
    for _ in 0..6 {
        env.run(&[PassKind::Phone]).await;
        if people.iter().all(|p| phones(&env, p).len() == 1) {
            break;
        }
        env.advance_days(1);
    }
    for p in &people {
        assert_eq!(phones(&env, p).len(), 1, "{p} provisioned exactly once");
        assert_eq!(
            env.record(p).await.phone_outcome,
            Some(PhoneOutcome::Provisioned)
        );
    }
    assert!(
        env.tenant.requests().iter().any(|r| r.status == 429),
        "the limit was reached"
    );
    // A 429 is Graph's normal answer at the limit; what must never happen is a request sent
    // before the Retry-After it was given.
    let early: Vec<_> = env
        .tenant
        .violations()
        .into_iter()
        .filter(|v| v.kind == tenant_sim::ViolationKind::SentWhileThrottled)
        .collect();
    assert!(early.is_empty(), "{early:#?}");
}
