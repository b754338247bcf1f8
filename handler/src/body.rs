//! Reading request bodies with a size cap and a time limit.
//!
//! The Functions host sends invocations chunked with no `Content-Length`, so body limits must not
//! demand that header (warp's `content_length_limit` would answer 411): the stream is read and
//! refused once it passes the cap. A client that trickles a body (slowloris) is cut with 408 once
//! the whole body has taken longer than the route's deadline, so it cannot hold a connection and
//! its buffer open indefinitely.

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use warp::Filter;

use crate::error::ApiError;

/// Most bytes a form post (enrol, resend) may carry.
pub const FORM_LIMIT: u64 = 16 * 1024;
/// Most bytes of a host invocation payload for a timer.
pub const INVOCATION_LIMIT: u64 = 1024 * 1024;
/// Longest a form post (at most [`FORM_LIMIT`] bytes) may take to arrive.
pub const FORM_DEADLINE: Duration = Duration::from_secs(10);
/// Longest an upload or a host invocation may take to arrive (10 MB at ~100 KB/s).
pub const LARGE_DEADLINE: Duration = Duration::from_secs(120);

/// Reads `stream` to the end, failing with [`ApiError::PayloadTooLarge`] past `cap` bytes.
pub async fn read_capped<S, B>(stream: S, cap: u64) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut out = BytesMut::new();
    futures::pin_mut!(stream);
    while let Some(chunk) = stream.next().await {
        let mut chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
        if out.len() as u64 + chunk.remaining() as u64 > cap {
            return Err(ApiError::PayloadTooLarge);
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            out.extend_from_slice(part);
            chunk.advance(n);
        }
    }
    Ok(out.freeze())
}

/// The whole body, refused past `cap` bytes (early, when a `Content-Length` says so) or when it
/// has not fully arrived within `deadline` (408).
pub fn capped(
    cap: u64,
    deadline: Duration,
) -> impl Filter<Extract = (Bytes,), Error = warp::Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::body::stream())
        .and_then(move |declared: Option<u64>, stream| async move {
            if declared.is_some_and(|n| n > cap) {
                return Err(warp::reject::custom(ApiError::PayloadTooLarge));
            }
            match tokio::time::timeout(deadline, read_capped(stream, cap)).await {
                Ok(read) => read.map_err(warp::reject::custom),
                Err(_) => Err(warp::reject::custom(ApiError::RequestTimeout)),
            }
        })
}
