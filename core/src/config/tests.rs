//! Every variable: default, a good value, and bad values that must name the variable.

use super::*;

fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::from_vars(&Vars::from_pairs(pairs.iter().copied()))
}

#[test]
fn defaults_are_usable_locally() {
    let s = load(&[]).expect("defaults load");
    assert_eq!(s.store, StoreLocation::Sqlite("mfa-onboarding.db".into()));
    assert_eq!(s.graph_base_url.as_str(), "https://graph.microsoft.com/");
    assert_eq!(s.public_base_url.as_str(), "http://localhost:7071/");
    assert_eq!(s.campaign.reminder_interval, chrono::Duration::days(7));
    assert_eq!(s.campaign.escalate_after_reminders, 2);
    assert_eq!(s.campaign.setup_url.as_str(), "https://aka.ms/mfasetup");
    assert_eq!(
        s.mail_limits,
        MailLimits {
            per_minute: 30,
            per_day: 10_000
        }
    );
    assert_eq!(s.port, 7071);
    assert!(s.admin_auth.is_err(), "admin API is off until configured");
    assert!(s.sender_mailboxes.is_err());
    assert_eq!(s.disabled_features().len(), 4);
}

#[test]
fn good_values_are_read() {
    let s = load(&[
        (
            "MFA_STORE",
            "sharepoint:contoso.sharepoint.com,abc,def/7d1c0000-1111-2222-3333-444455556666",
        ),
        ("MFA_GRAPH_BASE_URL", "http://127.0.0.1:8080"),
        ("WEBSITE_HOSTNAME", "func-mfa.azurewebsites.net"),
        ("MFA_GROUP_ID", "6F1C2D3E-0000-4000-8000-000000000001"),
        (
            "MFA_SENDER_MAILBOXES",
            "MFA@contoso.com, mfa2@contoso.com;mfa@contoso.com",
        ),
        ("MFA_ADMIN_AUTH", "entra"),
        ("AZURE_TENANT_ID", "tenant-guid"),
        ("MFA_ADMIN_AUDIENCE", "api://mfa-onboarding"),
        ("MFA_REPORT_RECIPIENTS", "it@contoso.com"),
        ("MFA_PORTAL_ORIGIN", "https://portal.contoso.com/"),
        ("FUNCTIONS_CUSTOMHANDLER_PORT", "40123"),
        ("MFA_CHECK_MODE", "per-user"),
        ("MFA_BRAND_COLOR", "#112233"),
        ("MFA_SHAREPOINT_RU_PER_MINUTE", "5000"),
        ("MFA_SHAREPOINT_PROCESSES", "4"),
    ])
    .expect("loads");
    assert_eq!(s.sharepoint_ru_per_minute, Some(5000));
    assert_eq!(s.sharepoint_processes, 4);
    assert_eq!(
        s.store,
        StoreLocation::SharePoint {
            site_id: "contoso.sharepoint.com,abc,def".into(),
            list_id: "7d1c0000-1111-2222-3333-444455556666".into()
        }
    );
    assert_eq!(
        s.public_base_url.as_str(),
        "https://func-mfa.azurewebsites.net/"
    );
    assert_eq!(
        s.group_id.as_deref(),
        Ok("6f1c2d3e-0000-4000-8000-000000000001")
    );
    assert_eq!(
        s.sender_mailboxes.as_ref().map(Vec::len),
        Ok(2),
        "de-duplicated, case-insensitive"
    );
    assert!(
        matches!(s.admin_auth, Ok(AdminAuth::Entra(ref e)) if e.audience == "api://mfa-onboarding" && e.required_role == "MfaOnboarding.Admin")
    );
    assert_eq!(
        s.portal_origin.as_deref(),
        Some("https://portal.contoso.com")
    );
    assert_eq!(s.port, 40123);
    assert_eq!(s.campaign.check_mode, CheckMode::PerUser);
    assert!(s.disabled_features().is_empty());
}

