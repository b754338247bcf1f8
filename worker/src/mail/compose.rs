//! What goes into each email: the personal links and the branding, as template data.

use mfa_core::config::Settings;
use mfa_core::domain::{OnboardingRecord, Strength, TargetStrength, TrackingToken};
use serde_json::{json, Value};

/// Microsoft Authenticator in Apple's App Store.
/// Where people add and manage their sign-in methods (passkeys included).
pub const SECURITY_INFO: &str = "https://aka.ms/mysecurityinfo";

pub const AUTHENTICATOR_IOS: &str =
    "https://apps.apple.com/app/microsoft-authenticator/id983156458";
/// Microsoft Authenticator in Google Play.
pub const AUTHENTICATOR_ANDROID: &str =
    "https://play.google.com/store/apps/details?id=com.azure.authenticator";

/// `base` joined with `path` (which starts with `/api/`).
fn link(settings: &Settings, path_and_query: &str) -> String {
    format!(
        "{}{}",
        settings.public_base_url.as_str().trim_end_matches('/'),
        path_and_query
    )
}

/// The personal enrol link for `token`.
pub fn enrol_link(settings: &Settings, token: &TrackingToken) -> String {
    link(settings, &format!("/api/enrol?token={token}"))
}

/// The open-tracking pixel for `token`.
pub fn pixel_link(settings: &Settings, token: &TrackingToken) -> String {
    link(settings, &format!("/api/track-open?token={token}"))
}

/// The self-service resend page.
pub fn resend_link(settings: &Settings) -> String {
    link(settings, "/api/resend")
}

fn org(settings: &Settings) -> Value {
    let b = &settings.branding;
    json!({
        "name": b.org_display(),
        "named": b.org_name.is_some(),
        "logoUrl": b.logo_url.as_ref().map(|u| u.as_str()),
        "color": b.primary_color,
        "support": b.support_contact,
    })
}

fn person(rec: &OnboardingRecord) -> Value {
    json!({
        "name": rec.display_name.clone().unwrap_or_else(|| rec.upn.as_str().to_string()),
        "upn": rec.upn.as_str(),
    })
}

fn personal_links(settings: &Settings, rec: &OnboardingRecord) -> Value {
    json!({
        "enrol": enrol_link(settings, &rec.token),
        "pixel": pixel_link(settings, &rec.token),
        "resend": resend_link(settings),
        "ios": AUTHENTICATOR_IOS,
        "android": AUTHENTICATOR_ANDROID,
    })
}

/// Data for the invitation.
pub fn invitation(settings: &Settings, rec: &OnboardingRecord) -> Value {
    json!({
        "org": org(settings),
        "headerColor": settings.branding.primary_color,
        "person": person(rec),
        "links": personal_links(settings, rec),
        "deadlineDays": settings.campaign.reminder_interval.num_days(),
        "target": target(settings, rec),
    })
}

/// What the campaign asks of the person (`MFA_TARGET_STRENGTH`) and where they stand, for the
/// invitation and reminders: `passkey` (the target is above `any`: teach passkeys),
/// `phishingResistant`, `upgrade` (they have a method already, below the target), `phoneOnly`
/// (SMS or voice alone: blocked at sign-in from `blockDate` unless they add a passkey).
pub fn target(settings: &Settings, rec: &OnboardingRecord) -> Value {
    let target = rec.target_or(settings.campaign.target);
    let strength = rec.strength.unwrap_or(Strength::None);
    json!({
        "name": target.as_str(),
        "passkey": target != TargetStrength::Any,
        "phishingResistant": target == TargetStrength::PhishingResistant,
        "upgrade": strength > Strength::None,
        "phoneOnly": strength == Strength::PhoneOnly,
        "blockDate": "1 February 2027",
        "securityInfo": SECURITY_INFO,
    })
}

/// Data for reminder number `number` (1-based).
pub fn reminder(settings: &Settings, rec: &OnboardingRecord, number: u32) -> Value {
    json!({
        "org": org(settings),
        "headerColor": settings.branding.primary_color,
        "person": person(rec),
        "links": personal_links(settings, rec),
        "reminderNumber": number,
        "target": target(settings, rec),
        "escalationWarning": !rec.escalated_to_manager
            && number + 1 >= settings.campaign.escalate_after_reminders,
    })
}

/// Data for the note to `manager_name` about `people` (their reports whose escalation is owed;
/// `employee` is the first of them, for templates written for one person).
pub fn escalation(settings: &Settings, people: &[OnboardingRecord], manager_name: &str) -> Value {
    let employees: Vec<Value> = people
        .iter()
        .map(|r| {
            let mut p = person(r);
            p["reminderCount"] = json!(r.reminder_count);
            p
        })
        .collect();
    let first = people.first();
    let reminders = first.map_or(0, |r| r.reminder_count);
    json!({
        "org": org(settings),
        "headerColor": "#d32f2f",
        "manager": { "name": manager_name },
        "employee": employees.first(),
        "employees": employees,
        "several": people.len() > 1,
        "count": people.len(),
        "reminderCount": reminders,
        "oneReminder": reminders == 1,
        "links": { "resend": Value::Null, "pixel": Value::Null, "resendPage": resend_link(settings) },
    })
}

/// Data for the admin report: `body` is built by the report pass; branding is added here.
pub fn report(settings: &Settings, mut body: Value) -> Value {
    if let Value::Object(map) = &mut body {
        map.insert("org".into(), org(settings));
        map.insert("headerColor".into(), json!(settings.branding.primary_color));
        map.insert("links".into(), json!({}));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{Template, Templates};
    use mfa_core::config::Vars;
    use mfa_core::domain::{BatchId, NewPerson, Source, Upn};

    fn rendered(org: Option<&str>) -> Vec<String> {
        let mut vars = vec![("MFA_PUBLIC_BASE_URL", "https://mfa.contoso.test")];
        if let Some(name) = org {
            vars.push(("MFA_ORG_NAME", name));
        }
        let settings = Settings::from_vars(&Vars::from_pairs(vars)).expect("settings");
        let now = chrono::Utc::now();
        let rec = OnboardingRecord::new_pending(
            NewPerson::new(Upn::parse("ada@contoso.com").expect("upn")),
            BatchId::default_for(now),
            Source::Manual,
            uuid::Uuid::new_v4(),
            now,
        );
        let templates = Templates::load(None).expect("templates");
        [
            templates.render(Template::Invitation, &invitation(&settings, &rec)),
            templates.render(Template::Reminder, &reminder(&settings, &rec, 1)),
            templates.render(
                Template::Escalation,
                &escalation(&settings, std::slice::from_ref(&rec), "Bo"),
            ),
        ]
        .into_iter()
        .flat_map(|r| {
            let r = r.expect("renders");
            [r.subject, r.html, r.text]
        })
        .collect()
    }

    #[test]
    fn texts_read_well_without_an_organisation_name() {
        for text in rendered(None) {
            for bad in [
                "your Your",
                "Your organisation IT",
                "you and Your",
                "their Your",
            ] {
                assert!(!text.contains(bad), "{bad:?} in {text}");
            }
        }
        let all = rendered(None).join("\n");
        assert!(all.contains("your work account"), "{all}");
        assert!(all.contains("your IT department"), "{all}");
        let named = rendered(Some("Contoso")).join("\n");
        assert!(named.contains("your Contoso account"), "{named}");
        assert!(named.contains("Contoso IT"), "{named}");
        assert!(named.contains("their Contoso account"), "{named}");
    }
}
