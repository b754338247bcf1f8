//! Entra ID bearer tokens for the admin API.
//!
//! RS256 only (no `none`, no HMAC: the header's algorithm is never trusted). The signing key is
//! looked up by `kid` in the tenant's JWKS, `{authority}/{tenant}/discovery/v2.0/keys`, cached and
//! fetched again when an unknown `kid` appears (at most every [`REFRESH_GAP`]). The issuer must be
//! the tenant's v2.0 issuer (or its v1 `https://sts.windows.net/{tenant}/`), the audience the
//! configured one, the token current (60 s leeway), and it must carry the admin role in `roles`
//! or the group id in `groups`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mfa_core::config::EntraAuth;
use parking_lot::RwLock;
use serde::Deserialize;
use warp::http::HeaderMap;

use super::{bearer, Principal};

/// Shortest time between two key fetches caused by unknown `kid`s.
pub const REFRESH_GAP: Duration = Duration::from_secs(30);
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 60;

/// The JWKS document. Each key is read as a [`Jwk`] on its own, so a key this crate cannot read
/// (another key type, missing parameters) is skipped instead of hiding the others.
#[derive(Debug, Deserialize)]
struct KeySet {
    keys: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    oid: Option<String>,
}

/// Validates Entra ID access tokens for one tenant and audience.
pub struct EntraValidator {
    cfg: EntraAuth,
    jwks_url: String,
    issuers: [String; 2],
    http: reqwest::Client,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl EntraValidator {
    /// A validator for the configured tenant; keys are fetched on first use.
    pub fn new(cfg: EntraAuth) -> Self {
        let authority = cfg
            .authority_host
            .as_str()
            .trim_end_matches('/')
            .to_string();
        let tenant = cfg.tenant_id.clone();
        Self {
            jwks_url: format!("{authority}/{tenant}/discovery/v2.0/keys"),
            issuers: [
                format!("{authority}/{tenant}/v2.0"),
                format!("https://sts.windows.net/{tenant}/"),
            ],
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            keys: RwLock::new(HashMap::new()),
            last_fetch: tokio::sync::Mutex::new(None),
            cfg,
        }
    }

    /// Checks the request's bearer token; the error says why (for the log only).
    pub async fn check(&self, headers: &HeaderMap) -> Result<Principal, String> {
        let token = bearer(headers).ok_or("no bearer token")?;
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("bad token header: {e}"))?;
        if header.alg != Algorithm::RS256 {
            return Err(format!("algorithm {:?} is not accepted", header.alg));
        }
        let kid = header.kid.ok_or("the token has no kid")?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[self.cfg.audience.as_str()]);
        validation.set_issuer(&self.issuers);
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| format!("token rejected: {e}"))?;
        let claims = data.claims;
        let role = &self.cfg.required_role;
        if !claims
            .roles
            .iter()
            .chain(claims.groups.iter())
            .any(|r| r == role)
        {
            return Err(format!("token lacks the role or group {role:?}"));
        }
        Ok(Principal {
            name: claims
                .preferred_username
                .or(claims.oid)
                .unwrap_or_else(|| "entra principal".into()),
            origin: None,
        })
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, String> {
        if let Some(k) = self.keys.read().get(kid) {
            return Ok(k.clone());
        }
        let mut last = self.last_fetch.lock().await;
        if let Some(k) = self.keys.read().get(kid) {
            return Ok(k.clone());
        }
        if last.is_some_and(|t| t.elapsed() < REFRESH_GAP) {
            return Err(format!("unknown signing key {kid:?}"));
        }
        *last = Some(Instant::now());
        let fetched = self.fetch().await?;
        let mut keys = self.keys.write();
        *keys = fetched;
        keys.get(kid)
            .cloned()
            .ok_or_else(|| format!("unknown signing key {kid:?}"))
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let set: KeySet = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("fetching signing keys failed: {e}"))?
            .json()
            .await
            .map_err(|e| format!("signing keys are not a JWKS: {e}"))?;
        let mut out = HashMap::new();
        for value in set.keys {
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
                continue;
            };
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            if !matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) {
                continue;
            }
            match DecodingKey::from_jwk(&jwk) {
                Ok(key) => {
                    out.insert(kid, key);
                }
                Err(err) => tracing::warn!(%kid, error = %err, "skipping unusable signing key"),
            }
        }
        tracing::info!(keys = out.len(), "admin token signing keys fetched");
        Ok(out)
    }
}
