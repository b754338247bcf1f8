//! A closed-loop HTTP/1.1 load generator: `connections` keep-alive connections, each sending its
//! next request as soon as the previous answer is read, for a fixed duration.
//!
//! Every connection is its own `hyper` client connection (no pool), so "512 connections" means
//! 512 sockets. Latency is measured per request from send to the last body byte.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::{Body, Request};
use tokio::net::TcpStream;

/// Builds the `n`-th request (numbered across all connections).
pub type MakeRequest = Arc<dyn Fn(u64) -> Request<Body> + Send + Sync>;

/// One load run.
#[derive(Clone)]
pub struct LoadSpec {
    /// Server address (loopback only).
    pub addr: SocketAddr,
    /// Concurrent connections.
    pub connections: usize,
    /// How long to send for.
    pub duration: Duration,
    /// Warm-up before measuring (requests sent but not counted).
    pub warmup: Duration,
    /// The request factory.
    pub make: MakeRequest,
    /// Count every request sent inside the window, waiting for the answers that come after it
    /// (for slow paths, where dropping late answers would hide the slowest), instead of only
    /// those answered inside it.
    pub drain: bool,
}

/// What a load run observed.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Requests answered inside the measured window.
    pub requests: u64,
    /// Answers with a 5xx status.
    pub server_errors: u64,
    /// Transport errors (connect, reset, timeouts).
    pub transport_errors: u64,
    /// Answers by status class `[1xx, 2xx, 3xx, 4xx, 5xx]`.
    pub by_class: [u64; 5],
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Sorted latencies in microseconds.
    latencies_us: Vec<u32>,
}

impl LoadResult {
    /// Requests per second over the measured window.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The share of answers that took longer than `ms` milliseconds.
    pub fn share_over_ms(&self, ms: f64) -> f64 {
        let over = self
            .latencies_us
            .iter()
            .filter(|us| f64::from(**us) > ms * 1000.0)
            .count();
        over as f64 / self.latencies_us.len().max(1) as f64
    }

    /// The `q`-quantile of latency (0.5 = median) in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let idx = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
        f64::from(self.latencies_us[idx.min(self.latencies_us.len() - 1)]) / 1000.0
    }
}

/// Runs the load and returns what was observed. Only loopback addresses are accepted.
pub async fn run(spec: LoadSpec) -> anyhow::Result<LoadResult> {
    anyhow::ensure!(
        spec.addr.ip().is_loopback(),
        "load is only sent to 127.0.0.1"
    );
    let seq = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let stop_at = measure_from + spec.duration;
    let mut tasks = Vec::with_capacity(spec.connections);
    for _ in 0..spec.connections {
        let spec = spec.clone();
        let seq = seq.clone();
        tasks.push(tokio::spawn(async move {
            connection(spec, seq, measure_from, stop_at).await
        }));
    }
    let mut total = LoadResult::default();
    for t in tasks {
        let part = t.await?;
        total.requests += part.requests;
        total.server_errors += part.server_errors;
        total.transport_errors += part.transport_errors;
        for (a, b) in total.by_class.iter_mut().zip(part.by_class) {
            *a += b;
        }
        total.latencies_us.extend(part.latencies_us);
    }
    total.elapsed = spec.duration;
    total.latencies_us.sort_unstable();
    Ok(total)
}

async fn connection(
    spec: LoadSpec,
    seq: Arc<AtomicU64>,
    measure_from: Instant,
    stop_at: Instant,
) -> LoadResult {
    let mut out = LoadResult::default();
    'reconnect: while Instant::now() < stop_at {
        let Ok(stream) = TcpStream::connect(spec.addr).await else {
            out.transport_errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) = hyper::client::conn::handshake(stream).await else {
            out.transport_errors += 1;
            continue;
        };
        tokio::spawn(async move {
            let _ = conn.await;
        });
        loop {
            let now = Instant::now();
            if now >= stop_at {
                break 'reconnect;
            }
            if futures::future::poll_fn(|cx| sender.poll_ready(cx))
                .await
                .is_err()
            {
                out.transport_errors += 1;
                continue 'reconnect;
            }
            let req = (spec.make)(seq.fetch_add(1, Ordering::Relaxed));
            let sent = Instant::now();
            let answer = match sender.send_request(req).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    hyper::body::to_bytes(resp.into_body())
                        .await
                        .map(|_| status)
                }
                Err(e) => Err(e),
            };
            let done = Instant::now();
            let Ok(status) = answer else {
                out.transport_errors += 1;
                continue 'reconnect;
            };
            let late = if spec.drain {
                sent >= stop_at
            } else {
                done > stop_at
            };
            if sent < measure_from || late {
                continue;
            }
            out.requests += 1;
            let class = usize::from(status / 100).clamp(1, 5) - 1;
            out.by_class[class] += 1;
            if status >= 500 {
                out.server_errors += 1;
            }
            let us = u32::try_from(done.duration_since(sent).as_micros()).unwrap_or(u32::MAX);
            out.latencies_us.push(us);
        }
    }
    out
}
