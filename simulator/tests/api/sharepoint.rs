use crate::helpers::*;
use serde_json::{json, Map, Value};
use tenant_sim::{Limits, SimConfig, ViolationKind};

async fn list_sim() -> (TestSim, String, String) {
    let t = spawn(SimConfig {
        limits: Limits::unlimited(),
        ..SimConfig::default()
    })
    .await;
    let site = t.tenant().add_site("mfa");
    let r = t.post(&format!("/v1.0/sites/{site}/lists"), json!({
        "displayName": "MFA Onboarding",
        "list": {"template": "genericList"},
        "columns": [
            {"name": "InviteStatus", "choice": {"choices": ["Pending", "Sent", "Clicked"]}, "indexed": true},
            {"name": "TrackingToken", "text": {}, "indexed": true},
            {"name": "ReminderCount", "number": {}},
            {"name": "InGroup", "boolean": {}},
            {"name": "InviteSentDate", "dateTime": {}},
            {"name": "Notes", "text": {"allowMultipleLines": true}}
        ]})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let list = r.body["id"].as_str().unwrap().to_string();
    (t, site, list)
}

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn list_and_columns_shapes() {
    let (t, site, list) = list_sim().await;
    let r = t
        .get(&format!("/v1.0/sites/{site}/lists/{list}/columns"))
        .await;
    let names: Vec<&str> = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Title",
            "InviteStatus",
            "TrackingToken",
            "ReminderCount",
            "InGroup",
            "InviteSentDate",
            "Notes"
        ]
    );
    assert_eq!(r.body["value"][1]["choice"]["choices"][1], "Sent");
    let r = t
        .get(&format!("/v1.0/sites/{site}/lists/MFA Onboarding"))
        .await;
    assert_eq!(
        r.body["id"],
        list.as_str(),
        "lists resolve by display name too"
    );
    let r = t
        .patch(
            &format!("/v1.0/sites/{site}/lists/{list}/columns/Title"),
            json!({"indexed": true}),
            &[],
        )
        .await;
    assert_eq!(r.body["indexed"], true);
    let r = t
        .post(
            &format!("/v1.0/sites/{site}/lists"),
            json!({"displayName": "MFA Onboarding"}),
        )
        .await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn create_read_update_with_etags_and_delete() {
    let (t, site, list) = list_sim().await;
    let items = format!("/v1.0/sites/{site}/lists/{list}/items");
    let r = t.post(&items, json!({"fields": {"Title": "a@contoso.example", "InviteStatus": "Pending", "ReminderCount": 0, "InviteSentDate": "2026-01-05T09:00:00Z"}})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "1");
    let etag = r.body["eTag"].as_str().unwrap().to_string();
    assert!(etag.starts_with("\"{") && etag.ends_with("},1\""), "{etag}");
    assert_eq!(r.body["fields"]["id"], "1");
    assert_eq!(r.body["fields"]["@odata.etag"], etag.as_str());

    for (body, why) in [
        (json!({"fields": {"Nope": "x"}}), "unknown column"),
        (json!({"fields": {"InviteStatus": "Bogus"}}), "not a choice"),
        (json!({"fields": {"ReminderCount": "many"}}), "not a number"),
        (
            json!({"fields": {"InviteSentDate": "yesterday"}}),
            "not a date",
        ),
    ] {
        assert_eq!(t.post(&items, body).await.status, 400, "{why}");
    }

    let f = format!("{items}/1/fields");
    let r = t
        .patch(&f, json!({"InviteStatus": "Sent"}), &[("If-Match", &etag)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["@odata.etag"].as_str().unwrap().ends_with(",2\""));
    let r = t
        .patch(
            &f,
            json!({"InviteStatus": "Clicked"}),
            &[("If-Match", &etag)],
        )
        .await;
    assert_graph_error(&r, 412, "preconditionFailed");
    assert_eq!(
        t.patch(&f, json!({"ReminderCount": 1}), &[("If-Match", "*")])
            .await
            .status,
        200
    );
    assert_eq!(
        t.patch(&f, json!({"ReminderCount": 2}), &[]).await.status,
        200
    );

    let r = t
        .get(&format!(
            "{items}/1?expand=fields(select=Title,ReminderCount)"
        ))
        .await;
    assert_eq!(r.body["fields"]["ReminderCount"], 2);
    assert_eq!(r.body["fields"]["Title"], "a@contoso.example");
    assert!(r.body["fields"].get("InviteStatus").is_none());
    assert_eq!(t.delete(&format!("{items}/1")).await.status, 204);
    assert_graph_error(&t.get(&format!("{items}/1")).await, 404, "itemNotFound");
}

#[tokio::test]
async fn filters_need_indexed_columns() {
    let (t, site, list) = list_sim().await;
    let rows = (0..10).map(|i| fields(json!({"Title": format!("u{i}@x.example"), "TrackingToken": format!("tok{i}"), "ReminderCount": i}))).collect();
    t.tenant().insert_items(&site, &list, rows).unwrap();
    let items = format!("/v1.0/sites/{site}/lists/{list}/items");
    let r = t
        .get(&format!(
            "{items}?expand=fields(select=Title)&$filter=fields/TrackingToken eq 'tok7'"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["value"][0]["fields"]["Title"], "u7@x.example");

    let q = format!("{items}?$filter=fields/ReminderCount ge 5");
    let r = t.get(&q).await;
    assert_graph_error(&r, 400, "invalidRequest");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("cannot be referenced in filter or orderby as it is not indexed"));
    assert!(t.tenant().violations().is_empty());

    let r = t
        .get_with(
            &q,
            &[("Prefer", "HonorNonIndexedQueriesWarningMayFailRandomly")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["value"].as_array().unwrap().len(), 5);
    let v = t.tenant().violations();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].kind, ViolationKind::NonIndexedQuery);

    let many = (0..5001)
        .map(|i| fields(json!({"ReminderCount": i % 3})))
        .collect();
    t.tenant().insert_items(&site, &list, many).unwrap();
    let r = t
        .get_with(
            &q,
            &[("Prefer", "HonorNonIndexedQueriesWarningMayFailRandomly")],
        )
        .await;
    assert_eq!(r.status, 400, "over the list view threshold");
}

