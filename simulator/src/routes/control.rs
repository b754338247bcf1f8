//! The `/_sim/` control API: JSON mirrors of the [`Tenant`](crate::Tenant) handle plus
//! the readable outbox pages ([`outbox`]). It needs no token and is never throttled or logged.

use crate::faults::FaultRule;
use crate::http::{SimRequest, SimResponse};
use crate::policy::RegistrationCampaign;
use crate::routes::outbox;
use crate::shared::Shared;
use crate::state::{MethodKind, MethodOptions, NewUser};
use crate::tenant::{SimError, Tenant};
use serde_json::{json, Value};
use std::sync::Arc;

fn err(status: u16, msg: impl std::fmt::Display) -> SimResponse {
    SimResponse::json(status, json!({"error": msg.to_string()}))
}

fn sim_err(e: SimError) -> SimResponse {
    match e {
        SimError::NotFound(_) => err(404, e),
        SimError::Invalid(_) => err(400, e),
    }
}

fn to_json<T: serde::Serialize>(status: u16, v: &T) -> SimResponse {
    match serde_json::to_value(v) {
        Ok(v) => SimResponse::json(status, v),
        Err(e) => err(500, e),
    }
}

/// Routes one control request.
pub(crate) async fn route(shared: &Arc<Shared>, req: &SimRequest, rest: &[&str]) -> SimResponse {
    let tenant = Tenant::new(shared.clone());
    let body = req.json();
    match (req.method.as_str(), rest) {
        ("GET", ["outbox"]) => to_json(200, &tenant.outbox()),
        ("GET", ["outbox.html"]) => match serde_urlencoded::from_str(&req.query) {
            Ok(query) => outbox::list(shared, &query),
            Err(e) => err(400, e),
        },
        ("GET", ["outbox", page]) => match page.strip_suffix(".html").map(str::parse) {
            Some(Ok(n)) => outbox::message(shared, n),
            _ => err(404, format!("no control endpoint GET {}", req.path)),
        },
        ("GET", ["users"]) => to_json(200, &tenant.users()),
        ("POST", ["users"]) => match body.map(serde_json::from_value::<NewUser>) {
            Ok(Ok(new)) => tenant
                .add_user(new)
                .map_or_else(sim_err, |u| to_json(201, &u)),
            Ok(Err(e)) => err(400, e),
            Err(e) => err(400, e),
        },
        ("POST", ["users", upn, "register-mfa"]) => {
            // JSON `{"method": …, "passkeyType"?: …, "aaGuid"?: …}`, or an outbox page's form
            // (`?method=…&back=<page>`).
            let json = body.ok().filter(|b| b.is_object());
            let name = json
                .as_ref()
                .and_then(|b| b.get("method").and_then(Value::as_str).map(str::to_string))
                .or_else(|| req.param("method"))
                .unwrap_or_default();
            let options = match json.map(serde_json::from_value::<MethodOptions>) {
                Some(Ok(o)) => o,
                Some(Err(e)) => return err(400, e),
                None => MethodOptions::default(),
            };
            let back = req.param("back");
            match MethodKind::parse(&name) {
                Some(kind) => match (tenant.register_method(upn, kind, options), back) {
                    (Ok(_), Some(back)) => SimResponse {
                        status: 303,
                        headers: vec![("Location".into(), outbox::back_target(&back).into())],
                        ..SimResponse::html(String::new())
                    },
                    (Ok(m), None) => to_json(201, &m),
                    (Err(e), _) => sim_err(e),
                },
                None => err(400, format!("unknown method '{name}'")),
            }
        }
        ("GET", ["policies", "registration-campaign"]) => {
            to_json(200, &tenant.registration_campaign())
        }
        ("PUT", ["policies", "registration-campaign"]) => {
            match body.map(serde_json::from_value::<RegistrationCampaign>) {
                Ok(Ok(c)) => tenant
                    .set_registration_campaign(c)
                    .map_or_else(sim_err, |()| SimResponse::empty(204)),
                Ok(Err(e)) => err(400, e),
                Err(e) => err(400, e),
            }
        }
        ("GET", ["groups", id, "members"]) => tenant
            .group_members(id)
            .map_or_else(sim_err, |m| to_json(200, &m)),
        ("GET", ["groups", id, "transitive-members"]) => tenant
            .transitive_members(id)
            .map_or_else(sim_err, |m| to_json(200, &m)),
        ("POST", ["groups", id, "nested"]) => {
            match body
                .ok()
                .and_then(|b| b.get("group").and_then(Value::as_str).map(str::to_string))
            {
                Some(child) => tenant
                    .nest_group(id, &child)
                    .map_or_else(sim_err, |()| SimResponse::empty(204)),
                None => err(400, "expected {\"group\": \"<child group id>\"}"),
            }
        }
        ("GET", ["clock"]) => SimResponse::json(200, json!({"now": shared.clock.now()})),
        ("POST", ["clock", "advance"]) => {
            match body
                .ok()
                .and_then(|b| b.get("seconds").and_then(Value::as_u64))
            {
                Some(secs) => {
                    shared.clock.advance(std::time::Duration::from_secs(secs));
                    SimResponse::json(200, json!({"now": shared.clock.now()}))
                }
                None => err(400, "expected {\"seconds\": N}"),
            }
        }
        ("GET", ["requests"]) => to_json(200, &tenant.requests()),
        ("GET", ["violations"]) => to_json(200, &tenant.violations()),
        ("POST", ["faults"]) => match body.map(serde_json::from_value::<FaultRule>) {
            Ok(Ok(rule)) => {
                tenant.add_fault(rule);
                SimResponse::empty(201)
            }
            Ok(Err(e)) => err(400, e),
            Err(e) => err(400, e),
        },
        ("DELETE", ["faults"]) => {
            tenant.clear_faults();
            SimResponse::empty(204)
        }
        ("POST", ["tokens", "expire"]) => {
            tenant.expire_all_tokens();
            SimResponse::empty(204)
        }
        _ => err(
            404,
            format!("no control endpoint {} {}", req.method, req.path),
        ),
    }
}
