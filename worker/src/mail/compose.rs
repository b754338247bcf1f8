//! What goes into each email: the personal links and the branding, as template data.

use mfa_core::config::Settings;
use mfa_core::domain::{OnboardingRecord, TrackingToken};
use serde_json::{json, Value};

/// Microsoft Authenticator in Apple's App Store.
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
        "name": b.org_name,
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
        "escalationWarning": !rec.escalated_to_manager
            && number + 1 >= settings.campaign.escalate_after_reminders,
    })
}

/// Data for the note to `manager_name` about `rec`.
pub fn escalation(settings: &Settings, rec: &OnboardingRecord, manager_name: &str) -> Value {
    json!({
        "org": org(settings),
        "headerColor": "#d32f2f",
        "manager": { "name": manager_name },
        "employee": person(rec),
        "reminderCount": rec.reminder_count,
        "oneReminder": rec.reminder_count == 1,
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