#[tokio::test]
async fn paging_through_fifty_thousand_items() {
    let (t, site, list) = list_sim().await;
    let rows = (0..50_000).map(|i| fields(json!({"Title": format!("u{i}@x.example"), "InviteStatus": if i % 10 == 0 { "Sent" } else { "Pending" }}))).collect();
    t.tenant().insert_items(&site, &list, rows).unwrap();
    let mut next = Some(format!(
        "/v1.0/sites/{site}/lists/{list}/items?$top=5000&expand=fields(select=Title)"
    ));
    let (mut pages, mut seen) = (0, 0);
    while let Some(link) = next {
        let r = t.get(&link).await;
        assert_eq!(r.status, 200);
        pages += 1;
        seen += r.body["value"].as_array().unwrap().len();
        next = r.body["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!((pages, seen), (10, 50_000));

    let mut next = Some(format!(
        "/v1.0/sites/{site}/lists/{list}/items?$filter=fields/InviteStatus eq 'Sent'"
    ));
    let mut ids = Vec::new();
    while let Some(link) = next {
        let r = t.get(&link).await;
        ids.extend(
            r.body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().parse::<u64>().unwrap()),
        );
        next = r.body["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(ids.len(), 5_000);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn delta_returns_changes_since_the_token() {
    let (mut t, site, list) = list_sim().await;
    t.tenant()
        .insert_items(
            &site,
            &list,
            (0..5)
                .map(|i| fields(json!({"Title": format!("u{i}")})))
                .collect(),
        )
        .unwrap();
    let delta = format!("/v1.0/sites/{site}/lists/{list}/items/delta");
    let r = t.get(&format!("{delta}?$top=3")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 3);
    let r = t.get(r.body["@odata.nextLink"].as_str().unwrap()).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 2);
    let link = r.body["@odata.deltaLink"].as_str().unwrap().to_string();

    let items = format!("/v1.0/sites/{site}/lists/{list}/items");
    t.patch(
        &format!("{items}/2/fields"),
        json!({"Title": "changed"}),
        &[],
    )
    .await;
    t.delete(&format!("{items}/4")).await;
    let r = t.get(&format!("{link}&expand=fields")).await;
    let v = r.body["value"].as_array().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["fields"]["Title"], "changed");
    assert_eq!(v[1]["id"], "4");
    assert_eq!(v[1]["deleted"]["state"], "deleted");
    let link = r.body["@odata.deltaLink"].as_str().unwrap().to_string();
    assert_eq!(
        t.get(&link).await.body["value"].as_array().unwrap().len(),
        0
    );

    t.advance(8 * 24 * 3600).await;
    let r = t.get(&link).await;
    assert_graph_error(&r, 410, "resyncRequired");
}

#[tokio::test]
async fn sharepoint_resource_units_per_minute() {
    let mut config = SimConfig::default();
    config.limits.sharepoint_ru_per_minute = 5;
    let t = spawn(config).await;
    let site = t.tenant().add_site("mfa");
    let r = t
        .post(
            &format!("/v1.0/sites/{site}/lists"),
            json!({"displayName": "L"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let items = format!("/v1.0/sites/{site}/lists/L/items");
    assert_eq!(t.get(&items).await.status, 200);
    let r = t.get(&items).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "activityLimitReached");
    assert_eq!(r.header("retry-after"), r.header("ratelimit-reset"));
}
