//! The directory audit log (`GET /v1.0/auditLogs/directoryAudits`), reports category: Graph
//! counts audit-log reads against the identity-and-access reports limit (5 requests per 10 s per
//! app and tenant). Needs the application permissions `AuditLog.Read.All` and
//! `Directory.Read.All`; without them Graph answers 403, surfaced as
//! [`GraphError::NotPermitted`] so the caller can detect registrations another way.
//!
//! Entra's "Authentication Methods" service logs an event in category `UserManagement` when
//! someone registers or deletes security info; [`registration_filter`] selects those events since
//! an instant. A registration event's `resultReason` names the method
//! (`User registered Authenticator App with Notification and Code`, `User registered Mobile Phone
//! SMS`, `User registered Fido`…); [`DirectoryAudit::evidence`] reads it, conservatively: text it
//! does not recognise is [`Evidence::Unknown`], for the caller to confirm with a read.

use chrono::{DateTime, SecondsFormat, Utc};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use super::client::GraphClient;
use super::error::{GraphError, GraphResult};
use super::request::{odata_string, query, GraphRequest, Page};
use super::throttle::Category;

/// `loggedByService` of security-info registration events.
pub const REGISTRATION_SERVICE: &str = "Authentication Methods";

/// `activityDisplayName`s that mean a person (or an admin for them) added security info.
pub const REGISTRATION_ACTIVITIES: [&str; 3] = [
    "User registered security info",
    "User registered all required security info",
    "Admin registered security info",
];

/// The registration activities whose `resultReason` names the one method registered (`User
/// registered all required security info` names none).
const METHOD_NAMING_ACTIVITIES: [&str; 2] =
    [REGISTRATION_ACTIVITIES[0], REGISTRATION_ACTIVITIES[2]];

/// `activityDisplayName`s that mean security info was removed: a registration followed by one of
/// these in the same window is not evidence of MFA by itself.
pub const DELETION_ACTIVITIES: [&str; 2] =
    ["User deleted security info", "Admin deleted security info"];

/// Method names, as registration events' `resultReason` spells them after `User registered ` /
/// `Admin registered ` (lower case, matched as prefixes), that satisfy MFA by the same rule as
/// [`super::methods::MethodKind::is_mfa_capable`]: phones, Authenticator, OATH software tokens,
/// FIDO2 keys and passkeys, Windows Hello for Business.
const MFA_METHOD_NAMES: [&str; 11] = [
    "authenticator app",
    "microsoft authenticator",
    "mobile phone",
    "alternate mobile phone",
    "office phone",
    "phone method",
    "fido",
    "passkey",
    "security key",
    "software oath",
    "windows hello",
];

/// Method names that do not satisfy MFA (email and security questions are for password reset
/// only; a Temporary Access Pass is a one-off).
const OTHER_METHOD_NAMES: [&str; 5] = [
    "email",
    "security question",
    "temporary access pass",
    "app password",
    "password",
];

/// What one event says about its target's MFA registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// A registration of a method that satisfies MFA, named in `resultReason`.
    Mfa,
    /// A registration of a method that does not (email, security questions, TAP).
    NotMfa,
    /// Security info was deleted.
    Removed,
    /// A registration whose method the event does not name in words this product knows (e.g.
    /// `User registered all required security info`, or reason text Microsoft has reworded).
    Unknown,
}

/// Largest `$top` the list accepts.
pub const MAX_PAGE: u32 = 999;

/// `$filter` for registration and deletion events with `activityDateTime` at or after `since`.
pub fn registration_filter(since: DateTime<Utc>) -> String {
    let activities: Vec<String> = REGISTRATION_ACTIVITIES
        .iter()
        .chain(DELETION_ACTIVITIES.iter())
        .map(|a| format!("activityDisplayName eq {}", odata_string(a)))
        .collect();
    format!(
        "activityDateTime ge {} and loggedByService eq {} and ({})",
        since.to_rfc3339_opts(SecondsFormat::Secs, true),
        odata_string(REGISTRATION_SERVICE),
        activities.join(" or ")
    )
}

