//! SharePoint list items, optimistic updates, delta and provisioning.

use futures::TryStreamExt;
use mfa_core::graph::{GraphError, ItemQuery};
use serde_json::{json, Map, Value};

use crate::helpers::{graph_error, reply, TestServer};

const ITEMS: &str = "/v1.0/sites/site,1/lists/list-1/items";

fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

#[tokio::test]
async fn filter_by_indexed_column_pages_without_the_prefer_header() {
    let server = TestServer::start().await;
    let next = format!("{}{ITEMS}?$skiptoken=2", server.base);
    server.on_fn("GET", ITEMS, move |r| {
        if r.query.contains("skiptoken") {
            reply(200).json(json!({"value": [{"id": "2", "eTag": "\"{G},2\"", "fields": {"Title": "b"}}]}))
        } else {
            reply(200).json(json!({"@odata.nextLink": next, "value": [{"id": "1", "eTag": "\"{G},1\"", "fields": {"Title": "a"}}]}))
        }
    });
    let client = server.client();
    let q = ItemQuery {
        select: vec!["Title".into(), "InviteStatus".into()],
        filter_eq: Some(("TrackingToken".into(), "o'x&y".into())),
        top: Some(100),
    };
    let pages: Vec<_> = client
        .list_items("site,1", "list-1", &q)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.value.iter().map(|i| i.id.as_str()))
        .collect();
    assert_eq!(ids, vec!["1", "2"]);
    let got = server.received_at("GET", ITEMS);
    assert_eq!(
        got[0].query_decoded(),
        "expand=fields(select=Title,InviteStatus)&$filter=fields/TrackingToken eq 'o''x&y'&$top=100"
    );
    assert!(
        got[0].query.contains("%26y"),
        "the & inside the literal is encoded: {}",
        got[0].query
    );
    assert!(got.iter().all(|r| r.header("prefer").is_none()));
    let bad = ItemQuery {
        filter_eq: Some(("Title eq 'x' or 1".into(), "v".into())),
        ..ItemQuery::default()
    };
    assert!(matches!(
        client.list_items("site,1", "list-1", &bad),
        Err(GraphError::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn get_create_and_update_with_etag() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        &format!("{ITEMS}/7"),
        vec![reply(200).json(json!({"id": "7", "eTag": "\"{G},3\"", "fields": {"Title": "x"}}))],
    );
    server.on(
        "GET",
        &format!("{ITEMS}/8"),
        vec![graph_error(404, "itemNotFound", "nope")],
    );
    server.on(
        "POST",
        ITEMS,
        vec![reply(201).json(json!({"id": "9", "eTag": "\"{G},1\"", "fields": {"Title": "new"}}))],
    );
    server.on(
        "PATCH",
        &format!("{ITEMS}/7/fields"),
        vec![
            reply(200).json(json!({"InviteStatus": "Sent"})),
            graph_error(412, "resourceModified", "changed"),
        ],
    );
    let client = server.client();
    let item = client
        .get_list_item("site,1", "list-1", "7", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.etag.as_deref(), Some("\"{G},3\""));
    assert_eq!(
        server.received_at("GET", &format!("{ITEMS}/7"))[0].query_decoded(),
        "expand=fields"
    );
    assert_eq!(
        client.get_list_item("site,1", "list-1", "8", &[]).await,
        Ok(None)
    );

    let created = client
        .create_list_item("site,1", "list-1", fields(&[("Title", "new")]))
        .await
        .unwrap();
    assert_eq!(created.id, "9");
    assert_eq!(
        server.received_at("POST", ITEMS)[0].json(),
        json!({"fields": {"Title": "new"}})
    );

    let echoed = client
        .update_list_item(
            "site,1",
            "list-1",
            "7",
            fields(&[("InviteStatus", "Sent")]),
            item.etag.as_deref(),
        )
        .await
        .unwrap();
    assert_eq!(echoed["InviteStatus"], "Sent");
    let patch = &server.received_at("PATCH", &format!("{ITEMS}/7/fields"))[0];
    assert_eq!(patch.header("if-match").as_deref(), Some("\"{G},3\""));
    assert_eq!(patch.json(), json!({"InviteStatus": "Sent"}));
    let conflict = client
        .update_list_item(
            "site,1",
            "list-1",
            "7",
            fields(&[("InviteStatus", "Sent")]),
            Some("\"{G},2\""),
        )
        .await;
    assert_eq!(conflict, Err(GraphError::PreconditionFailed));
}

#[tokio::test]
async fn delta_pages_to_a_delta_link_and_gone_means_resync() {
    let server = TestServer::start().await;
    let delta = format!("{ITEMS}/delta");
    let next = format!("{}{delta}?token=p2", server.base);
    let final_link = format!("{}{delta}?token=latest", server.base);
    server.on_fn("GET", &delta, move |r| {
        if r.query.contains("token=p2") {
            reply(200).json(json!({"@odata.deltaLink": final_link, "value": [{"id": "2", "deleted": {"state": "deleted"}}]}))
        } else if r.query.contains("token=old") {
            graph_error(410, "resyncRequired", "resync")
        } else {
            reply(200).json(json!({"@odata.nextLink": next, "value": [{"id": "1", "fields": {"Title": "a"}}]}))
        }
    });
    let client = server.client();
    let pages: Vec<_> = client
        .list_items_delta("site,1", "list-1", None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert!(pages[1].value[0].deleted.is_some());
    assert!(pages[1]
        .delta_link
        .as_deref()
        .unwrap()
        .ends_with("token=latest"));
    let old = format!("https://graph.microsoft.com{delta}?token=old");
    let err: Result<Vec<_>, _> = client
        .list_items_delta("site,1", "list-1", Some(&old))
        .try_collect()
        .await;
    assert_eq!(err.unwrap_err(), GraphError::Gone);
    let err = client
        .list_items_delta("s", "l", Some("https://evil.example/v1.0/x"))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::InvalidArgument(_)),
        "tokens never leave the base URL"
    );
}

