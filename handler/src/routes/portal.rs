//! `GET /portal/*`: the built admin portal (`portal/dist`) for local use, from `MFA_PORTAL_DIR`.
//!
//! The files are served by [`warp::fs::dir`] (streamed, with `Last-Modified`, conditional
//! requests and ranges). In front of it a guard refuses what must never be served: the path is
//! percent-decoded once, any `.`/`..` or hidden segment, backslash, colon or NUL is refused, and
//! the resolved file (symlinks followed) must still lie inside the canonical directory. After it,
//! the portal's own headers: content types with a charset, `no-cache` and the portal CSP.
//! Everything refused or missing is a plain 404.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;
use warp::http::header::{self, HeaderValue};
use warp::http::StatusCode;
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::respond;

/// The portal's content security policy: its own files only, plus Microsoft Entra sign-in for
/// MSAL (token requests and the hidden iframe of silent renewal).
pub const PORTAL_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self' https://login.microsoftonline.com; \
     frame-src https://login.microsoftonline.com; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// Content type by file extension (with a charset for text, which `warp::fs` leaves out).
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

/// The relative file path a request names, or `None` when it must be refused.
pub fn relative_path(rest: &str) -> Option<PathBuf> {
    let malformed_escape = rest
        .split('%')
        .skip(1)
        .any(|after| after.len() < 2 || !after.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit));
    if malformed_escape {
        return None;
    }
    let decoded = percent_decode_str(rest).decode_utf8().ok()?;
    let decoded = if decoded.is_empty() || decoded.ends_with('/') {
        format!("{decoded}index.html")
    } else {
        decoded.into_owned()
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

/// `GET /portal` and `GET /portal/*` from `dir`.
pub fn files(dir: PathBuf) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let redirect =
        warp::path("portal")
            .and(warp::path::full())
            .and_then(|full: FullPath| async move {
                if full.as_str() != "/portal" {
                    return Err(warp::reject::not_found());
                }
                let mut resp = Response::new(Default::default());
                *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
                respond::set(&mut resp, header::LOCATION, "/portal/");
                Ok::<_, Rejection>(resp)
            });
    let guard_dir = dir.clone();
    let served = warp::path("portal")
        .and(warp::path::full())
        .and_then(move |full: FullPath| {
            let dir = guard_dir.clone();
            async move { guard(&dir, full.as_str()).await }
        })
        .untuple_one()
        .and(warp::fs::dir(dir))
        .map(|file: warp::fs::File| {
            let kind = content_type(file.path());
            let mut resp = file.into_response();
            let headers = resp.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            // File names carry no content hash, so browsers must revalidate every time.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PORTAL_CSP),
            );
            resp
        });
    let refused = warp::path("portal").map(not_found);
    warp::get().and(redirect.or(served).unify().or(refused).unify())
}

/// Passes only paths that name a file inside `dir` (after following symlinks).
async fn guard(dir: &Path, full: &str) -> Result<(), Rejection> {
    let Some(rel) = full.strip_prefix("/portal/").and_then(relative_path) else {
        return Err(warp::reject::not_found());
    };
    let (Ok(root), Ok(file)) = (
        tokio::fs::canonicalize(dir).await,
        tokio::fs::canonicalize(dir.join(&rel)).await,
    ) else {
        return Err(warp::reject::not_found());
    };
    if !file.starts_with(&root) {
        tracing::warn!(path = %full, "portal request outside the portal directory refused");
        return Err(warp::reject::not_found());
    }
    match tokio::fs::metadata(&file).await {
        Ok(m) if m.is_file() => Ok(()),
        _ => Err(warp::reject::not_found()),
    }
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