/// One `directoryAudit` (the fields the product reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryAudit {
    /// Event id (the same event may be returned by overlapping queries).
    pub id: String,
    /// Resource category, e.g. `UserManagement`.
    #[serde(default)]
    pub category: Option<String>,
    /// Activity, e.g. `User registered security info`.
    #[serde(default)]
    pub activity_display_name: String,
    /// When the activity happened (UTC). Events become visible some minutes later.
    pub activity_date_time: DateTime<Utc>,
    /// Service that logged it, e.g. `Authentication Methods`.
    #[serde(default)]
    pub logged_by_service: Option<String>,
    /// `success`, `failure`, `timeout`, `unknownFutureValue`.
    #[serde(default)]
    pub result: Option<String>,
    /// Free text; for security-info events it names the method
    /// (`User registered Mobile Phone SMS`).
    #[serde(default)]
    pub result_reason: Option<String>,
    /// Who the activity was about.
    #[serde(default)]
    pub target_resources: Vec<TargetResource>,
}

impl DirectoryAudit {
    /// Whether the activity succeeded.
    pub fn succeeded(&self) -> bool {
        self.result
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("success"))
    }

    /// What the event says about its target's registration; see [`Evidence`]. Only the reason's
    /// leading method name counts, and only for the activities this module queries.
    pub fn evidence(&self) -> Evidence {
        let activity = self.activity_display_name.as_str();
        if DELETION_ACTIVITIES
            .iter()
            .any(|a| a.eq_ignore_ascii_case(activity))
        {
            return Evidence::Removed;
        }
        if !METHOD_NAMING_ACTIVITIES
            .iter()
            .any(|a| a.eq_ignore_ascii_case(activity))
        {
            return Evidence::Unknown;
        }
        let reason = self
            .result_reason
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let Some(method) = ["user registered ", "admin registered "]
            .iter()
            .find_map(|p| reason.strip_prefix(p))
        else {
            return Evidence::Unknown;
        };
        if MFA_METHOD_NAMES.iter().any(|m| method.starts_with(m)) {
            Evidence::Mfa
        } else if OTHER_METHOD_NAMES.iter().any(|m| method.starts_with(m)) {
            Evidence::NotMfa
        } else {
            Evidence::Unknown
        }
    }

    /// The users the event targets.
    pub fn target_users(&self) -> impl Iterator<Item = &TargetResource> {
        self.target_resources.iter().filter(|t| {
            t.kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("User"))
        })
    }
}

/// One `targetResource` of an audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetResource {
    /// Object id.
    #[serde(default)]
    pub id: Option<String>,
    /// UPN, for users.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// `User`, `Group`, `Device`, …
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

fn first_request(filter: &str, top: u32) -> GraphRequest {
    let top = top.clamp(1, MAX_PAGE).to_string();
    GraphRequest::get(format!(
        "/v1.0/auditLogs/directoryAudits{}",
        query(&[("$filter", filter), ("$top", &top)])
    ))
    .category(Category::Reports)
}

/// A 403 from the audit log means the app lacks the permissions: the caller may fall back.
fn not_permitted(e: GraphError) -> GraphError {
    match e {
        GraphError::Forbidden { code, message } => GraphError::NotPermitted { code, message },
        other => other,
    }
}

