//! The baseline: a minimal warp server that answers each route with fixed bytes captured from the
//! real handler (status, `Content-Type`, body). No store, no templates, no security headers: the
//! cost of HTTP itself on this machine, so `handler ÷ minimal` is the figure that travels.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;
use warp::http::{HeaderValue, Method, StatusCode};
use warp::reply::Response;
use warp::Filter;

/// One canned answer.
#[derive(Debug, Clone)]
pub struct Canned {
    /// Status code.
    pub status: StatusCode,
    /// `Content-Type`.
    pub content_type: String,
    /// Body bytes.
    pub body: Bytes,
}

/// A running minimal server; dropped or [`MinimalServer::stop`]ped to end it.
#[derive(Debug)]
pub struct MinimalServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl MinimalServer {
    /// Serves `answers` keyed by (method, path) on 127.0.0.1 (free port); anything else is 404.
    pub fn start(answers: HashMap<(Method, String), Canned>) -> Self {
        let answers = Arc::new(answers);
        let route = warp::method()
            .and(warp::path::full())
            .and(warp::body::bytes())
            .map(
                move |method: Method, path: warp::path::FullPath, _body: Bytes| {
                    let key = (method, path.as_str().to_string());
                    match answers.get(&key) {
                        Some(c) => {
                            let mut resp = Response::new(c.body.clone().into());
                            *resp.status_mut() = c.status;
                            if let Ok(v) = HeaderValue::from_str(&c.content_type) {
                                resp.headers_mut().insert("content-type", v);
                            }
                            resp
                        }
                        None => {
                            let mut resp = Response::new(Bytes::new().into());
                            *resp.status_mut() = StatusCode::NOT_FOUND;
                            resp
                        }
                    }
                },
            );
        let (tx, rx) = oneshot::channel::<()>();
        let (addr, server) =
            warp::serve(route).bind_with_graceful_shutdown(([127, 0, 0, 1], 0), async {
                let _ = rx.await;
            });
        tokio::spawn(server);
        Self {
            addr,
            stop: Some(tx),
        }
    }

    /// Stops serving.
    pub fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
