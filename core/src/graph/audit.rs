//! The directory audit log (`GET /v1.0/auditLogs/directoryAudits`), reports category: Graph
//! counts audit-log reads against the identity-and-access reports limit (5 requests per 10 s per
//! app and tenant). Needs the application permissions `AuditLog.Read.All` and
//! `Directory.Read.All`; without them Graph answers 403, surfaced as
//! [`GraphError::NotPermitted`] so the caller can detect registrations another way.
//!
//! Entra's "Authentication Methods" service logs an event in category `UserManagement` when
//! someone registers security info; [`registration_filter`] selects those events since an
//! instant.

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

/// Largest `$top` the list accepts.
pub const MAX_PAGE: u32 = 999;

/// `$filter` for registration events with `activityDateTime` at or after `since`.
pub fn registration_filter(since: DateTime<Utc>) -> String {
    let activities: Vec<String> = REGISTRATION_ACTIVITIES
        .iter()
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
            "activityDateTime ge 2026-03-02T09:00:00Z and loggedByService eq 'Authentication Methods' and (activityDisplayName eq 'User registered security info' or activityDisplayName eq 'User registered all required security info' or activityDisplayName eq 'Admin registered security info')"
        );
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
