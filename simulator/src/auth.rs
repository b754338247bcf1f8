//! Token endpoints (managed identity, client credentials, OpenID discovery) and bearer
//! validation for Graph requests. Tokens are unsigned JWT-shaped strings whose expiry is
//! tracked in simulated time.

use crate::errors::GraphError;
use crate::http::{SimRequest, SimResponse};
use crate::shared::{Ctx, Shared, TokenInfo};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// Path of the managed-identity endpoint.
pub const IDENTITY_PATH: &str = "/msi/token";
/// The only resource / audience the simulator issues tokens for.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

fn issue(shared: &Shared, client_id: &str, permissions: Option<HashSet<String>>) -> (String, i64) {
    let now = shared.clock.now();
    let exp = now + chrono::Duration::from_std(shared.config.token_lifetime).unwrap_or_default();
    let roles: Vec<String> = permissions
        .as_ref()
        .map(|p| p.iter().cloned().collect())
        .unwrap_or_else(|| vec!["*".to_string()]);
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "tenant-sim"});
    let claims = json!({
        "aud": GRAPH_RESOURCE,
        "iss": format!("https://sts.windows.net/{}/", shared.config.tenant_id),
        "iat": now.timestamp(), "nbf": now.timestamp(), "exp": exp.timestamp(),
        "appid": client_id, "tid": shared.config.tenant_id, "roles": roles,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
    });
    let token = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes()),
    );
    shared.tokens.lock().insert(
        token.clone(),
        TokenInfo {
            client_id: client_id.to_string(),
            permissions,
            expires_at: exp,
        },
    );
    (token, exp.timestamp())
}

fn issue_for_identity(shared: &Shared) -> (String, i64) {
    let perms = shared.config.managed_identity_permissions.clone();
    issue(shared, &shared.config.managed_identity_client_id, perms)
}

/// A managed-identity token issued in process (see `Tenant::issue_token`).
pub(crate) fn issue_managed_identity(shared: &Shared) -> (String, chrono::DateTime<chrono::Utc>) {
    let (token, exp) = issue_for_identity(shared);
    let expires = chrono::DateTime::from_timestamp(exp, 0)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    (token, expires)
}

/// `GET /msi/token?resource=…&api-version=2019-08-01` with `X-IDENTITY-HEADER`.
pub(crate) fn managed_identity(shared: &Shared, req: &SimRequest) -> SimResponse {
    let err = |status: u16, code: &str, msg: &str| {
        SimResponse::json(
            status,
            json!({"statusCode": status, "error": code, "message": msg}),
        )
    };
    match req.header("x-identity-header") {
        None => {
            return err(
                400,
                "invalid_request",
                "Required header X-IDENTITY-HEADER is missing.",
            )
        }
        Some(h) if h != shared.config.identity_header => {
            return err(401, "unauthorized", "X-IDENTITY-HEADER does not match.")
        }
        Some(_) => {}
    }
    let resource = req.param("resource").unwrap_or_default();
    if resource.trim_end_matches('/') != GRAPH_RESOURCE
        && resource != format!("{GRAPH_RESOURCE}/.default")
    {
        return err(
            400,
            "invalid_resource",
            "Only https://graph.microsoft.com is simulated.",
        );
    }
    let client_id = shared.config.managed_identity_client_id.clone();
    let (token, exp) = issue_for_identity(shared);
    SimResponse::json(
        200,
        json!({"access_token": token, "expires_on": exp.to_string(), "resource": resource,
               "token_type": "Bearer", "client_id": client_id}),
    )
}

