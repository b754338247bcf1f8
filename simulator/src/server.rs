//! The warp glue: one catch-all filter turns every HTTP request into a [`SimRequest`], hands it
//! to the dispatcher, and turns the [`SimResponse`] back into HTTP.

use crate::dispatch;
use crate::http::{SimBody, SimRequest, SimResponse};
use crate::shared::Shared;
use bytes::Bytes;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode};
use warp::hyper::Body;
use warp::path::FullPath;
use warp::Filter;

/// JSON content type Graph answers with.
const GRAPH_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// The single route that serves everything.
pub(crate) fn routes(
    shared: Arc<Shared>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::method()
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .and_then(
            move |method: Method,
                  path: FullPath,
                  query: String,
                  headers: HeaderMap,
                  body: Bytes| {
                let shared = shared.clone();
                async move {
                    let req = SimRequest {
                        method: method.as_str().to_ascii_uppercase(),
                        path: path.as_str().to_string(),
                        query,
                        headers: lower_headers(&headers),
                        body,
                    };
                    let resp = dispatch::handle(&shared, req).await;
                    Ok::<_, Infallible>(into_http(resp))
                }
            },
        )
}

fn lower_headers(h: &HeaderMap) -> HashMap<String, String> {
    h.iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect()
}

fn into_http(resp: SimResponse) -> warp::reply::Response {
    let (body, content_type) = match resp.body {
        SimBody::Empty => (Body::empty(), None),
        SimBody::Json(v) => (Body::from(v.to_string()), Some(GRAPH_JSON)),
        SimBody::Html(h) => (Body::from(h), Some("text/html; charset=utf-8")),
        SimBody::CloseConnection => {
            let failing = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "simulated connection drop",
                ))
            });
            (Body::wrap_stream(failing), None)
        }
    };
    let mut out = warp::reply::Response::new(body);
    *out.status_mut() =
        StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    if let Some(ct) = content_type {
        headers.insert("content-type", HeaderValue::from_static(ct));
    }
    for (k, v) in resp.headers {
        if let (Ok(name), Ok(value)) = (
            warp::http::header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            headers.append(name, value);
        }
    }
    out
}
