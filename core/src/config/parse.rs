//! Parsing of each variable. Every function names its variable in the error.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::{
    AdminAuth, Branding, Campaign, CheckMode, ConfigError, EntraAuth, Feature, LogFormat,
    MailLimits, Settings, StoreLocation,
};
use crate::domain::Upn;

/// A snapshot of variables to read settings from.
#[derive(Debug, Clone, Default)]
pub struct Vars(HashMap<String, String>);

impl Vars {
    /// The process environment.
    pub fn from_env() -> Self {
        Self(std::env::vars().collect())
    }

    /// Variables from pairs (tests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// A variable's value; empty or blank counts as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// The value of a variable that names one of `options` (case-insensitive), `default` when
    /// unset; anything else is an error listing the options in their order. An option with the
    /// same value as an earlier one is an alias: accepted, not listed.
    pub fn one_of<T: Copy + PartialEq>(
        &self,
        name: &'static str,
        default: T,
        options: &[(&str, T)],
    ) -> Result<T, super::ConfigError> {
        let Some(value) = self.get(name) else {
            return Ok(default);
        };
        if let Some((_, t)) = options.iter().find(|(o, _)| o.eq_ignore_ascii_case(value)) {
            return Ok(*t);
        }
        let names: Vec<&str> = options
            .iter()
            .enumerate()
            .filter(|(i, (_, t))| !options[..*i].iter().any(|(_, u)| u == t))
            .map(|(_, (o, _))| *o)
            .collect();
        let listed = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.concat(),
        };
        Err(super::ConfigError::new(
            name,
            format!("expected {listed}, got {value:?}"),
        ))
    }
}

/// Defaults, also listed in `docs/configuration.md`.
pub mod defaults {
    /// `MFA_STORE`.
    pub const STORE: &str = "sqlite:mfa-onboarding.db";
    /// `MFA_GRAPH_BASE_URL`.
    pub const GRAPH_BASE_URL: &str = "https://graph.microsoft.com";
    /// `MFA_SETUP_URL`.
    pub const SETUP_URL: &str = "https://aka.ms/mfasetup";
    /// `FUNCTIONS_CUSTOMHANDLER_PORT`.
    pub const PORT: u16 = 7071;
    /// `MFA_REMINDER_INTERVAL_DAYS`.
    pub const REMINDER_INTERVAL_DAYS: i64 = 7;
    /// `MFA_ESCALATE_AFTER_REMINDERS`.
    pub const ESCALATE_AFTER_REMINDERS: u32 = 2;
    /// `MFA_ESCALATION_GRACE_DAYS`.
    pub const ESCALATION_GRACE_DAYS: i64 = 3;
    /// `MFA_MAIL_PER_MINUTE`.
    pub const MAIL_PER_MINUTE: u32 = 30;
    /// `MFA_MAIL_PER_DAY`.
    pub const MAIL_PER_DAY: u32 = 10_000;
    /// `MFA_RUN_BUDGET_SECONDS`.
    pub const RUN_BUDGET_SECONDS: u64 = 720;
    /// `MFA_WORKER_INTERVAL_SECONDS`.
    pub const WORKER_INTERVAL_SECONDS: u64 = 900;
    /// `MFA_UPLOAD_MAX_ROWS`.
    pub const UPLOAD_MAX_ROWS: usize = 200_000;
    /// `MFA_UPLOAD_MAX_BYTES`.
    pub const UPLOAD_MAX_BYTES: u64 = 64 * 1024 * 1024;
    /// `MFA_ADMIN_ROLE`.
    pub const ADMIN_ROLE: &str = "MfaOnboarding.Admin";
    /// `MFA_BRAND_COLOR`.
    pub const BRAND_COLOR: &str = "#0078D4";
    /// `MFA_SUPPORT_CONTACT`.
    pub const SUPPORT_CONTACT: &str = "your IT service desk";
    /// `AZURE_AUTHORITY_HOST`.
    pub const AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
}

