//! The handler's error type and the one place that turns rejections into responses.
//!
//! Callers see a short generic message; internal details (the cause chain) go only to the log.

use std::convert::Infallible;

use warp::http::StatusCode;
use warp::reply::Response;
use warp::Rejection;

use crate::respond;

/// Everything a handler can fail with, split by whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid admin credentials.
    #[error("unauthorised")]
    Unauthorized,
    /// The caller's request is wrong; the message is safe to show them.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is larger than allowed.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The client took longer than allowed to send the body.
    #[error("the request body took too long to arrive")]
    RequestTimeout,
    /// The body's media type is not one we read.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The thing asked for does not exist.
    #[error("not found")]
    NotFound,
    /// The request is valid but the state does not allow it now; the message says why.
    #[error("{0}")]
    Conflict(String),
    /// A needed part of the system is switched off or absent.
    #[error("{0}")]
    Unavailable(String),
    /// Anything unexpected: logged in full, shown as a generic 500.
    #[error("unexpected failure")]
    Unexpected(#[from] anyhow::Error),
}

impl warp::reject::Reject for ApiError {}

impl ApiError {
    /// The status code and the message the caller may see.
    pub fn public(&self) -> (StatusCode, String) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorised".into()),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, self.to_string()),
            ApiError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, self.to_string()),
            ApiError::UnsupportedMediaType(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, m.clone()),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not found".into()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m.clone()),
            ApiError::Unexpected(e) => {
                tracing::error!(error = ?e, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "something went wrong; the details are in the log".into(),
                )
            }
        }
    }

    /// As a JSON response `{"error": "..."}`.
    pub fn into_response(self) -> Response {
        let (status, message) = self.public();
        respond::json(status, &serde_json::json!({ "error": message }))
    }
}

impl From<mfa_core::store::StoreError> for ApiError {
    fn from(e: mfa_core::store::StoreError) -> Self {
        ApiError::Unexpected(anyhow::Error::new(e))
    }
}

/// Turns any rejection into a response: unknown paths and wrong methods are 404 (never 405),
/// malformed requests 400, and anything else a generic 500 with the cause only in the log.
pub async fn recover(err: Rejection) -> Result<Response, Infallible> {
    use warp::reject;
    if let Some(e) = err.find::<ApiError>() {
        let (status, message) = e.public();
        return Ok(respond::json(
            status,
            &serde_json::json!({ "error": message }),
        ));
    }
    let (status, message) =
        if err.is_not_found() || err.find::<reject::MethodNotAllowed>().is_some() {
            (StatusCode::NOT_FOUND, "not found")
        } else if err.find::<reject::PayloadTooLarge>().is_some() {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large",
            )
        } else if err.find::<reject::UnsupportedMediaType>().is_some() {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported media type")
        } else if err.find::<reject::InvalidQuery>().is_some()
            || err.find::<warp::body::BodyDeserializeError>().is_some()
            || err.find::<reject::InvalidHeader>().is_some()
            || err.find::<reject::MissingHeader>().is_some()
            || err.find::<reject::LengthRequired>().is_some()
        {
            (StatusCode::BAD_REQUEST, "bad request")
        } else {
            tracing::error!(rejection = ?err, "unhandled rejection");
            (StatusCode::INTERNAL_SERVER_ERROR, "something went wrong")
        };
    Ok(respond::json(
        status,
        &serde_json::json!({ "error": message }),
    ))
}
