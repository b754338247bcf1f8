//! Handler-only settings, read from the same environment as [`mfa_core::config::Settings`].
//! Documented in `docs/configuration.md` (section "Handler").

use std::path::PathBuf;
use std::time::Duration;

use mfa_core::config::{ConfigError, Settings, Vars};

/// Defaults of the handler-only settings.
pub mod defaults {
    /// `MFA_RESEND_PER_ADDRESS_PER_DAY`.
    pub const RESEND_PER_ADDRESS_PER_DAY: u32 = 3;
    /// `MFA_RESEND_PER_IP_PER_HOUR`.
    pub const RESEND_PER_IP_PER_HOUR: u32 = 10;
    /// `MFA_OPEN_FLUSH_MS`.
    pub const OPEN_FLUSH_MS: u64 = 1000;
    /// `MFA_OPEN_BUFFER`.
    pub const OPEN_BUFFER: usize = 100_000;
    /// Buffered opens that trigger an early flush.
    pub const OPEN_FLUSH_BATCH: usize = 500;
    /// `MFA_IMPORT_REQUEST_SECONDS`.
    pub const IMPORT_REQUEST_SECONDS: u32 = 20;
    /// `MFA_PORTAL_DIR`, relative to the working directory.
    pub const PORTAL_DIR: &str = "portal/dist";
}

/// Everything the handler needs: the shared settings plus its own.
#[derive(Debug, Clone)]
pub struct HandlerSettings {
    /// Settings shared with the worker.
    pub core: Settings,
    /// `MFA_TEMPLATE_DIR`: a directory whose `page.hbs` replaces the built-in page template.
    pub template_dir: Option<PathBuf>,
    /// `MFA_RESEND_PER_ADDRESS_PER_DAY`: resend requests honoured per address per 24 h.
    pub resend_per_address_per_day: u32,
    /// `MFA_RESEND_PER_IP_PER_HOUR`: resend requests honoured per client IP per hour.
    pub resend_per_ip_per_hour: u32,
    /// `MFA_OPEN_FLUSH_MS`: how often buffered email opens are written.
    pub open_flush_interval: Duration,
    /// `MFA_OPEN_BUFFER`: most distinct opens held between writes (more are dropped and counted).
    pub open_buffer: usize,
    /// `MFA_PORTAL_DIR`: the built admin portal served at `/portal/` (local use).
    pub portal_dir: PathBuf,
    /// `MFA_IMPORT_REQUEST_SECONDS`: how long an upload writes rows before it answers `202`
    /// and leaves the rest to a background import (0: every upload is a background import).
    pub import_request_budget: Duration,
}

impl HandlerSettings {
    /// The shared settings with the handler's defaults.
    pub fn from_core(core: Settings) -> Self {
        Self {
            core,
            template_dir: None,
            resend_per_address_per_day: defaults::RESEND_PER_ADDRESS_PER_DAY,
            resend_per_ip_per_hour: defaults::RESEND_PER_IP_PER_HOUR,
            open_flush_interval: Duration::from_millis(defaults::OPEN_FLUSH_MS),
            open_buffer: defaults::OPEN_BUFFER,
            portal_dir: PathBuf::from(defaults::PORTAL_DIR),
            import_request_budget: Duration::from_secs(defaults::IMPORT_REQUEST_SECONDS.into()),
        }
    }

    /// Reads every setting from `vars`; a wrong value names its variable.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let core = Settings::from_vars(vars)?;
        let mut s = Self::from_core(core);
        s.template_dir = vars.get("MFA_TEMPLATE_DIR").map(PathBuf::from);
        if let Some(dir) = vars.get("MFA_PORTAL_DIR") {
            s.portal_dir = PathBuf::from(dir);
        }
        s.resend_per_address_per_day = positive(
            vars,
            "MFA_RESEND_PER_ADDRESS_PER_DAY",
            defaults::RESEND_PER_ADDRESS_PER_DAY,
        )?;
        s.resend_per_ip_per_hour = positive(
            vars,
            "MFA_RESEND_PER_IP_PER_HOUR",
            defaults::RESEND_PER_IP_PER_HOUR,
        )?;
        s.open_flush_interval = Duration::from_millis(
            positive(vars, "MFA_OPEN_FLUSH_MS", defaults::OPEN_FLUSH_MS as u32)?.into(),
        );
        s.open_buffer = positive(vars, "MFA_OPEN_BUFFER", defaults::OPEN_BUFFER as u32)? as usize;
        s.import_request_budget = import_request_budget(vars)?;
        Ok(s)
    }
}

/// `MFA_IMPORT_REQUEST_SECONDS`: 0 to 200 (the host cuts a request at 230 s), fractions allowed.
fn import_request_budget(vars: &Vars) -> Result<Duration, ConfigError> {
    const NAME: &str = "MFA_IMPORT_REQUEST_SECONDS";
    match vars.get(NAME) {
        None => Ok(Duration::from_secs(defaults::IMPORT_REQUEST_SECONDS.into())),
        Some(s) => match s.trim().parse::<f64>() {
            Ok(n) if (0.0..=200.0).contains(&n) => Ok(Duration::from_secs_f64(n)),
            _ => Err(ConfigError::new(
                NAME,
                format!(
                    "expected seconds from 0 to 200 (the host cuts requests at 230 s), got {s:?}"
                ),
            )),
        },
    }
}

fn positive(vars: &Vars, name: &'static str, default: u32) -> Result<u32, ConfigError> {
    match vars.get(name) {
        None => Ok(default),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConfigError::new(
                name,
                format!("expected a whole number of at least 1, got {s:?}"),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_request_budget_is_bounded_by_the_host_limit() {
        let ok =
            HandlerSettings::from_vars(&Vars::from_pairs([("MFA_IMPORT_REQUEST_SECONDS", "0.5")]));
        assert_eq!(
            ok.map(|s| s.import_request_budget).ok(),
            Some(Duration::from_millis(500))
        );
        for bad in ["230", "-1", "soon"] {
            let err = HandlerSettings::from_vars(&Vars::from_pairs([(
                "MFA_IMPORT_REQUEST_SECONDS",
                bad,
            )]));
            assert_eq!(
                err.err().map(|e| e.variable),
                Some("MFA_IMPORT_REQUEST_SECONDS"),
                "{bad}"
            );
        }
    }

    #[test]
    fn handler_settings_name_the_bad_variable() {
        let vars = Vars::from_pairs([("MFA_RESEND_PER_IP_PER_HOUR", "0")]);
        let err = HandlerSettings::from_vars(&vars).err();
        assert_eq!(err.map(|e| e.variable), Some("MFA_RESEND_PER_IP_PER_HOUR"));
        let ok = HandlerSettings::from_vars(&Vars::from_pairs([("MFA_OPEN_FLUSH_MS", "250")]));
        assert_eq!(
            ok.map(|s| s.open_flush_interval).ok(),
            Some(Duration::from_millis(250))
        );
    }
}
