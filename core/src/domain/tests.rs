//! Table-driven parser tests (a message per case) and property tests for the lifecycle.

use super::*;
use proptest::prelude::*;

#[test]
fn upn_accepts_and_normalises() {
    let cases = [
        ("alice@contoso.com", "alice@contoso.com", "plain address"),
        (
            "  Alice.Smith@Contoso.COM ",
            "alice.smith@contoso.com",
            "trimmed and lower-cased",
        ),
        (
            "o'brien@contoso.co.uk",
            "o'brien@contoso.co.uk",
            "apostrophe allowed in Entra UPNs",
        ),
        (
            "first+tag@sub.contoso.com",
            "first+tag@sub.contoso.com",
            "plus addressing",
        ),
        ("a_b-c@x-y.io", "a_b-c@x-y.io", "underscore and hyphens"),
        (
            "user@contoso.onmicrosoft.com",
            "user@contoso.onmicrosoft.com",
            "onmicrosoft domain",
        ),
    ];
    for (input, expected, why) in cases {
        let upn = Upn::parse(input).unwrap_or_else(|e| panic!("{why}: {input:?} refused: {e}"));
        assert_eq!(upn.as_str(), expected, "{why}");
    }
}

#[test]
fn upn_refuses_bad_input_with_reason() {
    let long_local = format!("{}@contoso.com", "a".repeat(65));
    let long_total = format!("a@{}.com", "b".repeat(260));
    let cases: Vec<(&str, UpnError, &str)> = vec![
        ("", UpnError::Empty, "empty"),
        ("   ", UpnError::Empty, "only spaces"),
        ("alice", UpnError::AtSign, "no @"),
        ("a@b@contoso.com", UpnError::AtSign, "two @"),
        (
            "@contoso.com",
            UpnError::Local("is empty"),
            "empty local part",
        ),
        (
            ".alice@contoso.com",
            UpnError::Local("must not start or end with '.', or contain '..'"),
            "leading dot",
        ),
        (
            "al..ice@contoso.com",
            UpnError::Local("must not start or end with '.', or contain '..'"),
            "double dot",
        ),
        (
            "al ice@contoso.com",
            UpnError::Local(
                "may contain only letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ .",
            ),
            "inner space",
        ),
        (
            "<script>@contoso.com",
            UpnError::Local(
                "may contain only letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ .",
            ),
            "markup",
        ),
        (
            "alice\"@contoso.com",
            UpnError::Local(
                "may contain only letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ .",
            ),
            "quote",
        ),
        (
            "ålice@contoso.com",
            UpnError::Local(
                "may contain only letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ .",
            ),
            "non-ASCII",
        ),
        ("alice@", UpnError::Domain("is empty"), "empty domain"),
        (
            "alice@localhost",
            UpnError::Domain("needs a dot, as in contoso.com"),
            "no dot",
        ),
        (
            "alice@contoso..com",
            UpnError::Domain("has an empty or over-long label"),
            "empty label",
        ),
        (
            "alice@-contoso.com",
            UpnError::Domain("has a label that starts or ends with '-'"),
            "leading hyphen",
        ),
        (
            "alice@contoso_x.com",
            UpnError::Domain("may contain only letters, digits, '-' and '.'"),
            "underscore in domain",
        ),
        (
            "alice@10.0.0.1",
            UpnError::Domain("must end in a name, not a number"),
            "IP address",
        ),
        (
            &long_local,
            UpnError::Local("is longer than 64 characters"),
            "local part too long",
        ),
        (&long_total, UpnError::TooLong, "whole address too long"),
    ];
    for (input, expected, why) in cases {
        assert_eq!(Upn::parse(input), Err(expected), "{why}: {input:?}");
    }
}

