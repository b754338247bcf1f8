//! The request pipeline: control API and token endpoints first, then for Graph requests
//! bearer validation → route resolution → permissions → faults → latency → concurrency and
//! rate limits → handler → response headers → request log. `$batch` sub-requests re-enter at
//! [`graph`] with the envelope's caller.

use crate::auth;
use crate::errors::{GraphError, GraphResult};
use crate::faults::FaultAction;
use crate::http::{SimBody, SimRequest, SimResponse};
use crate::limits::Category;
use crate::log::{RequestRecord, ViolationKind};
use crate::routes::{self, control, Route, RouteInfo};
use crate::shared::{Ctx, Shared};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Entry point for every HTTP request the server receives.
pub(crate) async fn handle(shared: &Arc<Shared>, req: SimRequest) -> SimResponse {
    let segs = req.segments();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (req.method.as_str(), s.as_slice()) {
        (_, ["_sim", rest @ ..]) => control::route(shared, &req, rest).await,
        ("GET", ["msi", "token"]) => logged_auth(shared, &req, auth::managed_identity),
        ("POST", [tenant, "oauth2", "v2.0", "token"]) => {
            let tenant = tenant.to_string();
            logged_auth(shared, &req, move |sh, r| {
                auth::client_credentials(sh, &tenant, r)
            })
        }
        ("GET", [tenant, "v2.0", ".well-known", "openid-configuration"]) => {
            auth::openid_configuration(shared, tenant)
        }
        (_, [version @ ("v1.0" | "beta"), rest @ ..]) => {
            let rest: Vec<String> = rest.iter().map(|x| x.to_string()).collect();
            graph(shared, &req, version, &rest, None).await
        }
        _ => {
            let ctx = Ctx::new(shared.clock.now(), &req.path, None);
            GraphError::new(
                404,
                "NotFound",
                format!("No simulated endpoint at {}", req.path),
            )
            .to_response(ctx.now, &ctx.request_id, &ctx.client_request_id)
        }
    }
}

fn logged_auth(
    shared: &Shared,
    req: &SimRequest,
    f: impl FnOnce(&Shared, &SimRequest) -> SimResponse,
) -> SimResponse {
    let at = shared.clock.now();
    let resp = f(shared, req);
    shared.record(RequestRecord {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        status: resp.status,
        at,
        category: Category::Auth,
        throttled: false,
        client_id: None,
        in_batch: false,
        user_agent: req.header("user-agent").map(str::to_string),
    });
    resp
}

/// Handles one Graph request (top level when `parent` is `None`, else a `$batch` sub-request).
pub(crate) fn graph<'a>(
    shared: &'a Shared,
    req: &'a SimRequest,
    version: &'a str,
    rest: &'a [String],
    parent: Option<&'a Ctx>,
) -> futures::future::BoxFuture<'a, SimResponse> {
    Box::pin(graph_inner(shared, req, version, rest, parent))
}

async fn graph_inner(
    shared: &Shared,
    req: &SimRequest,
    version: &str,
    rest: &[String],
    parent: Option<&Ctx>,
) -> SimResponse {
    let mut ctx = Ctx::new(
        shared.clock.now(),
        &req.path,
        req.header("client-request-id"),
    );
    let mut category = Category::Other;
    let mut info: Option<RouteInfo> = None;
    let result: GraphResult = async {
        match parent {
            Some(p) => {
                ctx.client_id = p.client_id.clone();
                ctx.permissions = p.permissions.clone();
                ctx.in_batch = true;
                ctx.user_agent = p.user_agent.clone();
            }
            None => {
                ctx.user_agent = req.header("user-agent").map(str::to_string);
                auth::authenticate(shared, req, &mut ctx)?
            }
        }
        let route = routes::resolve(&req.method, version, rest)
            .ok_or_else(|| GraphError::no_route(&req.method, &req.path))?;
        if matches!(route, Route::Batch) && parent.is_some() {
            return Err(GraphError::bad_request(
                "Nested $batch requests are not supported.",
            ));
        }
        let limits = shared.limits.lock().clone();
        let i = route.info(req, ctx.client(), &limits);
        category = i.category;
        info = Some(i.clone());
        run(
            shared,
            &ctx,
            req,
            version,
            &route,
            &i,
            limits.mail_concurrent_requests,
        )
        .await
    }
    .await;
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => e.to_response(ctx.now, &ctx.request_id, &ctx.client_request_id),
    };
    resp.headers
        .push(("request-id".into(), ctx.request_id.clone()));
    resp.headers
        .push(("client-request-id".into(), ctx.client_request_id.clone()));
    if let Some(ru) = info.as_ref().and_then(|i| i.resource_units) {
        resp.headers
            .push(("x-ms-resource-unit".into(), ru.to_string()));
        let usage = shared
            .throttle
            .lock()
            .usage(ctx.now, &format!("identity-ru:{}", ctx.client()));
        if usage > 0.8 {
            resp.headers.push((
                "x-ms-throttle-limit-percentage".into(),
                format!("{usage:.2}"),
            ));
        }
    }
    shared.record(RequestRecord {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        status: resp.status,
        at: ctx.now,
        category,
        throttled: ctx.throttled.load(Ordering::Relaxed),
        client_id: ctx.client_id.clone(),
        in_batch: ctx.in_batch,
        user_agent: req
            .header("user-agent")
            .map(str::to_string)
            .or_else(|| ctx.user_agent.clone()),
    });
    resp
}

