//! The directory audit log: what Entra's "Authentication Methods" service writes when someone
//! registers security info (and, for passkeys, Windows Hello for Business and platform
//! credentials, what the "Device Registration Service" writes alongside), with the ingestion delay of the real service (events are visible to
//! `GET /auditLogs/directoryAudits` only some minutes after the activity) and knobs to lose
//! events or deny the app access, so the product's fallbacks can be exercised.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Duration;

/// `loggedByService` of security-info events.
pub const AUTH_METHODS_SERVICE: &str = "Authentication Methods";
/// `loggedByService` of credential events (passkeys, Windows Hello for Business, platform
/// credentials), per Entra's audit activity reference.
pub const DEVICE_REGISTRATION_SERVICE: &str = "Device Registration Service";
/// Activity logged when a person registers a method themselves.
pub const USER_REGISTERED: &str = "User registered security info";
/// Activity logged when a person deletes a method.
pub const USER_DELETED: &str = "User deleted security info";
/// Device Registration Service activity for a device-bound passkey or security key.
pub const ADD_PASSKEY_DEVICE_BOUND: &str = "Add Passkey (device-bound)";
/// Device Registration Service activity for a synced passkey.
pub const ADD_PASSKEY_SYNCED: &str = "Add Passkey (synced)";
/// Device Registration Service activity for Windows Hello for Business.
pub const ADD_WINDOWS_HELLO: &str = "Add Windows Hello for Business credential";
/// Device Registration Service activity for a macOS platform credential.
pub const ADD_PLATFORM_CREDENTIAL: &str = "Add platform credential";

/// The `resultReason` Entra writes with a registration (`registered`) or deletion of `m`, in the
/// words security tooling matches on (`User registered Mobile Phone SMS`, `User registered
/// Passkey (device-bound)`). Windows Hello for Business, platform credentials, certificates and
/// Temporary Access Passes are not registered through the security-info flow: their events here
/// name no method, as an event whose reason a reader does not recognise.
pub fn reason(m: &crate::AuthMethod, registered: bool) -> String {
    use crate::MethodKind::*;
    let method = match m.kind {
        Phone => "Mobile Phone SMS",
        MicrosoftAuthenticator => "Authenticator App with Notification and Code",
        SoftwareOath => "Software OATH token",
        HardwareOath => "Hardware OATH token",
        Fido2 if m.passkey_type == Some(crate::PasskeyType::Synced) => "Passkey (synced)",
        Fido2 => "Passkey (device-bound)",
        Email => "Email",
        Password
        | WindowsHelloForBusiness
        | TemporaryAccessPass
        | PlatformCredential
        | X509Certificate => return String::new(),
    };
    let verb = if registered { "registered" } else { "deleted" };
    format!("User {verb} {method}")
}

/// The events one self-service registration of `m` writes: the Authentication Methods service's
/// `User registered security info`, and for credentials the Device Registration Service's own
/// activity (`Add Passkey (device-bound)`, `Add Passkey (synced)` with the AAGUID in
/// `additionalDetails`, `Add Windows Hello for Business credential`, `Add platform
/// credential`), as Entra's audit activity reference and "find and remove synced passkeys" page
/// list them.
pub(crate) fn registration_entries(m: &crate::AuthMethod) -> Vec<Entry> {
    use crate::MethodKind::*;
    let mut out = vec![Entry::new(
        AUTH_METHODS_SERVICE,
        USER_REGISTERED,
        reason(m, true),
    )];
    let credential = match m.kind {
        Fido2 if m.passkey_type == Some(crate::PasskeyType::Synced) => Some(ADD_PASSKEY_SYNCED),
        Fido2 => Some(ADD_PASSKEY_DEVICE_BOUND),
        WindowsHelloForBusiness => Some(ADD_WINDOWS_HELLO),
        PlatformCredential => Some(ADD_PLATFORM_CREDENTIAL),
        _ => None,
    };
    if let Some(activity) = credential {
        let mut e = Entry::new(DEVICE_REGISTRATION_SERVICE, activity, String::new());
        if let Some(g) = &m.aa_guid {
            e.details.push(("AAGuid".to_string(), g.clone()));
        }
        out.push(e);
    }
    out
}

/// One event to record, before it gets its id, time and target.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub service: &'static str,
    pub activity: &'static str,
    pub reason: String,
    pub details: Vec<(String, String)>,
}

impl Entry {
    pub fn new(service: &'static str, activity: &'static str, reason: String) -> Self {
        Self {
            service,
            activity,
            reason,
            details: Vec::new(),
        }
    }
}

/// One recorded audit event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Event id.
    pub id: String,
    /// `loggedByService`.
    pub service: String,
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
    /// `additionalDetails` (key, value), e.g. the passkey's `AAGuid`.
    pub details: Vec<(String, String)>,
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
            "loggedByService": self.service,
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
            "additionalDetails": self
                .details
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect::<Vec<_>>(),
        })
    }
}

/// The audit log and its knobs.
#[derive(Debug)]
pub(crate) struct AuditLog {
    pub events: Vec<AuditEvent>,
    /// Ingestion delay for new events.
    pub delay: Duration,
    /// The next this-many activities (registrations, deletions) record no events (lost).
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

    /// Records the events of one activity on `user_id`/`upn` at `at` (a registration may write
    /// more than one), unless the activity's events are to be lost: all of them, then.
    pub fn record(&mut self, entries: Vec<Entry>, at: DateTime<Utc>, user_id: &str, upn: &str) {
        if self.lose_next > 0 {
            self.lose_next -= 1;
            return;
        }
        let delay = chrono::Duration::from_std(self.delay).unwrap_or_default();
        for e in entries {
            self.events.push(AuditEvent {
                id: format!("Directory_{}", uuid::Uuid::new_v4()),
                service: e.service.to_string(),
                activity: e.activity.to_string(),
                reason: e.reason,
                at,
                visible_at: at + delay,
                user_id: user_id.to_string(),
                user_principal_name: upn.to_string(),
                details: e.details,
            });
        }
    }
}