pub(super) fn load(v: &Vars) -> Result<Settings, ConfigError> {
    let in_azure = v.get("WEBSITE_INSTANCE_ID").is_some() || v.get("WEBSITE_SITE_NAME").is_some();
    let port = number(v, "FUNCTIONS_CUSTOMHANDLER_PORT", defaults::PORT)?;
    let store = store(v.get("MFA_STORE").unwrap_or(defaults::STORE))?;
    let graph_base_url = url(v, "MFA_GRAPH_BASE_URL", defaults::GRAPH_BASE_URL, false)?;
    let public_base_url = match v.get("MFA_PUBLIC_BASE_URL") {
        Some(_) => url(v, "MFA_PUBLIC_BASE_URL", "", false)?,
        None => match v.get("WEBSITE_HOSTNAME") {
            Some(host) => parse_url("WEBSITE_HOSTNAME", &format!("https://{host}"), false)?,
            None => parse_url(
                "MFA_PUBLIC_BASE_URL",
                &format!("http://localhost:{port}"),
                false,
            )?,
        },
    };
    let reminder_days: i64 = number(
        v,
        "MFA_REMINDER_INTERVAL_DAYS",
        defaults::REMINDER_INTERVAL_DAYS,
    )?;
    if !(1..=365).contains(&reminder_days) {
        return Err(ConfigError::new(
            "MFA_REMINDER_INTERVAL_DAYS",
            "must be between 1 and 365 days",
        ));
    }
    let grace_days: i64 = number(
        v,
        "MFA_ESCALATION_GRACE_DAYS",
        defaults::ESCALATION_GRACE_DAYS,
    )?;
    if !(0..=60).contains(&grace_days) {
        return Err(ConfigError::new(
            "MFA_ESCALATION_GRACE_DAYS",
            "must be between 0 and 60 days",
        ));
    }
    let invites_per_day = match v.get("MFA_INVITES_PER_DAY") {
        None => None,
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                return Err(ConfigError::new(
                    "MFA_INVITES_PER_DAY",
                    format!(
                        "must be a whole number of at least 1 (or unset for no cap), got {raw:?}"
                    ),
                ))
            }
        },
    };
    let target = match v.get("MFA_TARGET_STRENGTH").map(str::trim) {
        None | Some("") => crate::domain::TargetStrength::Any,
        Some(raw) => crate::domain::TargetStrength::parse(raw)
            .map_err(|e| ConfigError::new("MFA_TARGET_STRENGTH", e.to_string()))?,
    };
    let per_minute = number(v, "MFA_MAIL_PER_MINUTE", defaults::MAIL_PER_MINUTE)?;
    let per_day = number(v, "MFA_MAIL_PER_DAY", defaults::MAIL_PER_DAY)?;
    if per_minute == 0 || per_day == 0 {
        return Err(ConfigError::new(
            "MFA_MAIL_PER_MINUTE",
            "mail limits must be at least 1",
        ));
    }
    let run_budget: u64 = number(v, "MFA_RUN_BUDGET_SECONDS", defaults::RUN_BUDGET_SECONDS)?;
    if run_budget < 10 {
        return Err(ConfigError::new(
            "MFA_RUN_BUDGET_SECONDS",
            "must be at least 10 seconds",
        ));
    }
    let interval: u64 = number(
        v,
        "MFA_WORKER_INTERVAL_SECONDS",
        defaults::WORKER_INTERVAL_SECONDS,
    )?;
    if interval == 0 {
        return Err(ConfigError::new(
            "MFA_WORKER_INTERVAL_SECONDS",
            "must be at least 1 second",
        ));
    }
    Ok(Settings {
        store,
        graph_base_url,
        public_base_url,
        group_id: group_id(v),
        sender_mailboxes: upn_list(v, "MFA_SENDER_MAILBOXES"),
        admin_auth: admin_auth(v),
        report_recipients: upn_list(v, "MFA_REPORT_RECIPIENTS"),
        portal_origin: origin(v)?,
        campaign: Campaign {
            reminder_interval: chrono::Duration::days(reminder_days),
            escalate_after_reminders: number(
                v,
                "MFA_ESCALATE_AFTER_REMINDERS",
                defaults::ESCALATE_AFTER_REMINDERS,
            )?,
            escalation_grace: chrono::Duration::days(grace_days),
            invites_per_day,
            target,
            escalation_fallback: v
                .get("MFA_ESCALATION_FALLBACK")
                .map(|s| {
                    Upn::parse(s)
                        .map_err(|e| ConfigError::new("MFA_ESCALATION_FALLBACK", e.to_string()))
                })
                .transpose()?,
            setup_url: url(v, "MFA_SETUP_URL", defaults::SETUP_URL, true)?,
            check_mode: v.one_of(
                "MFA_CHECK_MODE",
                CheckMode::Auto,
                &[
                    ("auto", CheckMode::Auto),
                    ("events", CheckMode::Events),
                    ("report", CheckMode::Report),
                    ("per-user", CheckMode::PerUser),
                    ("peruser", CheckMode::PerUser),
                ],
            )?,
        },
        mail_limits: MailLimits {
            per_minute,
            per_day,
        },
        branding: branding(v)?,
        port,
        run_budget: Duration::from_secs(run_budget),
        worker_interval: Duration::from_secs(interval),
        upload_max_rows: number(v, "MFA_UPLOAD_MAX_ROWS", defaults::UPLOAD_MAX_ROWS)?,
        upload_max_bytes: number(v, "MFA_UPLOAD_MAX_BYTES", defaults::UPLOAD_MAX_BYTES)?,
        log_format: v.one_of(
            "MFA_LOG_FORMAT",
            LogFormat::Auto,
            &[
                ("auto", LogFormat::Auto),
                ("json", LogFormat::Json),
                ("pretty", LogFormat::Pretty),
                ("text", LogFormat::Pretty),
            ],
        )?,
        in_azure,
        graph: crate::graph::GraphSettings::from_vars(&|k| v.get(k).map(str::to_string))?,
        sharepoint_ru_per_minute: v
            .get("MFA_SHAREPOINT_RU_PER_MINUTE")
            .map(|s| {
                s.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ConfigError::new(
                        "MFA_SHAREPOINT_RU_PER_MINUTE",
                        format!("expected a whole number above 0, got {s:?}"),
                    )
                })
            })
            .transpose()?,
        sharepoint_processes: match number(v, "MFA_SHAREPOINT_PROCESSES", 1u32)? {
            n @ 1..=100 => n,
            n => {
                return Err(ConfigError::new(
                    "MFA_SHAREPOINT_PROCESSES",
                    format!("expected 1 to 100 processes sharing the list, got {n}"),
                ))
            }
        },
    })
}