/// Holds one concurrency slot of a mailbox until dropped.
struct Inflight<'a> {
    shared: &'a Shared,
    key: String,
}

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        let mut map = self.shared.inflight.lock();
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
        }
    }
}

async fn run(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
    route: &Route,
    info: &RouteInfo,
    max_concurrent: u64,
) -> GraphResult {
    if !ctx.has_any(info.permissions) {
        return Err(GraphError::denied());
    }
    let _slot = match &info.mailbox {
        Some(mb) => Some(acquire_slot(shared, ctx, mb, max_concurrent)?),
        None => None,
    };
    let hits = {
        let mut rng = shared.rng.lock();
        shared
            .faults
            .lock()
            .hits(&req.method, &req.path, info.category, &mut *rng)
    };
    for action in hits {
        match action {
            FaultAction::Delay { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            FaultAction::CloseConnection => {
                return Ok(SimResponse {
                    status: 200,
                    headers: Vec::new(),
                    body: SimBody::CloseConnection,
                })
            }
            FaultAction::Status {
                status,
                retry_after,
            } => {
                let code = match status {
                    429 => "TooManyRequests",
                    503 => "serviceNotAvailable",
                    504 => "gatewayTimeout",
                    500 => "generalException",
                    _ => "simulatedFault",
                };
                let mut e = GraphError::new(status, code, "Injected fault.");
                if let Some(secs) = retry_after {
                    shared.block_scope(ctx, &info.scope, secs);
                    e = e.with_header("Retry-After", secs.to_string());
                }
                return Err(e);
            }
        }
    }
    if let Some(d) = latency(shared) {
        tokio::time::sleep(d).await;
    }
    shared.enforce(ctx, info.category, &info.scope, &info.charges)?;
    route.handle(shared, ctx, req, version).await
}

fn acquire_slot<'a>(
    shared: &'a Shared,
    ctx: &Ctx,
    mailbox: &str,
    max: u64,
) -> Result<Inflight<'a>, GraphError> {
    let key = format!("{}|{mailbox}", ctx.client());
    let mut map = shared.inflight.lock();
    let n = map.entry(key.clone()).or_insert(0);
    if *n >= max {
        drop(map);
        shared.violate(
            ViolationKind::LimitExceeded,
            Category::Mail,
            ctx,
            format!(
                "{} refused: more than {max} concurrent requests for mailbox {mailbox}",
                ctx.path
            ),
        );
        ctx.throttled.store(true, Ordering::Relaxed);
        return Err(shared.throttle_error(Category::Mail, 1));
    }
    *n += 1;
    Ok(Inflight { shared, key })
}

fn latency(shared: &Shared) -> Option<Duration> {
    use crate::config::Latency;
    use rand::Rng;
    match shared.config.latency {
        Latency::None => None,
        Latency::Fixed(d) => Some(d),
        Latency::Random(a, b) if b > a => {
            let ms = shared.rng.lock().gen_range(a.as_millis()..=b.as_millis());
            Some(Duration::from_millis(ms as u64))
        }
        Latency::Random(a, _) => Some(a),
    }
}
