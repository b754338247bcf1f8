//! `$batch`: mixed outcomes, per-sub-request retries, chunking.

use chrono::Duration as ChronoDuration;
use mfa_core::graph::{AddMember, BatchRequest, GraphError};
use serde_json::{json, Value};

use crate::helpers::{t0, TestServer};

fn sub(id: &Value, status: u16, headers: Value, body: Value) -> Value {
    json!({"id": id, "status": status, "headers": headers, "body": body})
}

fn not_found() -> Value {
    json!({"error": {"code": "Request_ResourceNotFound", "message": "Resource 'x' does not exist"}})
}

#[tokio::test]
async fn mixed_outcomes_retry_only_the_throttled_sub_request() {
    let server = TestServer::start().await;
    let mut c_calls = 0;
    server.on_fn("POST", "/v1.0/$batch", move |r| {
        let responses: Vec<Value> = r.json()["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                let url = q["url"].as_str().unwrap();
                if url.starts_with("/users/a?") {
                    sub(
                        &q["id"],
                        200,
                        json!({"Content-Type": "application/json"}),
                        json!({"id": "a"}),
                    )
                } else if url.starts_with("/users/b?") {
                    sub(&q["id"], 404, json!({}), not_found())
                } else {
                    c_calls += 1;
                    if c_calls == 1 {
                        sub(
                            &q["id"],
                            429,
                            json!({"Retry-After": "7"}),
                            json!({"error": {"code": "TooManyRequests"}}),
                        )
                    } else {
                        sub(&q["id"], 200, json!({}), json!({"id": "c"}))
                    }
                }
            })
            .collect();
        crate::helpers::reply(200).json(json!({"responses": responses}))
    });
    let client = server.client();
    let ids: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let results = client.get_users(&ids).await;
    assert_eq!(results[0].as_ref().unwrap().as_ref().unwrap().id, "a");
    assert_eq!(results[1], Ok(None));
    assert_eq!(results[2].as_ref().unwrap().as_ref().unwrap().id, "c");

    let envelopes = server.received_at("POST", "/v1.0/$batch");
    assert_eq!(envelopes.len(), 2);
    let first = envelopes[0].json();
    let first_reqs = first["requests"].as_array().unwrap();
    assert_eq!(first_reqs.len(), 3);
    assert_eq!(first_reqs[0]["method"], "GET");
    assert!(first_reqs[0]["url"]
        .as_str()
        .unwrap()
        .contains("$select=id,displayName"));
    let second = envelopes[1].json();
    let second_reqs = second["requests"].as_array().unwrap();
    assert_eq!(second_reqs.len(), 1, "only the throttled one is resent");
    assert!(second_reqs[0]["url"]
        .as_str()
        .unwrap()
        .starts_with("/users/c?"));
    assert_eq!(envelopes[1].at, t0() + ChronoDuration::seconds(7));
}

#[tokio::test]
async fn sub_request_still_throttled_at_budget_end_is_throttled() {
    let server = TestServer::start().await;
    server.on_fn("POST", "/v1.0/$batch", |r| {
        let responses: Vec<Value> = r.json()["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| sub(&q["id"], 429, json!({"Retry-After": "3"}), json!({})))
            .collect();
        crate::helpers::reply(200).json(json!({"responses": responses}))
    });
    let mut settings = server.settings();
    settings.max_retries = 1;
    let results = server
        .client_with(settings)
        .get_users(&["x".to_string()])
        .await;
    assert_eq!(
        results[0],
        Err(GraphError::Throttled {
            retry_after: Some(std::time::Duration::from_secs(3))
        })
    );
    assert_eq!(server.received_at("POST", "/v1.0/$batch").len(), 2);
}

#[tokio::test]
async fn large_inputs_are_chunked_into_twenties_in_order() {
    let server = TestServer::start().await;
    server.on_fn("POST", "/v1.0/$batch", |r| {
        let responses: Vec<Value> = r.json()["requests"]
            .as_array()
            .unwrap()
            .iter()
            .rev() // Graph may answer in any order.
            .map(|q| {
                let url = q["url"].as_str().unwrap();
                let user = url.split('/').nth(2).unwrap();
                sub(
                    &q["id"],
                    200,
                    json!({}),
                    json!({"id": format!("pw-{user}")}),
                )
            })
            .collect();
        crate::helpers::reply(200).json(json!({"responses": responses}))
    });
    let ids: Vec<String> = (0..45).map(|i| format!("user{i}")).collect();
    let requests = ids
        .iter()
        .map(|u| BatchRequest::get(format!("/users/{u}/manager")))
        .collect();
    let results = server.client().batch(requests).await;
    assert_eq!(results.len(), 45);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.as_ref().unwrap().body["id"], format!("pw-user{i}"));
    }
    let mut sizes: Vec<usize> = server
        .received_at("POST", "/v1.0/$batch")
        .iter()
        .map(|e| {
            let reqs = e.json()["requests"].as_array().unwrap().clone();
            let ids: std::collections::HashSet<String> = reqs
                .iter()
                .map(|q| q["id"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(ids.len(), reqs.len(), "ids unique");
            reqs.len()
        })
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![5, 20, 20]);
}

