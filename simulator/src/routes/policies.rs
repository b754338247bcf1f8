//! `GET /policies/authenticationMethodsPolicy`: the tenant-wide authentication methods policy,
//! of which the simulator models the registration campaign (`registrationEnforcement`); the
//! per-method configurations are served empty.

use crate::errors::GraphResult;
use crate::http::SimResponse;
use crate::shared::Shared;
use serde_json::json;

/// The policy as Graph serves it.
pub(crate) fn authentication_methods_policy(shared: &Shared, version: &str) -> GraphResult {
    let campaign = shared.tenant.lock().campaign.to_json(version);
    Ok(SimResponse::json(
        200,
        json!({
            "@odata.context": format!("{}/$metadata#authenticationMethodsPolicy", shared.graph_root(version)),
            "id": "authenticationMethodsPolicy",
            "displayName": "Authentication Methods Policy",
            "description": "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings",
            "policyVersion": "1.5",
            "registrationEnforcement": {"authenticationMethodsRegistrationCampaign": campaign},
            "authenticationMethodConfigurations": [],
        }),
    ))
}
