//! `GET /portal/*`: the built admin portal (`portal/dist`) for local use, from `MFA_PORTAL_DIR`.
//!
//! Only files inside the directory are served: the path is percent-decoded once, any `.`/`..`
//! or hidden segment, backslash or NUL is refused, and the resolved file (symlinks followed)
//! must still lie inside the canonical directory. Everything refused is a plain 404.

use std::path::{Path, PathBuf};

use warp::http::header::{self, HeaderValue};
use warp::http::StatusCode;
use warp::path::FullPath;
use warp::reply::Response;

use crate::respond;
use crate::state::SharedState;

/// The portal's content security policy: its own files only, plus Microsoft Entra sign-in for
/// MSAL (token requests and the hidden iframe of silent renewal).
pub const PORTAL_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self' https://login.microsoftonline.com; \
     frame-src https://login.microsoftonline.com; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// Content type by file extension.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The relative file path a request names, or `None` when it must be refused.
pub fn relative_path(rest: &str) -> Option<PathBuf> {
    let decoded = percent_decode(rest)?;
    let decoded = if decoded.is_empty() || decoded.ends_with('/') {
        format!("{decoded}index.html")
    } else {
        decoded
    };
    let mut path = PathBuf::new();
    for segment in decoded.split('/') {
        let refused =
            segment.is_empty() || segment.starts_with('.') || segment.contains(['\\', '\0', ':']);
        if refused {
            return None;
        }
        path.push(segment);
    }
    Some(path)
}

fn not_found() -> Response {
    respond::plain(StatusCode::NOT_FOUND, "not found")
}

/// Serves one portal file.
pub async fn serve(full: FullPath, state: SharedState) -> Result<Response, warp::Rejection> {
    let full = full.as_str();
    if full == "/portal" {
        let mut resp = Response::new(Default::default());
        *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
        respond::set(&mut resp, header::LOCATION, "/portal/");
        return Ok(resp);
    }
    let Some(rel) = full.strip_prefix("/portal/").and_then(relative_path) else {
        return Ok(not_found());
    };
    let dir = &state.settings.portal_dir;
    let (Ok(root), Ok(file)) = (
        tokio::fs::canonicalize(dir).await,
        tokio::fs::canonicalize(dir.join(&rel)).await,
    ) else {
        return Ok(not_found());
    };
    if !file.starts_with(&root) {
        tracing::warn!(path = %full, "portal request outside the portal directory refused");
        return Ok(not_found());
    }
    let body = match tokio::fs::metadata(&file).await {
        Ok(m) if m.is_file() => match tokio::fs::read(&file).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, path = %full, "portal file unreadable");
                return Ok(not_found());
            }
        },
        _ => return Ok(not_found()),
    };
    let mut resp = Response::new(body.into());
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file)),
    );
    // File names carry no content hash, so browsers must revalidate every time.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PORTAL_CSP),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_hidden_paths_are_refused() {
        for bad in [
            "..",
            "../Cargo.toml",
            "assets/../../x",
            "%2e%2e/x",
            "%2E%2E%2Fx",
            "assets%2f..%2f..%2fx",
            ".env",
            "a//b",
            "/etc/passwd",
            "%2fetc%2fpasswd",
            "a\\..\\b",
            "a%5c..%5cb",
            "x%00.html",
            "C:/x",
            "%zz",
            "%ff",
        ] {
            assert_eq!(relative_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ordinary_paths_resolve() {
        assert_eq!(relative_path(""), Some(PathBuf::from("index.html")));
        assert_eq!(
            relative_path("assets/index.js"),
            Some(PathBuf::from("assets/index.js"))
        );
        assert_eq!(relative_path("sub/"), Some(PathBuf::from("sub/index.html")));
        assert_eq!(relative_path("a%20b.json"), Some(PathBuf::from("a b.json")));
    }
}
