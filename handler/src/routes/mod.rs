//! Request handlers: plain async functions, one module per endpoint.
//!
//! - [`health`]: `GET /` for host readiness.
//! - [`timers`]: `POST /orchestrator-timer`, `POST /reports-timer` (host invocations).
//! - [`invoke`]: `POST /{function}` non-forwarded HTTP invocations, answered with `Outputs.res`.
//! - [`track_open`], [`enrol`], [`resend`]: the public endpoints in people's emails.
//! - [`upload`]: `POST /api/upload-users`.
//! - [`admin`]: `/api/admin/...` report, users, export and run.
//! - [`portal`]: `GET /portal/*`, the built admin portal for local use.

pub mod admin;
pub mod enrol;
pub mod health;
pub mod invoke;
pub mod portal;
pub mod resend;
pub mod timers;
pub mod track_open;
pub mod upload;

/// The first value of `name` in a URL-encoded query or form body.
pub fn param(encoded: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(encoded.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
