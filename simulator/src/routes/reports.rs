//! `GET /reports/authenticationMethods/userRegistrationDetails`: the bulk registration report
//! (P1/P2 only, enabled users only, optional lag, `$filter`, paging by next link). The
//! passkey-era `methodsRegistered` values are served only to requests carrying `Prefer:
//! include-unknown-enum-members` (answered with `Preference-Applied`); others get
//! `unknownFutureValue` in their place.

use crate::config::Licence;
use crate::errors::{GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::odata::{self, Expr, Lit, Op};
use crate::routes::users::{filter_param, Offset};
use crate::shared::{Ctx, Shared};
use crate::state::{aaguid, AuthMethod, MethodKind, PasskeyType, User};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

/// Names the report uses in `methodsRegistered` (`None`: not listed). A FIDO2 method is named
/// by its kind of passkey: synced, in Authenticator, in Windows Hello (by AAGUID), or any other
/// device-bound passkey (security keys included).
fn registered_name(m: &AuthMethod) -> Option<&'static str> {
    Some(match m.kind {
        MethodKind::Password | MethodKind::X509Certificate => return None,
        MethodKind::Phone => match m.phone_type.as_deref() {
            Some("alternateMobile") => "alternateMobilePhone",
            Some("office") => "officePhone",
            _ => "mobilePhone",
        },
        MethodKind::MicrosoftAuthenticator => "microsoftAuthenticatorPush",
        MethodKind::SoftwareOath => "softwareOneTimePasscode",
        MethodKind::HardwareOath => "hardwareOneTimePasscode",
        MethodKind::Fido2 if m.passkey_type == Some(PasskeyType::Synced) => "passKeySynced",
        MethodKind::Fido2 => match m.aa_guid.as_deref() {
            Some(aaguid::AUTHENTICATOR_IOS | aaguid::AUTHENTICATOR_ANDROID) => {
                "passKeyDeviceBoundAuthenticator"
            }
            Some(aaguid::WINDOWS_HELLO) => "passKeyDeviceBoundWindowsHello",
            _ => "passKeyDeviceBound",
        },
        MethodKind::WindowsHelloForBusiness => "windowsHelloForBusiness",
        MethodKind::Email => "email",
        MethodKind::TemporaryAccessPass => "temporaryAccessPass",
        MethodKind::PlatformCredential => "macOsSecureEnclaveKey",
    })
}

/// `methodsRegistered` members added after the evolvable enumeration's `unknownFutureValue`
/// sentinel that this simulator serves (Graph's `usageAuthMethod` enumeration lists them among
/// the members needing `Prefer: include-unknown-enum-members`; the long-standing names it also
/// lists there, such as `mobilePhone`, have always been returned by this report and stay so).
const EVOLVABLE_MEMBERS: [&str; 5] = [
    "passKeyDeviceBound",
    "passKeyDeviceBoundAuthenticator",
    "passKeyDeviceBoundWindowsHello",
    "passKeySynced",
    "macOsSecureEnclaveKey",
];

/// The `Prefer` preference that opts into evolvable-enum members.
const INCLUDE_UNKNOWN: &str = "include-unknown-enum-members";

/// Whether the request's `Prefer` header (comma-separated preferences) holds
/// `include-unknown-enum-members`.
pub(crate) fn includes_unknown_members(req: &SimRequest) -> bool {
    req.header("prefer").is_some_and(|p| {
        p.split(',')
            .any(|x| x.trim().eq_ignore_ascii_case(INCLUDE_UNKNOWN))
    })
}