#[test]
fn token_parses_strictly() {
    let good = TrackingToken::generate().to_string();
    assert_eq!(
        TrackingToken::parse(&good).map(|t| t.to_string()),
        Ok(good.clone()),
        "round trip"
    );
    assert!(
        TrackingToken::parse(&good.to_uppercase()).is_ok(),
        "upper-case hex is the same token"
    );
    let cases = [
        ("", TokenError::Shape, "empty"),
        (
            "a1b2c3d4-e5f6-4890-abcd-ef123456789",
            TokenError::Shape,
            "35 characters",
        ),
        (
            "a1b2c3d4e5f64890abcdef1234567890",
            TokenError::Shape,
            "no hyphens",
        ),
        (
            "{a1b2c3d4-e5f6-4890-abcd-ef1234567890}",
            TokenError::Shape,
            "braces",
        ),
        (
            " a1b2c3d4-e5f6-4890-abcd-ef123456789",
            TokenError::Shape,
            "leading space",
        ),
        (
            "a1b2c3d4-e5f6-4890-abcd-ef123456789g",
            TokenError::Shape,
            "non-hex",
        ),
        (
            "a1b2c3d4_e5f6_4890_abcd_ef1234567890",
            TokenError::Shape,
            "wrong separators",
        ),
        (
            "a1b2c3d4-e5f6-1890-abcd-ef1234567890",
            TokenError::Version,
            "version 1",
        ),
        (
            "00000000-0000-0000-0000-000000000000",
            TokenError::Version,
            "nil UUID",
        ),
        (
            "a1b2c3d4-e5f6-4890-cbcd-ef1234567890",
            TokenError::Version,
            "wrong variant",
        ),
        (
            "../../etc/passwd-aaaaaaaaaaaaaaaaaaaaa",
            TokenError::Shape,
            "path traversal",
        ),
    ];
    for (input, expected, why) in cases {
        assert_eq!(
            TrackingToken::parse(input),
            Err(expected),
            "{why}: {input:?}"
        );
    }
}

#[test]
fn tokens_are_unique_and_random() {
    let tokens: std::collections::HashSet<_> =
        (0..10_000).map(|_| TrackingToken::generate()).collect();
    assert_eq!(tokens.len(), 10_000);
}

#[test]
fn batch_id_rules() {
    let ok = [
        ("2026-11-22-0930", "default shape"),
        ("Finance wave 2", "spaces"),
        ("pilot_1.a:b", "punctuation"),
    ];
    for (input, why) in ok {
        assert!(BatchId::parse(input).is_ok(), "{why}: {input:?}");
    }
    let bad = [
        ("", BatchIdError::Empty, "empty"),
        (
            &"x".repeat(65) as &str,
            BatchIdError::TooLong,
            "65 characters",
        ),
        ("=cmd|' /C calc'!A0", BatchIdError::Characters, "formula"),
        ("<b>wave</b>", BatchIdError::Characters, "markup"),
        (
            "-1",
            BatchIdError::Characters,
            "leading minus (formula prefix)",
        ),
        ("a\nb", BatchIdError::Characters, "control character"),
    ];
    for (input, expected, why) in bad {
        assert_eq!(BatchId::parse(input), Err(expected), "{why}: {input:?}");
    }
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T09:05:00Z").map(|d| d.to_utc());
    assert_eq!(
        at.map(|a| BatchId::default_for(a).to_string()),
        Ok("2026-11-22-0905".to_string())
    );
}

#[test]
fn object_id_rules() {
    assert_eq!(
        ObjectId::parse("6F1C2D3E-0000-4000-8000-000000000001").map(|o| o.to_string()),
        Ok("6f1c2d3e-0000-4000-8000-000000000001".to_string()),
        "lower-cased"
    );
    for (input, why) in [
        ("", "empty"),
        ("a/b", "slash"),
        ("a b", "space"),
        ("x?y", "query"),
    ] {
        assert_eq!(ObjectId::parse(input), Err(ObjectIdError), "{why}");
    }
}

#[test]
fn status_and_state_names_round_trip() {
    for st in InviteStatus::ALL {
        assert_eq!(st.as_str().parse::<InviteStatus>(), Ok(st));
    }
    assert_eq!(
        "addedtogroup".parse::<InviteStatus>(),
        Ok(InviteStatus::AddedToGroup),
        "case-insensitive"
    );
    assert!(
        "Error".parse::<InviteStatus>().is_err(),
        "legacy values are mapped by adoption, not parsed"
    );
    assert_eq!(
        "Not Registered".parse::<MfaState>(),
        Ok(MfaState::NotRegistered)
    );
    assert_eq!("".parse::<MfaState>(), Ok(MfaState::Unknown));
    assert_eq!("CSV Upload".parse::<Source>(), Ok(Source::CsvUpload));
}

