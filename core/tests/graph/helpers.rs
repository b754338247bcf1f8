//! A fault-scripting Graph stand-in: scripted responses per method and path, and a record of
//! every request with the manual clock's time at arrival.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use mfa_core::clock::{Clock, ManualClock, SharedClock};
use mfa_core::graph::{GraphClient, GraphSettings, StaticToken, TokenSource};
use parking_lot::Mutex;
use serde_json::Value;
use warp::http::{HeaderMap, StatusCode};
use warp::Filter;

/// Graph tokens from the tenant simulator's in-process issuer (azure_identity talks only to
/// real authorities).
pub fn sim_tokens(sim: &tenant_sim::Simulator) -> mfa_core::bootstrap::GraphTokens {
    let tenant = sim.tenant();
    mfa_core::bootstrap::GraphTokens::Supplied(Arc::new(mfa_core::graph::IssuedTokens::new(
        move || tenant.issue_token(),
    )))
}

/// What arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: DateTime<Utc>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn query_decoded(&self) -> String {
        percent_decode(&self.query)
    }
}

pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

pub fn reply(status: u16) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: String::new(),
        delay: Duration::ZERO,
    }
}

impl Reply {
    pub fn json(mut self, v: Value) -> Self {
        self.body = v.to_string();
        self.headers
            .push(("content-type".into(), "application/json".into()));
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn retry_after(self, secs: u64) -> Self {
        self.header("Retry-After", &secs.to_string())
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

pub fn graph_error(status: u16, code: &str, message: &str) -> Reply {
    reply(status).json(serde_json::json!({"error": {"code": code, "message": message}}))
}

type Responder = Box<dyn FnMut(&Received) -> Reply + Send>;

struct Route {
    method: String,
    path: String,
    responder: Responder,
}

struct State {
    clock: SharedClock,
    routes: Mutex<Vec<Route>>,
    received: Mutex<Vec<Received>>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

/// The running stand-in.
#[derive(Clone)]
pub struct TestServer {
    pub base: String,
    /// The manual clock, when started with [`TestServer::start`].
    pub clock: ManualClock,
    shared: SharedClock,
    state: Arc<State>,
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap()
}

impl TestServer {
    /// A server and clients on a [`ManualClock`] (sleeping jumps time forward).
    pub async fn start() -> TestServer {
        let clock = ManualClock::new(t0());
        Self::start_with(clock.clone(), Arc::new(clock)).await
    }

    /// A server and clients on a [`SteppedClock`] that only the test moves.
    pub async fn start_stepped() -> (TestServer, Arc<SteppedClock>) {
        let stepped = Arc::new(SteppedClock::new(t0()));
        let server = Self::start_with(ManualClock::new(t0()), stepped.clone()).await;
        (server, stepped)
    }

    async fn start_with(clock: ManualClock, shared: SharedClock) -> TestServer {
        let state = Arc::new(State {
            clock: shared.clone(),
            routes: Mutex::new(Vec::new()),
            received: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        });
        let with_state = {
            let state = state.clone();
            warp::any().map(move || state.clone())
        };
        let query = warp::query::raw().or(warp::any().map(String::new)).unify();
        let route = warp::any()
            .and(with_state)
            .and(warp::method())
            .and(warp::path::full())
            .and(query)
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .then(
                |state: Arc<State>,
                 method: warp::http::Method,
                 path: warp::path::FullPath,
                 query: String,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    let now_flying = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    state.peak.fetch_max(now_flying, Ordering::SeqCst);
                    let rec = Received {
                        method: method.to_string(),
                        path: percent_decode(path.as_str()),
                        query,
                        headers,
                        body,
                        at: state.clock.now(),
                    };
                    state.received.lock().push(rec.clone());
                    let answer = {
                        let mut routes = state.routes.lock();
                        routes
                            .iter_mut()
                            .find(|r| r.method == rec.method && r.path == rec.path)
                            .map(|r| (r.responder)(&rec))
                    };
                    let answer = answer.unwrap_or_else(|| {
                        graph_error(
                            501,
                            "TestServerNoRoute",
                            &format!("{} {}", rec.method, rec.path),
                        )
                    });
                    if !answer.delay.is_zero() {
                        tokio::time::sleep(answer.delay).await;
                    }
                    state.in_flight.fetch_sub(1, Ordering::SeqCst);
                    let mut resp = warp::http::Response::builder()
                        .status(StatusCode::from_u16(answer.status).unwrap());
                    for (k, v) in &answer.headers {
                        resp = resp.header(k, v);
                    }
                    resp.body(answer.body).unwrap()
                },
            );
        let (addr, server): (SocketAddr, _) =
            warp::serve(route).bind_ephemeral(([127, 0, 0, 1], 0));
        tokio::spawn(server);
        TestServer {
            base: format!("http://{addr}"),
            clock,
            shared,
            state,
        }
    }

    /// Answers `method path` (path without query, percent-decoded) with `f`.
    pub fn on_fn(
        &self,
        method: &str,
        path: &str,
        f: impl FnMut(&Received) -> Reply + Send + 'static,
    ) {
        self.state.routes.lock().push(Route {
            method: method.into(),
            path: path.into(),
            responder: Box::new(f),
        });
    }

    /// Answers `method path` with `replies` in turn, repeating the last.
    pub fn on(&self, method: &str, path: &str, replies: Vec<Reply>) {
        let mut queue: VecDeque<Reply> = replies.into();
        self.on_fn(method, path, move |_| {
            if queue.len() > 1 {
                queue.pop_front().unwrap()
            } else {
                queue.front().cloned().unwrap_or_else(|| reply(500))
            }
        });
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().clone()
    }

    pub fn received_at(&self, method: &str, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    pub fn in_flight(&self) -> usize {
        self.state.in_flight.load(Ordering::SeqCst)
    }

    pub fn peak_in_flight(&self) -> usize {
        self.state.peak.load(Ordering::SeqCst)
    }

    pub fn shared_clock(&self) -> SharedClock {
        self.shared.clone()
    }

    pub fn settings(&self) -> GraphSettings {
        GraphSettings {
            base_url: self.base.parse().unwrap(),
            org: "TestOrg".into(),
            timeout: Duration::from_secs(5),
            max_retries: 5,
            max_total_wait: Duration::from_secs(600),
            ..GraphSettings::default()
        }
    }

    pub fn client(&self) -> GraphClient {
        self.client_with(self.settings())
    }

    pub fn client_with(&self, settings: GraphSettings) -> GraphClient {
        self.client_with_tokens(settings, Arc::new(StaticToken::new("test-token")))
    }

    pub fn client_with_tokens(
        &self,
        settings: GraphSettings,
        tokens: Arc<dyn TokenSource>,
    ) -> GraphClient {
        GraphClient::new(settings, tokens, self.shared_clock()).unwrap()
    }
}

/// A clock whose sleepers wait until the test calls [`SteppedClock::advance`] past their
/// deadline, so "nobody sent before T" can be observed (a [`ManualClock`] sleeper would move
/// everyone's time forward itself).
#[derive(Debug)]
pub struct SteppedClock {
    now: Mutex<DateTime<Utc>>,
    tick: tokio::sync::watch::Sender<DateTime<Utc>>,
}

impl SteppedClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
            tick: tokio::sync::watch::channel(start).0,
        }
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock();
        *now += chrono::Duration::from_std(by).unwrap();
        self.tick.send_replace(*now);
    }

    /// Moves time in `step`s until `done` is finished, each step only once everything is quiet:
    /// `client` has nothing in flight and `server` has nothing in flight and no new arrival for
    /// 25 ms, so a request sent at one instant is recorded at that instant.
    pub async fn drive<T>(
        &self,
        client: &GraphClient,
        server: &TestServer,
        step: Duration,
        done: tokio::task::JoinHandle<T>,
    ) -> T {
        let server = server.clone();
        self.drive_with(
            client,
            move || server.received().len() + server.in_flight(),
            step,
            done,
        )
        .await
    }

    /// [`SteppedClock::drive`] with any server activity counter (e.g. a simulator's request log).
    pub async fn drive_with<T>(
        &self,
        client: &GraphClient,
        activity: impl Fn() -> usize,
        step: Duration,
        done: tokio::task::JoinHandle<T>,
    ) -> T {
        let busy = || client.stats().values().any(|s| s.in_flight > 0);
        for _ in 0..100_000 {
            if done.is_finished() {
                break;
            }
            let mut seen = activity();
            let mut quiet = 0;
            while quiet < 5 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let now_seen = activity();
                if now_seen == seen && !busy() {
                    quiet += 1;
                } else {
                    quiet = 0;
                    seen = now_seen;
                }
            }
            if done.is_finished() {
                break;
            }
            self.advance(step);
        }
        done.await.unwrap()
    }
}

#[async_trait::async_trait]
impl Clock for SteppedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock()
    }

    async fn sleep(&self, duration: Duration) {
        let target = self.now() + chrono::Duration::from_std(duration).unwrap();
        let mut rx = self.tick.subscribe();
        while self.now() < target {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}
