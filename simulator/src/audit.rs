//! The directory audit log: what Entra's "Authentication Methods" service writes when someone
//! registers security info, with the ingestion delay of the real service (events are visible to
//! `GET /auditLogs/directoryAudits` only some minutes after the activity) and knobs to lose
//! events or deny the app access, so the product's fallbacks can be exercised.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Duration;

/// `loggedByService` of security-info events.
pub const AUTH_METHODS_SERVICE: &str = "Authentication Methods";
/// Activity logged when a person registers a method themselves.
pub const USER_REGISTERED: &str = "User registered security info";
/// Activity logged when a person deletes a method.
pub const USER_DELETED: &str = "User deleted security info";

/// The `resultReason` Entra writes with a registration (`registered`) or deletion of `kind`,
/// in the words security tooling matches on (`User registered Mobile Phone SMS`). Windows
/// Hello, platform credentials and Temporary Access Passes are not registered through the
/// security-info flow: their events here name no method, as an event whose reason a reader does
/// not recognise.
pub fn reason(kind: crate::MethodKind, registered: bool) -> String {
    use crate::MethodKind::*;
    let method = match kind {
        Phone => "Mobile Phone SMS",
        MicrosoftAuthenticator => "Authenticator App with Notification and Code",
        SoftwareOath => "Software OATH token",
        Fido2 => "Fido",
        Email => "Email",
        Password | WindowsHelloForBusiness | TemporaryAccessPass | PlatformCredential => {
            return String::new()
        }
    };
    let verb = if registered { "registered" } else { "deleted" };
    format!("User {verb} {method}")
}

/// One recorded audit event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Event id.
    pub id: String,
    /// `activityDisplayName`.
    pub activity: String,
    /// `resultReason`: the method, for security-info events.
    pub reason: String,
    /// `activityDateTime`: when the activity happened.
    pub at: DateTime<Utc>,
    /// When the event becomes visible to the API (`at` + ingestion delay).
    pub visible_at: DateTime<Utc>,
    /// Target user's object id.
    pub user_id: String,
    /// Target user's UPN.
    pub user_principal_name: String,
}

impl AuditEvent {
    /// The `directoryAudit` resource as Graph returns it.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "category": "UserManagement",
            "correlationId": self.id,
            "result": "success",
            "resultReason": self.reason,
            "activityDisplayName": self.activity,
            "activityDateTime": self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "loggedByService": AUTH_METHODS_SERVICE,
            "operationType": if self.activity == USER_DELETED { "Delete" } else { "Add" },
            "initiatedBy": {
                "app": null,
                "user": {
                    "id": self.user_id,
                    "displayName": null,
                    "userPrincipalName": self.user_principal_name,
                    "ipAddress": "203.0.113.7",
                    "userType": "Member",
                }
            },
            "targetResources": [{
                "id": self.user_id,
                "displayName": null,
                "type": "User",
                "userPrincipalName": self.user_principal_name,
                "groupType": null,
                "modifiedProperties": [],
            }],
            "additionalDetails": [],
        })
    }
}

/// The audit log and its knobs.
#[derive(Debug)]
pub(crate) struct AuditLog {
    pub events: Vec<AuditEvent>,
    /// Ingestion delay for new events.
    pub delay: Duration,
    /// The next this-many registrations record no event (a lost event).
    pub lose_next: usize,
    /// Whether apps may read the audit log at all (a tenant-wide switch on top of the token's
    /// permissions).
    pub readable: bool,
}

impl AuditLog {
    pub fn new(delay: Duration) -> Self {
        Self {
            events: Vec::new(),
            delay,
            lose_next: 0,
            readable: true,
        }
    }

    /// Records that `user_id`/`upn` did `activity` (for the `reason`) at `at`, unless the event
    /// is to be lost.
    pub fn record(
        &mut self,
        activity: &str,
        reason: String,
        at: DateTime<Utc>,
        user_id: &str,
        upn: &str,
    ) {
        if self.lose_next > 0 {
            self.lose_next -= 1;
            return;
        }
        let delay = chrono::Duration::from_std(self.delay).unwrap_or_default();
        self.events.push(AuditEvent {
            id: format!("Directory_{}", uuid::Uuid::new_v4()),
            activity: activity.to_string(),
            reason,
            at,
            visible_at: at + delay,
            user_id: user_id.to_string(),
            user_principal_name: upn.to_string(),
        });
    }
}