#[test]
fn transition_table() {
    use InviteStatus::*;
    use StatusEvent::*;
    let allowed = [
        (Pending, InvitationSent, Sent),
        (Pending, LinkClicked, Clicked),
        (Sent, LinkClicked, Clicked),
        (Clicked, GroupAdded, AddedToGroup),
        (Sent, GroupAdded, AddedToGroup),
        (AddedToGroup, MfaRegistered, Active),
        (Pending, MfaRegistered, Active),
        (Sent, Requeued, Pending),
        (Clicked, Requeued, Pending),
        (Active, Reset, Pending),
        (Sent, ReminderSent, Sent),
        (AddedToGroup, ReminderSent, AddedToGroup),
    ];
    for (from, ev, to) in allowed {
        assert_eq!(from.apply(&ev), Ok(to), "{from} + {ev:?}");
    }
    let refused = [
        (
            Sent,
            InvitationSent,
            "an invitation is sent once per queueing",
        ),
        (Clicked, LinkClicked, "a click counts once"),
        (
            AddedToGroup,
            LinkClicked,
            "a click after the group add changes nothing",
        ),
        (AddedToGroup, GroupAdded, "added once"),
        (Active, MfaRegistered, "already complete"),
        (
            Active,
            Requeued,
            "a resend cannot reopen a completed person",
        ),
        (Active, LinkClicked, "complete"),
        (
            Pending,
            ReminderSent,
            "nobody reminds someone never invited",
        ),
        (Active, ReminderSent, "nobody reminds someone done"),
    ];
    for (from, ev, why) in refused {
        assert_eq!(
            from.apply(&ev),
            Err(TransitionError {
                from,
                event: ev.name()
            }),
            "{why}"
        );
    }
}

#[test]
fn follow_up_events_stamp_their_columns_and_notes_stay_apart_from_errors() {
    let now = chrono::Utc::now();
    let upn = Upn::parse("p@contoso.com").expect("upn");
    let mut rec = OnboardingRecord::new_pending(
        NewPerson::new(upn),
        BatchId::default_for(now),
        Source::Manual,
        uuid::Uuid::new_v4(),
        now,
    );
    assert!(rec.apply(StatusEvent::ReminderSent, now).is_err());
    rec.apply(StatusEvent::InvitationSent, now).expect("sent");
    let later = now + chrono::Duration::days(7);
    rec.apply(StatusEvent::ReminderSent, later)
        .expect("reminded");
    assert_eq!(
        (rec.reminder_count, rec.last_reminder_date),
        (1, Some(later))
    );
    assert_eq!(rec.status, InviteStatus::Sent);
    rec.apply(
        StatusEvent::EscalationSkipped {
            note: "No manager".into(),
        },
        later,
    )
    .expect("skipped");
    assert_eq!(rec.escalation_date, Some(later));
    assert!(!rec.escalated_to_manager);
    assert_eq!(rec.notes.as_deref(), Some("No manager"));
    assert_eq!(rec.error_details, None, "a note is not an error");
    assert!(rec.next_due_at.is_some(), "a note stops nothing");
    let boss = Upn::parse("boss@contoso.com").expect("upn");
    rec.apply(
        StatusEvent::Escalated {
            manager: boss.clone(),
        },
        later,
    )
    .expect("escalated");
    assert!(rec.escalated_to_manager);
    assert_eq!(rec.manager_upn, Some(boss));

    // Notes: one line each, a repeat kept once (moved last), the oldest dropped past the limit,
    // line breaks in a note flattened.
    rec.add_note("second\nline");
    rec.add_note("No manager");
    assert_eq!(rec.notes.as_deref(), Some("second line\nNo manager"));
    for i in 0..100 {
        rec.add_note(format!("{i:03} {}", "x".repeat(40)));
    }
    let notes = rec.notes.clone().unwrap_or_default();
    assert!(notes.chars().count() <= MAX_TEXT, "{}", notes.len());
    assert!(notes.ends_with(&format!("099 {}", "x".repeat(40))));
    rec.add_note("é".repeat(MAX_TEXT + 5));
    assert_eq!(
        rec.notes.as_deref().map(|n| n.chars().count()),
        Some(MAX_TEXT)
    );
    rec.apply(StatusEvent::Reset, later).expect("reset");
    assert_eq!(rec.notes, None, "a reset starts over");
}

