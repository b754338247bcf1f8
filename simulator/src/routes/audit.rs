//! `GET /auditLogs/directoryAudits`: the directory audit log, as Graph serves it. Needs
//! `AuditLog.Read.All` and `Directory.Read.All` (else 403 `Authorization_RequestDenied`); reports
//! category limits; events visible only after their ingestion delay; `$filter` on
//! `activityDateTime` (`eq`, `ge`, `le`), `activityDisplayName` (`eq`, `startswith`),
//! `loggedByService`, `category`, `id`, `correlationId`, `result` (`eq`), combined with
//! `and`/`or`/`not`/parentheses; newest first; `$top` ≤ 999; `@odata.nextLink` paging.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::audit::AuditEvent;
use crate::errors::{GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::odata::{self, Expr, Lit, Op};
use crate::routes::users::page_size;
use crate::shared::{Ctx, Shared};

const DIRECTORY_READ: &[&str] = &["Directory.Read.All", "Directory.ReadWrite.All"];

fn bad_filter(msg: impl std::fmt::Display) -> GraphError {
    GraphError::new(400, "BadRequest", format!("Invalid filter clause: {msg}"))
}

/// Rejects properties and operators the real endpoint does not filter on.
fn check(e: &Expr) -> Result<(), GraphError> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => check(a).and_then(|_| check(b)),
        Expr::Not(a) => check(a),
        Expr::Cmp(f, op, lit) => {
            let f = f.to_ascii_lowercase();
            let ok = match f.as_str() {
                "activitydatetime" => {
                    matches!(op, Op::Eq | Op::Ge | Op::Le) && parse_instant(lit).is_some()
                }
                "activitydisplayname"
                | "loggedbyservice"
                | "category"
                | "id"
                | "correlationid"
                | "result" => *op == Op::Eq,
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(bad_filter(format!("unsupported filter on {f}")))
            }
        }
        Expr::StartsWith(f, _) if f.eq_ignore_ascii_case("activityDisplayName") => Ok(()),
        Expr::StartsWith(f, _) => Err(bad_filter(format!("startswith is not supported on {f}"))),
        Expr::In(f, _) => Err(bad_filter(format!("in is not supported on {f}"))),
    }
}

fn parse_instant(lit: &Lit) -> Option<DateTime<Utc>> {
    let s = match lit {
        Lit::Raw(s) | Lit::Str(s) => s,
        _ => return None,
    };
    DateTime::parse_from_rfc3339(s).ok().map(|d| d.to_utc())
}

/// Evaluates a checked filter on one event; instants compare as instants, not as text. The
/// JSON document is built only if a clause needs it.
fn matches(e: &Expr, ev: &AuditEvent, doc: &std::cell::OnceCell<Value>) -> bool {
    match e {
        Expr::And(a, b) => matches(a, ev, doc) && matches(b, ev, doc),
        Expr::Or(a, b) => matches(a, ev, doc) || matches(b, ev, doc),
        Expr::Not(a) => !matches(a, ev, doc),
        Expr::Cmp(f, op, lit) if f.eq_ignore_ascii_case("activityDateTime") => {
            let Some(t) = parse_instant(lit) else {
                return false;
            };
            match op {
                Op::Eq => ev.at == t,
                Op::Ge => ev.at >= t,
                Op::Le => ev.at <= t,
                _ => false,
            }
        }
        other => odata::eval(other, &|name| {
            doc.get_or_init(|| ev.to_json()).as_object().and_then(|m| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            })
        }),
    }
}

/// The earliest `activityDateTime` a filter admits, when its top-level `and` chain has an
/// `activityDateTime ge`/`eq` clause: older events cannot match, so a newest-first scan stops.
fn earliest(e: &Expr) -> Option<DateTime<Utc>> {
    match e {
        Expr::And(a, b) => match (earliest(a), earliest(b)) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        },
        Expr::Cmp(f, Op::Ge | Op::Eq, lit) if f.eq_ignore_ascii_case("activityDateTime") => {
            parse_instant(lit)
        }
        _ => None,
    }
}

/// Ordering key, newest first: `(activityDateTime, id)` descending.
fn key(ev: &AuditEvent) -> String {
    format!("{}_{}", ev.at.timestamp_millis(), ev.id)
}

fn after_key(ev: &AuditEvent, token: &str) -> bool {
    let (ms, id) = token.split_once('_').unwrap_or((token, ""));
    let ms: i64 = ms.parse().unwrap_or(i64::MAX);
    let at = ev.at.timestamp_millis();
    at < ms || (at == ms && ev.id.as_str() < id)
}

/// The list endpoint.
pub(crate) fn directory_audits(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
) -> GraphResult {
    if !shared.audit.lock().readable || !ctx.has_any(DIRECTORY_READ) {
        return Err(GraphError::denied());
    }
    let filter = match req.param("$filter") {
        Some(f) => {
            let e = odata::parse_filter(&f).map_err(bad_filter)?;
            check(&e)?;
            Some(e)
        }
        None => None,
    };
    let top = page_size(req, 100, 999)?;
    let token = req.param("$skiptoken");
    let floor = filter.as_ref().and_then(earliest);
    let log = shared.audit.lock();
    let mut visible: Vec<&AuditEvent> = log
        .events
        .iter()
        .filter(|e| e.visible_at <= ctx.now && floor.is_none_or(|f| e.at >= f))
        .filter(|e| token.as_deref().is_none_or(|t| after_key(e, t)))
        .collect();
    visible.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
    let mut value = Vec::new();
    let mut last = None;
    let mut more = false;
    for ev in visible {
        let doc = std::cell::OnceCell::new();
        if filter.as_ref().is_some_and(|f| !matches(f, ev, &doc)) {
            continue;
        }
        if value.len() == top {
            more = true;
            break;
        }
        last = Some(key(ev));
        value.push(doc.into_inner().unwrap_or_else(|| ev.to_json()));
    }
    let root = shared.graph_root(version);
    let mut body = json!({
        "@odata.context": format!("{root}/$metadata#auditLogs/directoryAudits"),
        "value": value,
    });
    if let (true, Some(last)) = (more, last) {
        body["@odata.nextLink"] = json!(odata::next_link(
            &root,
            "/auditLogs/directoryAudits",
            &req.params(),
            &last
        ));
    }
    Ok(SimResponse::json(200, body))
}