#[tokio::test]
async fn provisioning_lists_and_columns() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/v1.0/sites/site,1/lists/MFA Onboarding",
        vec![graph_error(404, "itemNotFound", "x")],
    );
    server.on(
        "POST",
        "/v1.0/sites/site,1/lists",
        vec![reply(201).json(json!({"id": "list-1", "displayName": "MFA Onboarding"}))],
    );
    server.on(
        "GET",
        "/v1.0/sites/site,1/lists/list-1/columns",
        vec![reply(200).json(json!({"value": [{"id": "c1", "name": "Title", "indexed": false}]}))],
    );
    server.on(
        "POST",
        "/v1.0/sites/site,1/lists/list-1/columns",
        vec![reply(201).json(json!({"id": "c2", "name": "TrackingToken", "indexed": true}))],
    );
    let client = server.client();
    assert_eq!(client.get_list("site,1", "MFA Onboarding").await, Ok(None));
    let list = client
        .create_list(
            "site,1",
            "MFA Onboarding",
            vec![json!({"name": "InviteStatus", "text": {}})],
        )
        .await
        .unwrap();
    assert_eq!(list.id, "list-1");
    let sent = server.received_at("POST", "/v1.0/sites/site,1/lists")[0].json();
    assert_eq!(sent["list"]["template"], "genericList");
    assert_eq!(sent["columns"][0]["name"], "InviteStatus");
    assert_eq!(
        client.list_columns("site,1", "list-1").await.unwrap()[0].name,
        "Title"
    );
    let col = client
        .create_column(
            "site,1",
            "list-1",
            json!({"name": "TrackingToken", "text": {}, "indexed": true}),
        )
        .await
        .unwrap();
    assert!(col.indexed);
}