/// One report row as of `visible_before` (methods registered later are not yet reported).
/// Without `unknown_members` the evolvable members of `methodsRegistered` read
/// `unknownFutureValue`, as Graph serves them to a client that did not opt in; the flags
/// (`isMfaRegistered`, `isPasswordlessCapable`, …) are the same either way.
pub(crate) fn row(
    u: &User,
    visible_before: DateTime<Utc>,
    unknown_members: bool,
) -> Map<String, Value> {
    let visible: Vec<_> = u
        .methods
        .iter()
        .filter(|m| m.created <= visible_before)
        .collect();
    let mfa = visible.iter().any(|m| m.kind.is_mfa_capable());
    let sspr = visible.iter().any(|m| {
        matches!(
            m.kind,
            MethodKind::Phone
                | MethodKind::MicrosoftAuthenticator
                | MethodKind::SoftwareOath
                | MethodKind::Email
        )
    });
    let passwordless = visible.iter().any(|m| {
        matches!(
            m.kind,
            MethodKind::Fido2
                | MethodKind::WindowsHelloForBusiness
                | MethodKind::PlatformCredential
        )
    });
    let mut names: Vec<&str> = Vec::new();
    for name in visible.iter().filter_map(|m| registered_name(m)) {
        let name = if unknown_members || !EVOLVABLE_MEMBERS.contains(&name) {
            name
        } else {
            "unknownFutureValue"
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let preferred = if visible
        .iter()
        .any(|m| m.kind == MethodKind::MicrosoftAuthenticator)
    {
        "push"
    } else if visible.iter().any(|m| m.kind == MethodKind::Phone) {
        "sms"
    } else if visible.iter().any(|m| m.kind == MethodKind::SoftwareOath) {
        "oath"
    } else {
        "none"
    };
    let updated = visible.iter().map(|m| m.created).max().unwrap_or(u.created);
    let v = json!({
        "id": u.id,
        "userPrincipalName": u.user_principal_name,
        "userDisplayName": u.display_name,
        "userType": u.user_type.to_ascii_lowercase(),
        "isAdmin": false,
        "isSsprRegistered": sspr,
        "isSsprEnabled": false,
        "isSsprCapable": false,
        "isMfaRegistered": mfa,
        "isMfaCapable": mfa,
        "isPasswordlessCapable": passwordless,
        "methodsRegistered": names,
        "isSystemPreferredAuthenticationMethodEnabled": false,
        "systemPreferredAuthenticationMethods": [],
        "userPreferredMethodForSecondaryAuthentication": preferred,
        "lastUpdatedDateTime": updated.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The report endpoint. `$skiptoken` is the position in the directory to resume from.
pub(crate) fn registration_details(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
) -> GraphResult {
    if *shared.licence.lock() == Licence::Free {
        return Err(GraphError::new(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        ));
    }
    let select = odata::select_list(req.param("$select"));
    let filter = filter_param(req, |m| GraphError::new(400, "BadRequest", m))?;
    let Offset { skip: start, top } = Offset::of(req, 999, 999)?;
    let visible_before =
        ctx.now - chrono::Duration::from_std(shared.config.report_lag).unwrap_or_default();
    let unknown_members = includes_unknown_members(req);
    let applied = |r: SimResponse| {
        if unknown_members {
            r.with_header("Preference-Applied", INCLUDE_UNKNOWN)
        } else {
            r
        }
    };
    let t = shared.tenant.lock();
    let keep = |r: &Map<String, Value>| {
        filter.as_ref().is_none_or(|f| {
            odata::eval(f, &|name| {
                r.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            })
        })
    };
    let context = format!(
        "{}/$metadata#reports/authenticationMethods/userRegistrationDetails",
        shared.graph_root(version)
    );
    if let Some(keys) = filter.as_ref().and_then(lookup_keys) {
        // Point lookups by id / UPN do not scan the directory.
        let mut seen = std::collections::HashSet::new();
        let value: Vec<Value> = keys
            .iter()
            .filter_map(|k| t.user(k))
            .filter(|u| u.account_enabled && seen.insert(u.id.clone()))
            .map(|u| row(u, visible_before, unknown_members))
            .filter(|r| keep(r))
            .map(|r| Value::Object(odata::apply_select(r, &select)))
            .collect();
        return Ok(applied(SimResponse::json(
            200,
            json!({"@odata.context": context, "value": value}),
        )));
    }
    let mut value = Vec::new();
    let mut pos = start;
    // `isMfaRegistered eq …` (the product's filter) is decided without building the row.
    let registered = filter.as_ref().and_then(required_mfa);
    while pos < t.user_order.len() && value.len() < top {
        let id = &t.user_order[pos];
        pos += 1;
        let Some(u) = t.users.get(id).filter(|u| u.account_enabled) else {
            continue;
        };
        if registered.is_some_and(|want| mfa_registered(u, visible_before) != want) {
            continue;
        }
        let r = row(u, visible_before, unknown_members);
        if keep(&r) {
            value.push(Value::Object(odata::apply_select(r, &select)));
        }
    }
    let more = t.user_order[pos.min(t.user_order.len())..]
        .iter()
        .any(|id| t.users.get(id).is_some_and(|u| u.account_enabled));
    let mut body = json!({"@odata.context": context, "value": value});
    if more {
        body["@odata.nextLink"] = json!(odata::next_link(
            &shared.graph_root(version),
            "/reports/authenticationMethods/userRegistrationDetails",
            &req.params(),
            &pos.to_string(),
        ));
    }
    Ok(applied(SimResponse::json(200, body)))
}

/// `isMfaRegistered` as [`row`] computes it.
fn mfa_registered(u: &User, visible_before: DateTime<Utc>) -> bool {
    u.methods
        .iter()
        .any(|m| m.created <= visible_before && m.kind.is_mfa_capable())
}

/// The `isMfaRegistered` value a filter's top-level `and` chain requires, if any.
fn required_mfa(e: &Expr) -> Option<bool> {
    match e {
        Expr::And(a, b) => required_mfa(a).or_else(|| required_mfa(b)),
        Expr::Cmp(f, Op::Eq, Lit::Bool(v)) if f.eq_ignore_ascii_case("isMfaRegistered") => Some(*v),
        _ => None,
    }
}

/// Ids/UPNs a filter is restricted to when it is an `or` of `id eq`/`userPrincipalName eq`
/// clauses (possibly `and`-ed with other conditions).
fn lookup_keys(e: &Expr) -> Option<Vec<String>> {
    match e {
        Expr::Cmp(f, Op::Eq, Lit::Str(v))
            if f.eq_ignore_ascii_case("id") || f.eq_ignore_ascii_case("userPrincipalName") =>
        {
            Some(vec![v.clone()])
        }
        Expr::Or(a, b) => {
            let mut k = lookup_keys(a)?;
            k.extend(lookup_keys(b)?);
            Some(k)
        }
        Expr::And(a, b) => lookup_keys(a).or_else(|| lookup_keys(b)),
        _ => None,
    }
}