impl GraphClient {
    /// Every page of the directory audit log matching `filter` (see [`registration_filter`]),
    /// `top` events per page, following `@odata.nextLink`.
    pub fn directory_audits(
        &self,
        filter: &str,
        top: u32,
    ) -> impl Stream<Item = GraphResult<Page<DirectoryAudit>>> + Send + 'static {
        self.pages(first_request(filter, top))
            .map(|r| r.map_err(not_permitted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn registration_filter_names_the_service_and_activities() {
        let since = Utc
            .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
            .single()
            .unwrap_or_default();
        assert_eq!(
            registration_filter(since),
            "activityDateTime ge 2026-03-02T09:00:00Z and loggedByService eq 'Authentication Methods' and (activityDisplayName eq 'User registered security info' or activityDisplayName eq 'User registered all required security info' or activityDisplayName eq 'Admin registered security info' or activityDisplayName eq 'User deleted security info' or activityDisplayName eq 'Admin deleted security info')"
        );
    }

    fn event(activity: &str, reason: &str) -> DirectoryAudit {
        serde_json::from_value(serde_json::json!({
            "id": "Directory_1",
            "activityDisplayName": activity,
            "activityDateTime": "2026-03-02T09:01:02Z",
            "result": "success",
            "resultReason": reason,
        }))
        .expect("parses")
    }

    #[test]
    fn evidence_follows_the_method_the_reason_names() {
        let registered = "User registered security info";
        let cases = [
            (
                registered,
                "User registered Authenticator App with Notification and Code",
                Evidence::Mfa,
            ),
            (
                registered,
                "User registered Authenticator App with Code",
                Evidence::Mfa,
            ),
            (
                registered,
                "User registered Mobile Phone SMS",
                Evidence::Mfa,
            ),
            (
                registered,
                "User registered Mobile Phone Call",
                Evidence::Mfa,
            ),
            (registered, "User registered Office Phone", Evidence::Mfa),
            (registered, "User registered Fido", Evidence::Mfa),
            (
                registered,
                "User registered Software OATH token",
                Evidence::Mfa,
            ),
            (
                registered,
                " user registered PASSKEY (device-bound) ",
                Evidence::Mfa,
            ),
            (
                "Admin registered security info",
                "Admin registered phone method for user",
                Evidence::Mfa,
            ),
            (registered, "User registered Email", Evidence::NotMfa),
            (
                registered,
                "User registered Security questions",
                Evidence::NotMfa,
            ),
            (
                "Admin registered security info",
                "Admin registered temporary access pass method for user",
                Evidence::NotMfa,
            ),
            // Nothing named, or words this product does not know: a read decides.
            (registered, "", Evidence::Unknown),
            (registered, "Registered something new", Evidence::Unknown),
            (
                registered,
                "User registered Hardware OATH token",
                Evidence::Unknown,
            ),
            (
                "User registered all required security info",
                "User registered Mobile Phone SMS",
                Evidence::Unknown,
            ),
            (
                "User changed default security info",
                "User registered Mobile Phone SMS",
                Evidence::Unknown,
            ),
            (
                "User deleted security info",
                "User deleted Mobile Phone SMS",
                Evidence::Removed,
            ),
            ("Admin deleted security info", "", Evidence::Removed),
        ];
        for (activity, reason, want) in cases {
            assert_eq!(
                event(activity, reason).evidence(),
                want,
                "{activity}: {reason}"
            );
        }
        let no_reason: DirectoryAudit = serde_json::from_value(serde_json::json!({
            "id": "Directory_2",
            "activityDisplayName": registered,
            "activityDateTime": "2026-03-02T09:01:02Z",
        }))
        .expect("parses without resultReason");
        assert_eq!(no_reason.evidence(), Evidence::Unknown);
    }

    #[test]
    fn events_parse_and_name_their_target_users() {
        let body = serde_json::json!({
            "id": "Directory_1",
            "category": "UserManagement",
            "activityDisplayName": "User registered security info",
            "activityDateTime": "2026-03-02T09:01:02Z",
            "loggedByService": "Authentication Methods",
            "result": "success",
            "initiatedBy": {"user": {"id": "u1"}},
            "targetResources": [
                {"id": "u1", "userPrincipalName": "a@contoso.example", "type": "User"},
                {"id": "g1", "type": "Group"}
            ]
        });
        let e: DirectoryAudit = serde_json::from_value(body).expect("parses");
        assert!(e.succeeded());
        let users: Vec<_> = e
            .target_users()
            .filter_map(|t| t.user_principal_name.as_deref())
            .collect();
        assert_eq!(users, ["a@contoso.example"]);
    }
}
