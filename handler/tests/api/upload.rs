//! Upload: CSV, JSON rows, the old portal's shape, validation reports, limits, all-or-nothing.

use std::time::{Duration, Instant};

use mfa_core::store::{PeopleFilter, Store};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_with};

async fn count(app: &crate::helpers::TestApp) -> u64 {
    app.store
        .list(&PeopleFilter::default(), 0, 1)
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn good_csv_is_stored() {
    let app = spawn_app().await;
    let csv = "UPN,DisplayName,Department,JobTitle\nann@contoso.com,Ann,IT,Engineer\nbob@contoso.com,Bob,,\n";
    let resp = app.upload_csv("?batchId=wave-1&sendNow=true", csv).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["ok"], true);
    assert_eq!(body["inserted"], 2);
    assert_eq!(body["batchId"], "wave-1");
    assert_eq!(body["sendNow"], "started");
    let ann = app.record("ann@contoso.com").await;
    assert_eq!(ann.display_name.as_deref(), Some("Ann"));
    assert_eq!(ann.department.as_deref(), Some("IT"));
    assert_eq!(ann.batch_id.as_str(), "wave-1");
    assert_eq!(ann.source.as_str(), "CSV Upload");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(app.runner.passes(), vec![vec!["invitation".to_string()]]);

    // Re-upload keeps history by default.
    let again: Value = app.upload_csv("", csv).await.json().await.unwrap();
    assert_eq!(again["unchanged"], 2);
    let reset: Value = app
        .upload_csv("?mode=reset", csv)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reset["reset"], 2);
}

#[tokio::test]
async fn bom_semicolons_and_aliases() {
    let app = spawn_app().await;
    let csv = "\u{feff}Email Address;Display Name;Job Title;Extra\r\nCaro@Contoso.com;Caro;Boss;x\r\n;;;\r\ndave@contoso.com;\"Dave; Jr\";;\r\n";
    let resp = app.upload_csv("", csv).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["inserted"], 2);
    assert_eq!(body["skippedEmptyRows"], 1);
    assert_eq!(body["ignoredColumns"], json!(["Extra"]));
    assert_eq!(
        app.record("caro@contoso.com").await.job_title.as_deref(),
        Some("Boss")
    );
    assert_eq!(
        app.record("dave@contoso.com").await.display_name.as_deref(),
        Some("Dave; Jr")
    );
}

