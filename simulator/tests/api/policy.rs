//! `GET /policies/authenticationMethodsPolicy`: the registration campaign, Microsoft's default
//! until the control API (standing in for the admin center) sets another.

use crate::helpers::*;
use serde_json::json;
use tenant_sim::{AppRegistration, CampaignTarget, RegistrationCampaign, SimConfig};

const POLICY: &str = "/v1.0/policies/authenticationMethodsPolicy";

#[tokio::test]
async fn the_campaign_reads_as_microsofts_default_until_set() {
    let t = spawn_default().await;
    let r = t.get(POLICY).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], "authenticationMethodsPolicy");
    let c = &r.body["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"];
    assert_eq!(c["state"], "default");
    assert_eq!(c["snoozeDurationInDays"], 1);
    assert_eq!(c["includeTargets"][0]["id"], "all_users");
    assert_eq!(c["includeTargets"][0]["targetType"], "group");
    assert_eq!(
        c["includeTargets"][0]["targetedAuthenticationMethod"],
        "microsoftAuthenticator"
    );
    assert!(
        c.get("enforceRegistrationAfterAllowedSnoozes").is_none(),
        "a beta-only property"
    );
    let beta = t.get("/beta/policies/authenticationMethodsPolicy").await;
    assert_eq!(
        beta.body["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"]
            ["enforceRegistrationAfterAllowedSnoozes"],
        true
    );

    let base = t.sim.base_url();
    let set = json!({
        "state": "enabled",
        "snoozeDurationInDays": 3,
        "includeTargets": [{"id": "g-pilot", "targetType": "group", "targetedAuthenticationMethod": "microsoftAuthenticator"}],
        "excludeTargets": [{"id": "u-ceo", "targetType": "user"}],
    });
    let r = t
        .send(
            t.http
                .put(format!("{base}/_sim/policies/registration-campaign"))
                .json(&set),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let c = t.get(POLICY).await.body["registrationEnforcement"]
        ["authenticationMethodsRegistrationCampaign"]
        .clone();
    assert_eq!(c["state"], "enabled");
    assert_eq!(c["snoozeDurationInDays"], 3);
    assert_eq!(c["includeTargets"][0]["id"], "g-pilot");
    assert_eq!(c["excludeTargets"][0]["id"], "u-ceo");
    assert_eq!(c["excludeTargets"][0]["targetType"], "user");
    let r = t
        .send(
            t.http
                .get(format!("{base}/_sim/policies/registration-campaign")),
        )
        .await;
    assert_eq!(r.body["state"], "enabled");

    for (body, why) in [
        (
            json!({"state": "on", "snoozeDurationInDays": 1}),
            "unknown state",
        ),
        (
            json!({"state": "enabled", "snoozeDurationInDays": 15}),
            "snooze over 14 days",
        ),
        (
            json!({"state": "enabled", "snoozeDurationInDays": 1, "includeTargets": [{"id": "x", "targetType": "device"}]}),
            "target type",
        ),
        (json!({"snoozeDurationInDays": 1}), "state is required"),
    ] {
        let r = t
            .send(
                t.http
                    .put(format!("{base}/_sim/policies/registration-campaign"))
                    .json(&body),
            )
            .await;
        assert_eq!(r.status, 400, "{why}: {}", r.body);
    }
    assert_eq!(
        t.tenant().registration_campaign().state,
        "enabled",
        "a refused change leaves the campaign as it was"
    );

    t.tenant()
        .set_registration_campaign(RegistrationCampaign {
            state: "disabled".into(),
            include_targets: vec![CampaignTarget {
                id: "all_users".into(),
                target_type: "group".into(),
                targeted_authentication_method: None,
            }],
            ..RegistrationCampaign::default()
        })
        .unwrap();
    let c = t.get(POLICY).await.body["registrationEnforcement"]
        ["authenticationMethodsRegistrationCampaign"]
        .clone();
    assert_eq!(c["state"], "disabled");
}

#[tokio::test]
async fn reading_the_policy_needs_a_policy_permission() {
    let without = SimConfig {
        apps: vec![AppRegistration {
            client_id: tenant_sim::DEFAULT_CLIENT_ID.into(),
            client_secret: tenant_sim::DEFAULT_CLIENT_SECRET.into(),
            permissions: Some(
                ["User.Read.All", "AuditLog.Read.All"]
                    .map(String::from)
                    .into(),
            ),
        }],
        ..SimConfig::default()
    };
    let t = spawn(without).await;
    assert_graph_error(&t.get(POLICY).await, 403, "Authorization_RequestDenied");
    let with = SimConfig {
        apps: vec![AppRegistration {
            client_id: tenant_sim::DEFAULT_CLIENT_ID.into(),
            client_secret: tenant_sim::DEFAULT_CLIENT_SECRET.into(),
            permissions: Some(["Policy.Read.All"].map(String::from).into()),
        }],
        ..SimConfig::default()
    };
    let t = spawn(with).await;
    assert_eq!(t.get(POLICY).await.status, 200);
}