#[tokio::test]
async fn batch_group_adds_treat_existing_members_as_success() {
    let server = TestServer::start().await;
    server.on_fn("POST", "/v1.0/$batch", |r| {
        let responses: Vec<Value> = r.json()["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                assert_eq!(q["headers"]["Content-Type"], "application/json");
                let target = q["body"]["@odata.id"].as_str().unwrap();
                if target.ends_with("/u1") {
                    sub(&q["id"], 204, json!({}), Value::Null)
                } else {
                    sub(&q["id"], 400, json!({}), json!({"error": {"code": "Request_BadRequest",
                        "message": "One or more added object references already exist for the following modified properties: 'members'."}}))
                }
            })
            .collect();
        crate::helpers::reply(200).json(json!({"responses": responses}))
    });
    let results = server
        .client()
        .add_group_members("g1", &["u1".to_string(), "u2".to_string()])
        .await;
    assert_eq!(
        results,
        vec![Ok(AddMember::Added), Ok(AddMember::AlreadyMember)]
    );
    let env = server.received_at("POST", "/v1.0/$batch")[0].json();
    assert_eq!(env["requests"][0]["url"], "/groups/g1/members/$ref");
    assert_eq!(env["requests"][0]["method"], "POST");
}

#[tokio::test]
async fn raw_batch_rejects_absolute_urls_without_sending() {
    let server = TestServer::start().await;
    let results = server
        .client()
        .batch(vec![BatchRequest::get(
            "https://graph.microsoft.com/v1.0/users",
        )])
        .await;
    assert!(matches!(results[0], Err(GraphError::InvalidArgument(_))));
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn paced_sub_requests_are_spread_over_envelopes() {
    // Per-user method reads count against the reports limit (5 in 10 s): a batch of 12 goes as
    // 5 now, 5 ten seconds later and 2 after twenty, results still in input order.
    let server = TestServer::start().await;
    server.on_fn("POST", "/v1.0/$batch", |r| {
        let responses: Vec<Value> = r.json()["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                let user = q["url"]
                    .as_str()
                    .unwrap()
                    .split('/')
                    .nth(2)
                    .unwrap()
                    .to_string();
                sub(
                    &q["id"],
                    200,
                    json!({}),
                    json!({"value": [
                        {"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": user}
                    ]}),
                )
            })
            .collect();
        crate::helpers::reply(200).json(json!({"responses": responses}))
    });
    let ids: Vec<String> = (0..12).map(|i| format!("u{i}")).collect();
    let results = server.client().list_methods_batch(&ids).await;
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.as_ref().unwrap()[0].id, format!("u{i}"));
    }
    let envelopes: Vec<(i64, usize)> = server
        .received_at("POST", "/v1.0/$batch")
        .iter()
        .map(|e| {
            (
                (e.at - t0()).num_seconds(),
                e.json()["requests"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(envelopes, vec![(0, 5), (10, 5), (20, 2)]);
}
