//! The tenant's registration campaign, read-only (identity category): `GET
//! /v1.0/policies/authenticationMethodsPolicy` and its
//! `registrationEnforcement.authenticationMethodsRegistrationCampaign` — Microsoft's own
//! "set up a stronger method" nudge after sign-in. Since 2026-09-01 Microsoft manages it for
//! tenants that leave it at `default`; the product only reports it (readiness report, dashboard)
//! and never changes it.
//!
//! Shape per <https://learn.microsoft.com/graph/api/resources/authenticationmethodsregistrationcampaign>
//! and <https://learn.microsoft.com/graph/api/authenticationmethodspolicy-get>. Reading needs
//! `Policy.Read.All` (or `Policy.ReadWrite.AuthenticationMethod`); without it Graph answers 403,
//! surfaced as [`GraphError::NotPermitted`] so the caller can show "unknown" instead of failing.

use serde::{Deserialize, Serialize};

use super::client::GraphClient;
use super::error::{GraphError, GraphResult};
use super::request::GraphRequest;
use super::throttle::Category;

/// `state` of the campaign (Graph's `advancedConfigState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CampaignState {
    /// Not set by the tenant: Microsoft's default applies (Microsoft-managed since 2026-09-01).
    #[default]
    Default,
    /// Turned on by the tenant.
    Enabled,
    /// Turned off by the tenant.
    Disabled,
    /// A value this build does not know.
    #[serde(other)]
    UnknownFutureValue,
}

impl CampaignState {
    /// Graph's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Default => "default",
            CampaignState::Enabled => "enabled",
            CampaignState::Disabled => "disabled",
            CampaignState::UnknownFutureValue => "unknownFutureValue",
        }
    }
}

impl std::fmt::Display for CampaignState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a campaign includes or excludes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignTarget {
    /// A user or group object id, or `all_users`.
    pub id: String,
    /// `user` or `group`.
    #[serde(default)]
    pub target_type: Option<String>,
    /// The method people are prompted to set up (`microsoftAuthenticator`, …); include targets
    /// only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targeted_authentication_method: Option<String>,
}

/// The registration campaign's settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationCampaign {
    /// `default`, `enabled` or `disabled`.
    #[serde(default)]
    pub state: CampaignState,
    /// Days before a person who chose "Not now" is asked again (0–14).
    #[serde(default)]
    pub snooze_duration_in_days: Option<u32>,
    /// Whether registration becomes required after three snoozes (beta only; `None` from v1.0).
    #[serde(default)]
    pub enforce_registration_after_allowed_snoozes: Option<bool>,
    /// Who is prompted.
    #[serde(default)]
    pub include_targets: Vec<CampaignTarget>,
    /// Who is never prompted.
    #[serde(default)]
    pub exclude_targets: Vec<CampaignTarget>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Policy {
    #[serde(default)]
    registration_enforcement: Option<Enforcement>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Enforcement {
    #[serde(default)]
    authentication_methods_registration_campaign: Option<RegistrationCampaign>,
}

impl GraphClient {
    /// The tenant's registration campaign (a policy without the section reads as
    /// [`CampaignState::Default`] with no targets). 403 is [`GraphError::NotPermitted`].
    pub async fn registration_campaign(&self) -> GraphResult<RegistrationCampaign> {
        let req = GraphRequest::get("/v1.0/policies/authenticationMethodsPolicy")
            .category(Category::Identity);
        let policy: Policy = self.send_json(req).await.map_err(|e| match e {
            GraphError::Forbidden { code, message } => GraphError::NotPermitted { code, message },
            other => other,
        })?;
        Ok(policy
            .registration_enforcement
            .and_then(|e| e.authentication_methods_registration_campaign)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let p: Policy = serde_json::from_value(serde_json::json!({
            "id": "authenticationMethodsPolicy",
            "registrationEnforcement": {
                "authenticationMethodsRegistrationCampaign": {
                    "snoozeDurationInDays": 1,
                    "state": "default",
                    "excludeTargets": [],
                    "includeTargets": [{
                        "id": "all_users",
                        "targetType": "group",
                        "targetedAuthenticationMethod": "microsoftAuthenticator"
                    }]
                }
            },
            "authenticationMethodConfigurations": []
        }))
        .unwrap();
        let c = p
            .registration_enforcement
            .and_then(|e| e.authentication_methods_registration_campaign)
            .unwrap();
        assert_eq!(c.state, CampaignState::Default);
        assert_eq!(c.snooze_duration_in_days, Some(1));
        assert_eq!(c.include_targets[0].id, "all_users");
        assert_eq!(
            c.include_targets[0]
                .targeted_authentication_method
                .as_deref(),
            Some("microsoftAuthenticator")
        );
        let newer: RegistrationCampaign =
            serde_json::from_value(serde_json::json!({"state": "microsoftManaged"})).unwrap();
        assert_eq!(newer.state, CampaignState::UnknownFutureValue);
    }
}
