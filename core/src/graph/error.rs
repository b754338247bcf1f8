//! [`GraphError`]: what a Graph call can fail with once retries are spent.

use std::time::Duration;

use serde::Deserialize;

/// A failed Graph call. Retryable faults (429, 503, 504, timeouts, connection errors) only
/// surface here once the retry budget is spent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// 404: the object does not exist.
    #[error("not found ({code})")]
    NotFound {
        /// Graph error code, e.g. `Request_ResourceNotFound`.
        code: String,
    },
    /// 400: Graph rejected the request.
    #[error("bad request: {code}: {message}")]
    BadRequest {
        /// Graph error code.
        code: String,
        /// Graph error message.
        message: String,
    },
    /// 403: the app lacks a permission or role.
    #[error("forbidden: {code}: {message}")]
    Forbidden {
        /// Graph error code.
        code: String,
        /// Graph error message.
        message: String,
    },
    /// 403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant`: the tenant has no Entra ID
    /// P1/P2 licence for the registration report; fall back to per-user method reads.
    #[error("the tenant is not licensed for this report (needs Entra ID P1/P2)")]
    NotLicensed,
    /// 403 on a call the app holds no permission for (e.g. `auditLogs/directoryAudits` without
    /// `AuditLog.Read.All` + `Directory.Read.All`), surfaced by calls whose caller can fall back
    /// to another way of doing the same thing.
    #[error("not permitted: {code}: {message}")]
    NotPermitted {
        /// Graph error code, e.g. `Authorization_RequestDenied`.
        code: String,
        /// Graph error message.
        message: String,
    },
    /// 401 even after refreshing the token once.
    #[error("unauthorized: {code}")]
    Unauthorized {
        /// Graph error code, e.g. `InvalidAuthenticationToken`.
        code: String,
    },
    /// 412: the `If-Match` eTag no longer matches (someone else saved first).
    #[error("precondition failed: the item changed since it was read")]
    PreconditionFailed,
    /// 410: a delta token expired; resynchronise from scratch.
    #[error("gone: resynchronise")]
    Gone,
    /// Still throttled (429/503) when the retry budget ran out.
    #[error("throttled, retry budget exhausted (last Retry-After {retry_after:?})")]
    Throttled {
        /// The last wait the server asked for, if it named one.
        retry_after: Option<Duration>,
    },
    /// No usable response: connection failure or timeout, after retries.
    #[error("transport: {0}")]
    Transport(String),
    /// The token source could not produce a token.
    #[error("credential: {0}")]
    Credential(String),
    /// Any other status.
    #[error("unexpected status {status}: {code}: {message}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// Graph error code, if the body had one.
        code: String,
        /// Graph error message, if the body had one.
        message: String,
    },
    /// A 2xx response whose body did not have the expected shape.
    #[error("unexpected response body: {0}")]
    Decode(String),
    /// The caller passed a value Graph would reject (checked before sending).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Result of a Graph call.
pub type GraphResult<T> = Result<T, GraphError>;

#[derive(Debug, Default, Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    error: ErrorBody,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Parses Graph's `{"error":{"code","message"}}`; anything else gives empty strings.
pub(crate) fn parse_error_body(body: &[u8]) -> (String, String) {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .map(|e| (e.error.code, e.error.message))
        .unwrap_or_default()
}

/// Same, from a `$batch` sub-response body already parsed as JSON.
pub(crate) fn parse_error_value(body: &serde_json::Value) -> (String, String) {
    serde_json::from_value::<ErrorEnvelope>(body.clone())
        .map(|e| (e.error.code, e.error.message))
        .unwrap_or_default()
}

/// Maps a non-success, non-retryable status and its error code/message to a [`GraphError`].
pub(crate) fn map_status(status: u16, code: String, message: String) -> GraphError {
    match status {
        400 => GraphError::BadRequest { code, message },
        401 => GraphError::Unauthorized { code },
        403 if code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant" => {
            GraphError::NotLicensed
        }
        403 => GraphError::Forbidden { code, message },
        404 => GraphError::NotFound { code },
        410 => GraphError::Gone,
        412 => GraphError::PreconditionFailed,
        _ => GraphError::Unexpected {
            status,
            code,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_map_to_variants() {
        let body = br#"{"error":{"code":"Request_ResourceNotFound","message":"gone"}}"#;
        let (code, message) = parse_error_body(body);
        assert_eq!(
            map_status(404, code, message),
            GraphError::NotFound {
                code: "Request_ResourceNotFound".into()
            }
        );
        let body =
            br#"{"error":{"code":"Authentication_RequestFromNonPremiumTenantOrB2CTenant","message":"x"}}"#;
        let (code, message) = parse_error_body(body);
        assert_eq!(map_status(403, code, message), GraphError::NotLicensed);
        let (code, message) = parse_error_body(b"<html>oops</html>");
        assert_eq!(
            map_status(500, code, message),
            GraphError::Unexpected {
                status: 500,
                code: String::new(),
                message: String::new()
            }
        );
        assert_eq!(
            map_status(412, String::new(), String::new()),
            GraphError::PreconditionFailed
        );
        assert_eq!(
            map_status(410, String::new(), String::new()),
            GraphError::Gone
        );
    }
}
