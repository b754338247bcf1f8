//! Who may call the admin API (`MFA_ADMIN_AUTH`).
//!
//! - `entra` ([`entra`]): a bearer JWT from Entra ID, RS256 only, checked against the tenant's
//!   published keys, issuer, audience, lifetime and the admin role.
//! - `easyauth` ([`easyauth`]): App Service Authentication's `X-MS-CLIENT-PRINCIPAL` headers,
//!   which only the platform can set. Only safe with App Service Authentication switched on.
//! - `dev`: no credentials, loopback clients only.
//!
//! When the setting is missing or broken, every admin request gets 401.

pub mod easyauth;
pub mod entra;

use std::net::SocketAddr;

use mfa_core::config::{AdminAuth, Feature};
use warp::http::HeaderMap;

use crate::error::ApiError;

/// The admin who made a request (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Name or object id, as far as the credentials tell.
    pub name: String,
    /// The client's address, as far as the front end tells (for the audit log).
    pub origin: Option<String>,
}

/// The configured admin check.
pub enum AdminGate {
    /// Admin API switched off: everything is refused.
    Off,
    /// Loopback clients without credentials.
    Dev,
    /// App Service Authentication headers.
    EasyAuth {
        /// Role or group id required.
        required_role: String,
    },
    /// Entra ID bearer tokens.
    Entra(Box<entra::EntraValidator>),
}

impl std::fmt::Debug for AdminGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self {
            AdminGate::Off => "off",
            AdminGate::Dev => "dev",
            AdminGate::EasyAuth { .. } => "easyauth",
            AdminGate::Entra(_) => "entra",
        };
        f.debug_tuple("AdminGate").field(&mode).finish()
    }
}

impl AdminGate {
    /// The gate for the configured mode.
    pub fn from_settings(auth: &Feature<AdminAuth>) -> Self {
        match auth {
            Err(_) => AdminGate::Off,
            Ok(AdminAuth::Dev) => {
                tracing::warn!(
                    "MFA_ADMIN_AUTH=dev: the admin API accepts requests WITHOUT credentials from \
                     loopback clients. Never use this in Azure."
                );
                AdminGate::Dev
            }
            Ok(AdminAuth::EasyAuth { required_role }) => AdminGate::EasyAuth {
                required_role: required_role.clone(),
            },
            Ok(AdminAuth::Entra(cfg)) => {
                AdminGate::Entra(Box::new(entra::EntraValidator::new(cfg.clone())))
            }
        }
    }

    /// Checks one request; any failure is [`ApiError::Unauthorized`] (the reason is logged).
    pub async fn check(
        &self,
        remote: Option<SocketAddr>,
        headers: &HeaderMap,
    ) -> Result<Principal, ApiError> {
        let result = match self {
            AdminGate::Off => Err("the admin API is off (MFA_ADMIN_AUTH)".to_string()),
            AdminGate::Dev => dev(remote, headers),
            AdminGate::EasyAuth { required_role } => easyauth::check(headers, required_role),
            AdminGate::Entra(v) => v.check(headers).await,
        };
        result.map_err(|reason| {
            tracing::warn!(%reason, "admin request refused");
            ApiError::Unauthorized
        })
    }
}

fn dev(remote: Option<SocketAddr>, headers: &HeaderMap) -> Result<Principal, String> {
    let loopback = remote.is_some_and(|a| a.ip().is_loopback());
    if !loopback {
        return Err("dev admin auth accepts loopback clients only".into());
    }
    let forwarded_from_elsewhere = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .any(|hop| {
            hop.parse::<std::net::IpAddr>()
                .map(|ip| !ip.is_loopback())
                .unwrap_or(true)
        });
    if forwarded_from_elsewhere {
        return Err("dev admin auth: request forwarded from a non-loopback client".into());
    }
    Ok(Principal {
        name: "dev (loopback)".into(),
        origin: None,
    })
}

/// The bearer token of an `Authorization` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}
