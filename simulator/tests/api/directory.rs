use crate::helpers::*;
use serde_json::json;
use tenant_sim::{MethodKind, NewUser};

fn user(t: &TestSim, upn: &str) -> tenant_sim::User {
    t.tenant().add_user(NewUser::upn(upn)).unwrap()
}

#[tokio::test]
async fn get_user_by_upn_and_id_honours_select() {
    let t = spawn_default().await;
    let mut n = NewUser::upn("ada.lovelace@contoso.example");
    n.mobile_phone = Some("+47 91234567".into());
    n.department = Some("Engineering".into());
    let u = t.tenant().add_user(n).unwrap();

    let r = t.get("/v1.0/users/ada.lovelace@contoso.example").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["id"], u.id.as_str());
    assert_eq!(r.body["displayName"], "Ada Lovelace");
    assert!(r.body["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#users/$entity"));
    assert!(
        r.body.get("accountEnabled").is_none(),
        "not in the default set"
    );

    let r = t
        .get(&format!(
            "/v1.0/users/{}?$select=id,accountEnabled,mobilePhone,department",
            u.id
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["accountEnabled"], true);
    assert_eq!(r.body["mobilePhone"], "+47 91234567");
    assert_eq!(r.body["department"], "Engineering");
    assert!(r.body.get("displayName").is_none());

    let r = t.get("/v1.0/users/nobody@contoso.example").await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn list_users_filters_and_pages() {
    let t = spawn_default().await;
    for i in 0..5 {
        user(&t, &format!("u{i}@contoso.example"));
    }
    let r = t
        .get("/v1.0/users?$top=2&$select=id,userPrincipalName")
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 2);
    let mut next = r.body["@odata.nextLink"].as_str().map(str::to_string);
    let mut seen = 2;
    while let Some(link) = next {
        let r = t.get(&link).await;
        seen += r.body["value"].as_array().unwrap().len();
        next = r.body["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen, 5);
    let r = t
        .get("/v1.0/users?$filter=userPrincipalName eq 'U3@contoso.example'")
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn manager_is_returned_or_404() {
    let t = spawn_default().await;
    let boss = user(&t, "boss@contoso.example");
    user(&t, "worker@contoso.example");
    t.tenant()
        .set_manager("worker@contoso.example", Some("boss@contoso.example"))
        .unwrap();
    let r = t.get("/v1.0/users/worker@contoso.example/manager").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["id"], boss.id.as_str());
    assert_eq!(r.body["@odata.type"], "#microsoft.graph.user");
    let r = t.get("/v1.0/users/boss@contoso.example/manager").await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn group_membership_add_ref_bind_and_list() {
    let t = spawn_default().await;
    let g = t.tenant().add_group("MFA Rollout");
    let a = user(&t, "a@contoso.example");
    let path = format!("/v1.0/groups/{}/members/$ref", g.id);
    let body =
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", a.id)});
    let r = t.post(&path, body.clone()).await;
    assert_eq!(r.status, 204);
    let r = t.post(&path, body).await;
    assert_graph_error(&r, 400, "Request_BadRequest");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("One or more added object references already exist"));

    let others: Vec<_> = (0..3)
        .map(|i| user(&t, &format!("b{i}@contoso.example")))
        .collect();
    let binds: Vec<String> = others
        .iter()
        .map(|u| format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", u.id))
        .collect();
    let mut with_existing = binds.clone();
    with_existing.push(format!(
        "https://graph.microsoft.com/v1.0/directoryObjects/{}",
        a.id
    ));
    let r = t
        .patch(
            &format!("/v1.0/groups/{}", g.id),
            json!({"members@odata.bind": with_existing}),
            &[],
        )
        .await;
    assert_eq!(r.status, 400, "all-or-nothing");
    assert_eq!(t.tenant().group_members(&g.id).unwrap().len(), 1);
    let r = t
        .patch(
            &format!("/v1.0/groups/{}", g.id),
            json!({"members@odata.bind": binds}),
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    let too_many: Vec<String> = (0..21).map(|_| binds[0].clone()).collect();
    let r = t
        .patch(
            &format!("/v1.0/groups/{}", g.id),
            json!({"members@odata.bind": too_many}),
            &[],
        )
        .await;
    assert_eq!(r.status, 400);

    let r = t
        .get(&format!("/v1.0/groups/{}/members?$top=3", g.id))
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 3);
    assert!(r.body["@odata.nextLink"].is_string());
    let r = t
        .get(&format!("/v1.0/groups/{}/transitiveMembers", g.id))
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 4);
    let r = t
        .get("/v1.0/groups?$filter=displayName eq 'MFA Rollout'")
        .await;
    assert_eq!(r.body["value"][0]["id"], g.id.as_str());
}

#[tokio::test]
async fn methods_list_phone_prepopulation_and_requirements() {
    let t = spawn_default().await;
    let u = user(&t, "a@contoso.example");
    let path = format!("/v1.0/users/{}/authentication/methods", u.id);
    let r = t.get(&path).await;
    let types: Vec<&str> = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["@odata.type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["#microsoft.graph.passwordAuthenticationMethod"]);

    t.tenant()
        .register_mfa("a@contoso.example", MethodKind::MicrosoftAuthenticator)
        .unwrap();
    let phone = format!("/v1.0/users/{}/authentication/phoneMethods", u.id);
    for (body, status) in [
        (
            json!({"phoneNumber": "91234567", "phoneType": "mobile"}),
            400,
        ),
        (
            json!({"phoneNumber": "+47 91234567", "phoneType": "pager"}),
            400,
        ),
        (
            json!({"phoneNumber": "+47 91234567", "phoneType": "mobile"}),
            201,
        ),
        (
            json!({"phoneNumber": "+47 91234568", "phoneType": "mobile"}),
            400,
        ),
    ] {
        let r = t.post(&phone, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }
    let r = t.get(&path).await;
    let types: Vec<&str> = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["@odata.type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "#microsoft.graph.passwordAuthenticationMethod",
            "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
            "#microsoft.graph.phoneAuthenticationMethod",
        ]
    );
    assert_eq!(r.body["value"][2]["phoneNumber"], "+47 91234567");

    let req = format!("/beta/users/{}/authentication/requirements", u.id);
    assert_eq!(t.get(&req).await.body["perUserMfaState"], "disabled");
    assert_eq!(
        t.patch(&req, json!({"perUserMfaState": "enforced"}), &[])
            .await
            .status,
        204
    );
    assert_eq!(t.get(&req).await.body["perUserMfaState"], "enforced");
    assert_eq!(
        t.patch(&req, json!({"perUserMfaState": "maybe"}), &[])
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn identity_resource_units_window_is_enforced() {
    let mut config = tenant_sim::SimConfig::default();
    config.limits.identity_ru_per_10_s = 10;
    let t = spawn(config).await;
    user(&t, "a@contoso.example");
    for i in 0..10 {
        let r = t.get("/v1.0/users/a@contoso.example").await;
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(r.header("x-ms-resource-unit").as_deref(), Some("1"));
        if i >= 8 {
            assert!(r.header("x-ms-throttle-limit-percentage").is_some());
        }
    }
    let r = t.get("/v1.0/users/a@contoso.example").await;
    assert_graph_error(&r, 429, "TooManyRequests");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=10).contains(&wait));
    let v = t.tenant().violations();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].kind, tenant_sim::ViolationKind::LimitExceeded);
    assert_eq!(v[0].category, tenant_sim::Category::Identity);
    // Sending again before Retry-After is a violation of its own.
    assert_eq!(t.get("/v1.0/users/a@contoso.example").await.status, 429);
    assert!(t
        .tenant()
        .violations()
        .iter()
        .any(|v| v.kind == tenant_sim::ViolationKind::SentWhileThrottled));
    t.sim.clock().advance(std::time::Duration::from_secs(10));
    assert_eq!(t.get("/v1.0/users/a@contoso.example").await.status, 200);
    let log = t.tenant().requests();
    assert!(log.iter().any(|r| r.throttled && r.status == 429));
}
