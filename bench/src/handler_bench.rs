//! `bench handler`: the public endpoints under a click storm, real handler vs a minimal server
//! returning the same bytes, in the same run, at 64 and 512 connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::{Body, Method, Request};

use crate::app;
use crate::counting::Counts;
use crate::load::{self, LoadResult, LoadSpec, MakeRequest};
use crate::minimal::{Canned, MinimalServer};

/// Options of `bench handler`.
#[derive(Debug, Clone)]
pub struct Options {
    /// People seeded in the store (tokens to spread the load over).
    pub people: usize,
    /// Connection counts to measure.
    pub connections: Vec<usize>,
    /// Measured seconds per cell.
    pub duration: Duration,
    /// Warm-up per cell.
    pub warmup: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    TrackOpen,
    EnrolGet,
    EnrolPost,
    ResendPost,
}

impl Endpoint {
    const ALL: [Endpoint; 4] = [
        Endpoint::TrackOpen,
        Endpoint::EnrolGet,
        Endpoint::EnrolPost,
        Endpoint::ResendPost,
    ];

    fn label(self) -> &'static str {
        match self {
            Endpoint::TrackOpen => "GET /api/track-open",
            Endpoint::EnrolGet => "GET /api/enrol",
            Endpoint::EnrolPost => "POST /api/enrol (click)",
            Endpoint::ResendPost => "POST /api/resend",
        }
    }

    fn method(self) -> Method {
        match self {
            Endpoint::TrackOpen | Endpoint::EnrolGet => Method::GET,
            Endpoint::EnrolPost | Endpoint::ResendPost => Method::POST,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Endpoint::TrackOpen => "/api/track-open",
            Endpoint::EnrolGet | Endpoint::EnrolPost => "/api/enrol",
            Endpoint::ResendPost => "/api/resend",
        }
    }

    /// The `n`-th request, for person `i`.
    fn request(self, token: &str, i: usize) -> Request<Body> {
        let b = Request::builder()
            .method(self.method())
            .header("host", "127.0.0.1");
        let built = match self {
            Endpoint::TrackOpen | Endpoint::EnrolGet => b
                .uri(format!("{}?token={token}", self.path()))
                .body(Body::empty()),
            Endpoint::EnrolPost => b
                .uri(self.path())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("token={token}"))),
            Endpoint::ResendPost => b
                .uri(self.path())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "email={}",
                    app::upn_of(i).replace('@', "%40")
                ))),
        };
        built.unwrap_or_default()
    }
}

/// Builds requests over the seeded people; `cursor` picks the next person (clicks use each
/// token once until they run out, so every measured click is a first click while they last).
fn maker(endpoint: Endpoint, tokens: Arc<Vec<String>>, cursor: Arc<AtomicU64>) -> MakeRequest {
    Arc::new(move |_seq| {
        let i = (cursor.fetch_add(1, Ordering::Relaxed) as usize) % tokens.len();
        endpoint.request(&tokens[i], i)
    })
}

async fn capture(addr: SocketAddr, req: Request<Body>) -> anyhow::Result<Canned> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::handshake(stream).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/plain")
        .to_string();
    let body = hyper::body::to_bytes(resp.into_body()).await?;
    Ok(Canned {
        status,
        content_type,
        body,
    })
}

struct Cell {
    endpoint: Endpoint,
    connections: usize,
    minimal: LoadResult,
    handler: LoadResult,
    /// Store counters during the handler's run: (record_opens calls, opens written, updates).
    writes: (u64, u64, u64),
    stamped: u64,
    body_bytes: usize,
}