#[test]
fn bad_values_stop_start_up_naming_the_variable() {
    let cases: &[(&str, &str, &str)] = &[
        ("MFA_STORE", "postgres://x", "unknown store kind"),
        ("MFA_STORE", "sqlite:", "path is empty"),
        ("MFA_STORE", "sharepoint:site-only", "missing '/'"),
        ("MFA_STORE", "sharepoint:a b/c", "Graph ids"),
        ("MFA_GRAPH_BASE_URL", "graph.microsoft.com", "not a URL"),
        (
            "MFA_GRAPH_BASE_URL",
            "ftp://graph.microsoft.com",
            "http(s) URL",
        ),
        ("MFA_PUBLIC_BASE_URL", "https://x.example/?a=1", "query"),
        ("MFA_PUBLIC_BASE_URL", "javascript:alert(1)", "http(s) URL"),
        ("MFA_SETUP_URL", "http://aka.ms/mfasetup", "https URL"),
        ("FUNCTIONS_CUSTOMHANDLER_PORT", "70000", "whole number"),
        ("MFA_REMINDER_INTERVAL_DAYS", "0", "between 1 and 365"),
        ("MFA_REMINDER_INTERVAL_DAYS", "seven", "whole number"),
        ("MFA_MAIL_PER_MINUTE", "0", "at least 1"),
        ("MFA_RUN_BUDGET_SECONDS", "-5", "whole number"),
        (
            "MFA_CHECK_MODE",
            "sometimes",
            "auto, events, report or per-user",
        ),
        ("MFA_LOG_FORMAT", "xml", "auto, json or pretty"),
        ("MFA_SHAREPOINT_RU_PER_MINUTE", "0", "above 0"),
        ("MFA_SHAREPOINT_PROCESSES", "0", "1 to 100"),
        ("MFA_SHAREPOINT_PROCESSES", "many", "whole number"),
        ("MFA_BRAND_COLOR", "red", "#rrggbb"),
        ("MFA_ORG_NAME", "line\nbreak", "one line"),
        (
            "MFA_PORTAL_ORIGIN",
            "https://portal.contoso.com/app",
            "no path",
        ),
        ("MFA_ESCALATION_FALLBACK", "not-an-address", "'@'"),
        (
            "MFA_LOGO_URL",
            "http://cdn.contoso.com/logo.png",
            "https URL",
        ),
    ];
    for (var, value, expect) in cases {
        let err = load(&[(var, value)]).expect_err(&format!("{var}={value:?} must be refused"));
        assert_eq!(
            err.variable, *var,
            "{var}={value:?} blamed {}",
            err.variable
        );
        assert!(
            err.to_string().starts_with(var),
            "message names the variable: {err}"
        );
        assert!(
            err.message.contains(expect),
            "{var}={value:?}: {err} should mention {expect:?}"
        );
    }
}

#[test]
fn broken_optional_features_are_switched_off_not_fatal() {
    let s = load(&[
        ("MFA_ADMIN_AUTH", "magic"),
        ("MFA_GROUP_ID", "not-a-guid"),
        ("MFA_SENDER_MAILBOXES", "ok@contoso.com,broken"),
        ("MFA_REPORT_RECIPIENTS", " , "),
    ])
    .expect("the public endpoints still start");
    let off = s.disabled_features();
    assert_eq!(off.len(), 4, "{off:?}");
    assert!(off
        .iter()
        .any(|m| m.contains("MFA_ADMIN_AUTH") && m.contains("magic")));
    assert!(off.iter().any(|m| m.contains("MFA_GROUP_ID")));
    assert!(off
        .iter()
        .any(|m| m.contains("MFA_SENDER_MAILBOXES") && m.contains("broken")));
    let entra = load(&[("MFA_ADMIN_AUTH", "entra")]).expect("loads");
    assert_eq!(
        entra.admin_auth.map_err(|e| e.variable),
        Err("MFA_ADMIN_TENANT_ID")
    );
}

#[test]
fn check_mode_events_is_accepted_and_auto_is_the_default() {
    assert_eq!(
        load(&[]).expect("defaults").campaign.check_mode,
        CheckMode::Auto
    );
    let s = load(&[("MFA_CHECK_MODE", "Events")]).expect("events");
    assert_eq!(s.campaign.check_mode, CheckMode::Events);
}

#[test]
fn one_of_reads_a_choice_and_names_the_options_when_wrong() {
    let options = [("daily", 1), ("weekly", 7), ("off", 0), ("none", 0)];
    let vars = Vars::from_pairs([("A", " Weekly "), ("B", "hourly"), ("C", "")]);
    assert_eq!(vars.one_of("A", 1, &options), Ok(7));
    let alias = Vars::from_pairs([("A", "NONE")]);
    assert_eq!(
        alias.one_of("A", 1, &options),
        Ok(0),
        "aliases are accepted"
    );
    assert_eq!(vars.one_of("C", 1, &options), Ok(1), "blank is unset");
    assert_eq!(vars.one_of("UNSET", 0, &options), Ok(0));
    let err = vars.one_of("B", 1, &options).expect_err("not an option");
    assert_eq!(err.variable, "B");
    assert_eq!(
        err.message,
        r#"expected daily, weekly or off, got "hourly""#
    );
    assert_eq!(
        vars.one_of("B", 1, &[("on", 1)]).map_err(|e| e.message),
        Err(r#"expected on, got "hourly""#.to_string())
    );
}
