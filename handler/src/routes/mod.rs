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

/// Reads a URL-encoded query string or form body into its typed shape ([`crate::models`]) with
/// `serde_urlencoded`. Unknown keys are ignored; a key given twice is an error.
pub fn decode<T: serde::de::DeserializeOwned>(
    encoded: &[u8],
) -> Result<T, serde_urlencoded::de::Error> {
    serde_urlencoded::from_bytes(encoded)
}
