//! [`GraphSettings`]: every tunable of the Graph client, loaded from app settings.
//!
//! Microsoft says its limits are subject to change, so every limit the client respects is a
//! setting whose default is the documented value. See `docs/graph-client.md` for the list.

use std::time::Duration;

use crate::config::ConfigError;
use url::Url;

/// The default Graph endpoint.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.microsoft.com";

/// Tunables of the Graph client. Build with [`GraphSettings::from_vars`] or start from
/// [`GraphSettings::default`] and change fields (tests do).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphSettings {
    /// Base URL without version segment (`MFA_GRAPH_BASE_URL`); paths are `{base}/v1.0/…`.
    pub base_url: Url,
    /// Organisation name for the decorated `User-Agent` (`MFA_GRAPH_ORG`).
    pub org: String,
    /// Per-request network timeout, real time (`MFA_GRAPH_TIMEOUT_SECONDS`).
    pub timeout: Duration,
    /// Retries after the first attempt before giving up (`MFA_GRAPH_MAX_RETRIES`).
    pub max_retries: u32,
    /// Most clock time one call may spend waiting across its retries (`MFA_GRAPH_MAX_WAIT_SECONDS`).
    pub max_total_wait: Duration,
    /// Base of the exponential backoff when the server names no wait (`MFA_GRAPH_BACKOFF_BASE_MS`).
    pub backoff_base: Duration,
    /// Cap of one backoff wait (`MFA_GRAPH_BACKOFF_CAP_SECONDS`).
    pub backoff_cap: Duration,
    /// How long before expiry a cached token is refreshed (`MFA_GRAPH_TOKEN_REFRESH_MARGIN_SECONDS`).
    pub token_refresh_margin: Duration,
    /// Network timeout of one token request to the credential's endpoint, real time
    /// (`MFA_GRAPH_TOKEN_TIMEOUT_SECONDS`).
    pub token_timeout: Duration,
    /// How long a failed token fetch is remembered, clock time: calls in that window fail at
    /// once with the same error (`MFA_GRAPH_TOKEN_FAILURE_MEMORY_SECONDS`).
    pub token_failure_memory: Duration,
    /// Concurrency ceiling for identity calls (users, groups, methods) (`MFA_GRAPH_IDENTITY_CONCURRENCY`).
    pub identity_concurrency: usize,
    /// Concurrency ceiling for reports (`MFA_GRAPH_REPORTS_CONCURRENCY`).
    pub reports_concurrency: usize,
    /// Concurrency ceiling per sending mailbox; Exchange allows 4 (`MFA_GRAPH_MAIL_CONCURRENCY`).
    pub mail_concurrency: usize,
    /// Concurrency ceiling for SharePoint (`MFA_GRAPH_SHAREPOINT_CONCURRENCY`).
    pub sharepoint_concurrency: usize,
    /// Concurrency ceiling for everything else (`MFA_GRAPH_OTHER_CONCURRENCY`).
    pub other_concurrency: usize,
    /// Messages per rolling minute per sending mailbox the client lets through; Exchange allows
    /// 30; 0 turns pacing off (`MFA_GRAPH_MAIL_PER_MINUTE`).
    pub mail_per_minute: usize,
    /// Report requests (and per-user method reads) per rolling 10 s; Graph allows 5; 0 turns
    /// pacing off (`MFA_GRAPH_REPORTS_PER_10_SECONDS`).
    pub reports_per_10_seconds: usize,
    /// How `sendMail` carries a message (`MFA_MAIL_FORMAT`).
    pub mail_format: MailFormat,
}

/// How `sendMail` carries a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MailFormat {
    /// Graph's JSON message: one body (HTML). Sent Items is left alone (`saveToSentItems: false`).
    #[default]
    Json,
    /// A base64 MIME message (`Content-Type: text/plain`): HTML with a plain-text alternative
    /// (`multipart/alternative`). Exchange always keeps a copy in the sender's Sent Items.
    Mime,
}

