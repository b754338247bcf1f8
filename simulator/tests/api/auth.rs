use crate::helpers::*;
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn client_credentials_issue_a_bearer_token_and_reject_bad_secrets() {
    let t = spawn_default().await;
    let (id, secret) = t.sim.client_credentials();
    let (status, body) = client_token(&t.http, &t.sim, &id, &secret).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["ext_expires_in"], 3600);
    assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);

    let (status, body) = client_token(&t.http, &t.sim, &id, "wrong").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_codes"].is_array());

    let (status, body) = client_token(&t.http, &t.sim, "unknown-app", &secret).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn managed_identity_needs_the_identity_header() {
    let t = spawn_default().await;
    let url = format!(
        "{}?resource=https://graph.microsoft.com&api-version=2019-08-01",
        t.sim.identity_endpoint()
    );
    let r = t
        .send(
            t.http
                .get(&url)
                .header("X-IDENTITY-HEADER", t.sim.identity_header()),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["resource"], "https://graph.microsoft.com");
    let exp: i64 = r.body["expires_on"].as_str().unwrap().parse().unwrap();
    assert_eq!(exp, t.sim.clock().now().timestamp() + 3600);
    let token = r.body["access_token"].as_str().unwrap().to_string();
    t.tenant()
        .add_user(tenant_sim::NewUser::upn("a@contoso.example"))
        .unwrap();
    let ok = t
        .send(
            t.http
                .get(t.url("/v1.0/users/a@contoso.example"))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(ok.status, 200);

    assert_eq!(t.send(t.http.get(&url)).await.status, 400);
    assert_eq!(
        t.send(t.http.get(&url).header("X-IDENTITY-HEADER", "nope"))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn openid_discovery_points_at_the_token_endpoint() {
    let t = spawn_default().await;
    let r = t
        .send(t.http.get(format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            t.sim.authority_host(),
            t.sim.tenant_id()
        )))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["token_endpoint"]
        .as_str()
        .unwrap()
        .ends_with("/oauth2/v2.0/token"));
}

#[tokio::test]
async fn graph_refuses_missing_invalid_and_expired_tokens() {
    let t = spawn_default().await;
    t.tenant()
        .add_user(tenant_sim::NewUser::upn("a@contoso.example"))
        .unwrap();
    let r = t
        .send(t.http.get(t.url("/v1.0/users/a@contoso.example")))
        .await;
    assert_graph_error(&r, 401, "InvalidAuthenticationToken");
    let r = t
        .send(
            t.http
                .get(t.url("/v1.0/users/a@contoso.example"))
                .bearer_auth("x.y.z"),
        )
        .await;
    assert_graph_error(&r, 401, "InvalidAuthenticationToken");

    t.sim.clock().advance(Duration::from_secs(3599));
    assert_eq!(t.get("/v1.0/users/a@contoso.example").await.status, 200);
    t.sim.clock().advance(Duration::from_secs(1));
    let r = t.get("/v1.0/users/a@contoso.example").await;
    assert_graph_error(&r, 401, "InvalidAuthenticationToken");
    assert!(r.header("www-authenticate").is_some());
}

#[tokio::test]
async fn expire_all_tokens_forces_a_new_token() {
    let t = spawn_default().await;
    t.tenant()
        .add_user(tenant_sim::NewUser::upn("a@contoso.example"))
        .unwrap();
    assert_eq!(t.get("/v1.0/users/a@contoso.example").await.status, 200);
    t.tenant().expire_all_tokens();
    assert_eq!(t.get("/v1.0/users/a@contoso.example").await.status, 401);
}

#[tokio::test]
async fn missing_consent_is_403() {
    let mut config = tenant_sim::SimConfig::default();
    config.apps[0].permissions = Some(["User.Read.All".to_string()].into_iter().collect());
    let t = spawn(config).await;
    t.tenant()
        .add_user(tenant_sim::NewUser::upn("a@contoso.example"))
        .unwrap();
    assert_eq!(t.get("/v1.0/users/a@contoso.example").await.status, 200);
    let r = t
        .get("/v1.0/users/a@contoso.example/authentication/methods")
        .await;
    assert_graph_error(&r, 403, "Authorization_RequestDenied");
    let _ = Value::Null;
}