fn number<T: std::str::FromStr>(
    v: &Vars,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match v.get(name) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| ConfigError::new(name, format!("expected a whole number, got {s:?}"))),
    }
}

fn parse_url(name: &'static str, s: &str, https_only: bool) -> Result<Url, ConfigError> {
    let u = Url::parse(s).map_err(|e| ConfigError::new(name, format!("not a URL ({e}): {s:?}")))?;
    let ok_scheme = match u.scheme() {
        "https" => true,
        "http" => !https_only,
        _ => false,
    };
    if !ok_scheme || u.host_str().is_none() {
        let want = if https_only {
            "an https URL"
        } else {
            "an http(s) URL"
        };
        return Err(ConfigError::new(
            name,
            format!("expected {want}, got {s:?}"),
        ));
    }
    if u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() {
        return Err(ConfigError::new(
            name,
            "must not carry a query, fragment or credentials",
        ));
    }
    Ok(u)
}

fn url(v: &Vars, name: &'static str, default: &str, https_only: bool) -> Result<Url, ConfigError> {
    parse_url(name, v.get(name).unwrap_or(default), https_only)
}

fn store(s: &str) -> Result<StoreLocation, ConfigError> {
    let bad = |why: &str| {
        ConfigError::new(
            "MFA_STORE",
            format!("{why}; expected sqlite:<path> or sharepoint:<site-id>/<list-id>, got {s:?}"),
        )
    };
    if let Some(path) = s.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(bad("the SQLite path is empty"));
        }
        return Ok(StoreLocation::Sqlite(PathBuf::from(path)));
    }
    if let Some(rest) = s.strip_prefix("sharepoint:") {
        let (site, list) = rest
            .rsplit_once('/')
            .ok_or_else(|| bad("missing '/' between site and list"))?;
        let safe = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.,_:".contains(c))
        };
        if !safe(site) || !safe(list) {
            return Err(bad("the site and list ids must be non-empty Graph ids"));
        }
        return Ok(StoreLocation::SharePoint {
            site_id: site.to_string(),
            list_id: list.to_string(),
        });
    }
    Err(bad("unknown store kind"))
}

fn group_id(v: &Vars) -> Feature<String> {
    let s = v
        .get("MFA_GROUP_ID")
        .ok_or_else(|| ConfigError::new("MFA_GROUP_ID", "not set"))?;
    uuid::Uuid::parse_str(s)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| {
            ConfigError::new(
                "MFA_GROUP_ID",
                format!("expected the group's object id (a GUID), got {s:?}"),
            )
        })
}

