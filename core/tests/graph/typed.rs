//! Typed calls: users, manager, groups, methods, report, mail, phone, per-user MFA.

use futures::TryStreamExt;
use mfa_core::graph::methods::PhoneType;
use mfa_core::graph::reports::{filter_upn, FILTER_NOT_MFA_REGISTERED};
use mfa_core::graph::{AddMember, Category, GraphError, Mail, MethodKind, PerUserMfaState};
use serde_json::json;

use crate::helpers::{graph_error, reply, TestServer};

#[tokio::test]
async fn get_user_selects_fields_and_maps_not_found() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/v1.0/users/o'neil#1@contoso.com",
        vec![reply(200).json(json!({
            "id": "id-1", "displayName": "Pat O'Neil", "userPrincipalName": "o'neil#1@contoso.com",
            "mail": "pat@contoso.com", "accountEnabled": true, "mobilePhone": "+47 91234567",
            "department": "Ops", "jobTitle": "Lead"
        }))],
    );
    server.on(
        "GET",
        "/v1.0/users/ghost",
        vec![graph_error(404, "Request_ResourceNotFound", "gone")],
    );
    let client = server.client();
    let user = client
        .get_user("o'neil#1@contoso.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.display_name.as_deref(), Some("Pat O'Neil"));
    assert_eq!(user.account_enabled, Some(true));
    assert_eq!(user.job_title.as_deref(), Some("Lead"));
    let got = &server.received_at("GET", "/v1.0/users/o'neil#1@contoso.com")[0];
    assert_eq!(
        got.query_decoded(),
        "$select=id,displayName,userPrincipalName,mail,accountEnabled,mobilePhone,department,jobTitle"
    );
    assert_eq!(client.get_user("ghost").await, Ok(None));
}

#[tokio::test]
async fn manager_present_or_absent() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/v1.0/users/u1/manager",
        vec![reply(200).json(
            json!({"@odata.type": "#microsoft.graph.user", "id": "m1", "mail": "boss@contoso.com"}),
        )],
    );
    server.on(
        "GET",
        "/v1.0/users/u2/manager",
        vec![graph_error(404, "Request_ResourceNotFound", "none")],
    );
    let client = server.client();
    assert_eq!(
        client
            .get_manager("u1")
            .await
            .unwrap()
            .unwrap()
            .mail
            .as_deref(),
        Some("boss@contoso.com")
    );
    assert_eq!(client.get_manager("u2").await, Ok(None));
}

#[tokio::test]
async fn add_group_member_added_already_or_error() {
    let server = TestServer::start().await;
    server.on(
        "POST",
        "/v1.0/groups/g1/members/$ref",
        vec![
            reply(204),
            graph_error(400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'."),
            graph_error(400, "Request_BadRequest", "Invalid object identifier 'zzz'."),
        ],
    );
    let client = server.client();
    assert_eq!(
        client.add_group_member("g1", "u1").await,
        Ok(AddMember::Added)
    );
    assert_eq!(
        client.add_group_member("g1", "u1").await,
        Ok(AddMember::AlreadyMember)
    );
    assert!(matches!(
        client.add_group_member("g1", "zzz").await,
        Err(GraphError::BadRequest { .. })
    ));
    let got = server.received_at("POST", "/v1.0/groups/g1/members/$ref");
    assert_eq!(
        got[0].json(),
        json!({"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/u1"})
    );
}

#[tokio::test]
async fn methods_are_typed_and_classified() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/v1.0/users/u1/authentication/methods",
        vec![reply(200).json(json!({"value": [
            {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "p"},
            {"@odata.type": "#microsoft.graph.emailAuthenticationMethod", "id": "e", "emailAddress": "x@y.z"},
            {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "ph", "phoneNumber": "+47 91234567", "phoneType": "mobile"}
        ]}))],
    );
    server.on(
        "GET",
        "/v1.0/users/u2/authentication/methods",
        vec![graph_error(404, "Request_ResourceNotFound", "x")],
    );
    let client = server.client();
    let methods = client.list_methods("u1").await.unwrap();
    let kinds: Vec<&MethodKind> = methods.iter().map(|m| &m.kind).collect();
    assert_eq!(
        kinds,
        vec![
            &MethodKind::Password,
            &MethodKind::Email,
            &MethodKind::Phone
        ]
    );
    assert_eq!(methods.iter().filter(|m| m.is_mfa_capable()).count(), 1);
    assert_eq!(methods[2].phone_number.as_deref(), Some("+47 91234567"));
    // The unlicensed fallback reads the same list through $batch.
    server.on_fn("POST", "/v1.0/$batch", |r| {
        let responses: Vec<serde_json::Value> = r.json()["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                let body = if q["url"] == "/users/u1/authentication/methods" {
                    json!({"value": [{"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id": "ma"}]})
                } else {
                    json!({"error": {"code": "Request_ResourceNotFound", "message": "x"}})
                };
                let status = if body.get("value").is_some() { 200 } else { 404 };
                json!({"id": q["id"], "status": status, "body": body})
            })
            .collect();
        reply(200).json(json!({"responses": responses}))
    });
    let batch = client
        .list_methods_batch(&["u1".to_string(), "u2".to_string()])
        .await;
    assert_eq!(
        batch[0].as_ref().unwrap()[0].kind,
        MethodKind::MicrosoftAuthenticator
    );
    assert!(batch[0].as_ref().unwrap()[0].is_mfa_capable());
    assert!(matches!(batch[1], Err(GraphError::NotFound { .. })));
    assert!(matches!(
        client.list_methods("u2").await,
        Err(GraphError::NotFound { .. })
    ));
}

