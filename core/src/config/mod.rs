//! Typed settings, read from environment variables (Function App settings) once at start-up.
//!
//! Settings the public endpoints need ([`Settings::store`], [`Settings::public_base_url`], …) are
//! validated strictly: a wrong value is a [`ConfigError`] naming the variable and stops the
//! process. Optional features (admin authentication, sending, reports, the group) carry their
//! own `Result`: a broken one is switched off and logged loudly, and the links already in
//! people's inboxes keep working. Every variable is documented in `docs/configuration.md`.

mod parse;

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::domain::Upn;
pub use parse::{defaults, Vars};

#[cfg(test)]
mod tests;

/// A setting that stops start-up: which variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong, including the value when it is not secret.
    pub message: String,
}

impl ConfigError {
    /// An error about `variable`.
    pub fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self {
            variable,
            message: message.into(),
        }
    }
}

/// An optional feature: ready, or switched off with the reason.
pub type Feature<T> = Result<T, ConfigError>;

/// Where records are kept (`MFA_STORE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `sqlite:<path>`: the embedded store.
    Sqlite(PathBuf),
    /// `sharepoint:<site-id>/<list-id>`: a SharePoint list through Graph.
    SharePoint {
        /// Graph site id (may contain commas, as Graph's composite ids do).
        site_id: String,
        /// List id (GUID) or list name.
        list_id: String,
    },
}

/// How admin API callers prove who they are (`MFA_ADMIN_AUTH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAuth {
    /// Validate bearer JWTs issued by Entra ID for the handler's API.
    Entra(EntraAuth),
    /// Trust App Service Authentication ("Easy Auth") headers, which only the platform can set.
    EasyAuth {
        /// App role or group object id an admin must have (`MFA_ADMIN_ROLE`).
        required_role: String,
    },
    /// Local development: no credentials, loopback clients only.
    Dev,
}

/// Settings for validating Entra ID access tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraAuth {
    /// Directory (tenant) id (`MFA_ADMIN_TENANT_ID`, else `AZURE_TENANT_ID`).
    pub tenant_id: String,
    /// Expected `aud`: the API's application id URI or client id (`MFA_ADMIN_AUDIENCE`).
    pub audience: String,
    /// App role (in `roles`) or group id (in `groups`) an admin must have (`MFA_ADMIN_ROLE`).
    pub required_role: String,
    /// Where the signing keys and issuer live (`AZURE_AUTHORITY_HOST`).
    pub authority_host: Url,
}

/// How the worker decides whether someone has registered MFA (`MFA_CHECK_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckMode {
    /// Directory audit events when the app may read them, else the registration report when the
    /// tenant is licensed, else per-user reads.
    Auto,
    /// Always directory audit events (`AuditLog.Read.All` + `Directory.Read.All`), with a slower
    /// full reconciliation (report or per-user reads).
    Events,
    /// Always the registration-details report (Entra ID P1/P2).
    Report,
    /// Always per-user method reads in `$batch` requests.
    PerUser,
}

/// Log output format (`MFA_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON in Azure (detected from the platform's variables), readable text elsewhere.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Pretty,
}

/// Branding of emails and pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    /// Organisation name (`MFA_ORG_NAME`; `None`: not set, and texts say "your organisation",
    /// "your work account").
    pub org_name: Option<String>,
    /// Logo image URL, https (`MFA_LOGO_URL`).
    pub logo_url: Option<Url>,
    /// Main colour as `#rrggbb` (`MFA_BRAND_COLOR`).
    pub primary_color: String,
    /// Who people contact for help (`MFA_SUPPORT_CONTACT`).
    pub support_contact: String,
}

impl Branding {
    /// The organisation's name where a page or email must show one (`Your organisation` when
    /// `MFA_ORG_NAME` is not set).
    pub fn org_display(&self) -> &str {
        self.org_name.as_deref().unwrap_or("Your organisation")
    }
}