fn upn_list(v: &Vars, name: &'static str) -> Feature<Vec<Upn>> {
    let s = v
        .get(name)
        .ok_or_else(|| ConfigError::new(name, "not set"))?;
    let mut out = Vec::new();
    for part in s.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()) {
        let upn = Upn::parse(part).map_err(|e| ConfigError::new(name, format!("{part:?}: {e}")))?;
        if !out.contains(&upn) {
            out.push(upn);
        }
    }
    if out.is_empty() {
        return Err(ConfigError::new(name, "no addresses given"));
    }
    Ok(out)
}

fn admin_auth(v: &Vars) -> Feature<AdminAuth> {
    const NAME: &str = "MFA_ADMIN_AUTH";
    let role = v
        .get("MFA_ADMIN_ROLE")
        .unwrap_or(defaults::ADMIN_ROLE)
        .to_string();
    match v.get(NAME).map(str::to_ascii_lowercase).as_deref() {
        None => Err(ConfigError::new(NAME, "not set (entra, easyauth or dev)")),
        Some("dev") => Ok(AdminAuth::Dev),
        Some("easyauth") => Ok(AdminAuth::EasyAuth {
            required_role: role,
        }),
        Some("entra") => {
            let tenant_id = v
                .get("MFA_ADMIN_TENANT_ID")
                .or_else(|| v.get("AZURE_TENANT_ID"))
                .ok_or_else(|| {
                    ConfigError::new(
                        "MFA_ADMIN_TENANT_ID",
                        "entra admin auth needs the tenant id (or AZURE_TENANT_ID)",
                    )
                })?;
            let audience = v.get("MFA_ADMIN_AUDIENCE").ok_or_else(|| {
                ConfigError::new(
                    "MFA_ADMIN_AUDIENCE",
                    "entra admin auth needs the API's application id URI or client id",
                )
            })?;
            let authority_host = parse_url(
                "AZURE_AUTHORITY_HOST",
                v.get("AZURE_AUTHORITY_HOST")
                    .unwrap_or(defaults::AUTHORITY_HOST),
                false,
            )?;
            Ok(AdminAuth::Entra(EntraAuth {
                tenant_id: tenant_id.to_string(),
                audience: audience.to_string(),
                required_role: role,
                authority_host,
            }))
        }
        Some(other) => Err(ConfigError::new(
            NAME,
            format!("expected entra, easyauth or dev, got {other:?}"),
        )),
    }
}

fn origin(v: &Vars) -> Result<Option<String>, ConfigError> {
    let Some(s) = v.get("MFA_PORTAL_ORIGIN") else {
        return Ok(None);
    };
    let u = parse_url("MFA_PORTAL_ORIGIN", s, false)?;
    if u.path() != "/" {
        return Err(ConfigError::new(
            "MFA_PORTAL_ORIGIN",
            "an origin has no path: scheme://host[:port]",
        ));
    }
    Ok(Some(u.origin().ascii_serialization()))
}

fn branding(v: &Vars) -> Result<Branding, ConfigError> {
    let color = v.get("MFA_BRAND_COLOR").unwrap_or(defaults::BRAND_COLOR);
    let hex = color.strip_prefix('#').unwrap_or("");
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ConfigError::new(
            "MFA_BRAND_COLOR",
            format!("expected #rrggbb, got {color:?}"),
        ));
    }
    let text = |name: &'static str, default: &str| -> Result<String, ConfigError> {
        let s = v.get(name).unwrap_or(default);
        if s.chars().count() > 200 || s.chars().any(char::is_control) {
            return Err(ConfigError::new(
                name,
                "must be one line of at most 200 characters",
            ));
        }
        Ok(s.to_string())
    };
    Ok(Branding {
        org_name: match v.get("MFA_ORG_NAME") {
            Some(_) => Some(text("MFA_ORG_NAME", "")?),
            None => None,
        },
        logo_url: v
            .get("MFA_LOGO_URL")
            .map(|s| parse_url("MFA_LOGO_URL", s, true))
            .transpose()?,
        primary_color: color.to_string(),
        support_contact: text("MFA_SUPPORT_CONTACT", defaults::SUPPORT_CONTACT)?,
    })
}
