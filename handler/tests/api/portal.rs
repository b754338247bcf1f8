//! `GET /portal/*`: the built portal is served from `MFA_PORTAL_DIR`, and nothing outside it.

use std::io::Write;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{spawn_with, TestApp};

/// A portal directory with an index, an asset and a secret file next to (outside) it.
struct Fixture {
    _tmp: tempfile::TempDir,
    dir: String,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>portal</title>",
    )
    .unwrap();
    std::fs::write(dist.join("assets/index.js"), "console.log(1)").unwrap();
    std::fs::write(dist.join("config.json"), "{\"mode\":\"dev\"}").unwrap();
    std::fs::write(dist.join(".hidden"), "hidden").unwrap();
    let mut secret = std::fs::File::create(tmp.path().join("secret.txt")).unwrap();
    secret.write_all(b"TOP-SECRET").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(tmp.path().join("secret.txt"), dist.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), dist.join("up")).unwrap();
    }
    Fixture {
        dir: dist.to_string_lossy().into_owned(),
        _tmp: tmp,
    }
}

/// Sends `target` verbatim (no client-side normalisation of `..`) and returns status and body.
async fn raw_get(app: &TestApp, target: &str) -> (u16, String) {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn serves_the_portal_with_types_and_security_headers() {
    let f = fixture();
    let app = spawn_with(&[("MFA_PORTAL_DIR", &f.dir)]).await;

    let index = app.get("/portal/").await;
    assert_eq!(index.status(), 200);
    let headers = index.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("https://login.microsoftonline.com"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains('*'),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-cache");
    // Revalidation is cheap: an unchanged file answers 304 without a body.
    let modified = headers["last-modified"].to_str().unwrap().to_string();
    let again = app
        .client
        .get(app.url("/portal/"))
        .header("If-Modified-Since", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(index
        .text()
        .await
        .unwrap()
        .contains("<title>portal</title>"));

    let js = app.get("/portal/assets/index.js").await;
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let cfg = app.get("/portal/config.json").await;
    assert_eq!(
        cfg.headers()["content-type"],
        "application/json; charset=utf-8"
    );

    let (status, text) = raw_get(&app, "/portal").await;
    assert_eq!(status, 301);
    assert!(
        text.to_ascii_lowercase().contains("location: /portal/"),
        "{text}"
    );
    let missing = app.get("/portal/missing.js").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.text().await.unwrap(), "not found");
}

#[tokio::test]
async fn traversal_attempts_are_404_and_leak_nothing() {
    let f = fixture();
    let app = spawn_with(&[("MFA_PORTAL_DIR", &f.dir)]).await;
    for target in [
        "/portal/../secret.txt",
        "/portal/assets/../../secret.txt",
        "/portal/%2e%2e/secret.txt",
        "/portal/%2E%2E%2Fsecret.txt",
        "/portal/assets%2f..%2f..%2fsecret.txt",
        "/portal/..%5csecret.txt",
        "/portal//etc/passwd",
        "/portal/%2fetc%2fpasswd",
        "/portal/.hidden",
        "/portal/link.txt",
        "/portal/up/secret.txt",
        "/portal/x%00.html",
        "/portal/assets",
    ] {
        let (status, text) = raw_get(&app, target).await;
        assert!(status == 404 || status == 400, "{target}: {status}");
        assert!(
            !text.contains("TOP-SECRET") && !text.contains("root:"),
            "{target} leaked: {text}"
        );
    }
}

#[tokio::test]
async fn a_missing_portal_directory_is_404_not_500() {
    let app = spawn_with(&[("MFA_PORTAL_DIR", "/nonexistent/portal/dist")]).await;
    assert_eq!(app.get("/portal/").await.status(), 404);
}