impl Default for GraphSettings {
    fn default() -> Self {
        Self {
            base_url: Url::parse(DEFAULT_GRAPH_BASE_URL).unwrap_or_else(|_| unreachable!()),
            org: "Contoso".to_string(),
            timeout: Duration::from_secs(30),
            max_retries: 5,
            max_total_wait: Duration::from_secs(600),
            backoff_base: Duration::from_secs(3),
            backoff_cap: Duration::from_secs(180),
            token_refresh_margin: Duration::from_secs(300),
            token_timeout: Duration::from_secs(2),
            token_failure_memory: Duration::from_secs(60),
            identity_concurrency: 16,
            reports_concurrency: 2,
            mail_concurrency: 4,
            sharepoint_concurrency: 8,
            other_concurrency: 8,
            mail_per_minute: 30,
            reports_per_10_seconds: 5,
            mail_format: MailFormat::Json,
        }
    }
}

impl GraphSettings {
    /// Loads the settings from `vars` (usually the process environment); absent variables take
    /// their defaults. A bad value is an error naming the variable.
    pub fn from_vars(vars: &dyn Fn(&str) -> Option<String>) -> Result<GraphSettings, ConfigError> {
        let mut s = GraphSettings::default();
        if let Some(v) = non_empty(vars, "MFA_GRAPH_BASE_URL") {
            let url = Url::parse(v.trim_end_matches('/')).map_err(|e| {
                ConfigError::new("MFA_GRAPH_BASE_URL", format!("not a URL ({e}): {v}"))
            })?;
            if !matches!(url.scheme(), "https" | "http") || url.cannot_be_a_base() {
                return Err(ConfigError::new(
                    "MFA_GRAPH_BASE_URL",
                    format!("must be an http(s) URL: {v}"),
                ));
            }
            s.base_url = url;
        }
        if let Some(v) = non_empty(vars, "MFA_GRAPH_ORG") {
            if v.contains('|') || v.chars().any(char::is_control) {
                return Err(ConfigError::new(
                    "MFA_GRAPH_ORG",
                    "must not contain '|' or control characters",
                ));
            }
            s.org = v;
        }
        secs(vars, "MFA_GRAPH_TIMEOUT_SECONDS", &mut s.timeout, 1)?;
        if let Some(v) = non_empty(vars, "MFA_GRAPH_MAX_RETRIES") {
            s.max_retries = v.parse().map_err(|_| {
                ConfigError::new("MFA_GRAPH_MAX_RETRIES", format!("not a whole number: {v}"))
            })?;
        }
        secs(vars, "MFA_GRAPH_MAX_WAIT_SECONDS", &mut s.max_total_wait, 0)?;
        if let Some(v) = non_empty(vars, "MFA_GRAPH_BACKOFF_BASE_MS") {
            let ms: u64 = v.parse().map_err(|_| {
                ConfigError::new(
                    "MFA_GRAPH_BACKOFF_BASE_MS",
                    format!("not a whole number: {v}"),
                )
            })?;
            s.backoff_base = Duration::from_millis(ms);
        }
        secs(vars, "MFA_GRAPH_BACKOFF_CAP_SECONDS", &mut s.backoff_cap, 0)?;
        secs(
            vars,
            "MFA_GRAPH_TOKEN_REFRESH_MARGIN_SECONDS",
            &mut s.token_refresh_margin,
            0,
        )?;
        secs(
            vars,
            "MFA_GRAPH_TOKEN_TIMEOUT_SECONDS",
            &mut s.token_timeout,
            1,
        )?;
        secs(
            vars,
            "MFA_GRAPH_TOKEN_FAILURE_MEMORY_SECONDS",
            &mut s.token_failure_memory,
            0,
        )?;
        count(
            vars,
            "MFA_GRAPH_IDENTITY_CONCURRENCY",
            &mut s.identity_concurrency,
        )?;
        count(
            vars,
            "MFA_GRAPH_REPORTS_CONCURRENCY",
            &mut s.reports_concurrency,
        )?;
        count(vars, "MFA_GRAPH_MAIL_CONCURRENCY", &mut s.mail_concurrency)?;
        count(
            vars,
            "MFA_GRAPH_SHAREPOINT_CONCURRENCY",
            &mut s.sharepoint_concurrency,
        )?;
        count(
            vars,
            "MFA_GRAPH_OTHER_CONCURRENCY",
            &mut s.other_concurrency,
        )?;
        rate(vars, "MFA_GRAPH_MAIL_PER_MINUTE", &mut s.mail_per_minute)?;
        if let Some(v) = non_empty(vars, "MFA_MAIL_FORMAT") {
            s.mail_format = match v.to_ascii_lowercase().as_str() {
                "json" => MailFormat::Json,
                "mime" => MailFormat::Mime,
                _ => {
                    return Err(ConfigError::new(
                        "MFA_MAIL_FORMAT",
                        format!("json or mime, not {v:?}"),
                    ))
                }
            };
        }
        rate(
            vars,
            "MFA_GRAPH_REPORTS_PER_10_SECONDS",
            &mut s.reports_per_10_seconds,
        )?;
        Ok(s)
    }
}