#[tokio::test]
async fn registration_report_pages_and_unlicensed_fallback() {
    let server = TestServer::start().await;
    let path = "/v1.0/reports/authenticationMethods/userRegistrationDetails";
    let next = format!("{}{path}?$skiptoken=page2", server.base);
    let mut calls = 0;
    server.on_fn("GET", path, move |r| {
        calls += 1;
        if r.query.contains("skiptoken") {
            reply(200).json(json!({"value": [{"id": "3", "userPrincipalName": "c@x", "isMfaRegistered": false, "methodsRegistered": []}]}))
        } else if calls == 1 {
            reply(200).json(json!({"@odata.nextLink": next, "value": [
                {"id": "1", "userPrincipalName": "a@x", "isMfaRegistered": false, "isMfaCapable": false, "methodsRegistered": ["email"], "lastUpdatedDateTime": "2026-03-01T10:00:00Z"},
                {"id": "2", "userPrincipalName": "b@x", "isMfaRegistered": false, "methodsRegistered": []}
            ]}))
        } else {
            graph_error(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Tenant is not a B2C tenant and doesn't have premium license")
        }
    });
    let client = server.client();
    let pages: Vec<_> = client
        .registration_details(Some(FILTER_NOT_MFA_REGISTERED))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.value.iter().map(|r| r.id.as_str()))
        .collect();
    assert_eq!(ids, vec!["1", "2", "3"]);
    assert_eq!(
        pages[0].value[0].methods_registered,
        vec!["email".to_string()]
    );
    let got = server.received_at("GET", path);
    assert_eq!(got[0].query_decoded(), "$filter=isMfaRegistered eq false");
    assert_eq!(client.stats()[&Category::Reports].requests, 2);

    let err = client
        .registration_details_page(Some(&filter_upn("o'neil@x")), None)
        .await
        .unwrap_err();
    assert_eq!(err, GraphError::NotLicensed);
    assert_eq!(
        server.received_at("GET", path)[2].query_decoded(),
        "$filter=userPrincipalName eq 'o''neil@x'"
    );
    for (i, r) in server.received_at("GET", path).iter().enumerate() {
        assert_eq!(
            r.header("prefer").as_deref(),
            Some("include-unknown-enum-members"),
            "request {i} (first page, next link, point lookup) opts into passkey values"
        );
    }
}

