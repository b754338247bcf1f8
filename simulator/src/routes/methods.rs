//! Authentication methods: list, phone prepopulation, Temporary Access Pass, and the beta
//! per-user MFA requirements.

use crate::errors::{GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::shared::{Ctx, Shared};
use crate::state::{AuthMethod, MethodKind, User, PASSWORD_METHOD_ID};
use crate::tenant::phone_method_id;
use chrono::SecondsFormat;
use serde_json::{json, Value};

/// Whether `n` is in Graph's `+{country code} {number}[x{extension}]` form.
pub fn valid_phone(n: &str) -> bool {
    let Some(rest) = n.strip_prefix('+') else {
        return false;
    };
    let Some((cc, number)) = rest.split_once(' ') else {
        return false;
    };
    let (number, ext) = match number.split_once('x') {
        Some((a, b)) => (a, Some(b)),
        None => (number, None),
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    (1..=3).contains(&cc.len())
        && digits(cc)
        && digits(number)
        && (4..=15).contains(&number.len())
        && ext.is_none_or(digits)
}

/// The Graph JSON of one method.
pub(crate) fn method_json(m: &AuthMethod) -> Value {
    let ts = m.created.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut v = match m.kind {
        MethodKind::Password => json!({"password": null, "createdDateTime": ts}),
        MethodKind::Phone => {
            json!({"phoneNumber": m.phone_number, "phoneType": m.phone_type, "smsSignInState": "notAllowedByPolicy"})
        }
        MethodKind::MicrosoftAuthenticator => {
            json!({"displayName": "iPhone", "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.8.12", "createdDateTime": ts})
        }
        MethodKind::SoftwareOath => json!({"secretKey": null}),
        MethodKind::Fido2 => {
            json!({"displayName": "Security key", "createdDateTime": ts, "aaGuid": "2fc0579f-8113-47ea-b116-bb5a8db9202a", "model": "YubiKey 5 NFC", "attestationCertificates": [], "attestationLevel": "attested"})
        }
        MethodKind::WindowsHelloForBusiness => {
            json!({"displayName": "LAPTOP-01", "createdDateTime": ts, "keyStrength": "normal"})
        }
        MethodKind::Email => json!({"emailAddress": "personal@example.net"}),
        MethodKind::TemporaryAccessPass => {
            json!({"createdDateTime": ts, "startDateTime": ts, "lifetimeInMinutes": 60, "isUsableOnce": false, "isUsable": true, "methodUsabilityReason": "EnabledByPolicy"})
        }
        MethodKind::PlatformCredential => {
            json!({"displayName": "MacBook", "createdDateTime": ts, "keyStrength": "normal", "platform": "macOS"})
        }
    };
    v["@odata.type"] = json!(format!(
        "#microsoft.graph.{}AuthenticationMethod",
        m.kind.name()
    ));
    v["id"] = json!(m.id);
    v
}

/// All methods of a user including the implicit password method.
pub(crate) fn all_methods(u: &User) -> Vec<AuthMethod> {
    let mut out = vec![AuthMethod {
        id: PASSWORD_METHOD_ID.to_string(),
        kind: MethodKind::Password,
        created: u.created,
        phone_number: None,
        phone_type: None,
    }];
    out.extend(u.methods.iter().cloned());
    out
}

/// `GET /users/{id}/authentication/methods`.
pub(crate) fn list(shared: &Shared, version: &str, id: &str) -> GraphResult {
    let t = shared.tenant.lock();
    let u = t
        .user(id)
        .ok_or_else(|| GraphError::resource_not_found(id))?;
    let value: Vec<Value> = all_methods(u).iter().map(method_json).collect();
    Ok(SimResponse::json(
        200,
        json!({"@odata.context": format!("{}/$metadata#users('{}')/authentication/methods", shared.graph_root(version), u.id), "value": value}),
    ))
}

/// `GET /users/{id}/authentication/phoneMethods`.
pub(crate) fn list_phone(shared: &Shared, version: &str, id: &str) -> GraphResult {
    let t = shared.tenant.lock();
    let u = t
        .user(id)
        .ok_or_else(|| GraphError::resource_not_found(id))?;
    let value: Vec<Value> = u
        .methods
        .iter()
        .filter(|m| m.kind == MethodKind::Phone)
        .map(method_json)
        .collect();
    Ok(SimResponse::json(
        200,
        json!({"@odata.context": format!("{}/$metadata#users('{}')/authentication/phoneMethods", shared.graph_root(version), u.id), "value": value}),
    ))
}

/// `POST /users/{id}/authentication/phoneMethods` → 201.
pub(crate) fn add_phone(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
    id: &str,
) -> GraphResult {
    let body = req
        .json()
        .map_err(|e| GraphError::new(400, "badRequest", format!("Invalid JSON: {e}")))?;
    let number = body
        .get("phoneNumber")
        .and_then(Value::as_str)
        .unwrap_or("");
    let phone_type = body.get("phoneType").and_then(Value::as_str).unwrap_or("");
    if !["mobile", "alternateMobile", "office"].contains(&phone_type) {
        return Err(GraphError::new(
            400,
            "badRequest",
            format!("Invalid value '{phone_type}' for phoneType."),
        ));
    }
    if !valid_phone(number) {
        return Err(GraphError::new(400, "badRequest", format!("Invalid phone number '{number}'. Expected format: +{{country code}} {{number}}x{{extension}}.")));
    }
    let mut t = shared.tenant.lock();
    let u = t
        .user_mut(id)
        .ok_or_else(|| GraphError::resource_not_found(id))?;
    if u.methods
        .iter()
        .any(|m| m.phone_type.as_deref() == Some(phone_type))
    {
        return Err(GraphError::new(
            400,
            "badRequest",
            format!("A phone method of type '{phone_type}' already exists for this user."),
        ));
    }
    let m = AuthMethod {
        id: phone_method_id(phone_type).to_string(),
        kind: MethodKind::Phone,
        created: ctx.now,
        phone_number: Some(number.to_string()),
        phone_type: Some(phone_type.to_string()),
    };
    u.methods.push(m.clone());
    let mut v = method_json(&m);
    v["@odata.context"] = json!(format!(
        "{}/$metadata#phoneAuthenticationMethod",
        shared.graph_root(version)
    ));
    Ok(SimResponse::json(201, v).with_header(
        "Location",
        format!(
            "{}/users/{}/authentication/phoneMethods/{}",
            shared.graph_root(version),
            u.id,
            m.id
        ),
    ))
}

/// `POST /users/{id}/authentication/temporaryAccessPassMethods` → 201 with the pass.
pub(crate) fn add_tap(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
    id: &str,
) -> GraphResult {
    let body = req.json().unwrap_or(Value::Null);
    let lifetime = body
        .get("lifetimeInMinutes")
        .and_then(Value::as_u64)
        .unwrap_or(60);
    let once = body
        .get("isUsableOnce")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut t = shared.tenant.lock();
    let u = t
        .user_mut(id)
        .ok_or_else(|| GraphError::resource_not_found(id))?;
    let m = AuthMethod {
        id: uuid::Uuid::new_v4().to_string(),
        kind: MethodKind::TemporaryAccessPass,
        created: ctx.now,
        phone_number: None,
        phone_type: None,
    };
    u.methods.push(m.clone());
    let mut v = method_json(&m);
    v["lifetimeInMinutes"] = json!(lifetime);
    v["isUsableOnce"] = json!(once);
    v["temporaryAccessPass"] = json!(format!("TAP{}", &m.id[..8]));
    v["@odata.context"] = json!(format!(
        "{}/$metadata#temporaryAccessPassAuthenticationMethod",
        shared.graph_root(version)
    ));
    Ok(SimResponse::json(201, v))
}

/// `GET|PATCH /beta/users/{id}/authentication/requirements`.
pub(crate) fn requirements(
    shared: &Shared,
    req: &SimRequest,
    id: &str,
    write: bool,
) -> GraphResult {
    let mut t = shared.tenant.lock();
    let u = t
        .user_mut(id)
        .ok_or_else(|| GraphError::resource_not_found(id))?;
    if !write {
        return Ok(SimResponse::json(
            200,
            json!({"perUserMfaState": u.per_user_mfa_state}),
        ));
    }
    let body = req
        .json()
        .map_err(|e| GraphError::new(400, "badRequest", format!("Invalid JSON: {e}")))?;
    let state = body
        .get("perUserMfaState")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !["disabled", "enabled", "enforced"].contains(&state) {
        return Err(GraphError::new(
            400,
            "badRequest",
            format!("Invalid value '{state}' for perUserMfaState."),
        ));
    }
    // Graph: "When you update a user's MFA state to enabled and the user has already registered
    // an MFA method, their state changes automatically to enforced."
    let registered = u.methods.iter().any(|m| m.kind.is_mfa_capable());
    u.per_user_mfa_state = if state == "enabled" && registered {
        "enforced".to_string()
    } else {
        state.to_string()
    };
    Ok(SimResponse::empty(204))
}

#[cfg(test)]
mod tests {
    use super::valid_phone;

    #[test]
    fn phone_format_is_checked() {
        for (n, ok) in [
            ("+47 91234567", true),
            ("+1 4255550100x123", true),
            ("+44 7700900123", true),
            ("91234567", false),
            ("+47 912 34 567", false),
            ("+4791234567", false),
            ("+1234 5550100", false),
            ("+1 555", false),
        ] {
            assert_eq!(valid_phone(n), ok, "{n}");
        }
    }
}