fn non_empty(vars: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    vars(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn secs(
    vars: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    out: &mut Duration,
    min: u64,
) -> Result<(), ConfigError> {
    if let Some(v) = non_empty(vars, name) {
        let n: u64 = v
            .parse()
            .map_err(|_| ConfigError::new(name, format!("not a whole number of seconds: {v}")))?;
        if n < min {
            return Err(ConfigError::new(
                name,
                format!("must be at least {min}: {v}"),
            ));
        }
        *out = Duration::from_secs(n);
    }
    Ok(())
}

fn count(
    vars: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    out: &mut usize,
) -> Result<(), ConfigError> {
    if let Some(v) = non_empty(vars, name) {
        let n: usize = v
            .parse()
            .map_err(|_| ConfigError::new(name, format!("not a whole number: {v}")))?;
        if n == 0 {
            return Err(ConfigError::new(name, "must be at least 1"));
        }
        *out = n;
    }
    Ok(())
}

fn rate(
    vars: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    out: &mut usize,
) -> Result<(), ConfigError> {
    if let Some(v) = non_empty(vars, name) {
        *out = v.parse().map_err(|_| {
            ConfigError::new(
                name,
                format!("not a whole number (0 turns pacing off): {v}"),
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<GraphSettings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        GraphSettings::from_vars(&|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        assert_eq!(load(&[]), Ok(GraphSettings::default()));
    }

    #[test]
    fn values_are_parsed() {
        let s = load(&[
            ("MFA_GRAPH_BASE_URL", "http://127.0.0.1:8080/"),
            ("MFA_GRAPH_TIMEOUT_SECONDS", "5"),
            ("MFA_GRAPH_MAX_RETRIES", "2"),
            ("MFA_GRAPH_MAIL_CONCURRENCY", "3"),
            ("MFA_GRAPH_REPORTS_PER_10_SECONDS", "0"),
            ("MFA_GRAPH_TOKEN_TIMEOUT_SECONDS", "3"),
            ("MFA_GRAPH_TOKEN_FAILURE_MEMORY_SECONDS", "90"),
        ])
        .unwrap();
        assert_eq!(s.token_timeout, Duration::from_secs(3));
        assert_eq!(s.token_failure_memory, Duration::from_secs(90));
        assert_eq!(s.base_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!(s.max_retries, 2);
        assert_eq!(s.mail_concurrency, 3);
        assert_eq!(s.reports_per_10_seconds, 0);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("MFA_GRAPH_BASE_URL", "not a url"),
            ("MFA_GRAPH_BASE_URL", "ftp://x"),
            ("MFA_GRAPH_TIMEOUT_SECONDS", "0"),
            ("MFA_GRAPH_TIMEOUT_SECONDS", "ten"),
            ("MFA_GRAPH_MAX_RETRIES", "-1"),
            ("MFA_GRAPH_MAIL_CONCURRENCY", "0"),
            ("MFA_GRAPH_ORG", "a|b"),
            ("MFA_GRAPH_MAIL_PER_MINUTE", "many"),
            ("MFA_GRAPH_TOKEN_TIMEOUT_SECONDS", "0"),
            ("MFA_GRAPH_TOKEN_FAILURE_MEMORY_SECONDS", "a minute"),
        ] {
            let err = load(&[(name, value)]).unwrap_err();
            assert_eq!(err.variable, name, "{name}={value} gave {err}");
        }
    }
}