#[tokio::test]
async fn json_rows_bare_arrays_and_the_old_portal_shape() {
    let app = spawn_app().await;
    let resp = app
        .upload_json(&json!({"people": [{"upn": "m1@contoso.com", "displayName": "M One"}], "batchId": "manual-1"}))
        .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["inserted"], 1, "{body}");
    assert_eq!(app.record("m1@contoso.com").await.source.as_str(), "Manual");
    let body: Value = app
        .upload_json(&json!([{"userPrincipalName": "m2@contoso.com"}]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["inserted"], 1, "{body}");
    let body: Value = app
        .upload_json(&json!({"csv": "UserPrincipalName,DisplayName\nold@contoso.com,Old\n", "batchId": "2024-01-01-0900"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["inserted"], 1, "{body}");
    let old = app.record("old@contoso.com").await;
    assert_eq!(old.batch_id.as_str(), "2024-01-01-0900");
    assert_eq!(old.source.as_str(), "CSV Upload");
}

#[tokio::test]
async fn every_bad_row_is_reported_and_nothing_is_stored() {
    let app = spawn_app().await;
    let csv = "UPN,DisplayName\n\
               good@contoso.com,Good\n\
               not-an-address,Bad\n\
               Good@Contoso.com,Dup\n\
               x@y,NoDot\n\
               fine@contoso.com,Fine\n";
    let resp = app.upload_csv("", csv).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["ok"], false);
    assert_eq!(body["errorCount"], 3);
    let rows: Vec<u64> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(
        rows,
        vec![3, 4, 5],
        "as a spreadsheet numbers them (header = row 1)"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("'@'"));
    assert!(body["errors"][1]["message"]
        .as_str()
        .unwrap()
        .contains("row 2"));
    assert_eq!(body["errors"][0]["column"], "UPN");
    assert_eq!(count(&app).await, 0, "all or nothing");

    for (bad, why) in [
        ("", "empty body"),
        ("Name,Dept\nAnn,IT\n", "no address column"),
        ("UPN\n", "no people"),
    ] {
        let resp = app.upload_csv("", bad).await;
        assert_eq!(resp.status(), 400, "{why}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["ok"], false, "{why}");
    }
    let resp = app
        .upload_csv("", b"UPN\n\xff\xfe@contoso.com\n".to_vec())
        .await;
    assert_eq!(resp.status(), 400);
    let resp = app
        .upload_csv("?batchId=%3Cscript%3E", "UPN\na@contoso.com\n")
        .await;
    assert_eq!(resp.status(), 400);
    let resp = app.upload_csv("?mode=wipe", "UPN\na@contoso.com\n").await;
    assert_eq!(resp.status(), 400);
    assert_eq!(count(&app).await, 0);
}

#[tokio::test]
async fn hostile_names_are_stored_as_text_and_escaped_on_pages() {
    let app = spawn_app().await;
    let csv = "UPN,DisplayName\nevil@contoso.com,<script>alert(1)</script>\nform@contoso.com,=HYPERLINK(\"http://x\")\n";
    let resp = app.upload_csv("", csv).await;
    assert_eq!(resp.status(), 200);
    let evil = app.record("evil@contoso.com").await;
    assert_eq!(
        evil.display_name.as_deref(),
        Some("<script>alert(1)</script>")
    );
    let export = app.admin_get("export").await.text().await.unwrap();
    assert!(export.contains("'=HYPERLINK"), "{export}");
    assert!(!export.contains(",=HYPERLINK"));
}

#[tokio::test]
async fn limits_on_rows_and_bytes() {
    let app = spawn_with(&[
        ("MFA_UPLOAD_MAX_ROWS", "3"),
        ("MFA_UPLOAD_MAX_BYTES", "200"),
    ])
    .await;
    let resp = app
        .upload_csv(
            "",
            "UPN\na@contoso.com\nb@contoso.com\nc@contoso.com\nd@contoso.com\n",
        )
        .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("more than 3"));
    let big = format!("UPN\n{}", "a@contoso.com\n".repeat(20));
    let resp = app.upload_csv("", big.clone()).await;
    assert_eq!(resp.status(), 413);
    // Chunked, without Content-Length, is refused the same way.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .into_bytes()
        .chunks(16)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let resp = crate::helpers::as_host(app.client.post(app.url("/api/upload-users")))
        .header("Content-Type", "text/csv")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(count(&app).await, 0);
}

#[tokio::test]
async fn a_100k_row_10_mb_file_is_accepted_in_seconds() {
    let app = spawn_app().await;
    let mut csv = String::from("UserPrincipalName,DisplayName,Department,JobTitle\n");
    let mut i = 0;
    while i < 100_000 {
        csv.push_str(&format!(
            "person.number.{i:06}@contoso-corporation.com,Person Number {i} With A Long Display Name,Department of Things,Senior Specialist Engineer\n"
        ));
        i += 1;
    }
    assert!(csv.len() > 10_000_000, "{}", csv.len());
    let started = Instant::now();
    let resp = app.upload_csv("", csv).await;
    let elapsed = started.elapsed();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["inserted"], 100_000);
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
    assert_eq!(count(&app).await, 100_000);
}

#[tokio::test]
async fn invalid_rows_skip_stores_the_valid_rows_and_lists_the_others() {
    let app = spawn_app().await;
    let csv = "UPN,DisplayName\n\
               good@contoso.com,Good\n\
               not-an-address,Bad\n\
               Good@Contoso.com,Dup\n\
               fine@contoso.com,Fine\n";
    // Without the opt-in: refused, nothing stored.
    assert_eq!(app.upload_csv("", csv).await.status(), 400);
    let resp = app
        .upload_csv("?invalidRows=skip&batchId=partial", csv)
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["inserted"], 2);
    assert_eq!(body["skippedRows"], 2);
    let skipped: Vec<u64> = body["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(skipped, vec![3, 4]);
    assert!(body["skipped"][1]["message"]
        .as_str()
        .unwrap()
        .contains("duplicate"));
    assert_eq!(
        app.record("fine@contoso.com").await.batch_id.as_str(),
        "partial"
    );

    // The JSON shapes take the same option as a field; a bad value is a 400 that stores nothing.
    let resp = app
        .upload_json(&json!({"people": [{"upn": "ann@contoso.com"}, {"upn": "nope"}], "invalidRows": "skip"}))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        (body["inserted"].as_u64(), body["skippedRows"].as_u64()),
        (Some(1), Some(1))
    );
    let resp = app
        .upload_csv("?invalidRows=maybe", "UPN\nzed@contoso.com\n")
        .await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("invalidRows"));
    let zed = mfa_core::domain::Upn::parse("zed@contoso.com").unwrap();
    assert!(app.store.get_by_upn(&zed).await.unwrap().is_none());
    // Nothing valid to keep: still refused.
    let resp = app.upload_csv("?invalidRows=skip", "UPN\nbad\n").await;
    assert_eq!(resp.status(), 400);
}
