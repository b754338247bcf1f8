use crate::helpers::*;
use serde_json::json;
use tenant_sim::NewUser;

#[tokio::test]
async fn batch_routes_each_request_and_throttles_them_separately() {
    let mut config = tenant_sim::SimConfig::default();
    config.limits.reports_per_10_s = 1;
    let t = spawn(config).await;
    let a = t
        .tenant()
        .add_user(NewUser::upn("a@contoso.example"))
        .unwrap();
    let g = t.tenant().add_group("G");
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users/a@contoso.example?$select=id"},
        {"id": "2", "method": "GET", "url": "/users/missing@contoso.example"},
        {"id": "3", "method": "GET", "url": format!("/users/{}/authentication/methods", a.id)},
        {"id": "4", "method": "GET", "url": format!("/users/{}/authentication/methods", a.id)},
        {"id": "5", "method": "POST", "url": format!("/groups/{}/members/$ref", g.id),
         "headers": {"Content-Type": "application/json"},
         "body": {"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", a.id)}},
        {"id": "6", "method": "GET", "url": "/users/a@contoso.example/manager", "dependsOn": ["2"]}
    ]});
    let r = t
        .send(
            t.http
                .post(t.url("/v1.0/$batch"))
                .bearer_auth(&t.token)
                .header("User-Agent", "NONISV|Contoso|MfaOnboarding/0.1")
                .json(&body),
        )
        .await;
    assert_eq!(r.status, 200);
    let by_id = |id: &str| {
        r.body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("1")["status"], 200);
    assert_eq!(by_id("1")["body"]["id"], a.id.as_str());
    assert_eq!(by_id("2")["status"], 404);
    assert_eq!(
        by_id("2")["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );
    assert_eq!(by_id("3")["status"], 200);
    assert_eq!(by_id("4")["status"], 429);
    assert_eq!(by_id("4")["headers"]["Retry-After"], "10");
    assert_eq!(by_id("5")["status"], 204);
    assert_eq!(by_id("6")["status"], 424);
    assert_eq!(t.tenant().group_members(&g.id).unwrap().len(), 1);
    let log = t.tenant().requests();
    assert_eq!(
        log.iter().filter(|r| r.in_batch).count(),
        5,
        "each sub-request is logged (the failed dependency never ran)"
    );
}

#[tokio::test]
async fn batch_shape_rules() {
    let t = spawn_default().await;
    let many: Vec<_> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users/x"}))
        .collect();
    assert_eq!(
        t.post("/v1.0/$batch", json!({"requests": many}))
            .await
            .status,
        400
    );
    let dup = json!({"requests": [{"id": "1", "method": "GET", "url": "/users/x"}, {"id": "1", "method": "GET", "url": "/users/y"}]});
    assert_eq!(t.post("/v1.0/$batch", dup).await.status, 400);
    let abs = json!({"requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users/x"}]});
    assert_eq!(t.post("/v1.0/$batch", abs).await.status, 400);
}
