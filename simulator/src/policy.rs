//! The authentication methods policy's registration campaign
//! (`registrationEnforcement.authenticationMethodsRegistrationCampaign`), as Graph serves it
//! from `GET /policies/authenticationMethodsPolicy` and the `/_sim/` control API sets it.
//!
//! Shape and limits per Graph's `authenticationMethodsRegistrationCampaign` resource: `state` is
//! `default`, `enabled` or `disabled`; `snoozeDurationInDays` is 0–14; include targets name a
//! user or group (or `all_users`) and the method people are prompted for.

use serde::{Deserialize, Serialize};

/// Who the campaign includes or excludes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignTarget {
    /// User or group object id, or `all_users`.
    pub id: String,
    /// `user` or `group`.
    #[serde(default = "group")]
    pub target_type: String,
    /// The method people are prompted to set up (include targets only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targeted_authentication_method: Option<String>,
}

fn group() -> String {
    "group".to_string()
}

/// The campaign's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationCampaign {
    /// `default`, `enabled` or `disabled`.
    pub state: String,
    /// Days before a snoozed prompt comes back (0–14).
    pub snooze_duration_in_days: u32,
    /// Whether registration is required after three snoozes (served on beta only).
    #[serde(default = "yes")]
    pub enforce_registration_after_allowed_snoozes: bool,
    /// Who is prompted.
    #[serde(default)]
    pub include_targets: Vec<CampaignTarget>,
    /// Who is never prompted.
    #[serde(default)]
    pub exclude_targets: Vec<CampaignTarget>,
}

fn yes() -> bool {
    true
}

impl Default for RegistrationCampaign {
    /// A tenant that never touched the setting: Microsoft's default (Microsoft-managed since
    /// 2026-09-01), everyone included, Authenticator targeted, one day's snooze.
    fn default() -> Self {
        Self {
            state: "default".to_string(),
            snooze_duration_in_days: 1,
            enforce_registration_after_allowed_snoozes: true,
            include_targets: vec![CampaignTarget {
                id: "all_users".to_string(),
                target_type: "group".to_string(),
                targeted_authentication_method: Some("microsoftAuthenticator".to_string()),
            }],
            exclude_targets: Vec::new(),
        }
    }
}

impl RegistrationCampaign {
    /// Refuses values Graph would refuse.
    pub fn validate(&self) -> Result<(), String> {
        if !["default", "enabled", "disabled"].contains(&self.state.as_str()) {
            return Err(format!(
                "state must be default, enabled or disabled, not '{}'",
                self.state
            ));
        }
        if self.snooze_duration_in_days > 14 {
            return Err(format!(
                "snoozeDurationInDays must be 0 to 14, not {}",
                self.snooze_duration_in_days
            ));
        }
        for t in self.include_targets.iter().chain(&self.exclude_targets) {
            if !["user", "group"].contains(&t.target_type.as_str()) || t.id.trim().is_empty() {
                return Err(format!(
                    "a target needs an id and a targetType of user or group: {t:?}"
                ));
            }
        }
        Ok(())
    }

    /// The JSON Graph serves for `version` (`enforceRegistrationAfterAllowedSnoozes` is beta
    /// only).
    pub(crate) fn to_json(&self, version: &str) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if version != "beta" {
            if let Some(m) = v.as_object_mut() {
                m.remove("enforceRegistrationAfterAllowedSnoozes");
            }
        }
        v
    }
}