fn aad_error(shared: &Shared, status: u16, error: &str, code: u32, desc: &str) -> SimResponse {
    let trace = uuid::Uuid::new_v4().to_string();
    let now = shared.clock.now();
    SimResponse::json(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {desc} Trace ID: {trace} Timestamp: {}", now.format("%Y-%m-%d %H:%M:%SZ")),
            "error_codes": [code],
            "timestamp": now.format("%Y-%m-%d %H:%M:%SZ").to_string(),
            "trace_id": trace,
            "correlation_id": uuid::Uuid::new_v4().to_string(),
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

/// The AAD error for a tenant that is neither this tenant's id nor its domain (`None` when it is).
fn unknown_tenant(shared: &Shared, tenant: &str) -> Option<SimResponse> {
    let known = tenant.eq_ignore_ascii_case(&shared.config.tenant_id)
        || tenant.eq_ignore_ascii_case(&shared.config.domain);
    (!known).then(|| {
        aad_error(
            shared,
            400,
            "invalid_tenant",
            90002,
            &format!("Tenant '{tenant}' not found."),
        )
    })
}

/// `POST /{tenant}/oauth2/v2.0/token` (client credentials).
pub(crate) fn client_credentials(shared: &Shared, tenant: &str, req: &SimRequest) -> SimResponse {
    if let Some(e) = unknown_tenant(shared, tenant) {
        return e;
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&req.body).unwrap_or_default();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "client_credentials" {
        return aad_error(
            shared,
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let scope = get("scope");
    if !scope
        .split(' ')
        .any(|s| s == format!("{GRAPH_RESOURCE}/.default"))
    {
        return aad_error(shared, 400, "invalid_scope", 1002012, &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."));
    }
    let client_id = get("client_id");
    let Some(app) = shared
        .config
        .apps
        .iter()
        .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
    else {
        return aad_error(
            shared,
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'.",
                shared.config.tenant_id
            ),
        );
    };
    let secret_ok = get("client_secret") == app.client_secret;
    let assertion_ok = get("client_assertion_type")
        == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        && get("client_assertion").split('.').count() == 3;
    if !(secret_ok || assertion_ok) {
        return aad_error(shared, 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.");
    }
    let lifetime = shared.config.token_lifetime.as_secs();
    let (token, _) = issue(shared, &app.client_id, app.permissions.clone());
    SimResponse::json(
        200,
        json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}),
    )
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) fn openid_configuration(shared: &Shared, tenant: &str) -> SimResponse {
    if let Some(e) = unknown_tenant(shared, tenant) {
        return e;
    }
    let base = shared.base();
    let tid = &shared.config.tenant_id;
    SimResponse::json(
        200,
        json!({
            "token_endpoint": format!("{base}/{tid}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{base}/{tid}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("{base}/{tid}/v2.0"),
            "authorization_endpoint": format!("{base}/{tid}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{base}/{tid}/oauth2/v2.0/devicecode"),
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }),
    )
}

/// Validates `Authorization: Bearer …` and fills the caller into `ctx`.
pub(crate) fn authenticate(
    shared: &Shared,
    req: &SimRequest,
    ctx: &mut Ctx,
) -> Result<(), GraphError> {
    let unauth = |msg: &str| {
        GraphError::new(401, "InvalidAuthenticationToken", msg).with_header(
            "WWW-Authenticate",
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        )
    };
    let header = req.header("authorization").unwrap_or("");
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .unwrap_or("")
        .trim();
    if token.is_empty() {
        return Err(unauth("Access token is empty."));
    }
    let info = shared.tokens.lock().get(token).cloned();
    let Some(info) = info else {
        return Err(unauth("IDX14100: JWT is not well formed, there are no dots (.) or the token was not issued by this tenant."));
    };
    if info.expires_at <= ctx.now {
        return Err(unauth("Lifetime validation failed, the token is expired."));
    }
    ctx.client_id = Some(info.client_id);
    ctx.permissions = info.permissions;
    Ok(())
}

/// Makes every issued token expired (simulates expiry mid-run).
pub(crate) fn expire_all(shared: &Shared) {
    let past = shared.clock.now() - chrono::Duration::seconds(1);
    for t in shared.tokens.lock().values_mut() {
        t.expires_at = past;
    }
}