/// Runs the benchmark and returns the Markdown report.
pub async fn run(opts: Options) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("bench.db");
    let handler = app::start(&db).await?;
    let tokens = Arc::new(app::seed(handler.store.as_ref(), opts.people).await?);
    anyhow::ensure!(!tokens.is_empty(), "no people seeded");

    // Capture the real answers (with a spare token so the click capture does not use up one
    // that the load will click), then serve them from the minimal server.
    let mut answers = HashMap::new();
    let spare = tokens[tokens.len() - 1].clone();
    for e in Endpoint::ALL {
        let canned = capture(handler.addr, e.request(&spare, tokens.len() - 1)).await?;
        answers.insert((e.method(), e.path().to_string()), canned);
    }
    let minimal = MinimalServer::start(answers.clone());

    let click_cursor = Arc::new(AtomicU64::new(0));
    let mut cells = Vec::new();
    for endpoint in Endpoint::ALL {
        for &connections in &opts.connections {
            let spec = |addr, make| LoadSpec {
                addr,
                connections,
                duration: opts.duration,
                warmup: opts.warmup,
                make,
                drain: false,
            };
            let base = load::run(spec(
                minimal.addr,
                maker(endpoint, tokens.clone(), Arc::new(AtomicU64::new(0))),
            ))
            .await?;
            handler.opens.flush().await;
            let before = snapshot(&handler.counts);
            let stamped_before = handler.opens.written();
            let cursor = if endpoint == Endpoint::EnrolPost {
                click_cursor.clone()
            } else {
                Arc::new(AtomicU64::new(0))
            };
            let real =
                load::run(spec(handler.addr, maker(endpoint, tokens.clone(), cursor))).await?;
            handler.opens.flush().await;
            let after = snapshot(&handler.counts);
            let body_bytes = answers
                .get(&(endpoint.method(), endpoint.path().to_string()))
                .map_or(0, |c| c.body.len());
            cells.push(Cell {
                endpoint,
                connections,
                minimal: base,
                handler: real,
                writes: (after.0 - before.0, after.1 - before.1, after.2 - before.2),
                stamped: handler.opens.written() - stamped_before,
                body_bytes,
            });
            // Let sockets in TIME_WAIT and background writes settle between cells.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    minimal.stop();
    handler.stop().await?;
    Ok(report(&opts, &cells))
}

fn snapshot(c: &Counts) -> (u64, u64, u64) {
    (
        Counts::get(&c.open_writes),
        Counts::get(&c.opens_in_writes),
        Counts::get(&c.updates),
    )
}

fn report(opts: &Options, cells: &[Cell]) -> String {
    let mut out = format!(
        "### handler: {} people seeded, {:.0} s measured per cell after {:.0} s warm-up\n\n",
        opts.people,
        opts.duration.as_secs_f64(),
        opts.warmup.as_secs_f64()
    );
    out.push_str("| endpoint | conns | body B | minimal req/s | handler req/s | handler ÷ minimal | minimal p50 / p99 ms | handler p50 / p99 ms | handler 5xx | transport errors |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for c in cells {
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.0} | {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {} | {} |\n",
            c.endpoint.label(),
            c.connections,
            c.body_bytes,
            c.minimal.rps(),
            c.handler.rps(),
            c.handler.rps() / c.minimal.rps().max(1e-9),
            c.minimal.quantile_ms(0.5),
            c.minimal.quantile_ms(0.99),
            c.handler.quantile_ms(0.5),
            c.handler.quantile_ms(0.99),
            c.handler.server_errors,
            c.handler.transport_errors + c.minimal.transport_errors,
        ));
    }
    out.push_str("\n#### Store writes during the handler runs\n\n");
    out.push_str("| endpoint | conns | requests measured (store counts include the warm-up) | `record_opens` calls | opens in those calls | records stamped (first opens) | CAS `update` calls |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for c in cells {
        let all = c.handler.requests;
        out.push_str(&format!(
            "| {} | {} | {} measured | {} | {} | {} | {} |\n",
            c.endpoint.label(),
            c.connections,
            all,
            c.writes.0,
            c.writes.1,
            c.stamped,
            c.writes.2,
        ));
    }
    out
}