/// Campaign rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// Days between the invitation or last reminder and the next reminder
    /// (`MFA_REMINDER_INTERVAL_DAYS`).
    pub reminder_interval: chrono::Duration,
    /// Reminders without completion before the manager is told (`MFA_ESCALATE_AFTER_REMINDERS`).
    pub escalate_after_reminders: u32,
    /// Days after the last reminder before the manager is told, so a person who acts on the
    /// reminder is not escalated (`MFA_ESCALATION_GRACE_DAYS`).
    pub escalation_grace: chrono::Duration,
    /// The most first invitations sent per UTC day, campaign-wide (`MFA_INVITES_PER_DAY`;
    /// `None`: only the mail limits apply). Waves are spread over days by it.
    pub invites_per_day: Option<u32>,
    /// What a person must have registered to count as done (`MFA_TARGET_STRENGTH`): `any` (the
    /// default), `beyond-phone` or `phishing-resistant`.
    pub target: crate::domain::TargetStrength,
    /// Where escalations go when a person has no manager (`MFA_ESCALATION_FALLBACK`).
    pub escalation_fallback: Option<Upn>,
    /// Where the enrol page sends people (`MFA_SETUP_URL`).
    pub setup_url: Url,
    /// Registration detection (`MFA_CHECK_MODE`).
    pub check_mode: CheckMode,
}

/// Exchange Online sending limits per mailbox (Microsoft may change them: settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailLimits {
    /// Messages per minute per mailbox (`MFA_MAIL_PER_MINUTE`).
    pub per_minute: u32,
    /// Recipients per rolling 24 hours per mailbox (`MFA_MAIL_PER_DAY`).
    pub per_day: u32,
}

/// Every setting of the handler and the worker.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `MFA_STORE`.
    pub store: StoreLocation,
    /// `MFA_GRAPH_BASE_URL`.
    pub graph_base_url: Url,
    /// `MFA_PUBLIC_BASE_URL` (else `https://$WEBSITE_HOSTNAME`, else the local handler).
    pub public_base_url: Url,
    /// `MFA_GROUP_ID`: the Conditional Access group.
    pub group_id: Feature<String>,
    /// `MFA_SENDER_MAILBOXES`.
    pub sender_mailboxes: Feature<Vec<Upn>>,
    /// `MFA_ADMIN_AUTH` and friends.
    pub admin_auth: Feature<AdminAuth>,
    /// `MFA_REPORT_RECIPIENTS`.
    pub report_recipients: Feature<Vec<Upn>>,
    /// `MFA_PORTAL_ORIGIN`: the only origin allowed by CORS.
    pub portal_origin: Option<String>,
    /// Campaign rules.
    pub campaign: Campaign,
    /// Sending limits.
    pub mail_limits: MailLimits,
    /// Branding.
    pub branding: Branding,
    /// Port the handler listens on (`FUNCTIONS_CUSTOMHANDLER_PORT`).
    pub port: u16,
    /// Upper bound for one worker run (`MFA_RUN_BUDGET_SECONDS`).
    pub run_budget: Duration,
    /// Pause between runs of `worker serve` (`MFA_WORKER_INTERVAL_SECONDS`).
    pub worker_interval: Duration,
    /// Most rows one upload may hold (`MFA_UPLOAD_MAX_ROWS`).
    pub upload_max_rows: usize,
    /// Largest upload body in bytes (`MFA_UPLOAD_MAX_BYTES`).
    pub upload_max_bytes: u64,
    /// `MFA_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// True when running inside Azure (App Service / Functions variables present).
    pub in_azure: bool,
    /// The Microsoft Graph client's section (`MFA_GRAPH_*`, `MFA_MAIL_FORMAT`).
    pub graph: crate::graph::GraphSettings,
    /// SharePoint resource units per minute the list store may spend
    /// (`MFA_SHAREPOINT_RU_PER_MINUTE`; `None`: the store's default).
    pub sharepoint_ru_per_minute: Option<u32>,
    /// Processes sharing the list's RU budget: handler instances plus workers
    /// (`MFA_SHAREPOINT_PROCESSES`, default 1: this process spends the whole budget).
    pub sharepoint_processes: u32,
}

impl Settings {
    /// Reads settings from `vars` (tests pass a map).
    pub fn from_vars(vars: &Vars) -> Result<Settings, ConfigError> {
        parse::load(vars)
    }

    /// Optional features that are switched off, with the reason, for a loud start-up log.
    pub fn disabled_features(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut note = |what: &str, r: Option<&ConfigError>| {
            if let Some(e) = r {
                out.push(format!("{what} is off: {e}"));
            }
        };
        note("adding people to the group", self.group_id.as_ref().err());
        note("sending email", self.sender_mailboxes.as_ref().err());
        note("the admin API", self.admin_auth.as_ref().err());
        note("report emails", self.report_recipients.as_ref().err());
        out
    }
}
