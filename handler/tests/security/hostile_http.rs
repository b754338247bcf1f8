//! Hostile HTTP: oversized bodies, slow clients, path traversal, markup and formulas in names.

use mfa_core::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mfa_core::domain::InviteStatus;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, spawn_with};
use crate::raw;

/// Over-limit bodies on every body-reading route answer 413 and change nothing.
/// Broken by: reading the enrol/resend form with `warp::body::bytes()` (no cap) → the 17 KiB
/// click is accepted (200, status Clicked) → the status and record assertions fail.
#[tokio::test]
async fn oversized_bodies_are_refused_and_change_nothing() {
    let app = spawn_with(&[("MFA_UPLOAD_MAX_BYTES", "4096")]).await;
    let rec = app.seed_sent(&["big@contoso.com"]).await.remove(0);
    let token = rec.token.to_string();
    let padding = "x".repeat(17 * 1024);

    let click = app
        .client
        .post(app.url("/api/enrol"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}&pad={padding}"))
        .send()
        .await
        .unwrap();
    assert_eq!(click.status(), 413, "enrol form over 16 KiB");
    let resend = app
        .client
        .post(app.url("/api/resend"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email=big%40contoso.com&pad={padding}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resend.status(), 413, "resend form over 16 KiB");
    let upload = app
        .upload_csv("", format!("UPN\nnew@contoso.com\n{}", "a".repeat(5000)))
        .await;
    assert_eq!(upload.status(), 413, "upload over MFA_UPLOAD_MAX_BYTES");

    // A declared length far over the cap is refused before any body arrives.
    let (status, _) = raw::request(
        &app.address,
        "POST /api/upload-users HTTP/1.1\r\nContent-Type: text/csv\r\nContent-Length: 1073741824",
        b"",
    )
    .await;
    assert_eq!(status, 413, "1 GiB Content-Length with no body");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = app.record("big@contoso.com").await;
    assert_eq!(after.status, InviteStatus::Sent, "no click recorded");
    assert_eq!(after.token, rec.token, "no resend happened");
    assert!(app
        .store
        .get_by_upn(&mfa_core::domain::Upn::parse("new@contoso.com").unwrap())
        .await
        .unwrap()
        .is_none());
}

/// A chunked body trickled past the cap is cut as soon as it passes the cap, while the client is
/// still sending; and slow clients do not stop the handler from serving others.
/// Broken by: buffering the whole stream before checking its size → the 413 arrives only after
/// the client has sent everything → `sender_done` is true when the answer arrives → fails.
/// Broken by: a blocking read on the request path → the track-open requests queue behind the
/// trickling connections → they exceed the (generous, liveness-only) 2 s bound.
/// (A body trickled *under* the cap is cut by time: see the next test.)
#[tokio::test]
async fn trickled_bodies_are_cut_and_others_are_still_served() {
    let app = spawn_app().await;
    let host = app.address.trim_start_matches("http://").to_string();

    let stream = TcpStream::connect(&host).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(
        format!(
            "POST /api/resend HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let sender_done = Arc::new(AtomicBool::new(false));
    let done = sender_done.clone();
    let sender = tokio::spawn(async move {
        let chunk = format!("400\r\n{}\r\n", "a".repeat(1024));
        for _ in 0..64 {
            if wr.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let _ = wr.write_all(b"0\r\n\r\n").await;
        done.store(true, Ordering::SeqCst);
    });

    // Twenty slow clients trickle a small body, one byte every 200 ms.
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(&host).await.unwrap();
        s.write_all(
            format!("POST /api/resend HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=")
                .as_bytes(),
        )
        .await
        .unwrap();
        slow.push(tokio::spawn(async move {
            for _ in 0..10 {
                if s.write_all(b"a").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }));
    }

    for _ in 0..50 {
        let started = Instant::now();
        let resp = app.track_open("00000000-0000-4000-8000-000000000000").await;
        assert_eq!(resp.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "served while slow clients trickle"
        );
    }

    let mut head = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), rd.read(&mut head))
        .await
        .expect("an answer before the client finished")
        .unwrap();
    let text = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(
        !sender_done.load(Ordering::SeqCst),
        "the cap cut the body while the client was still sending"
    );
    sender.abort();
    for s in slow {
        s.abort();
    }
}

/// A body trickled under the cap (slowloris) is cut with 408 once it has taken longer than the
/// form deadline (10 s), long before the client would have finished (100 bytes at one every
/// 300 ms is 30 s). Broken by: reading bodies without the deadline (`body::capped` without
/// `tokio::time::timeout`) → no answer until the client is done → the 20 s wait fails.
#[tokio::test]
async fn a_body_trickled_under_the_cap_is_cut_by_time() {
    let app = spawn_app().await;
    let host = app.address.trim_start_matches("http://").to_string();
    let stream = TcpStream::connect(&host).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(
        format!("POST /api/resend HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=")
            .as_bytes(),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        for _ in 0..94 {
            if wr.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let mut head = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(20), rd.read(&mut head))
        .await
        .expect("an answer while the client is still trickling")
        .unwrap();
    let text = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "not cut before the deadline: {:?}",
        started.elapsed()
    );
    sender.abort();
}

/// No route serves files or admin data through dot segments, encoded dots or encoded slashes.
/// Broken by: a static-file route built with `warp::fs::dir` on an unsanitised path, or a
/// router that percent-decodes `%2f` before matching → `/api/admin%2freport` answers the
/// report (dev auth is on from loopback here) → the 404 assertion fails.
#[tokio::test]
async fn path_traversal_attempts_are_404() {
    let app = spawn_app().await;
    let paths = [
        "/portal/../../etc/passwd",
        "/portal/..%2f..%2fetc%2fpasswd",
        "/portal/%2e%2e/%2e%2e/etc/passwd",
        "/portal/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/portal/....//....//etc/passwd",
        "/portal/..\\..\\etc\\passwd",
        "/portal/%252e%252e/etc/passwd",
        "/../../etc/passwd",
        "/api/../../etc/passwd",
        "/api/admin/../../../etc/passwd",
        "/api/admin%2freport",
        "/api%2fadmin%2freport",
        "/api/admin/report/..",
        "/api/track-open/../admin/report",
        "/api/enrol/%2e%2e/admin/report",
        "/%2e%2e/api/admin/report",
        "/api/admin/..;/report",
        "/portal/index.html%00.json",
    ];
    for path in paths {
        let (status, text) = raw::request(&app.address, &format!("GET {path} HTTP/1.1"), b"").await;
        assert!(
            status == 404 || status == 400,
            "{path} answered {status}: {text}"
        );
        assert!(!text.contains("root:"), "{path} leaked a file");
        assert!(!text.contains("\"summary\""), "{path} leaked the report");
    }
}

/// Markup in names is never rendered as markup; formula-like cells are neutralised in exports.
/// Broken by: `{{{message}}}` (triple braces) for a name in the page template, or removing
/// `neutralise` from `ExportRow` → a raw `<script>` on a page, or a cell starting with `=` in
/// the CSV → the assertions below fail.
#[tokio::test]
async fn markup_and_formulas_in_names_are_inert() {
    let app = spawn_app().await;
    let names = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "</title><svg onload=alert(1)>",
    ];
    let people: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            json!({"upn": format!("h{i}@contoso.com"), "displayName": n,
                   "department": n, "jobTitle": n})
        })
        .collect();
    let resp = app.upload_json(&json!({"people": people})).await;
    assert_eq!(resp.status(), 200);

    // Every page a person can reach, for every hostile person.
    let mut pages = Vec::new();
    for i in 0..names.len() {
        let rec = app.record(&format!("h{i}@contoso.com")).await;
        let token = rec.token.to_string();
        pages.push(app.enrol_get(&token).await.text().await.unwrap());
        pages.push(app.enrol_post(&token).await.text().await.unwrap());
        pages.push(app.enrol_get(&token).await.text().await.unwrap());
    }
    pages.push(app.get("/api/resend").await.text().await.unwrap());
    pages.push(
        app.resend("h0@contoso.com", "203.0.113.1")
            .await
            .text()
            .await
            .unwrap(),
    );
    for page in &pages {
        for bad in ["<script>alert", "<img src=x", "<svg onload"] {
            assert!(!page.contains(bad), "page rendered {bad} unescaped");
        }
    }

    let users = app.admin_get("users?pageSize=100").await;
    assert!(users.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(users.headers()["x-content-type-options"], "nosniff");

    let export = app.admin_get("export").await;
    assert!(export.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(export.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = export.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = 0;
    for record in reader.records() {
        rows += 1;
        for cell in record.unwrap().iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "export cell not neutralised: {cell:?}"
            );
        }
    }
    assert_eq!(rows, names.len());
    assert!(text.contains("'=HYPERLINK"));
}
