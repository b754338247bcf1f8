//! Authentication methods: list (passkeys with their `passkeyType` and `aaGuid`), phone
//! prepopulation, Temporary Access Pass, and the beta per-user MFA requirements.

use crate::errors::{json_body, GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::shared::{Ctx, Shared};
use crate::state::{aaguid, AuthMethod, MethodKind, PasskeyType, User, PASSWORD_METHOD_ID};
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
        MethodKind::HardwareOath => {
            json!({"displayName": "Token", "createdDateTime": ts, "device": {"serialNumber": "TOTP123456", "manufacturer": "Contoso", "model": "Hardware Token 1000", "hashFunction": "hmacsha1", "timeIntervalInSeconds": 30}})
        }
        MethodKind::Fido2 => fido2_json(m, &ts),
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
        MethodKind::X509Certificate => {
            json!({"createdDateTime": ts, "subjectName": "CN=Contoso User", "issuerName": "CN=Contoso Issuing CA", "binding": "x509CertificateMultiFactor"})
        }
    };
    v["@odata.type"] = json!(format!(
        "#microsoft.graph.{}AuthenticationMethod",
        m.kind.name()
    ));
    v["id"] = json!(m.id);
    v
}

/// A `fido2AuthenticationMethod`: what its AAGUID says it is, and its `passkeyType`.
fn fido2_json(m: &AuthMethod, ts: &str) -> Value {
    let guid = m.aa_guid.as_deref().unwrap_or(aaguid::YUBIKEY_5_NFC);
    let (name, model, attested) = match guid {
        aaguid::AUTHENTICATOR_IOS | aaguid::AUTHENTICATOR_ANDROID => {
            ("Microsoft Authenticator", "Microsoft Authenticator", true)
        }
        aaguid::WINDOWS_HELLO => (
            "Windows Hello",
            "Windows Hello Hardware Authenticator",
            false,
        ),
        aaguid::ICLOUD_KEYCHAIN => ("iCloud Keychain", "iCloud Keychain", false),
        aaguid::GOOGLE_PASSWORD_MANAGER => {
            ("Google Password Manager", "Google Password Manager", false)
        }
        aaguid::YUBIKEY_5_NFC => ("Security key", "YubiKey 5 NFC", true),
        _ => ("Passkey", "", false),
    };
    json!({
        "displayName": name,
        "createdDateTime": ts,
        "aaGuid": guid,
        "model": model,
        "attestationCertificates": [],
        "attestationLevel": if attested { "attested" } else { "notAttested" },
        "passkeyType": m.passkey_type.unwrap_or(PasskeyType::DeviceBound),
    })
}

/// All methods of a user including the implicit password method.
pub(crate) fn all_methods(u: &User) -> Vec<AuthMethod> {
    let mut out = vec![AuthMethod::new(
        PASSWORD_METHOD_ID,
        MethodKind::Password,
        u.created,
    )];
    out.extend(u.methods.iter().cloned());
    out
}

/// `GET /users/{id}/authentication/methods`.
pub(crate) fn list(shared: &Shared, version: &str, id: &str) -> GraphResult {
    list_of(shared, version, id, "methods", |_| true)
}

/// `GET /users/{id}/authentication/phoneMethods`.
pub(crate) fn list_phone(shared: &Shared, version: &str, id: &str) -> GraphResult {
    list_of(shared, version, id, "phoneMethods", |m| {
        m.kind == MethodKind::Phone
    })
}

/// The user's methods that `keep` accepts, as the collection `authentication/{collection}`.
fn list_of(
    shared: &Shared,
    version: &str,
    id: &str,
    collection: &str,
    keep: impl Fn(&AuthMethod) -> bool,
) -> GraphResult {
    let t = shared.tenant.lock();
    let u = t
        .user(id)
        .ok_or_else(|| GraphError::resource_not_found(id))?;
    let value: Vec<Value> = all_methods(u)
        .iter()
        .filter(|m| keep(m))
        .map(method_json)
        .collect();
    Ok(SimResponse::json(
        200,
        json!({"@odata.context": format!("{}/$metadata#users('{}')/authentication/{collection}", shared.graph_root(version), u.id), "value": value}),
    ))
}

/// A 400 as the authentication methods API words it.
fn bad_request(message: impl Into<String>) -> GraphError {
    GraphError::new(400, "badRequest", message)
}

/// The string `field` of `body`, which must be one of `allowed`.
fn one_of<'a>(body: &'a Value, field: &str, allowed: &[&str]) -> Result<&'a str, GraphError> {
    let value = body.get(field).and_then(Value::as_str).unwrap_or("");
    if !allowed.contains(&value) {
        return Err(bad_request(format!("Invalid value '{value}' for {field}.")));
    }
    Ok(value)
}

/// `POST /users/{id}/authentication/phoneMethods` → 201.
pub(crate) fn add_phone(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
    id: &str,
) -> GraphResult {
    let body = json_body(req, bad_request)?;
    let number = body
        .get("phoneNumber")
        .and_then(Value::as_str)
        .unwrap_or("");
    let phone_type = one_of(&body, "phoneType", &["mobile", "alternateMobile", "office"])?;
    if !valid_phone(number) {
        return Err(bad_request(format!("Invalid phone number '{number}'. Expected format: +{{country code}} {{number}}x{{extension}}.")));
    }
    let m = AuthMethod {
        phone_number: Some(number.to_string()),
        phone_type: Some(phone_type.to_string()),
        ..AuthMethod::new(phone_method_id(phone_type), MethodKind::Phone, ctx.now)
    };
    let (v, user_id) = add_method(
        shared,
        version,
        id,
        "phoneAuthenticationMethod",
        &m,
        |has| {
            has.iter().any(|h| h.phone_type == m.phone_type).then(|| {
                bad_request(format!(
                    "A phone method of type '{phone_type}' already exists for this user."
                ))
            })
        },
    )?;
    Ok(SimResponse::json(201, v).with_header(
        "Location",
        format!(
            "{}/users/{user_id}/authentication/phoneMethods/{}",
            shared.graph_root(version),
            m.id
        ),
    ))
}

/// Stores `m` as a method of user `id` unless `conflict` objects to the methods the user has.
/// Returns `m`'s JSON with the `@odata.context` of `entity`, and the user's object id.
fn add_method(
    shared: &Shared,
    version: &str,
    id: &str,
    entity: &str,
    m: &AuthMethod,
    conflict: impl FnOnce(&[AuthMethod]) -> Option<GraphError>,
) -> Result<(Value, String), GraphError> {
    let mut t = shared.tenant.lock();
    let u = t
        .user_mut(id)
        .ok_or_else(|| GraphError::resource_not_found(id))?;
    if let Some(e) = conflict(&u.methods) {
        return Err(e);
    }
    u.methods.push(m.clone());
    let mut v = method_json(m);
    v["@odata.context"] = json!(format!("{}/$metadata#{entity}", shared.graph_root(version)));
    Ok((v, u.id.clone()))
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
    let m = AuthMethod::new(
        uuid::Uuid::new_v4().to_string(),
        MethodKind::TemporaryAccessPass,
        ctx.now,
    );
    let entity = "temporaryAccessPassAuthenticationMethod";
    let (mut v, _) = add_method(shared, version, id, entity, &m, |_| None)?;
    v["lifetimeInMinutes"] = json!(lifetime);
    v["isUsableOnce"] = json!(once);
    v["temporaryAccessPass"] = json!(format!("TAP{}", &m.id[..8]));
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
    let body = json_body(req, bad_request)?;
    let state = one_of(
        &body,
        "perUserMfaState",
        &["disabled", "enabled", "enforced"],
    )?;
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