#[tokio::test]
async fn send_mail_shape_and_header_rules() {
    let server = TestServer::start().await;
    server.on(
        "POST",
        "/v1.0/users/mfa@contoso.com/sendMail",
        vec![reply(202)],
    );
    let client = server.client();
    let mail = Mail {
        to: vec!["a@contoso.com".into()],
        cc: vec!["m@contoso.com".into()],
        subject: "Set up MFA".into(),
        html: "<p>Hi</p>".into(),
        text: Some("Hi".into()),
        headers: vec![("X-MFA-Token".into(), "tok".into())],
    };
    client.send_mail("mfa@contoso.com", &mail).await.unwrap();
    let body = server.received_at("POST", "/v1.0/users/mfa@contoso.com/sendMail")[0].json();
    assert_eq!(
        body,
        json!({"message": {
            "subject": "Set up MFA",
            "body": {"contentType": "HTML", "content": "<p>Hi</p>"},
            "toRecipients": [{"emailAddress": {"address": "a@contoso.com"}}],
            "ccRecipients": [{"emailAddress": {"address": "m@contoso.com"}}],
            "internetMessageHeaders": [{"name": "X-MFA-Token", "value": "tok"}]
        }, "saveToSentItems": false})
    );
    assert_eq!(
        client.stats()[&Category::mail("mfa@contoso.com")].requests,
        1
    );

    let bad = Mail {
        headers: vec![("Reply-To".into(), "x".into())],
        ..mail.clone()
    };
    assert!(matches!(
        client.send_mail("mfa@contoso.com", &bad).await,
        Err(GraphError::InvalidArgument(_))
    ));
    let nobody = Mail {
        to: vec![],
        cc: vec![],
        ..mail
    };
    assert!(matches!(
        client.send_mail("mfa@contoso.com", &nobody).await,
        Err(GraphError::InvalidArgument(_))
    ));
    assert_eq!(server.received().len(), 1, "invalid mail is never sent");
}

#[tokio::test]
async fn phone_method_and_per_user_mfa_state() {
    let server = TestServer::start().await;
    server.on(
        "POST",
        "/v1.0/users/u1/authentication/phoneMethods",
        vec![reply(201).json(json!({"id": "3179e48a-750b-4051-897c-87b9720928f7", "phoneNumber": "+47 91234567", "phoneType": "mobile"}))],
    );
    server.on(
        "GET",
        "/beta/users/u1/authentication/requirements",
        vec![reply(200).json(json!({"perUserMfaState": "disabled"}))],
    );
    server.on(
        "PATCH",
        "/beta/users/u1/authentication/requirements",
        vec![reply(204)],
    );
    let client = server.client();
    let m = client
        .create_phone_method("u1", "+47 91234567", PhoneType::Mobile)
        .await
        .unwrap();
    assert_eq!(m.kind, MethodKind::Phone);
    let sent = server.received_at("POST", "/v1.0/users/u1/authentication/phoneMethods")[0].json();
    assert_eq!(
        sent,
        json!({"phoneNumber": "+47 91234567", "phoneType": "mobile"})
    );
    assert!(matches!(
        client
            .create_phone_method("u1", "91234567", PhoneType::Mobile)
            .await,
        Err(GraphError::InvalidArgument(_))
    ));
    assert_eq!(
        client.get_mfa_requirements("u1").await,
        Ok(PerUserMfaState::Disabled)
    );
    client
        .set_mfa_requirements("u1", PerUserMfaState::Enforced)
        .await
        .unwrap();
    let patch = server.received_at("PATCH", "/beta/users/u1/authentication/requirements")[0].json();
    assert_eq!(patch, json!({"perUserMfaState": "enforced"}));
}

#[tokio::test]
async fn registration_campaign_is_read_and_403_is_not_permitted() {
    use mfa_core::graph::CampaignState;
    let server = TestServer::start().await;
    let path = "/v1.0/policies/authenticationMethodsPolicy";
    server.on(
        "GET",
        path,
        vec![
            reply(200).json(json!({
                "id": "authenticationMethodsPolicy",
                "registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {
                    "snoozeDurationInDays": 2, "state": "enabled",
                    "excludeTargets": [{"id": "u9", "targetType": "user"}],
                    "includeTargets": [{"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "microsoftAuthenticator"}]
                }},
                "authenticationMethodConfigurations": []
            })),
            reply(200).json(json!({"id": "authenticationMethodsPolicy"})),
            graph_error(403, "Authorization_RequestDenied", "Insufficient privileges"),
        ],
    );
    let client = server.client();
    let c = client.registration_campaign().await.unwrap();
    assert_eq!(c.state, CampaignState::Enabled);
    assert_eq!(c.snooze_duration_in_days, Some(2));
    assert_eq!(c.exclude_targets[0].id, "u9");
    assert_eq!(c.include_targets[0].target_type.as_deref(), Some("group"));
    let missing = client.registration_campaign().await.unwrap();
    assert_eq!(
        missing.state,
        CampaignState::Default,
        "no section: Microsoft's default"
    );
    assert!(missing.include_targets.is_empty());
    assert!(matches!(
        client.registration_campaign().await,
        Err(GraphError::NotPermitted { .. })
    ));
    assert_eq!(client.stats()[&Category::Identity].requests, 3);
}
