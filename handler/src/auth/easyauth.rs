//! App Service Authentication ("Easy Auth") principal headers.
//!
//! The platform authenticates the caller and passes `X-MS-CLIENT-PRINCIPAL` (base64 JSON with the
//! token's claims) and `X-MS-CLIENT-PRINCIPAL-IDP`; on Azure it strips any `X-MS-*` header a client
//! sends. That stripping is the whole guarantee: use `easyauth` only with App Service
//! Authentication enabled.

use base64::Engine;
use serde::Deserialize;
use warp::http::HeaderMap;

use super::Principal;

const ROLE_CLAIM_URI: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";

#[derive(Debug, Deserialize)]
struct ClientPrincipal {
    #[serde(default)]
    auth_typ: Option<String>,
    #[serde(default)]
    role_typ: Option<String>,
    #[serde(default)]
    claims: Vec<Claim>,
}

#[derive(Debug, Deserialize)]
struct Claim {
    typ: String,
    val: String,
}

/// Accepts the request when the platform's principal is from Entra ID (`aad`) and holds
/// `required_role` as a role or group claim.
pub fn check(headers: &HeaderMap, required_role: &str) -> Result<Principal, String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let idp = header("x-ms-client-principal-idp").ok_or("no X-MS-CLIENT-PRINCIPAL-IDP")?;
    if !idp.eq_ignore_ascii_case("aad") {
        return Err(format!("identity provider {idp:?} is not aad"));
    }
    let encoded = header("x-ms-client-principal").ok_or("no X-MS-CLIENT-PRINCIPAL")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| "X-MS-CLIENT-PRINCIPAL is not base64")?;
    let principal: ClientPrincipal = serde_json::from_slice(&raw)
        .map_err(|_| "X-MS-CLIENT-PRINCIPAL is not the expected JSON")?;
    if let Some(typ) = principal.auth_typ.as_deref() {
        if !typ.eq_ignore_ascii_case("aad") {
            return Err(format!("auth_typ {typ:?} is not aad"));
        }
    }
    let role_types = ["roles", ROLE_CLAIM_URI, "groups"];
    let has_role = principal.claims.iter().any(|c| {
        let is_role_claim = role_types.contains(&c.typ.as_str())
            || principal.role_typ.as_deref() == Some(c.typ.as_str());
        is_role_claim && c.val == required_role
    });
    if !has_role {
        return Err(format!("principal lacks the role {required_role:?}"));
    }
    let name = principal
        .claims
        .iter()
        .find(|c| c.typ == "preferred_username" || c.typ == "name")
        .map_or_else(|| "easyauth principal".to_string(), |c| c.val.clone());
    Ok(Principal { name, origin: None })
}