fn any_event() -> impl Strategy<Value = StatusEvent> {
    prop_oneof![
        Just(StatusEvent::InvitationSent),
        Just(StatusEvent::LinkClicked),
        Just(StatusEvent::GroupAdded),
        Just(StatusEvent::MfaRegistered),
        Just(StatusEvent::Requeued),
        Just(StatusEvent::Reset),
        Just(StatusEvent::ReminderSent),
        Just(StatusEvent::Escalated {
            manager: Upn::parse("boss@contoso.com").expect("upn")
        }),
        Just(StatusEvent::EscalationSkipped {
            note: "No manager".into()
        }),
    ]
}

fn any_status() -> impl Strategy<Value = InviteStatus> {
    proptest::sample::select(InviteStatus::ALL.to_vec())
}

proptest! {
    #[test]
    fn progress_only_moves_forward_except_requeue_and_reset(from in any_status(), ev in any_event()) {
        if let Ok(to) = from.apply(&ev) {
            match ev {
                StatusEvent::Requeued | StatusEvent::Reset => prop_assert_eq!(to, InviteStatus::Pending),
                StatusEvent::ReminderSent | StatusEvent::Escalated { .. } | StatusEvent::EscalationSkipped { .. } => {
                    prop_assert_eq!(to, from, "follow-ups leave the status")
                }
                _ => prop_assert!(to.rank() > from.rank(), "{} -> {} on {:?}", from, to, ev),
            }
        }
    }

    #[test]
    fn only_reset_leaves_active(ev in any_event()) {
        let result = InviteStatus::Active.apply(&ev);
        prop_assert_eq!(result.is_ok(), ev == StatusEvent::Reset);
    }

    #[test]
    fn registration_completes_from_anywhere_unfinished(from in any_status()) {
        prop_assert_eq!(from.apply(&StatusEvent::MfaRegistered).is_ok(), from != InviteStatus::Active);
    }

    #[test]
    fn record_dates_follow_status(events in proptest::collection::vec(any_event(), 0..24)) {
        let upn = Upn::parse("p@contoso.com").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let now = chrono::Utc::now();
        let mut rec = OnboardingRecord::new_pending(NewPerson::new(upn), BatchId::default_for(now), Source::Manual, uuid::Uuid::new_v4(), now);
        for (i, ev) in events.into_iter().enumerate() {
            let at = now + chrono::Duration::minutes(i as i64);
            let before = rec.status;
            let expected = before.apply(&ev);
            match rec.apply(ev, at) {
                Ok(()) => prop_assert_eq!(Ok(rec.status), expected),
                Err(_) => prop_assert_eq!(rec.status, before, "a refused event changes nothing"),
            }
            // Invariants a report relies on.
            if rec.status >= InviteStatus::Clicked && rec.status != InviteStatus::Active {
                prop_assert!(rec.clicked_link_date.is_some() || rec.in_group);
            }
            if rec.status == InviteStatus::AddedToGroup { prop_assert!(rec.in_group && rec.added_to_group_date.is_some()); }
            if rec.status == InviteStatus::Active { prop_assert!(rec.mfa_registration_date.is_some() && rec.mfa_state == MfaState::Registered); }
        }
    }

    #[test]
    fn upn_parse_never_panics_and_is_idempotent(s in ".{0,80}") {
        if let Ok(u) = Upn::parse(&s) {
            prop_assert_eq!(Upn::parse(u.as_str()), Ok(u.clone()));
            prop_assert!(!u.as_str().chars().any(|c| c.is_ascii_uppercase() || c.is_whitespace()));
        }
    }

    #[test]
    fn token_parse_never_panics(s in ".{0,40}") {
        if let Ok(t) = TrackingToken::parse(&s) {
            prop_assert_eq!(t.to_string(), s.to_ascii_lowercase());
        }
    }
}
